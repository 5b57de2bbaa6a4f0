"""Appending many rows at once, straight to the driver.

SQLAlchemy's executemany processes every parameter set in Python (about 6 µs a row, measured); the hot
path appends several rows per task (events, attempts, checkpoints), so it hands plain tuples to the
driver's executemany instead (see :mod:`baton.store.driver`). Only for tables whose columns need no type
processing (text, numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table

from baton.store.driver import Query, execute_many_txn

_SQL: dict[tuple[str, tuple[str, ...]], Query] = {}


def bulk_insert_txn(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` inside the caller's transaction."""
    if not rows:
        return
    columns = tuple(rows[0])
    key = (table.name, columns)
    sql = _SQL.get(key)
    if sql is None:
        text = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(['?'] * len(columns))})"
        sql = _SQL[key] = Query(f"{table.name}.insert", text)
    execute_many_txn(conn, sql, [tuple(row[c] for c in columns) for row in rows])
