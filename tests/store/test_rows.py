"""One row type per table: the task row is declared once, and the hot path's views are parts of it."""

from __future__ import annotations

import dataclasses
import pickle

from baton.core.states import TaskKind, TaskState
from baton.store.rows import MOVED_COLUMNS, ClaimedTask, MovedTask, RunRecord, TaskRecord, moved_task
from baton.store.schema import runs, tasks


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_the_task_record_has_every_column_of_tasks_and_nothing_the_table_lacks() -> None:
    assert set(_fields(TaskRecord)) - {"dependencies"} == set(tasks.c.keys())


def test_the_run_record_has_every_column_of_runs() -> None:
    assert set(_fields(RunRecord)) == set(runs.c.keys())


def test_the_hot_path_rows_are_the_head_of_the_task_row_not_copies() -> None:
    assert issubclass(TaskRecord, MovedTask) and issubclass(ClaimedTask, MovedTask)
    assert _fields(TaskRecord)[: len(MOVED_COLUMNS)] == list(MOVED_COLUMNS) == _fields(MovedTask)
    assert _fields(ClaimedTask) == [*MOVED_COLUMNS, "upstream"]
    assert set(MOVED_COLUMNS) <= set(tasks.c.keys())


def test_rows_read_from_the_driver_carry_kinds_and_survive_pickling() -> None:
    moved = moved_task((7, "r1", "sum[2]", "sum", "item", 3, 2, 1, "5"))
    assert moved.kind is TaskKind.ITEM
    claimed = ClaimedTask(*(getattr(moved, c) for c in MOVED_COLUMNS), upstream={"a": "1"})
    assert (claimed.attempt, claimed.item) == (2, "5")
    assert pickle.loads(pickle.dumps(claimed)) == claimed
    record = TaskRecord(
        *(getattr(moved, c) for c in MOVED_COLUMNS),
        state=TaskState.RUNNING, workstream="main", map_index=2, priority=0, critical=False,
        approval=False, approved=False, max_attempts=1, lease_owner="w", lease_expires_at=1.0,
        not_before=None, error=None, created_at=0.0, started_at=0.5, finished_at=None,
    )  # fmt: skip
    assert pickle.loads(pickle.dumps(record)) == record
