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


class KnownBugs(Exception):
    """Schemathesis failed only on the bugs named in the xfail reason below."""


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


def _numeric(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return bool(values) and all(re.fullmatch(r"\s*[-+]?\d+(\.\d*)?\s*", str(v)) for v in values)


def _known(failure: dict[str, Any]) -> bool:
    """A failure caused by one of the two bugs of the xfail reason, nothing else."""
    query = failure["query"]
    if failure["check"] == "negative_data_rejection" and failure["status"] == 200:
        # A number passed as a date (since=0, until=[0.0]) is read as a Unix timestamp.
        dates = {k: v for k, v in query.items() if k in ("since", "until")}
        return bool(dates) and any(_numeric(v) for v in dates.values())
    if failure["check"] in ("response_schema_conformance", "positive_data_acceptance"):
        # The handler's NUL refusal: a 422 whose body is not FastAPI's validation error, for
        # a value the schema allows.
        return failure["status"] == 422 and any("\x00" in str(v) for v in query.values())
    return False


@pytest.mark.xfail(
    strict=True,
    raises=KnownBugs,
    reason="BUGS (temporary xfail; any other failure fails this test): (1) since/until accept "
    "a number as a Unix timestamp though the schema says format: date (ST201: "
    "GET /api/events?until=0 -> 200, GET /api/stats?since=0 -> 200); (2) a NUL character in "
    "entity or lang is refused by the handler, not by the schema: the schema allows it "
    "(ST202) and the 422 body {'detail': str} is not the documented HTTPValidationError "
    "(ST108)",
)
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
    unexpected = [f for f in failures if not _known(f)]
    assert not unexpected, (
        f"schemathesis found failures other than the known bugs:\n{output}\n"
        + json.dumps(unexpected, indent=1, ensure_ascii=False)
        + f"\nserver output:\n{api.process.output()}"
    )
    # The run report's failure kinds are all among the checks read above (nothing missed).
    assert {f["code"] for f in run["failures"]} <= {f["code"] for f in failures}, output
    if failures:
        raise KnownBugs(summary)
    assert result.returncode == 0, output
