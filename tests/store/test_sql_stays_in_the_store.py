"""SQL belongs to the store: no module outside ``baton.store`` imports SQLAlchemy.

Every layer above the store reaches the database through its functions (``store/model_calls.py`` and
``store/model_cache.py`` for the gateway, ``store/runs.py`` and ``store/workers.py`` for the API). ``NOT_YET``
is the list of known exceptions, empty now; the test fails when a module joins it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import baton

SRC = Path(baton.__file__).parent
NOT_YET: set[str] = set()  # every module outside baton.store reaches the database through it


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
