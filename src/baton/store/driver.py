"""Running the hot path's statements straight on the database driver.

SQLAlchemy spends 20–45 µs on every statement it executes (finding the compiled form in its cache,
processing parameters and rows, dispatching events), where the driver needs 1–15 µs for the small
statements of a worker's tick (measured on SQLite): with ten statements a tick, that overhead was most
of a chained task's cost. So the hot path writes its statements once, as SQL text with ``?`` markers,
and runs them here, on the driver connection of the caller's transaction. Only for columns whose values
need no type processing: text and numbers (SQLite hands booleans back as 0 or 1).

A driver error is raised as SQLAlchemy's :class:`~sqlalchemy.exc.DBAPIError`, as ``conn.execute``
would raise it, so that the store's error translation (locked, corrupt, …) still applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError


def markers(count: int) -> str:
    """``?, ?, …``: the markers of an ``IN (…)`` list of ``count`` values."""
    return ", ".join("?" * count)


def fetch_txn(conn: Connection, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one statement (a SELECT, or a write with RETURNING), as plain tuples."""
    cursor = _execute(conn, sql, parameters)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


def execute_txn(conn: Connection, sql: str, parameters: Sequence[Any] = ()) -> None:
    """Run one statement that returns no rows."""
    _execute(conn, sql, parameters).close()


def execute_many_txn(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement that returns no rows for each parameter tuple of ``rows``."""
    if rows:
        _execute(conn, sql, rows, many=True).close()


def _execute(conn: Connection, sql: str, parameters: Sequence[Any], *, many: bool = False) -> DBAPICursor:
    if conn.dialect.paramstyle != "qmark":  # psycopg: the statements hold no other "?" nor "%"
        sql = sql.replace("?", "%s")
    cursor = conn.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
    except conn.dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise DBAPIError.instance(
            sql, parameters, error, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect, ismulti=many
        ) from error
    return cursor
