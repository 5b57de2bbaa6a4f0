"""The Store: one handle on the database that every layer above uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

__all__ = ["Connection", "Store"]  # Connection: the transaction handle the store's *_txn functions take

from baton.store.database import (
    auto_migrate,
    check_and_migrate,
    create_store_engine,
    database_url,
    translated,
)
from baton.store.events import event_batch


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

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with (
            translated(self.url),
            self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn,
        ):
            yield conn

    def close(self) -> None:
        self.engine.dispose()
