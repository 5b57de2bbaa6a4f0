"""The Store: one handle on the database that every layer above uses."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

__all__ = [
    "Connection",
    "Store",
    "Writer",
]  # Connection: the transaction handle the store's *_txn functions take

from baton.store.database import (
    auto_migrate,
    check_and_migrate,
    create_store_engine,
    database_url,
    translated,
)
from baton.store.driver import Query, execute_txn
from baton.store.events import event_batch
from baton.store.wal import SAFETY_PAGES, WalCheckpointer


class Store:
    """An open, migrated database. Thread-safe; cheap to share.

    Write with ``with store.begin() as conn:`` (one transaction; on SQLite it takes the write lock
    at once), read with ``with store.read() as conn:``. Functions named ``*_txn(conn, …)`` in this
    package run inside the caller's transaction so that callers can combine them atomically.
    """

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool | None = None, check: bool = True) -> Store:
        """Open the store at ``url`` (see :func:`database_url`), checking its schema.

        ``migrate`` (default: ``BATON_AUTO_MIGRATE``, true unless set) brings an older schema to head;
        without it an older schema is refused with a message naming `baton migrate`. ``check=False``
        skips the look at the schema altogether.
        """
        resolved = database_url(url)
        migrating = auto_migrate() if migrate is None else migrate
        engine = create_store_engine(resolved)
        if check:
            try:
                check_and_migrate(engine, resolved, migrate=migrating)
            except BaseException:
                engine.dispose()
                raise
        return cls(engine, resolved)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        # Events are written last, just before the commit (see events._write for why that matters).
        with translated(self.url), self.engine.begin() as conn, event_batch(conn):
            yield conn

    def writer(self) -> Writer:
        """A :class:`Writer`: write transactions one after another, as a worker's ticks are."""
        return Writer(self)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with (
            translated(self.url),
            self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn,
        ):
            yield conn

    def close(self) -> None:
        self.engine.dispose()


_BEGIN = Query("transaction.begin", "BEGIN IMMEDIATE")
_COMMIT = Query("transaction.commit", "COMMIT")


class Writer:
    """Write transactions one after another (a worker's ticks), each like :meth:`Store.begin`.

    On SQLite they run on one connection held between them: taking a connection from SQLAlchemy's pool
    and giving it back costs about 40 µs of the 60 µs an empty transaction takes through SQLAlchemy
    (measured), a tenth of a chained task. A connection whose transaction failed is closed, and the next
    transaction takes a fresh one. On PostgreSQL each transaction takes its connection from the pool, so
    that one the server dropped is replaced as it is for every other caller. Not thread-safe: one per
    thread of work. :meth:`close` it when done.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._hold = store.dialect == "sqlite"
        self._conn: Connection | None = None
        self._wal: WalCheckpointer | None = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        if not self._hold:
            with self.store.begin() as conn:
                yield conn
            return
        with translated(self.store.url):
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn
            try:
                # BEGIN and COMMIT on the driver, not through SQLAlchemy's transaction objects (15 of the
                # 20 µs an empty transaction took, measured). A statement run through SQLAlchemy inside
                # starts SQLAlchemy's own bookkeeping (its BEGIN is skipped: see database.on_begin),
                # which is then committed through SQLAlchemy, so that the connection is left clean.
                execute_txn(conn, _BEGIN)
                # Events are written last, just before the commit, as in Store.begin.
                with event_batch(conn):
                    yield conn
                if conn.in_transaction():
                    conn.commit()
                else:
                    execute_txn(conn, _COMMIT)
            except BaseException:
                self._drop()  # closed unfinished: SQLite rolls the transaction back
                raise
        if self._wal is not None:
            self._wal.committed()

    def close(self) -> None:
        self._drop()
        if self._wal is not None:
            self._wal.close()
            self._wal = None

    def _connect(self) -> Connection:
        """The held connection. Its commits leave checkpoints to a :class:`WalCheckpointer` (see
        ``store/wal.py``: they were two thirds of a chained task's commit time), keeping SQLite's own as
        a safety net at a higher mark."""
        conn = self.store.engine.connect()
        if self.store.engine.url.database not in (None, "", ":memory:"):
            conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {SAFETY_PAGES}")
            conn.commit()
            if self._wal is None:
                self._wal = WalCheckpointer(self.store.engine)
                # A writer dropped without close() (its worker abandoned) does not leave the thread behind.
                weakref.finalize(self, self._wal.stop)
        return conn

    def _drop(self) -> None:
        """Close the held connection (after a failed transaction, or for good). It is not given back to
        the pool: its autocheckpoint mark is this writer's, not every connection's."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.invalidate()
                conn.close()
