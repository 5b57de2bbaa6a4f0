"""Every statement about ``checkpoints``: a task's persisted output, from which a run resumes.

A checkpoint is written in the transaction that moves its task to ``succeeded`` (see
:mod:`baton.store.outcomes`), never alone. (A run's outputs by task name: :func:`baton.store.runs.run_outputs`.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select

from baton.core.states import TaskKind, TaskState
from baton.store.bulk import bulk_insert_txn
from baton.store.driver import Query, fetch_txn, markers
from baton.store.schema import checkpoints, tasks

# Keeps IN (...) lists under every backend's bound-parameter limit (as transitions.CHUNK).
CHUNK = 2000

OF_ITEMS = Query(
    "checkpoints.of_items",
    "SELECT checkpoints.data FROM checkpoints JOIN tasks ON tasks.id = checkpoints.task_id"
    " WHERE tasks.parent_id = ? ORDER BY tasks.map_index",
)
OF_STEP = Query(
    "checkpoints.of_step",
    "SELECT checkpoints.data FROM checkpoints JOIN tasks ON tasks.id = checkpoints.task_id"
    f" WHERE tasks.run_id = ? AND tasks.step = ? AND tasks.kind != '{TaskKind.ITEM.value}'",
)
UPSTREAM = Query(
    "checkpoints.upstream",
    "SELECT task_dependencies.task_id, dependency.step, checkpoints.data FROM task_dependencies"
    " JOIN tasks AS dependency ON dependency.id = task_dependencies.depends_on_id"
    " JOIN checkpoints ON checkpoints.task_id = dependency.id WHERE task_dependencies.task_id IN ({ids})",
)


def insert_checkpoints_txn(conn: Connection, stored: Iterable[tuple[int, str, str]], *, now: float) -> None:
    """Store outputs — (task id, run id, output JSON) — as checkpoints."""
    bulk_insert_txn(
        conn,
        checkpoints,
        [
            {"task_id": task_id, "run_id": run_id, "data": data, "created_at": now}
            for task_id, run_id, data in stored
        ],
    )


def item_outputs_txn(conn: Connection, parent_id: int) -> list[str]:
    """The outputs of a mapped step's items, in item order."""
    return [data for (data,) in fetch_txn(conn, OF_ITEMS, [parent_id])]


def step_output_txn(conn: Connection, run_id: str, step: str) -> str | None:
    """The output of a run's step-level task ``step`` (not of its items), if it has one."""
    rows = fetch_txn(conn, OF_STEP, [run_id, step])
    return str(rows[0][0]) if rows else None


def upstream_outputs_txn(conn: Connection, task_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """For each of these tasks: the checkpoint of each task it depends on, by that task's step."""
    upstream: dict[int, dict[str, str]] = {task_id: {} for task_id in task_ids}
    for start in range(0, len(task_ids), CHUNK):
        chunk = task_ids[start : start + CHUNK]
        for task_id, step, data in fetch_txn(conn, UPSTREAM.format(ids=markers(len(chunk))), chunk):
            upstream[task_id][step] = data
    return upstream


def get_checkpoint(conn: Connection, task_id: int) -> str | None:
    return conn.execute(select(checkpoints.c.data).where(checkpoints.c.task_id == task_id)).scalar()


def succeeded_steps_txn(
    conn: Connection, run_id: str, steps: Iterable[str]
) -> list[tuple[int, str, str, str]]:
    """The succeeded step-level tasks of a run among ``steps``, newest first, with their checkpoints:
    (id, name, step, output JSON)."""
    names = sorted(set(steps))
    if not names:
        return []
    rows = conn.execute(
        select(tasks.c.id, tasks.c.name, tasks.c.step, checkpoints.c.data)
        .join(checkpoints, checkpoints.c.task_id == tasks.c.id)
        .where(
            tasks.c.run_id == run_id,
            tasks.c.state == TaskState.SUCCEEDED.value,
            tasks.c.kind != TaskKind.ITEM.value,
            tasks.c.step.in_(names),
        )
        .order_by(tasks.c.finished_at.desc(), tasks.c.id.desc())
    ).all()
    return [(int(r.id), r.name, r.step, r.data) for r in rows]
