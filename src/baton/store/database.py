"""Opening the store: URL resolution, SQLite settings, schema checks, migrations and error translation."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from baton.core.durations import parse_duration
from baton.core.errors import (
    CorruptDatabaseError,
    DatabaseLockedError,
    InvalidInputError,
    NotABatonDatabaseError,
    SchemaBehindError,
    SchemaTooNewError,
    StoreError,
)
from baton.store.driver import Query, execute_txn

DEFAULT_PATH = Path(".baton") / "baton.db"
# The newest migration; a test checks it is Alembic's head, so a new migration cannot forget it.
HEAD_REVISION = "0005"
# Whatever the database layer raises that :func:`translated` did not turn into a StoreError: the
# command line's last-resort handler catches it without importing the driver.
UnexpectedDatabaseError = SQLAlchemyError
_SCHEMA_REVISION = text("SELECT version_num FROM alembic_version")
KNOWN_REVISIONS = frozenset({"0001", "0002", "0003", "0004", "0005"})


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
        # deadlocking on a lock upgrade; readers ask for a deferred transaction. A Writer's held
        # connection has begun on the driver already (store.Writer.begin): nothing to do then.
        if conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            return
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        execute_txn(
            conn, Query("transaction.begin", f"BEGIN {mode}")
        )  # on the driver: every tick of a worker begins here


# Per-session limits on PostgreSQL, so that a frozen or partitioned process never blocks the others for
# longer than these (see README, "Many workers"): (setting, environment variable, default in seconds).
# 0 turns one off.
SESSION_LIMITS = (
    ("lock_timeout", "BATON_PG_LOCK_TIMEOUT", 5.0),
    ("statement_timeout", "BATON_PG_STATEMENT_TIMEOUT", 120.0),
    ("idle_in_transaction_session_timeout", "BATON_PG_IDLE_IN_TRANSACTION_TIMEOUT", 15.0),
)


def session_limits() -> dict[str, int]:
    """The PostgreSQL session limits in milliseconds, from the environment or their defaults."""
    limits: dict[str, int] = {}
    for setting, variable, default in SESSION_LIMITS:
        raw = os.environ.get(variable)
        try:
            seconds = default if raw is None or not raw.strip() else parse_duration(raw)
        except ValueError as error:
            hint = f"set it like {variable}=5s (0 turns it off)"
            raise InvalidInputError(f"{variable}: {error}", hint=hint) from None
        limits[setting] = int(seconds * 1000)
    return limits


def _configure_postgresql(engine: Engine) -> None:
    limits = session_limits()
    statements = [f"SET {setting} = {ms}" for setting, ms in limits.items()]

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        # Who holds a lock, in pg_stat_activity and pg_locks: the host and process id of each baton session.
        name = f"baton {socket.gethostname()}:{os.getpid()}"[:63].replace("'", "")
        cursor.execute(f"SET application_name = '{name}'")
        cursor.close()
        dbapi_connection.commit()  # SET inside the driver's implicit transaction: keep it for the session


def _check_url(url: str) -> None:
    """Refuse a URL baton cannot open, naming where it came from and never showing a password."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in {"sqlite", "postgresql+psycopg"}:
        shown = url if not scheme else f"{scheme}://{_where(url)}"
        raise InvalidInputError(
            f"the store URL {shown!r} (--db or BATON_DATABASE_URL) is not a SQLite or PostgreSQL URL",
            hint="write it like postgresql://USER:PASSWORD@HOST:5432/DATABASE or sqlite:///PATH/baton.db",
            fields={"BATON_DATABASE_URL": "malformed"},
        )


