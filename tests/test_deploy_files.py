"""The deployment files of deploy/, checked as far as this machine allows (no Docker here).

- ``prefect.yaml``: Prefect 3.9.1's own models accept it and know every field it uses (Prefect
  ignores unknown fields silently); each entrypoint is a Prefect flow whose signature takes the
  deployment's parameters; schedules, concurrency, the pull step; one work pool.
- ``docker-compose.yml``: services, healthchecks, ``depends_on`` conditions, grace period,
  volumes, database URLs, no secret written in the file.
- ``Dockerfile``: every COPY source exists and survives ``.dockerignore``; the dependency step
  reads pyproject.toml; a non-root user; the worker command.
- Commands written in these files and in ``deploy/README.md``: every ``prefect ...`` and
  ``newswatch ...`` parses with the real command-line parsers (nothing is run), every compose
  service named exists, every ``prefect deployment run`` names a deployment and gives its flow
  valid parameters, every variable named is one that newswatch or Prefect reads.

The last tests show that these checks catch the mistakes they are for.
"""

from __future__ import annotations

import contextlib
import fnmatch
import inspect
import io
import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
POOL = "newswatch"
DEPLOYMENTS = {
    "collect/newswatch",
    "digest/newswatch",
    "backfill/newswatch",
    "reclassify/newswatch",
    "alerts/newswatch",
}
# The worker's stop_grace_period: more than Docker's 10 s default, to bound a stop that hangs
# (e.g. on an unreachable API), and short enough that a stop does not wait for long.
GRACE = (timedelta(seconds=20), timedelta(minutes=5))


# --------------------------------------------------------------------------- loading


@cache
def prefect_yaml() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "prefect.yaml").read_text())
    return data


@cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


@cache
def dockerfile() -> tuple[Instruction, ...]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate((DEPLOY / "Dockerfile").read_text().splitlines(), start=1):
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        start = start if pending else number
        pending += raw.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, args = pending.strip().partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        pending = ""
    return tuple(instructions)


def docker(keyword: str) -> list[Instruction]:
    return [i for i in dockerfile() if i.keyword == keyword]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in docker("ENV"):
        for pair in shlex.split(instruction.args):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def worker_command() -> list[str]:
    [cmd] = docker("CMD")
    command: list[str] = json.loads(cmd.args)  # exec form: no shell between Docker and Prefect
    return command


@cache
def flows() -> dict[str, Any]:
    """The Prefect flow of each deployment, keyed ``flow/deployment``."""
    from prefect.flows import Flow, load_flow_from_entrypoint

    loaded: dict[str, Any] = {}
    for deployment in prefect_yaml()["deployments"]:
        path, _, function = deployment["entrypoint"].partition(":")
        flow: Any = load_flow_from_entrypoint(f"{ROOT / path}:{function}")
        assert isinstance(flow, Flow), deployment["entrypoint"]
        key = f"{flow.name}/{deployment['name']}"
        assert key not in loaded, f"two deployments are {key}"
        loaded[key] = (flow, deployment)
    return loaded


