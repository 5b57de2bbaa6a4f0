"""The rows of the tables, as the store hands them out: one type per table, each column declared once.

``tasks`` has one row type, :class:`TaskRecord`, with every column of the table (a test checks it against
:mod:`baton.store.schema`). The hot path reads less than a whole row; what it reads are documented
*views* — parts of that one row, never re-declared:

- :class:`MovedTask` is the head of the task row (identity, kind, attempt counters, input): what a
  transition returns (``UPDATE … RETURNING``). :class:`TaskRecord` extends it with the other columns, so
  a column of the head is declared in one place for both.
- :class:`ClaimedTask` is a :class:`MovedTask` a worker now leases, with its upstream checkpoints beside it.
- :class:`Candidate` is the claim columns of a ready task and its run's concurrency cap (a join).

``runs`` has :class:`RunRecord`. Not rows: :class:`TaskPlan` (what creating a task needs, before it has an
id or a state) and :class:`~baton.store.outcomes.Outcome` (how an attempt ended, before it is stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from baton.core.states import RunState, TaskKind, TaskState


@dataclass(frozen=True, slots=True)
class MovedTask:
    """The head of a task row: what a transition returns for each task it moved."""

    id: int
    run_id: str
    name: str
    step: str
    kind: TaskKind
    parent_id: int | None
    attempts: int
    failures: int
    input: str | None  # a mapped item's element (JSON); a mapped step's {"over": step}


# The columns of the head, in declaration order: the RETURNING list of every transition.
MOVED_COLUMNS: tuple[str, ...] = tuple(MovedTask.__dataclass_fields__)
_KINDS = {kind.value: kind for kind in TaskKind}


def moved_task(row: Any) -> MovedTask:
    """A :class:`MovedTask` from the driver's tuple of :data:`MOVED_COLUMNS`."""
    return MovedTask(row[0], row[1], row[2], row[3], _KINDS[row[4]], row[5], row[6], row[7], row[8])


@dataclass(frozen=True, slots=True)
class ClaimedTask(MovedTask):
    """A task this worker now holds a lease on, with everything needed to run it."""

    upstream: dict[str, str] = field(default_factory=dict)  # dependency step name -> its checkpoint (JSON)

    @property
    def attempt(self) -> int:
        """The number of the attempt this claim opened."""
        return self.attempts

    @property
    def item(self) -> str | None:
        """A mapped item's element, as JSON."""
        return self.input


@dataclass(frozen=True, slots=True)
class TaskRecord(MovedTask):
    """A whole row of ``tasks``, with the names of the tasks it depends on."""

    state: TaskState
    workstream: str
    map_index: int | None
    priority: int
    critical: bool
    approval: bool
    approved: bool
    max_attempts: int
    lease_owner: str | None
    lease_expires_at: float | None
    not_before: float | None
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    dependencies: list[str] = field(default_factory=list)


class Candidate(NamedTuple):
    """A task that may be claimed: its claim columns and its run's ``max_concurrency``. Read from the
    ready tasks, or from the dependents a tick has just released (:class:`Released`)."""

    id: int
    run_id: str
    kind: str
    approval: bool
    approved: bool
    max_concurrency: int | None
    critical: bool
    priority: int

    @property
    def claim_order(self) -> tuple[int, int, int]:
        """The store's claim order as a sort key: critical path first, then priority, then age."""
        return (-int(self.critical), -int(self.priority), self.id)

    @property
    def awaits_approval(self) -> bool:
        return bool(self.approval) and not self.approved


class Released(NamedTuple):
    """A pending task whose dependencies have all succeeded, and whether its run is running."""

    candidate: Candidate
    run_running: bool


@dataclass(frozen=True)
class RunRecord:
    """A row of ``runs``, its JSON columns decoded."""

    id: str
    workflow: str
    workflow_name: str
    state: RunState
    inputs: dict[str, Any]
    critical_path: list[str]
    options: dict[str, Any]
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    max_concurrency: int | None = None
    compensator: str | None = None  # in state compensating: the worker rolling the run back

    @property
    def clock(self) -> float:
        """The run's reference time: its ``clock`` option (a replay carries its source's), else its creation."""
        value = self.options.get("clock")
        return (
            float(value)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else self.created_at
        )

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, once finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True)
class TaskPlan:
    """Not a row: one task to create with a run (a step of its workflow), before it has an id or a state."""

    name: str
    step: str
    kind: TaskKind
    dependencies: tuple[str, ...] = ()
    priority: int = 0
    critical: bool = False
    approval: bool = False
    max_attempts: int = 1
    workstream: str = "main"
    map_over: str | None = None  # for a MAP task: the step whose output list it expands over


def task_record(row: Any, dependencies: list[str] | None = None) -> TaskRecord:
    """A :class:`TaskRecord` from a whole ``tasks`` row as SQLAlchemy returns it."""
    return TaskRecord(
        id=int(row.id),
        run_id=row.run_id,
        name=row.name,
        step=row.step,
        kind=TaskKind(row.kind),
        parent_id=row.parent_id,
        attempts=row.attempts,
        failures=row.failures,
        input=row.input,
        state=TaskState(row.state),
        workstream=row.workstream,
        map_index=row.map_index,
        priority=row.priority,
        critical=bool(row.critical),
        approval=bool(row.approval),
        approved=bool(row.approved),
        max_attempts=row.max_attempts,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        not_before=row.not_before,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        dependencies=dependencies if dependencies is not None else [],
    )
