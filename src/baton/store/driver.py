"""Running the hot path's statements straight on the database driver.

SQLAlchemy spends 20–45 µs on every statement it executes (finding the compiled form in its cache,
processing parameters and rows, dispatching events), where the driver needs 1–15 µs for the small
statements of a worker's tick (measured on SQLite): with ten statements a tick, that overhead was most
of a chained task's cost. So the hot path writes its statements once, as SQL text with ``?`` markers,
and runs them here, on the driver connection of the caller's transaction. Only for columns whose values
need no type processing: text and numbers (SQLite hands booleans back as 0 or 1).

A driver error is raised as SQLAlchemy's :class:`~sqlalchemy.exc.DBAPIError`, as ``conn.execute``
would raise it, so that the store's error translation (locked, corrupt, …) still applies.

Every statement run here is a named :class:`Query`, declared beside the other statements of its table
(``baton.store.tasks``, ``.attempts``, ``.checkpoints``, …). :func:`timing_queries` switches on a hook
that counts each query's executions and the time they take, by name (off by default: one ``is None``
test a statement) — the engine benchmark prints what each statement costs a chain and a wide run.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError


class Query(NamedTuple):
    """One statement of the store, by name (``table.what``), as SQL text with ``?`` markers.

    An ``IN`` list is left as ``{ids}`` (or another name) and filled by :meth:`format` for its length.
    """

    name: str
    sql: str

    def format(self, **lists: str) -> Query:
        key: tuple[object, ...] = (self.sql, *lists.items())
        formatted = _FORMATTED.get(key)
        if formatted is None:
            formatted = _FORMATTED[key] = Query(self.name, self.sql.format(**lists))
        return formatted


# Formatted queries by text and list markers. Bounded: IN lists are cut into chunks of a fixed size,
# so each query has at most that many forms. Formatting anew cost 3 % of a chained task (sampled).
_FORMATTED: dict[tuple[object, ...], Query] = {}


# name -> [executions, seconds]; None unless timing_queries() is on.
_timings: dict[str, list[float]] | None = None


@contextmanager
def timing_queries() -> Iterator[dict[str, list[float]]]:
    """Count every query run on the driver and the time it takes (with fetching its rows), by name,
    while the block runs. Yields the figures: ``{name: [count, seconds]}``. For benchmarks."""
    global _timings
    previous, _timings = _timings, {}
    try:
        yield _timings
    finally:
        _timings = previous


def record_timing(name: str, started: float) -> None:
    """Add one execution of ``name`` that started at ``started`` (``time.perf_counter()``), when timing."""
    if _timings is not None:
        figures = _timings.setdefault(name, [0, 0.0])
        figures[0] += 1
        figures[1] += time.perf_counter() - started


@functools.lru_cache(maxsize=128)  # the short lists of the hot path; a long one is cheap to build anew
def markers(count: int) -> str:
    """``?, ?, …``: the markers of an ``IN (…)`` list of ``count`` values."""
    return ", ".join("?" * count)


def fetch_txn(conn: Connection, query: Query, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one statement (a SELECT, or a write with RETURNING), as plain tuples."""
    started = time.perf_counter() if _timings is not None else 0.0
    cursor = _execute(conn, query.sql, parameters)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()
        if _timings is not None:
            record_timing(query.name, started)


def execute_txn(conn: Connection, query: Query, parameters: Sequence[Any] = ()) -> int:
    """Run one statement that returns no rows; returns how many rows it changed."""
    started = time.perf_counter() if _timings is not None else 0.0
    cursor = _execute(conn, query.sql, parameters)
    count = int(cursor.rowcount)
    cursor.close()
    if _timings is not None:
        record_timing(query.name, started)
    return count


def execute_many_txn(conn: Connection, query: Query, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement that returns no rows for each parameter tuple of ``rows``."""
    if rows:
        started = time.perf_counter() if _timings is not None else 0.0
        _execute(conn, query.sql, rows, many=True).close()
        if _timings is not None:
            record_timing(query.name, started)


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
