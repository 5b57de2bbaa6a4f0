"""Every error baton raises on purpose.

Every one survives pickling (they cross the process pool): :meth:`BatonError.__reduce__` rebuilds an error
from its arguments and attributes without calling ``__init__``, whatever that subclass's signature.

BatonError                      one root; `hint` says what to do, `exit_code`/`http_status` map it
├── WorkflowDefinitionError     a workflow that cannot run
│   ├── CycleError              names the cycle
│   ├── UnknownDependencyError
│   └── DuplicateStepError
├── WorkflowNotFoundError       MODULE:WORKFLOW that does not resolve
├── ReportError                 a run's report could not be made from its checkpoints
├── InvalidInputError           inputs that fail validation; names the fields
├── NotFoundError
│   ├── RunNotFoundError
│   └── TaskNotFoundError
├── IllegalTransitionError      names the object, its state and the attempted one
├── StoreError
│   ├── DatabaseLockedError
│   ├── NotABatonDatabaseError
│   ├── CorruptDatabaseError
│   ├── SchemaTooNewError
│   ├── SchemaBehindError       migrations are off and the schema is older than this baton: `baton migrate`
│   └── StoreUnavailableError   the database could not be reached for longer than allowed
└── TaskError                   raised by step code; decides retry behaviour
    ├── TransientError          worth retrying
    ├── PermanentError          never retried
    ├── TaskTimeoutError        the attempt exceeded its timeout (transient)
    └── MissingContextError     a step's declared context could not be assembled (permanent)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class BatonError(Exception):
    """Root of baton's errors. `message` says what was wrong, `hint` what to do about it."""

    exit_code = 1
    http_status = 400
    code = "baton_error"

    def __init__(self, message: str, *, hint: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce calls cls(*args): wrong for every subclass whose __init__ takes other arguments.
        return (_rebuild, (type(self), self.args, self.__dict__.copy()))


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    error = cls.__new__(cls)
    BaseException.__init__(error, *args)
    error.__dict__.update(state)
    return error


class WorkflowDefinitionError(BatonError):
    exit_code = 2
    code = "invalid_workflow"


class CycleError(WorkflowDefinitionError):
    def __init__(self, workflow: str, cycle: Sequence[str]) -> None:
        path = " -> ".join([*cycle, cycle[0]])
        super().__init__(
            f"workflow {workflow!r} has a cycle: {path}",
            hint="remove one of these dependencies",
            details={"cycle": list(cycle)},
        )
        self.cycle = list(cycle)


class UnknownDependencyError(WorkflowDefinitionError):
    def __init__(self, workflow: str, step: str, dependency: str) -> None:
        super().__init__(
            f"workflow {workflow!r}: step {step!r} depends on {dependency!r}, which is not a step",
            hint="declare that step or fix the name",
            details={"step": step, "dependency": dependency},
        )


class DuplicateStepError(WorkflowDefinitionError):
    def __init__(self, workflow: str, step: str) -> None:
        super().__init__(
            f"workflow {workflow!r} declares step {step!r} twice",
            hint="give every step a unique name",
            details={"step": step},
        )


class WorkflowNotFoundError(BatonError):
    exit_code = 2
    http_status = 404
    code = "workflow_not_found"


class ReportError(BatonError):
    """A workflow's report function failed on a run's checkpoints (a bug of the workflow, or checkpoints
    of an older shape): the run itself is unaffected, only its summary is missing."""

    http_status = 500
    code = "report_failed"


class InvalidInputError(BatonError):
    exit_code = 2
    http_status = 422
    code = "invalid_input"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint, details={"fields": fields or {}})
        self.fields = fields or {}


class NotFoundError(BatonError):
    exit_code = 3
    http_status = 404
    code = "not_found"


class RunNotFoundError(NotFoundError):
    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"no run with id {run_id!r}",
            hint="list runs with `baton runs`",
            details={"run_id": run_id},
        )


class AmbiguousRunIdError(BatonError):
    exit_code = 2
    http_status = 409
    code = "ambiguous_run_id"

    def __init__(self, prefix: str, candidates: list[str]) -> None:
        listed = ", ".join(candidates[:10]) + (", …" if len(candidates) > 10 else "")
        super().__init__(
            f"the run id prefix {prefix!r} matches several runs: {listed}",
            hint="give more characters of the run id",
            details={"run_id": prefix, "candidates": candidates[:10]},
        )


class TaskNotFoundError(NotFoundError):
    def __init__(self, run_id: str, task: str) -> None:
        super().__init__(
            f"run {run_id!r} has no task {task!r}",
            hint=f"list its tasks with `baton status {run_id}`",
            details={"run_id": run_id, "task": task},
        )


class IllegalTransitionError(BatonError):
    exit_code = 4
    http_status = 409
    code = "illegal_transition"

    def __init__(self, kind: str, name: str, current: str, target: str, *, hint: str = "") -> None:
        super().__init__(
            f"{kind} {name} is {current}; it cannot become {target}",
            hint=hint,
            details={"object": kind, "name": name, "state": current, "target": target},
        )


class StoreError(BatonError):
    exit_code = 5
    http_status = 503
    code = "store_error"


class DatabaseLockedError(StoreError):
    code = "database_locked"


class NotABatonDatabaseError(StoreError):
    code = "not_a_baton_database"


class CorruptDatabaseError(StoreError):
    code = "corrupt_database"


class SchemaTooNewError(StoreError):
    code = "schema_too_new"


class SchemaBehindError(StoreError):
    """Migrations on open are off (``BATON_AUTO_MIGRATE=false``) and the schema is not at head."""

    code = "schema_behind"


class StoreUnavailableError(StoreError):
    """The database could not be reached (or kept refusing work) for longer than the worker may wait."""

    code = "store_unavailable"


class TaskError(BatonError):
    """Raised by step code. Subclasses say whether another attempt could succeed."""

    code = "task_error"
    transient = True


class TransientError(TaskError):
    transient = True


class PermanentError(TaskError):
    transient = False


class TaskTimeoutError(TaskError):
    transient = True
    code = "task_timeout"


class MissingContextError(TaskError):
    transient = False
    code = "missing_context"