# --------------------------------------------------------------------------- compose syntax

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` over ``env``."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        value = env.get(name)
        if operator and operator.endswith("?") and not value:
            raise KeyError(f"{name}: {argument}")
        if operator and operator.endswith("-") and not value:
            return argument
        return value or ""

    return _VARIABLE.sub(one, text.replace("$$", "\0")).replace("\0", "$")


def resolved(value: str) -> str:
    return interpolate(value, {"NEWSWATCH_PG_PASSWORD": "s3cret"})


def duration(value: str) -> timedelta:
    """A compose duration: ``90s``, ``2m``, ``1m30s``, ``1h``."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", value)
    assert parts and any(parts.groups()), f"not a compose duration: {value!r}"
    hours, minutes, seconds = (int(p or 0) for p in parts.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


# --------------------------------------------------------------------------- prefect.yaml


def test_prefect_yaml_is_accepted_by_prefect_and_uses_only_fields_it_knows() -> None:
    # Prefect's own models of prefect.yaml (3.9.1: prefect/cli/deploy/_models.py). They ignore
    # unknown fields, so a misspelt one would be dropped without a word: compare the names too.
    from prefect.cli.deploy._models import (
        ConcurrencyLimitSpec,
        DeploymentConfig,
        PrefectYamlModel,
        RawScheduleConfig,
        WorkPoolConfig,
    )
    from prefect.client.schemas.objects import ConcurrencyLimitConfig

    data = prefect_yaml()
    model = PrefectYamlModel.model_validate(data)
    top = {f.alias or name for name, f in PrefectYamlModel.model_fields.items()}
    assert set(data) <= top | {"definitions"}  # definitions: YAML anchors only
    assert len(model.deployments) == len(data["deployments"]) == len(DEPLOYMENTS)
    for deployment in data["deployments"]:
        assert set(deployment) <= set(DeploymentConfig.model_fields), deployment["name"]
        assert set(deployment["work_pool"]) <= set(WorkPoolConfig.model_fields)
        for schedule in deployment.get("schedules") or []:
            RawScheduleConfig.model_validate(schedule)  # extra fields forbidden here
        limit = deployment.get("concurrency_limit")
        if isinstance(limit, dict):
            assert set(limit) <= set(ConcurrencyLimitSpec.model_fields)
            ConcurrencyLimitConfig.model_validate(limit)  # a strategy Prefect knows


def test_prefect_version_is_the_pinned_one() -> None:
    import prefect

    pins = [d for d in pyproject()["project"]["dependencies"] if d.startswith("prefect==")]
    assert pins == [f"prefect=={prefect.__version__}"]
    assert prefect_yaml()["prefect-version"] == prefect.__version__


def test_entrypoints_are_flows_whose_signatures_take_the_deployment_parameters() -> None:
    assert set(flows()) == DEPLOYMENTS
    for key, (flow, deployment) in flows().items():
        signature = inspect.signature(flow.fn)
        parameters = deployment.get("parameters") or {}
        assert set(parameters) <= set(signature.parameters), key
        if deployment.get("schedules"):
            # A schedule supplies nothing: every required parameter must be in the deployment.
            flow.validate_parameters(parameters)
    backfill, _ = flows()["backfill/newswatch"]
    required = [
        name
        for name, p in inspect.signature(backfill.fn).parameters.items()
        if p.default is inspect.Parameter.empty
    ]
    assert required == ["start", "end"]


def test_schedules_and_concurrency() -> None:
    deployments = {key: d for key, (_, d) in flows().items()}
    assert deployments["collect/newswatch"]["schedules"] == [{"interval": 1800}]
    assert deployments["collect/newswatch"]["concurrency_limit"] == {
        "limit": 1,
        "collision_strategy": "CANCEL_NEW",
    }
    assert deployments["digest/newswatch"]["concurrency_limit"]["collision_strategy"] == (
        "CANCEL_NEW"
    )
    for by_hand in ("backfill/newswatch", "reclassify/newswatch", "alerts/newswatch"):
        assert deployments[by_hand]["schedules"] == []  # [] also removes an old schedule


def test_every_deployment_uses_the_one_process_pool_and_the_pull_step_finds_the_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.deployments import steps
    from prefect.utilities.templating import apply_values

    data = prefect_yaml()
    assert {d["work_pool"]["name"] for d in data["deployments"]} == {POOL}
    assert data["build"] is None and data["push"] is None
    [step] = data["pull"]
    [(name, arguments)] = step.items()
    assert name == "prefect.deployments.steps.set_working_directory"
    assert callable(getattr(steps, name.rsplit(".", 1)[1]))
    assert arguments == {"directory": "{{ $NEWSWATCH_ROOT }}"}
    # What a worker does before a run: the placeholder becomes its NEWSWATCH_ROOT.
    monkeypatch.setenv("NEWSWATCH_ROOT", str(ROOT))
    directory = Path(apply_values(arguments, {})["directory"])
    for deployment in data["deployments"]:
        assert (directory / deployment["entrypoint"].partition(":")[0]).is_file()
    assert dockerfile_env()["NEWSWATCH_ROOT"] == docker("WORKDIR")[-1].args


# --------------------------------------------------------------------------- compose


def test_compose_services_and_their_order() -> None:
    found = services()
    assert set(found) == {"postgres", "server", "setup", "worker", "web"}
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in found.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in found, f"{name} depends on unknown {target}"
            assert spec["condition"] in conditions
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in found[target], f"{target} has no healthcheck"
            if spec["condition"] == "service_completed_successfully":
                assert found[target]["restart"] == "no", f"{target} must be a one-shot"
    assert found["server"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert found["setup"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "server": {"condition": "service_healthy"},
    }
    assert found["worker"]["depends_on"] == {
        "setup": {"condition": "service_completed_successfully"},
        "server": {"condition": "service_healthy"},
    }
    # the dashboard reads the database once setup has upgraded it; it never calls Prefect
    assert found["web"]["depends_on"] == {"setup": {"condition": "service_completed_successfully"}}


def test_healthchecks() -> None:
    found = services()
    for name in ("postgres", "server", "worker"):
        check = found[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        for key in ("interval", "timeout", "start_period"):
            duration(check[key])
    pg = found["postgres"]["healthcheck"]["test"]
    assert pg[1] == "pg_isready" and pg[pg.index("-h") + 1] == "127.0.0.1"  # TCP, not socket
    server_cmd = found["server"]["command"]
    port = server_cmd[server_cmd.index("--port") + 1]
    assert f"http://127.0.0.1:{port}/api/health" in found["server"]["healthcheck"]["test"][-1]
    # The worker's health server: started by --with-healthcheck, on Prefect's default port.
    from prefect.settings import PREFECT_WORKER_WEBSERVER_PORT

    assert "--with-healthcheck" in worker_command()
    worker_port = PREFECT_WORKER_WEBSERVER_PORT.value()
    assert f"http://127.0.0.1:{worker_port}/health" in found["worker"]["healthcheck"]["test"][-1]
    web = found["web"]
    web_port = web["command"][web["command"].index("--port") + 1]
    assert f"http://127.0.0.1:{web_port}/api/stats" in web["healthcheck"]["test"][-1]
    for key in ("interval", "timeout", "start_period"):
        duration(web["healthcheck"][key])


def test_the_dashboard_is_published_on_loopback_with_the_database_only() -> None:
    web = services()["web"]
    port = web["command"][web["command"].index("--port") + 1]
    assert web["ports"] == [f"127.0.0.1:{port}:{port}"]  # no login: never on every interface
    assert set(web["environment"]) == {"NEWSWATCH_DB"}  # no alert channel secrets, no Prefect
    assert web["environment"]["NEWSWATCH_DB"] == services()["worker"]["environment"]["NEWSWATCH_DB"]


def test_postgres_volumes_and_the_two_databases() -> None:
    found = services()
    postgres = found["postgres"]
    assert re.fullmatch(r"postgres:\d+(\.\d+)?", postgres["image"])
    volumes = {v.split(":")[1]: v.split(":")[0] for v in postgres["volumes"]}  # target: source
    assert volumes["/var/lib/postgresql/data"] in compose()["volumes"]
    initdb = DEPLOY / volumes["/docker-entrypoint-initdb.d"]
    created = re.findall(
        r"CREATE DATABASE (\w+)", " ".join(p.read_text() for p in initdb.glob("*.sql"))
    )
    env = postgres["environment"]
    newswatch = make_url(resolved(found["worker"]["environment"]["NEWSWATCH_DB"]))
    prefect = make_url(
        resolved(found["server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"])
    )
    assert newswatch.drivername == "postgresql+psycopg"
    assert prefect.drivername == "postgresql+asyncpg"
    for url in (newswatch, prefect):
        assert (url.host, url.port, url.username) == ("postgres", 5432, env["POSTGRES_USER"])
        assert url.password == resolved(env["POSTGRES_PASSWORD"])
    assert newswatch.database == env["POSTGRES_DB"]
    assert created == [prefect.database] and prefect.database != newswatch.database


def test_workers_reach_the_server_and_can_be_scaled_and_stopped() -> None:
    found = services()
    worker = found["worker"]
    server_cmd = found["server"]["command"]
    port = server_cmd[server_cmd.index("--port") + 1]
    for name in ("setup", "worker"):
        assert found[name]["environment"]["PREFECT_API_URL"] == f"http://server:{port}/api"
    assert GRACE[0] <= duration(worker["stop_grace_period"]) <= GRACE[1]
    assert worker["init"] is True  # something must reap the flow-run processes
    assert "command" not in worker  # the image's command, checked below
    for fixed in ("container_name", "ports", "hostname"):
        assert fixed not in worker, f"worker sets {fixed}: --scale worker=N would clash"
    published = found["server"]["ports"]
    assert all(p.startswith("127.0.0.1:") for p in published), "the API has no login"


def test_every_service_but_postgres_runs_the_one_image_built_from_deploy() -> None:
    found = services()
    images = set()
    for name, service in found.items():
        if name == "postgres":
            continue
        build = service["build"]
        assert (DEPLOY / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
        images.add(service["image"])
    assert len(images) == 1


def test_setup_upgrades_creates_the_pool_once_and_deploys_with_the_placeholder_kept() -> None:
    commands = [tokens for tokens in commands_of(services()["setup"]["command"][-1])]
    assert services()["setup"]["command"][:2] == ["sh", "-c"]
    assert commands[0] == ["newswatch", "db", "upgrade"]
    assert ["prefect", "work-pool", "inspect", POOL] in commands
    assert ["prefect", "work-pool", "create", POOL, "--type", "process"] in commands
    deploy = commands[-1]
    assert deploy[:3] == ["env", "-u", "NEWSWATCH_ROOT"]
    assert deploy[3:] == [
        "prefect",
        "--no-prompt",
        "deploy",
        "--all",
        "--prefect-file",
        "deploy/prefect.yaml",
    ]
    # --overwrite would also resume a pool an operator paused, at every `up`.
    assert "--overwrite" not in services()["setup"]["command"][-1]


def test_no_secret_is_written_in_the_compose_file() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    userinfos = re.findall(r"postgresql\+\w+://([^@\n]*)@", text)
    assert len(userinfos) == 2
    for userinfo in userinfos:
        assert re.fullmatch(r"\w+:\$\{NEWSWATCH_PG_PASSWORD:\?[^}]+\}", userinfo), userinfo
    assert services()["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${NEWSWATCH_PG_PASSWORD:?"
    )
    with pytest.raises(KeyError, match="NEWSWATCH_PG_PASSWORD"):
        interpolate(text, {})
    # Variables without a default must be set by the operator, as deploy/README.md says.
    readme = (DEPLOY / "README.md").read_text()
    for name, operator, _ in _VARIABLE.findall(text):
        assert operator in (":-", ":?"), f"${{{name}}} needs a default or a message"
        if operator == ":?":
            assert name in readme


# --------------------------------------------------------------------------- Dockerfile


def dockerignore() -> list[str]:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # The matcher below knows plain names, globs and **/ prefixes; not exceptions (!).
    assert not [p for p in patterns if p.startswith("!")]
    return patterns


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves ``path`` (or a folder above it) out."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(
                prefix.rsplit("/", 1)[-1], pattern[3:]
            ):
                return True
    return False


def test_dockerfile_copies_files_that_exist_and_reach_the_build_context() -> None:
    patterns = dockerignore()
    copied: list[str] = []
    for instruction in docker("COPY"):
        words = [w for w in shlex.split(instruction.args) if not w.startswith("--")]
        copied.extend(words[:-1])
    assert copied, "no COPY"
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
        assert not ignored(source, patterns), f"COPY {source}: left out by .dockerignore"
    # What the editable install and the flows need at run time is in the image.
    packages = [
        p.rstrip("*") for p in pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    needed = [*packages, "seeds", "pyproject.toml", pyproject()["project"]["readme"]]
    needed += [d["entrypoint"].partition(":")[0] for d in prefect_yaml()["deployments"]]
    needed += ["deploy/prefect.yaml", "seeds/sources.yaml", "db/migrations/env.py"]
    for path in needed:
        assert any(path == c or path.startswith(c.rstrip("/") + "/") for c in copied), path
        assert not ignored(path, patterns), path
    # and what it need not carry is left out
    for heavy in (".venv/bin/python", ".git/HEAD", "tests/conftest.py"):
        assert ignored(heavy, patterns), heavy


def test_dockerfile_base_user_and_folders() -> None:
    [base] = docker("FROM")
    assert base.args == "python:3.11-slim"
    assert SpecifierSet(pyproject()["project"]["requires-python"]).contains("3.11")
    users = docker("USER")
    [cmd] = docker("CMD")
    assert users and users[-1].args not in ("root", "0") and users[-1].line < cmd.line
    env = dockerfile_env()
    # Folders the user writes to exist and belong to it: made (mkdir -p) after USER.
    made = [
        PurePosixPath(word)
        for r in docker("RUN")
        if r.line > users[-1].line and "mkdir -p" in r.args
        for word in r.args.split()
        if word.startswith("/")
    ]
    for name in ("NEWSWATCH_HOME", "PREFECT_HOME", "PREFECT_UI_STATIC_DIRECTORY"):
        folder = PurePosixPath(env[name])
        assert any(path == folder or folder in path.parents for path in made), name


def test_dockerfile_dependency_step_reads_pyproject() -> None:
    [step] = [r for r in docker("RUN") if "tomllib" in r.args]
    match = re.search(r'(python -c "[^"]+") > (\S+)', step.args)
    assert match, step.args
    assert f"--requirement {match.group(2)}" in step.args
    # The same command through a POSIX shell, as RUN does, on this checkout's pyproject.toml.
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    printed = subprocess.run(
        ["sh", "-c", match.group(1)],
        cwd=ROOT,
        env={"PATH": path},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert printed == pyproject()["project"]["dependencies"]


def test_worker_command_polls_the_pool_of_the_deployments() -> None:
    command = worker_command()
    assert command[:3] == ["prefect", "worker", "start"]
    assert command[command.index("--pool") + 1] == POOL
    assert command[command.index("--type") + 1] == "process"


# --------------------------------------------------------------------------- commands

_OPERATORS = {"&&", "||", ";", "|", "(", ")", "&"}
_REDIRECTS = {">", ">>", "<", ">&", "&>", "<&"}


def commands_of(script: str) -> Iterator[list[str]]:
    """Simple commands of a shell line: operators split them, redirections are dropped."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    current: list[str] = []
    skip = False
    for index, token in enumerate(tokens):
        if skip:
            skip = False
        elif token in _OPERATORS:
            if current:
                yield current
            current = []
        elif token in _REDIRECTS:
            skip = True
        elif token.isdigit() and index + 1 < len(tokens) and tokens[index + 1] in _REDIRECTS:
            pass  # a file descriptor, as in 2>&1
        else:
            current.append(token)
    if current:
        yield current


def readme_commands() -> Iterator[tuple[str, list[str]]]:
    """Each simple command in the README's bash blocks, with the line it came from."""
    text = (DEPLOY / "README.md").read_text()
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for tokens in commands_of(line):
                yield line, tokens


def program(tokens: list[str]) -> list[str]:
    """The command without leading VAR=value assignments, `env -u NAME` and a .venv path."""
    rest = list(tokens)
    while rest and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", rest[0]):
        rest.pop(0)
    if rest[:2] == ["env", "-u"]:
        rest = rest[3:]
    if rest:
        rest[0] = rest[0].removeprefix(".venv/bin/")
    return rest


def check_prefect(arguments: list[str]) -> None:
    """Parse a `prefect` command line with Prefect's own parser (cyclopts), without running it."""
    from prefect.cli._app import _app

    _, bound, _ = _app.meta.parse_args(arguments, exit_on_error=False, print_error=False)
    _, args, _ = _app.parse_args(
        list(bound.arguments["tokens"]), exit_on_error=False, print_error=False
    )
    values = args.arguments
    if "work_pool_name" in values:
        assert values["work_pool_name"] == POOL, arguments
    if arguments[:2] in (["work-pool", "create"], ["work-pool", "inspect"], ["work-pool", "pause"]):
        assert values["name"] == POOL, arguments
    if arguments[:2] == ["deployment", "run"]:
        check_deployment_run(values["name"], values.get("params") or [])


def check_deployment_run(name: str, params: list[str]) -> None:
    """The deployment exists, and its flow accepts the parameters as the CLI reads them."""
    from prefect.cli._utilities import load_json_key_values

    assert name in flows(), f"no deployment {name} in deploy/prefect.yaml"
    flow, deployment = flows()[name]
    given: dict[str, Any] = load_json_key_values(params, "parameter")
    flow.validate_parameters({**(deployment.get("parameters") or {}), **given})
    known = {
        s["name"] for s in yaml.safe_load((ROOT / "seeds" / "sources.yaml").read_text())["sources"]
    }
    for source in given.get("source") or []:
        assert source in known, f"no source {source!r} in seeds/sources.yaml"


def check_newswatch(arguments: list[str]) -> None:
    from flows.cli import build_parser

    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        try:
            build_parser().parse_args(arguments)
        except SystemExit as exc:
            raise AssertionError(f"newswatch {shlex.join(arguments)}: {errors.getvalue()}") from exc


_COMPOSE_VALUED = {"-f", "--file", "--env-file", "-p", "--project-name", "--scale", "--timeout"}
_COMPOSE_VALUED |= {"-t", "-e", "--env", "-u", "--user", "-w", "--workdir", "--index"}


def check_docker(arguments: list[str]) -> None:
    """`docker compose ...`: the services named exist; commands run in them are checked."""
    assert arguments[0] == "compose", arguments
    words = iter(arguments[1:])
    action = ""
    named: list[str] = []
    inner: list[str] = []
    for word in words:
        if inner or (named and action in ("exec", "run")):
            inner.append(word)
        elif word in _COMPOSE_VALUED:
            value = next(words)
            if word == "--scale":
                named.append(value.split("=", 1)[0])
        elif word.startswith("-"):
            continue
        elif not action:
            action = word
        else:
            named.append(word)
    for service in named:
        assert service in services(), f"docker compose {action}: no service {service!r}"
    if inner:
        check_command(inner)
        if inner[0] in ("pg_dump", "psql"):
            user = services()["postgres"]["environment"]["POSTGRES_USER"]
            given = inner[inner.index("-U") + 1]
            assert given == user, f"{inner[0]} -U {given}: the POSTGRES_USER is {user}"


def check_command(tokens: list[str]) -> None:
    """Check a command line if it is one of ours (prefect, newswatch, docker compose)."""
    words = program(tokens)
    if not words:
        return
    if words[0] == "prefect":
        check_prefect(words[1:])
    elif words[0] == "newswatch":
        check_newswatch(words[1:])
    elif words[0] == "docker":
        check_docker(words[1:])


def test_commands_in_the_deploy_files_parse() -> None:
    found = services()
    lines = [
        shlex.join(worker_command()),
        shlex.join(found["server"]["command"]),
        shlex.join(found["web"]["command"]),
        found["setup"]["command"][-1],
    ]
    # The commands in the header comment of prefect.yaml
    lines += re.findall(
        r"^#\s{2,}((?:prefect|newswatch) .*)$", (DEPLOY / "prefect.yaml").read_text(), re.M
    )
    checked = 0
    for line in lines:
        for tokens in commands_of(line):
            check_command(tokens)
            checked += 1
    assert checked >= 8


def test_commands_in_the_readme_parse_and_name_real_things() -> None:
    seen: set[str] = set()
    for line, tokens in readme_commands():
        try:
            check_command(tokens)
        except Exception as exc:
            raise AssertionError(f"deploy/README.md: {line}") from exc
        words = program(tokens)
        if words and words[0] in ("prefect", "newswatch", "docker"):
            seen.add(" ".join(words[:3]))
    # The walk-through covers these steps, each with a command that parses.
    for step in (
        "newswatch serve",
        "docker compose up",
        "docker compose exec",
        "docker compose stop",
        "prefect deployment run",
        "prefect worker start",
    ):
        assert any(s.startswith(step) for s in seen), step
    readme = (DEPLOY / "README.md").read_text()
    assert "backfill/newswatch' --param start=" in readme


def test_variables_named_are_read_by_newswatch_or_prefect() -> None:
    import prefect.settings

    settings_source = (ROOT / "pipeline" / "settings.py").read_text()
    texts = [
        (DEPLOY / name).read_text()
        for name in ("README.md", "docker-compose.yml", "Dockerfile", "prefect.yaml")
    ]
    names = set(re.findall(r"\b((?:NEWSWATCH|PREFECT)_[A-Z0-9_]+)\b", "\n".join(texts)))
    own = {
        "NEWSWATCH_ROOT": "{{ $NEWSWATCH_ROOT }}" in texts[3],  # read by the pull step
        "NEWSWATCH_PG_PASSWORD": "${NEWSWATCH_PG_PASSWORD" in texts[1],  # read by compose
        # read by the channels of the shipped alert rules
        "NEWSWATCH_ALERT_URL": "${NEWSWATCH_ALERT_URL}"
        in (ROOT / "seeds" / "alerts.yaml").read_text(),
    }
    for name in sorted(names):
        if name in own:
            assert own[name], name
        elif name.startswith("NEWSWATCH_"):
            assert f"``{name}``" in settings_source, f"{name} is not read by pipeline/settings.py"
        else:
            assert hasattr(prefect.settings, name), f"{name} is not a Prefect setting"


# --------------------------------------------------------------------------- the checks bite


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        ("prefect worker start --pool newswatch --typo process", "--typo"),
        ("prefect worker start --pool other --type process", "other"),
        ("prefect --no-prompt deploy --al", "--al"),
        ("prefect deployment run 'collect/newswatch' --param sources=x --param nope=1", "nope"),
        ("prefect deployment run 'backfill/newswatch' --param start=2025-03-01", "end"),
        (
            "prefect deployment run 'backfill/backfill' --param start=2025-03-01",
            "no deployment backfill/backfill",
        ),
        (
            "prefect deployment run 'backfill/newswatch' --param start=2025-03-01"
            " --param end=2025-03-02 --param 'source=[\"no-such-source\"]'",
            "no-such-source",
        ),
        ("newswatch db upgrad", "upgrad"),
        ("newswatch serve --every", "--every"),
        ("docker compose exec workers prefect deployment ls", "no service 'workers'"),
        ("docker compose up -d --scale workr=3", "no service 'workr'"),
        ("docker compose exec -T postgres pg_dump -U postgres newswatch", "POSTGRES_USER"),
    ],
)
def test_a_wrong_command_is_caught(line: str, caught: str) -> None:
    # Each checker fails in its own way (cyclopts, Prefect, argparse, assertions): the message
    # must name the mistake.
    with pytest.raises(Exception, match=re.escape(caught)):
        for tokens in commands_of(line):
            check_command(tokens)


def test_the_shell_splitter_and_the_dockerignore_matcher() -> None:
    script = "a && (b x > /dev/null 2>&1 || c --y 'z w') && env -u V d"
    assert list(commands_of(script)) == [
        ["a"],
        ["b", "x"],
        ["c", "--y", "z w"],
        ["env", "-u", "V", "d"],
    ]
    assert program(["A=1", "B=2", ".venv/bin/prefect", "x"]) == ["prefect", "x"]
    patterns = ["tests", "**/__pycache__", "*.db"]
    assert ignored("tests/data/x.yaml", patterns)
    assert ignored("flows/__pycache__/cli.cpython-311.pyc", patterns)
    assert ignored("news.db", patterns)
    assert not ignored("flows/cli.py", patterns)
    assert interpolate("${A:-x}/${B}/$${C}", {"B": "b"}) == "x/b/${C}"
    assert duration("1m30s") == timedelta(seconds=90)
