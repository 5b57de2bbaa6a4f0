"""Opening the store: migrations match the schema, and files that are not a usable baton database are
refused with a message that says what to do — leaving them exactly as they were."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from baton.core.errors import (
    CorruptDatabaseError,
    DatabaseLockedError,
    NotABatonDatabaseError,
    SchemaTooNewError,
)
from baton.store import database
from baton.store import tasks as tasks_queries
from baton.store.driver import Query
from baton.store.schema import metadata
from baton.store.store import Store


def test_head_revision_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(database.__file__).parent / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert heads == [database.HEAD_REVISION]
    assert database.HEAD_REVISION in database.KNOWN_REVISIONS


def test_migrations_build_exactly_the_schema(store_url: str) -> None:
    store = Store.open(store_url)
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert differences == []


PARTIAL_INDEXES = {
    "ix_tasks_parent_state": "parent_id IS NOT NULL",
    "ix_tasks_ready": "state = 'ready'",
    "ix_tasks_retrying": "state = 'retrying'",
    "ix_tasks_running": "state = 'running'",
}


def test_partial_indexes_are_partial_after_the_migrations(store_url: str) -> None:
    """Alembic's comparison does not look at an index's WHERE: read it back from the database."""
    store = Store.open(store_url)
    with store.engine.connect() as conn:
        for name, where in PARTIAL_INDEXES.items():
            if conn.dialect.name == "sqlite":
                found = conn.exec_driver_sql(
                    f"SELECT sql FROM sqlite_master WHERE name = '{name}'"
                ).scalar_one()
            else:
                found = conn.exec_driver_sql(
                    f"SELECT indexdef FROM pg_indexes WHERE indexname = '{name}'"
                ).scalar_one()
            # PostgreSQL writes it back as "WHERE ((state)::text = 'ready'::text)".
            assert where in found.replace("(", "").replace(")", "").replace("::text", ""), found
    store.close()


def _plan(conn: Connection, query: Query) -> str:
    sql = query.sql.format(ids="?, ?")
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, tuple([1] * sql.count("?"))).all()
    return " ; ".join(str(row[-1]) for row in rows)


def test_sqlite_finds_work_across_runs_through_the_partial_indexes(tmp_path: Path) -> None:
    """Each query that looks across runs for one state must use that state's partial index, never scan
    every task (a `baton worker` runs them at each poll, over a store of finished tasks). A state passed
    as a parameter, not written into the text, would quietly lose the index."""
    store = Store.open(f"sqlite:///{tmp_path / 'baton.db'}")
    expected = {
        "ix_tasks_parent_state": [tasks_queries.ITEMS_IN],
        "ix_tasks_ready": [tasks_queries.CANDIDATES[False, False]],
        "ix_tasks_retrying": [tasks_queries.DUE_RETRIES[False, False], tasks_queries.NEXT_RETRY[False]],
        "ix_tasks_running": [
            tasks_queries.RUNNING[False],
            tasks_queries._lost_sql(dead=0, of_run=False, locking=False),
            tasks_queries._lost_sql(dead=2, of_run=False, locking=False),
        ],
    }
    with store.engine.connect() as conn:
        for index, queries in expected.items():
            for query in queries:
                plan = _plan(conn, query)
                whole_table = [step for step in plan.split(" ; ") if step == "SCAN tasks"]
                assert index in plan and not whole_table, (query.sql, plan)
    store.close()


def test_reopening_a_migrated_store_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    Store.open(url).close()
    before = (tmp_path / "baton.db").read_bytes()
    Store.open(url).close()
    assert (tmp_path / "baton.db").read_bytes() == before


def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    before = _bytes(path)
    with pytest.raises(NotABatonDatabaseError, match="is not a SQLite database"):
        Store.open(f"sqlite:///{path}")
    assert _bytes(path) == before


def test_another_applications_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    before = _bytes(path)
    with pytest.raises(NotABatonDatabaseError, match=r"holds tables that are not baton's .*customers"):
        Store.open(f"sqlite:///{path}")
    assert _bytes(path) == before


def test_a_database_from_a_newer_baton_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "baton.db"
    Store.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaTooNewError, match="has schema '9999', newer than this baton knows"):
        Store.open(f"sqlite:///{path}")


def test_a_corrupt_database_is_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "baton.db"
    store = Store.open(f"sqlite:///{path}")
    store.close()
    with sqlite3.connect(path) as conn:  # fold the WAL in, so the damage below hits real pages
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page, len(data), 97):  # scribble over everything after the header page
        data[offset] = 0xA5
    path.write_bytes(bytes(data))
    with pytest.raises((CorruptDatabaseError, NotABatonDatabaseError)) as raised:
        Store.open(f"sqlite:///{path}")
    assert "corrupt" in raised.value.message or "not a SQLite database" in raised.value.message


def test_a_locked_database_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "baton.db"
    Store.open(f"sqlite:///{path}").close()
    monkeypatch.setenv("BATON_BUSY_TIMEOUT", "0.2")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = Store.open(f"sqlite:///{path}", check=False)
        with pytest.raises(DatabaseLockedError, match="is locked by another process"), store.begin():
            pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_postgres_url_is_rewritten_for_psycopg() -> None:
    assert database.database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database.database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def test_passwords_never_appear_in_messages() -> None:
    assert "secret" not in database._where("postgresql+psycopg://user:secret@db.example:5432/baton")
