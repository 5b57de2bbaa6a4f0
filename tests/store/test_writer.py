"""A Writer (the worker's ticks) commits like Store.begin, rolls a failed transaction back, and carries on."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from baton.core.errors import DatabaseLockedError
from baton.store.events import append_events_txn, event_row
from baton.store.schema import events
from baton.store.store import Store
from baton.store.wal import WalCheckpointer


def _count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def test_a_writer_commits_each_transaction_and_rolls_back_a_failed_one(store: Store) -> None:
    writer = store.writer()
    try:
        with writer.begin() as conn:
            append_events_txn(conn, [event_row(None, None, "test.one", 1.0, {})])
        assert _count(store) == 1
        with pytest.raises(RuntimeError), writer.begin() as conn:
            append_events_txn(conn, [event_row(None, None, "test.two", 2.0, {})])
            conn.execute(select(1))
            raise RuntimeError("the tick failed")
        assert _count(store) == 1  # nothing of the failed transaction stayed
        with writer.begin() as conn:  # and the next one works, on a fresh connection
            append_events_txn(conn, [event_row(None, None, "test.three", 3.0, {})])
        assert _count(store) == 2
    finally:
        writer.close()


def test_a_writer_waiting_for_a_lock_gets_the_store_s_message_and_then_carries_on(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = sqlite_store.writer()
    other = Store.open(sqlite_store.url)
    try:
        with writer.begin():
            pass  # the writer holds its connection between transactions
        with other.begin():
            monkeypatch.setenv("BATON_BUSY_TIMEOUT", "0.05")
            short = Store.open(sqlite_store.url)
            try:
                with pytest.raises(DatabaseLockedError), short.writer().begin():
                    pass
            finally:
                short.close()
        with writer.begin() as conn:
            append_events_txn(conn, [event_row(None, None, "test.after", 1.0, {})])
        assert _count(sqlite_store) == 1
    finally:
        writer.close()
        other.close()


def test_a_writer_s_commits_reach_the_database_file_by_a_background_checkpoint(sqlite_store: Store) -> None:
    """The held connection leaves checkpoints to a thread (store/wal.py): its commits land in the WAL,
    and the thread copies them into the database file soon after — without the writer's own
    checkpoint, which would not run before 10,000 pages, and with no connection closing."""
    database = Path(sqlite_store.engine.url.database or "")
    threads_before = _checkpoint_threads()
    writer = sqlite_store.writer()
    try:
        with writer.begin():
            pass
        with sqlite_store.begin():
            pass  # so that the file's bytes below are those of every checkpoint so far
        before = database.read_bytes()
        for number in range(20):
            with writer.begin() as conn:
                append_events_txn(conn, [event_row(None, None, "test.wal", float(number), {"n": number})])
        deadline = time.monotonic() + 10
        while database.read_bytes() == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert database.read_bytes() != before, "nothing was checkpointed into the database file"
        assert _count(sqlite_store) == 20
    finally:
        writer.close()
    assert _checkpoint_threads() == threads_before  # close() stopped this writer's thread


def _checkpoint_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "baton-wal-checkpoint" and t.is_alive()}


def test_closing_the_checkpointer_never_waits_out_its_timeout(sqlite_store: Store) -> None:
    """A stop that lands while the thread starts a checkpoint must still end it. It once cleared the stop's
    wake-up with its own and then waited for a commit that never came: close() gave up after 5 s, and a
    worker that finished a run took 5 s more to return (about one run in 30)."""
    slowest = 0.0
    for trial in range(300):
        checkpointer = WalCheckpointer(sqlite_store.engine, interval=0.0005)
        checkpointer.committed()
        time.sleep(0.0005 * (trial % 4))
        started = time.perf_counter()
        checkpointer.close()
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 2.0
