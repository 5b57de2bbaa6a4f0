"""The store under the weather of a shared database: session limits, conflicts retried, outages given up
on with a clear message, and the data migration that made `compensating` a run state."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

import baton.store.database as database
from baton.core.durations import parse_duration
from baton.core.errors import InvalidInputError, StoreUnavailableError
from baton.core.states import RunState
from baton.store.retry import Patience, Trouble, call_with_retry, classify
from baton.store.runs import get_run
from baton.store.store import Store


@pytest.fixture
def pg_url(postgres, postgres_template) -> str:  # type: ignore[no-untyped-def]
    return str(postgres.url(postgres.create_database(postgres_template)))


@pytest.mark.postgres
def test_every_postgresql_session_has_the_limits_and_a_name(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_PG_LOCK_TIMEOUT", "750ms")
    store = Store.open(pg_url)
    try:
        with store.read() as conn:
            shown = {
                name: conn.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")
            }
            name = conn.execute(text("SHOW application_name")).scalar_one()
        assert shown == {
            "lock_timeout": "750ms",
            "statement_timeout": "2min",
            "idle_in_transaction_session_timeout": "15s",
        }
        assert name.startswith("baton ") and name.endswith(f":{os.getpid()}")
    finally:
        store.close()


def test_a_bad_session_limit_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_PG_STATEMENT_TIMEOUT", "soon")
    with pytest.raises(InvalidInputError, match="BATON_PG_STATEMENT_TIMEOUT"):
        database.session_limits()


def test_durations_read_as_people_write_them() -> None:
    assert [parse_duration(t) for t in ("30s", "500ms", "2m", "1h", "1.5", " 10 s ", 7)] == [
        30.0,
        0.5,
        120.0,
        3600.0,
        1.5,
        10.0,
        7.0,
    ]
    for bad in ("", "-1s", "10 days", "nan", "1e400"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


@pytest.mark.postgres
def test_a_real_deadlock_between_two_transactions_is_retried_until_both_commit(pg_url: str) -> None:
    """Two threads lock two rows in opposite orders; PostgreSQL aborts one; it is done again."""
    store = Store.open(pg_url)
    try:
        with store.begin() as conn:
            conn.execute(text("CREATE TABLE pair (id int PRIMARY KEY, n int)"))
            conn.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
        barrier = threading.Barrier(2)
        tries = {"a": 0, "b": 0}
        errors: list[BaseException] = []

        def swap(name: str, first: int, second: int) -> None:
            tries[name] += 1
            with store.begin() as conn:
                conn.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": first})
                if tries[name] == 1:
                    barrier.wait(timeout=10)
                conn.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": second})

        def run(name: str, first: int, second: int) -> None:
            try:
                call_with_retry(swap, name, first, second, patience=Patience(outage=5, conflicts=30))
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=run, args=a) for a in (("a", 1, 2), ("b", 2, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert max(tries.values()) >= 2  # one of them lost (at least once) and was done again
        with store.read() as conn:
            assert dict(conn.execute(text("SELECT id, n FROM pair")).all()) == {1: 2, 2: 2}
    finally:
        store.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when this returns: nothing listens there


def test_an_unreachable_database_is_given_up_on_with_a_clear_message() -> None:
    engine = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/none?connect_timeout=2")

    def connect() -> None:
        with engine.connect():
            pass

    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=r"cannot reach the database .* for [0-9]+ s") as raised:
        call_with_retry(connect, patience=Patience(outage=1.0), where="the database 127.0.0.1")
    assert time.monotonic() - started < 10
    assert raised.value.exit_code == 5 and "supervisor" in raised.value.hint
    assert classify(raised.value.__cause__ or raised.value) is Trouble.OUTAGE


def test_an_error_of_the_work_itself_is_not_retried() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        call_with_retry(broken)
    assert calls == [1]


def test_a_compensating_mark_in_the_options_becomes_the_run_state(tmp_path: Path) -> None:
    """Stores written before 0003 kept the mark in runs.options: the migration moves it to the state."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(Path(database.__file__).parent / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        for run_id, state, options in (
            ("owned", "failed", {"compensating": "host:w1", "budget_usd": 2}),
            ("legacy", "failed", {"compensating": True}),
            ("plain", "failed", {}),
        ):
            conn.execute(
                text(
                    "INSERT INTO runs (id, workflow, workflow_name, state, inputs, critical_path, options,"
                    " created_at) VALUES (:id, 'm:w', 'w', :state, '{}', '[]', :options, 0)"
                ),
                {"id": run_id, "state": state, "options": json.dumps(options)},
            )
    engine.dispose()
    store = Store.open(url)
    try:
        with store.read() as conn:
            found = {r: get_run(conn, r) for r in ("owned", "legacy", "plain")}
        assert (found["owned"].state, found["owned"].compensator) == (RunState.COMPENSATING, "host:w1")
        assert found["owned"].options == {"budget_usd": 2}
        assert (found["legacy"].state, found["legacy"].compensator) == (RunState.COMPENSATING, None)
        assert (found["plain"].state, found["plain"].compensator) == (RunState.FAILED, None)
    finally:
        store.close()