def _create_private(path: Path) -> None:
    """Create the database's folder (0700) and file (0600) when they are new: the store holds key hashes,
    run inputs and outputs. SQLite gives its -wal and -shm files the database file's mode. Existing
    folders and files keep the mode their owner gave them."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as error:
        blocking = next((p for p in path.parents if p.exists()), None)
        reason = (
            f"{blocking} is a file, not a folder"
            if blocking is not None and not blocking.is_dir()
            else (error.strerror or str(error)).lower()
        )
        raise InvalidInputError(
            f"cannot create the store at {path}: {reason}",
            hint="give --db (or BATON_DATABASE_URL) a path in a folder you can write, "
            "like sqlite:///$HOME/.baton/baton.db",
            fields={"BATON_DATABASE_URL": "cannot be created"},
        ) from None


def create_store_engine(url: str) -> Engine:
    _check_url(url)
    try:
        return _create_engine(url)
    except (ArgumentError, ValueError) as error:  # e.g. a port that is not a number
        raise InvalidInputError(
            f"the store URL for {_where(url)} (--db or BATON_DATABASE_URL) is malformed: "
            f"{str(error).splitlines()[0]}",
            hint="write it like postgresql://USER:PASSWORD@HOST:5432/DATABASE",
            fields={"BATON_DATABASE_URL": "malformed"},
        ) from None


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            _create_private(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if engine.dialect.name == "postgresql":
        _configure_postgresql(engine)
    return engine


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
    lowered = text_.lower()
    if isinstance(error, OperationalError) and any(
        phrase in lowered for phrase in ("connect", "resolve host", "translate host")
    ):
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


# Every process that migrates takes this PostgreSQL advisory lock first (a transaction-level one: the commit
# or rollback of the migration releases it, and so does the death of the process). The key is "baton" in ASCII.
MIGRATION_LOCK_KEY = 0x6261746F6E
# How long a process waits for another's migration before it gives up (a migration of an empty or current
# database takes well under a second; a long one on a big table is what this is for).
MIGRATION_LOCK_WAIT_SECONDS = 300.0
AUTO_MIGRATE_VARIABLE = "BATON_AUTO_MIGRATE"


def auto_migrate() -> bool:
    """Whether opening the store migrates it: ``BATON_AUTO_MIGRATE`` (default true; the image sets false)."""
    raw = os.environ.get(AUTO_MIGRATE_VARIABLE, "").strip().lower()
    if raw in {"", "1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise InvalidInputError(
        f"{AUTO_MIGRATE_VARIABLE}={os.environ[AUTO_MIGRATE_VARIABLE]!r} is not true or false",
        hint=f"set {AUTO_MIGRATE_VARIABLE}=false to migrate only with `baton migrate`, or true (the default)",
    )


def check_and_migrate(engine: Engine, url: str, *, migrate: bool = True) -> str | None:
    """Bring the schema to head, refusing files that are not baton's or come from a newer baton.

    Returns the revision found before (None: an empty database). With ``migrate=False`` a schema that is
    not at head is refused with :class:`SchemaBehindError`, which names `baton migrate`. Any number of
    processes may call this at once: on PostgreSQL they serialize on an advisory lock, on SQLite on the
    write lock, and each looks at the version again once it holds the lock.
    """
    with translated(url):
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            version = _schema_version(conn, url)
        if version != HEAD_REVISION:
            if not migrate:
                found = f"schema {version!r}" if version else "no baton schema yet"
                off = (
                    ""
                    if auto_migrate()
                    else f" and migrations on start are off ({AUTO_MIGRATE_VARIABLE}=false)"
                )
                raise SchemaBehindError(
                    f"the database {_where(url)} has {found}; this baton needs {HEAD_REVISION!r}{off}",
                    hint="run `baton migrate` once (the migrate Job or compose service), then start again",
                )
            _upgrade(engine, url)
        if engine.dialect.name == "sqlite":
            raw = engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA journal_mode = WAL")
            finally:
                raw.close()
    return version


def _schema_version(conn: Connection, url: str) -> str | None:
    tables = _table_names(conn)
    version: str | None = None
    if "alembic_version" in tables:
        version = conn.execute(_SCHEMA_REVISION).scalar()
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


def schema_revision(conn: Connection) -> Any:
    """The revision the store's schema is at; raises when it has no ``alembic_version`` table."""
    return conn.execute(_SCHEMA_REVISION).scalar()


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
    with translated(url), engine.begin() as conn:  # on SQLite: BEGIN IMMEDIATE, the write lock
        if conn.dialect.name == "postgresql":
            _take_migration_lock(conn, url)
        if _schema_version(conn, url) == HEAD_REVISION:
            return  # another process migrated while this one waited
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _take_migration_lock(conn: Connection, url: str) -> None:
    wait_ms = int(MIGRATION_LOCK_WAIT_SECONDS * 1000)
    # The session's own limits (seconds) are for ticks of a worker, not for waiting on a migration.
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
    try:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    except OperationalError as error:
        if "lock timeout" not in str(error.orig):
            raise
        raise StoreError(
            f"another process has been migrating the database {_where(url)} for over "
            f"{MIGRATION_LOCK_WAIT_SECONDS:.0f} s",
            hint="see pg_stat_activity for the session named 'baton …' holding it; try `baton migrate` again",
        ) from None
