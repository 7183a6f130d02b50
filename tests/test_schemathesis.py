"""Schemathesis (v4 CLI) against the running ``newswatch web``, over SQLite and PostgreSQL.

Every check is on (``--checks all``: no server errors, status codes, content types, headers
and bodies as the OpenAPI schema says, invalid input refused, valid input accepted, methods
not in the schema answered 405 with an Allow header). The run is seeded, so a failure it
prints can be replayed. ``pytest -s`` shows its summary.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web_fixture import DATABASES, ServedApi, cli_environment, served_newsroom

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SEED = 20250320
EXAMPLES = 120  # test cases per operation: about 15 s per database


@pytest.fixture(scope="module", params=DATABASES)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prefect_api: str
) -> Iterator[ServedApi]:
    """The newsroom collected into a fresh database, served by ``newswatch web``."""
    folder = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    with served_newsroom(request.param, folder) as running:
        yield running


def _failures(report: Path) -> list[dict[str, Any]]:
    """Every failed check in an NDJSON report: check name, code, request, response status."""
    found = []
    for line in report.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check["status"] == "success":
                    continue
                case = recorder["cases"][case_id]["value"]
                interaction = recorder.get("interactions", {}).get(case_id) or {}
                failure = (check.get("failure_info") or {}).get("failure") or {}
                found.append(
                    {
                        "check": check["name"],
                        "code": failure.get("code"),
                        "method": case["method"],
                        "path": case["path"],
                        "query": case.get("query") or {},
                        "status": (interaction.get("response") or {}).get("status_code"),
                        "message": failure.get("message", ""),
                    }
                )
    return found


def test_schemathesis_all_checks(api: ServedApi, tmp_path: Path) -> None:
    report = tmp_path / "events.ndjson"
    run_report = tmp_path / "run.json"
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{api.base_url}/api/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",  # nothing remembered between runs: the seed alone decides
        "--request-timeout",
        "10",
        "--max-failures",
        "50",
        "--report",
        "ndjson,json",
        "--report-ndjson-path",
        str(report),
        "--report-json-path",
        str(run_report),
        "--no-color",
        "--output-truncate",
        "true",
    ]
    result = subprocess.run(
        command,
        check=False,
        cwd=tmp_path,  # no schemathesis.toml of anyone else's is read
        env=cli_environment(tmp_path, NO_COLOR="1", COLUMNS="100"),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    output = result.stdout + result.stderr
    # The failures (each with a curl line to reproduce it) and the summary.
    start = min((output.find(h) for h in (" FAILURES ", " SUMMARY ") if h in output), default=0)
    summary = output[output.rfind("\n", 0, start) + 1 :]
    print(f"\nschemathesis on {api.db_url.split(':', 1)[0]} (exit {result.returncode}):")
    print(summary)

    assert "Seed: " + str(SEED) in output, output
    assert re.search(r"Operations:\s+4 selected / 4 total", output), output
    assert re.search(r"Tested: 4\b", output), output
    generated = re.search(r"(\d+) generated", output)
    assert generated and int(generated.group(1)) >= 4 * EXAMPLES, output
    run = json.loads(run_report.read_text(encoding="utf-8"))
    assert run["complete"] and run["errors"] == [], output
    assert run["operations"]["errored"] == 0 and run["test_cases"]["errored"] == 0, output
    failures = _failures(report)
    assert not failures and not run["failures"], (
        f"schemathesis found failures:\n{output}\n"
        + json.dumps(failures, indent=1, ensure_ascii=False)
        + f"\nserver output:\n{api.process.output()}"
    )
    assert result.returncode == 0, output
