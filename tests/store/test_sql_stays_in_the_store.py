"""SQL belongs to the store: no module outside ``baton.store`` imports SQLAlchemy.

The engine and everything below it are clean. The modules listed in ``NOT_YET`` still write their own
queries (the API's routes and metrics, the gateway's records and cache, the command line's last-resort
error handler); each is a debt with a known size, and this test fails when a new module joins them — or
when one of them is cleaned and should leave the list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import baton

SRC = Path(baton.__file__).parent
NOT_YET = {
    "cli/__init__.py",
    "llm/cache.py",
    "llm/costs.py",
    "llm/records.py",
    "llm/replay.py",
    "server/response_cache.py",
    "server/routes/runs.py",
    "server/routes/system.py",
    "server/store_metrics.py",
}


def _imports_sqlalchemy(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlalchemy" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            return True
    return False


def test_only_the_store_imports_sqlalchemy() -> None:
    importers = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if not path.is_relative_to(SRC / "store") and _imports_sqlalchemy(path)
    }
    assert importers - NOT_YET == set(), "new modules outside baton.store import SQLAlchemy"
    assert NOT_YET - importers == set(), "these no longer import SQLAlchemy: take them off NOT_YET"
    assert not any(name.startswith(("engine/", "core/", "agents/", "workflows/")) for name in importers)
