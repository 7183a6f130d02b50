"""The architecture rules of DESIGN.md, checked on the import graph (AST), so they cannot decay."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "versions" not in p.parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", _modules("pipeline"), ids=_rel)
def test_pipeline_never_imports_prefect_or_flows(path: Path) -> None:
    assert not _top(_imports(path)) & {"prefect", "flows"}


@pytest.mark.parametrize("path", _modules("db"), ids=_rel)
def test_db_imports_neither_pipeline_nor_flows(path: Path) -> None:
    assert not _top(_imports(path)) & {"prefect", "flows", "pipeline"}


@pytest.mark.parametrize("path", _modules("pipeline"), ids=_rel)
def test_only_fetch_does_http(path: Path) -> None:
    if path.relative_to(ROOT / "pipeline").parts[0] == "fetch":
        return
    assert not _top(_imports(path)) & {"httpx", "httpcore", "requests", "urllib3", "aiohttp"}
    assert "urllib.request" not in _imports(path)


@pytest.mark.parametrize("path", _modules("pipeline"), ids=_rel)
def test_only_store_does_sql(path: Path) -> None:
    if "store" in path.relative_to(ROOT / "pipeline").parts:
        return
    assert "sqlalchemy" not in _top(_imports(path))


@pytest.mark.parametrize("path", _modules("pipeline") + _modules("db"), ids=_rel)
def test_no_print_in_library_code(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
    ]
    assert not calls, f"print() at line {calls[0].lineno}"


def test_no_grab_bag_modules() -> None:
    names = {p.stem for pkg in ("pipeline", "db", "flows") for p in _modules(pkg)}
    assert not names & {"utils", "helpers", "common", "misc"}


def _environment_reads(path: Path) -> list[int]:
    """Lines that read a NEWSWATCH_* variable via os.environ[...], .get(...) or os.getenv(...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and "environ" in ast.unparse(node.value):
            key = node.slice
        elif (
            isinstance(node, ast.Call)
            and node.args
            and any(word in ast.unparse(node.func) for word in ("environ", "getenv"))
        ):
            key = node.args[0]
        if isinstance(key, ast.Constant) and str(key.value).startswith("NEWSWATCH_"):
            lines.append(node.lineno)
    return lines


def test_only_settings_reads_newswatch_environment() -> None:
    offenders = {
        _rel(path): _environment_reads(path)
        for path in _modules("pipeline") + _modules("db") + _modules("flows")
        if _rel(path) != "pipeline/settings.py" and _environment_reads(path)
    }
    assert not offenders
    assert _environment_reads(ROOT / "pipeline" / "settings.py")  # the check can see reads


def test_query_commands_do_not_import_prefect() -> None:
    import subprocess
    import sys

    code = (
        "import sys, flows.cli; "
        "sys.exit(1 if any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules) "
        "else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT).returncode == 0


def test_running_query_commands_does_not_import_prefect(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path / 'q.db'}"
    code = (
        "import sys, io, contextlib; from flows.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    codes = [main([c, '--db', {db!r}]) for c in ('runs', 'info', 'export', 'stories')]\n"
        f"    codes.append(main(['alerts', 'list', '--db', {db!r}]))\n"
        f"    codes += [main([c, '--db', {db!r}]) for c in ('events', 'stats', 'sources')]\n"
        f"    codes.append(main(['search', 'price war', '--db', {db!r}]))\n"
        "assert codes == [0] * 9, codes\n"
        # the web app, answering its API and dashboard (what `newswatch web` serves)
        "from fastapi.testclient import TestClient\n"
        "from pipeline.store.database import open_database\n"
        "from pipeline.web.app import create_app\n"
        f"client = TestClient(create_app(open_database({db!r})))\n"
        "paths = ('/', '/api/events', '/api/stats', '/api/articles?q=x', '/api/openapi.json')\n"
        "for path in paths:\n"
        "    assert client.get(path).status_code == 200, path\n"
        "sys.exit(1 if any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules) "
        "else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
