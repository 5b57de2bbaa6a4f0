"""Appending many rows at once, straight to the driver.

SQLAlchemy's executemany processes every parameter set in Python (about 6 µs a row, measured); the hot
path appends several rows per task (events, attempts, checkpoints), so it hands plain tuples to the
driver's executemany instead. Only for tables whose columns need no type processing (text, numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table

_SQL: dict[tuple[str, tuple[str, ...], str], str] = {}


def bulk_insert_txn(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` inside the caller's transaction."""
    if not rows:
        return
    columns = tuple(rows[0])
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    key = (table.name, columns, marker)
    sql = _SQL.get(key)
    if sql is None:
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
        _SQL[key] = sql
    conn.exec_driver_sql(sql, [tuple(row[c] for c in columns) for row in rows])


def bulk_execute_txn(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run one statement written with ``?`` markers for many parameter tuples, straight to the driver."""
    if rows:
        if conn.dialect.paramstyle != "qmark":
            sql = sql.replace("?", "%s")
        conn.exec_driver_sql(sql, list(rows))
