"""Opening the store: URL resolution, SQLite settings, schema checks, migrations and error translation."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError

from baton.core.errors import (
    CorruptDatabaseError,
    DatabaseLockedError,
    InvalidInputError,
    NotABatonDatabaseError,
    SchemaTooNewError,
    StoreError,
)
from baton.store.driver import execute_txn

DEFAULT_PATH = Path(".baton") / "baton.db"
# The newest migration; a test checks it is Alembic's head, so a new migration cannot forget it.
HEAD_REVISION = "0002"
KNOWN_REVISIONS = frozenset({"0001", "0002"})


def database_url(url: str | None = None) -> str:
    """The store's URL: the argument, else ``BATON_DATABASE_URL``, else SQLite at ``.baton/baton.db``."""
    url = url or os.environ.get("BATON_DATABASE_URL")
    if not url:
        return f"sqlite:///{DEFAULT_PATH}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _busy_timeout_ms() -> int:
    raw = os.environ.get("BATON_BUSY_TIMEOUT", "5")
    try:
        return int(float(raw) * 1000)
    except ValueError:
        raise InvalidInputError(
            f"BATON_BUSY_TIMEOUT={raw!r} is not a number of seconds", hint="set it like BATON_BUSY_TIMEOUT=5"
        ) from None


def _configure_sqlite(engine: Engine) -> None:
    timeout = _busy_timeout_ms()

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is too late and too weak).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {timeout}")
        # journal_mode=WAL is set once, by check_and_migrate, after the file proved to be baton's:
        # it is written into the file, and a file that is not ours must be left exactly as it was.
        # NORMAL in WAL mode: a commit survives a crash of the process (kill -9); only power loss
        # can take back the last transactions, never corrupt the file.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        # Writers take the lock up front so that two writers wait on busy_timeout instead of
        # deadlocking on a lock upgrade; readers ask for a deferred transaction.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        execute_txn(conn, f"BEGIN {mode}")  # on the driver: every tick of a worker begins here


def _create_private(path: Path) -> None:
    """Create the database's folder (0700) and file (0600) when they are new: the store holds key hashes,
    run inputs and outputs. SQLite gives its -wal and -shm files the database file's mode. Existing
    folders and files keep the mode their owner gave them."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def create_store_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            _create_private(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def translate(error: BaseException, url: str) -> StoreError | None:
    """Map a driver error to the StoreError that tells the user what to do, or None if it is not one."""
    if isinstance(error, UnicodeDecodeError):  # SQLite handing back garbage from damaged pages
        return CorruptDatabaseError(
            f"the database {_where(url)} is corrupt (unreadable text in its pages)",
            hint="restore it from a backup, or move it away to start afresh",
        )
    if not isinstance(error, DBAPIError):
        return None
    text_ = str(error.orig) if error.orig is not None else str(error)
    where = _where(url)
    if "database is locked" in text_ or "database table is locked" in text_:
        return DatabaseLockedError(
            f"the database {where} is locked by another process",
            hint="wait for it to finish, or raise BATON_BUSY_TIMEOUT (seconds)",
        )
    if "file is not a database" in text_:
        return NotABatonDatabaseError(
            f"{where} is not a SQLite database (another kind of file, or its header is damaged)",
            hint="point BATON_DATABASE_URL at a baton database, or move the file away to start afresh",
        )
    if "malformed" in text_ or "disk image" in text_:
        return CorruptDatabaseError(
            f"the database {where} is corrupt ({text_})",
            hint="restore it from a backup, or move it away to start afresh",
        )
    if isinstance(error, OperationalError) and "connect" in text_.lower():
        return StoreError(
            f"cannot connect to the database {where}: {text_.splitlines()[0]}",
            hint="check BATON_DATABASE_URL and that the server is running",
        )
    return None


def _where(url: str) -> str:
    if url.startswith("sqlite"):
        return url.split(":///", 1)[-1]
    # Never show a password.
    head, _, tail = url.partition("@")
    return tail or head.split("://", 1)[0]


@contextmanager
def translated(url: str) -> Iterator[None]:
    try:
        yield
    except (DBAPIError, UnicodeDecodeError) as error:
        mapped = translate(error, url)
        if mapped is None:
            raise
        raise mapped from error


def check_and_migrate(engine: Engine, url: str) -> None:
    """Bring the schema to head, refusing files that are not baton's or come from a newer baton."""
    with translated(url):
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            version = _schema_version(conn, url)
        if version != HEAD_REVISION:
            _upgrade(engine, url)
        if engine.dialect.name == "sqlite":
            raw = engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA journal_mode = WAL")
            finally:
                raw.close()


def _schema_version(conn: Connection, url: str) -> str | None:
    tables = _table_names(conn)
    version: str | None = None
    if "alembic_version" in tables:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    elif tables - {"sqlite_sequence"}:
        raise NotABatonDatabaseError(
            f"{_where(url)} holds tables that are not baton's ({', '.join(sorted(tables)[:5])})",
            hint="point BATON_DATABASE_URL at a baton database or an empty one",
        )
    if version is not None and version not in KNOWN_REVISIONS:
        raise SchemaTooNewError(
            f"the database {_where(url)} has schema {version!r}, newer than this baton knows ({HEAD_REVISION})",
            hint="upgrade baton (pip install -U baton) or use another database",
        )
    return version


def _table_names(conn: Connection) -> set[str]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
    return {row[0] for row in rows}


def _upgrade(engine: Engine, url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with translated(url), engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
