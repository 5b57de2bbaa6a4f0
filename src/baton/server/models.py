"""The API's request and response bodies (pydantic), which are also its OpenAPI schema."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from baton.core.report import RunReport
from baton.core.states import AttemptOutcome, RunState, TaskKind, TaskState
from baton.store.keys import Role

T = TypeVar("T")


class _Strict(BaseModel):
    """Request bodies refuse unknown fields: a typo is an error, not a silently ignored option."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


class Page(BaseModel, Generic[T]):
    """One page of a list. Ask for the next with ``offset=next_offset``; it is null on the last page."""

    items: list[T]
    limit: int
    offset: int
    next_offset: int | None


def page_of(fetched: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """The fields of a :class:`Page` from up to ``limit + 1`` items read from ``offset`` on: the extra
    one only says that there is a next page."""
    more = len(fetched) > limit
    return {
        "items": fetched[:limit],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
    }


class Status(BaseModel):
    status: str
    schema_revision: str | None = None


# -- runs ------------------------------------------------------------------------------------------


class RunOut(BaseModel):
    id: str
    workflow: str
    workflow_ref: str
    state: RunState
    inputs: dict[str, Any]
    critical_path: list[str]
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None


class TaskOut(BaseModel):
    id: int
    name: str
    step: str
    kind: TaskKind
    state: TaskState
    workstream: str
    parent_id: int | None
    map_index: int | None
    critical: bool
    approval: bool
    attempts: int
    max_attempts: int
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    dependencies: list[str]


class AttemptOut(BaseModel):
    number: int
    worker: str
    outcome: AttemptOutcome
    error: str | None
    started_at: float
    finished_at: float | None


class TaskDetail(TaskOut):
    attempt_history: list[AttemptOut]
    checkpoint: Any = None


class RunDetail(RunOut):
    """A run with its step-level tasks (mapped items are listed by ``/runs/{run_id}/tasks``) and its report."""

    tasks: list[TaskOut]
    task_counts: dict[str, int]
    report: RunReport | None = Field(
        default=None,
        description="the run's result summary, made by its workflow from the checkpoints of the steps it "
        "names (the workflow's `report_from`). **null** while the run has not reached those steps, when "
        "one of them did not succeed, when the workflow names no report, or when its report could not be "
        "made (`report_error` says why). `verdict` is computed from the rows, never claimed: `all_met` "
        "only when every row with a verdict was checked and holds",
    )
    report_error: str | None = Field(
        default=None, description="why the report could not be made, when it could not; null otherwise"
    )


class StartRun(_Strict):
    workflow: str = Field(description="a workflow name from GET /workflows", min_length=1, max_length=200)
    inputs: dict[str, Any] = Field(default_factory=dict, description="the workflow's inputs (see its schema)")
    files: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="text files for the run's file and folder inputs: {input: {file name: content}}; they are "
        "written to the run's folder and the input is set to them (send binary files as multipart)",
    )


class Decision(_Strict):
    comment: str = Field(default="", max_length=2000)


class Rejection(_Strict):
    reason: str = Field(default="", max_length=2000)


# -- events ----------------------------------------------------------------------------------------


class EventOut(BaseModel):
    id: int
    run_id: str | None
    task_id: int | None
    type: str
    ts: float
    data: dict[str, Any]


class EventPage(BaseModel):
    """Events in id order. Ask for more with ``after=next_after``; it is null when there were no more."""

    items: list[EventOut]
    limit: int
    next_after: int | None


class DurationOut(BaseModel):
    step: str
    count: int
    min: float
    median: float
    p95: float
    max: float


class EventAggregate(BaseModel):
    run_id: str | None
    counts_by_type: dict[str, int]
    task_counts: dict[str, int]
    durations: list[DurationOut]


# -- catalog ---------------------------------------------------------------------------------------


class StepOut(BaseModel):
    name: str
    dependencies: list[str]
    description: str
    mapped_over: str | None
    approval: bool | None  # None: depends on the run's inputs
    critical: bool


class WorkflowOut(BaseModel):
    name: str
    ref: str
    description: str
    input_schema: dict[str, Any] | None
    steps: list[StepOut]
    report_from: list[str] | None = Field(
        default=None,
        description="the steps whose checkpoints make a run's report (GET /runs/{id} `report`); "
        "null when the workflow names no report",
    )


class AgentOut(BaseModel):
    name: str
    description: str
    timeout: float | None
    skills: list[str]
    input: dict[str, Any]
    output: dict[str, Any]


class ExtractRequest(_Strict):
    text: str = Field(min_length=1, max_length=10_000, description="the season described in plain words")
    categories: list[str] | None = Field(default=None, max_length=200)


# -- keys and tokens -------------------------------------------------------------------------------


class KeyOut(BaseModel):
    id: str
    name: str
    role: Role
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None


class KeyCreated(KeyOut):
    key: str = Field(description="the whole key: shown this once, never again")


class CreateKey(_Strict):
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.VIEWER
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)


class TokenRequest(_Strict):
    ttl_seconds: int | None = Field(default=None, ge=10, le=86_400)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: Role
