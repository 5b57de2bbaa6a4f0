"""Runs and their tasks: start, list, read (with the run's report), cancel, resume; retry, approve and reject a task."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from baton.core.states import AttemptOutcome, RunState, TaskKind, TaskState
from baton.engine import approve_task, cancel_run, prepare_resume, reject_task, retry_task, start_run
from baton.engine.runs import new_run_id
from baton.observability import bind_context, get_logger, redact_value
from baton.server.auth import Principal, operator, viewer
from baton.server.catalog import load_offered, workflow_ref
from baton.server.models import (
    AttemptOut,
    Decision,
    Page,
    Rejection,
    RunDetail,
    RunOut,
    StartRun,
    TaskDetail,
    TaskOut,
    page_of,
)
from baton.server.run_report import report_fields, unloaded_workflow
from baton.server.run_request import read_start_run, start_run_openapi
from baton.server.state import ServerState, in_store, server_state
from baton.server.workspace import Upload, prepare_inputs, remove_run_folder, write_uploads
from baton.store.attempts import list_attempts
from baton.store.checkpoints import get_checkpoint
from baton.store.events import last_event_id
from baton.store.rows import RunRecord, TaskRecord
from baton.store.runs import find_run_id, get_run, list_runs, run_outputs, run_version, runs_version
from baton.store.tasks import list_tasks, task_state_counts
from baton.store.transitions import find_task_txn

router = APIRouter(tags=["runs"])
_log = get_logger("baton.server.runs")

RunId = Annotated[str, Path(min_length=1, max_length=40, description="a run id or a unique prefix of one")]
TaskName = Annotated[str, Path(min_length=1, max_length=300, description="a task name, e.g. `summarise[3]`")]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")]
State = Annotated[ServerState, Depends(server_state)]


def run_out(record: RunRecord) -> RunOut:
    return RunOut(
        id=record.id,
        workflow=record.workflow_name,
        workflow_ref=record.workflow,
        state=record.state,
        inputs=redact_value(record.inputs),
        critical_path=record.critical_path,
        error=record.error,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
    )


def task_out(task: TaskRecord) -> TaskOut:
    return TaskOut(
        id=task.id,
        name=task.name,
        step=task.step,
        kind=task.kind,
        state=task.state,
        workstream=task.workstream,
        parent_id=task.parent_id,
        map_index=task.map_index,
        critical=task.critical,
        approval=task.approval,
        attempts=task.attempts,
        max_attempts=task.max_attempts,
        error=task.error,
        created_at=task.created_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        dependencies=task.dependencies,
    )


@router.get("/runs", response_model=Page[RunOut], summary="List runs, newest first")
async def list_runs_route(
    state: State,
    _: Annotated[Principal, Depends(viewer)],
    limit: Limit = 50,
    offset: Offset = 0,
    run_state: Annotated[RunState | None, Query(alias="state", description="only runs in this state")] = None,
    workflow: Annotated[str | None, Query(max_length=200, description="only runs of this workflow")] = None,
) -> Response:
    key = ("runs", run_state, workflow, limit, offset)

    def read() -> bytes:
        with state.store.read() as conn:
            version = runs_version(conn)
            body = state.responses.get(key, version)
            if body is None:
                found = list_runs(conn, state=run_state, workflow=workflow, limit=limit + 1, offset=offset)
                page = Page[RunOut](**page_of([run_out(r) for r in found], limit, offset))
                body = page.model_dump_json().encode()
                state.responses.put(key, version, body)
        return body

    return Response(await in_store(state, read), media_type="application/json")


@router.post(
    "/runs",
    response_model=RunOut,
    status_code=status.HTTP_201_CREATED,
    summary="Start a run of a workflow",
    description=(
        "Path inputs are relative to the server's workspace and may not leave it; an output folder left out "
        "goes to the run's own folder (`runs/<run id>/<input>`). Files sent for a file or folder input (JSON "
        "`files`, or multipart parts named after the input) are written to the run's folder and the input is "
        "set to them. Inputs whose schema names a role (`x-baton-role`) need that role."
    ),
    openapi_extra=start_run_openapi(),
)
async def start_run_route(
    request: Request, state: State, principal: Annotated[Principal, Depends(operator)]
) -> RunOut:
    body, uploads = await read_start_run(request)
    return await run_in_threadpool(_start, state, principal, body, uploads)


def _start(state: ServerState, principal: Principal, body: StartRun, uploads: list[Upload]) -> RunOut:
    ref = workflow_ref(state, body.workflow)
    workflow = load_offered(state, body.workflow)
    run_id = new_run_id()
    inputs = prepare_inputs(
        workflow, body.inputs, uploads, reach=state.reach, run_id=run_id, role=principal.role
    )
    try:
        write_uploads(state.reach, run_id, uploads)
        # the workflow's check against the world (its files, a request readable from them): refused here
        # with the message its CLI gives, not stored to fail in its first step
        workflow.check_inputs(workflow.parse_inputs(inputs), context=state.reach.context())
        start_run(
            state.store,
            ref,
            inputs,
            workflow=workflow,
            options={"started_by": principal.key_id, "workspace": str(state.reach.workspace)},
            run_id=run_id,
        )
    except BaseException:
        remove_run_folder(state.reach, run_id)
        raise
    with bind_context(run_id=run_id):
        _log.info("run_started", workflow=body.workflow, key_id=principal.key_id, files=len(uploads))
    with state.store.read() as conn:
        return run_out(get_run(conn, run_id))


@router.get(
    "/runs/{run_id}",
    response_model=RunDetail,
    summary="A run with its step-level tasks and its report",
    description=(
        "`report` is the run's result summary, made by its workflow from the checkpoints of the steps its "
        "report names (GET /workflows/{name} `report_from`): null until those steps have succeeded."
    ),
)
async def get_run_route(run_id: RunId, state: State, _: Annotated[Principal, Depends(viewer)]) -> Response:
    def read(may_import: bool) -> bytes | str:
        with state.store.read() as conn:
            found = run_version(conn, run_id)
            if found is not None:
                full, version = found
            else:  # a prefix, or no such run (find_run_id says which)
                full = find_run_id(conn, run_id)
                version = last_event_id(conn, full)
            body = state.responses.get(("run", full), version)
            if body is None:
                record = get_run(conn, full)
                to_load = unloaded_workflow(state, record)
                if to_load is not None and not may_import:
                    return to_load
                tasks = list_tasks(conn, full, include_items=False)
                detail = RunDetail(
                    **run_out(record).model_dump(),
                    tasks=[task_out(t) for t in tasks],
                    task_counts={s.value: n for s, n in task_state_counts(conn, full).items()},
                ).model_dump(mode="json")
                detail.update(report_fields(state, conn, record, tasks))
                body = json.dumps(detail, separators=(",", ":")).encode()
                state.responses.put(("run", full), version, body)
        return body

    answer = await in_store(state, read, False)
    if isinstance(answer, str):  # the run's workflow makes its report: import it off the event loop, once
        answer = await run_in_threadpool(read, True)
    return Response(answer, media_type="application/json")


@router.get(
    "/runs/{run_id}/tasks", response_model=Page[TaskOut], summary="A run's tasks, mapped items included"
)
def list_tasks_route(
    run_id: RunId,
    state: State,
    _: Annotated[Principal, Depends(viewer)],
    limit: Limit = 100,
    offset: Offset = 0,
    task_state: Annotated[
        TaskState | None, Query(alias="state", description="only tasks in this state")
    ] = None,
    kind: Annotated[TaskKind | None, Query(description="only tasks of this kind")] = None,
) -> dict[str, Any]:
    with state.store.read() as conn:
        full = find_run_id(conn, run_id)
        found = [
            t
            for t in list_tasks(conn, full)
            if (task_state is None or t.state is task_state) and (kind is None or t.kind is kind)
        ]
    return page_of([task_out(t) for t in found[offset : offset + limit + 1]], limit, offset)


@router.get(
    "/runs/{run_id}/tasks/{task}",
    response_model=TaskDetail,
    summary="A task with every attempt and its checkpoint",
)
def get_task_route(
    run_id: RunId, task: TaskName, state: State, _: Annotated[Principal, Depends(viewer)]
) -> TaskDetail:
    with state.store.read() as conn:
        full = find_run_id(conn, run_id)
        task_id, _current = find_task_txn(conn, full, task)
        record = next(t for t in list_tasks(conn, full) if t.id == task_id)
        rows = list_attempts(conn, task_id)
        history = [
            AttemptOut(
                number=r.number,
                worker=r.worker,
                outcome=AttemptOutcome(r.outcome),
                error=r.error,
                started_at=r.started_at,
                finished_at=r.finished_at,
            )
            for r in rows
        ]
        checkpoint = get_checkpoint(conn, task_id)
    return TaskDetail(
        **task_out(record).model_dump(),
        attempt_history=history,
        checkpoint=redact_value(json.loads(checkpoint)) if checkpoint is not None else None,
    )


@router.get(
    "/runs/{run_id}/outputs",
    response_model=dict[str, Any],
    summary="The checkpointed output of every succeeded step, by task name",
)
def run_outputs_route(
    run_id: RunId, state: State, _: Annotated[Principal, Depends(viewer)]
) -> dict[str, Any]:
    with state.store.read() as conn:
        result: dict[str, Any] = redact_value(run_outputs(conn, find_run_id(conn, run_id)))
    return result


def _reply(state: ServerState, run_id: str) -> RunOut:
    with state.store.read() as conn:
        return run_out(get_run(conn, find_run_id(conn, run_id)))


@router.post("/runs/{run_id}/cancel", response_model=RunOut, summary="Cancel a run that has not finished")
def cancel_route(run_id: RunId, state: State, principal: Annotated[Principal, Depends(operator)]) -> RunOut:
    cancel_run(state.store, run_id, reason=f"cancelled by key {principal.key_id}")
    return _reply(state, run_id)


@router.post(
    "/runs/{run_id}/resume",
    response_model=RunOut,
    summary="Resume an interrupted run (a worker serving the store continues it)",
)
def resume_route(run_id: RunId, state: State, _: Annotated[Principal, Depends(operator)]) -> RunOut:
    return _reply(state, prepare_resume(state.store, run_id))


@router.post(
    "/runs/{run_id}/tasks/{task}/retry", response_model=RunOut, summary="Give a failed task a new attempt"
)
def retry_route(
    run_id: RunId, task: TaskName, state: State, _: Annotated[Principal, Depends(operator)]
) -> RunOut:
    retry_task(state.store, run_id, task)
    return _reply(state, run_id)


@router.post("/runs/{run_id}/tasks/{task}/approve", response_model=RunOut, summary="Approve a waiting task")
def approve_route(
    run_id: RunId,
    task: TaskName,
    state: State,
    principal: Annotated[Principal, Depends(operator)],
    body: Decision | None = None,
) -> RunOut:
    comment = body.comment if body else ""
    approve_task(state.store, run_id, task, by=f"{principal.name} ({principal.key_id})", comment=comment)
    return _reply(state, run_id)


@router.post("/runs/{run_id}/tasks/{task}/reject", response_model=RunOut, summary="Reject a waiting task")
def reject_route(
    run_id: RunId,
    task: TaskName,
    state: State,
    principal: Annotated[Principal, Depends(operator)],
    body: Rejection | None = None,
) -> RunOut:
    reason = body.reason if body else ""
    reject_task(state.store, run_id, task, by=f"{principal.name} ({principal.key_id})", reason=reason)
    return _reply(state, run_id)
