"""Events: query the log (per run or across runs), aggregate it, and costs by run, step and model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from baton.core.errors import InvalidInputError
from baton.llm import cost_report
from baton.observability import redact_value
from baton.server.auth import Principal, viewer
from baton.server.models import DurationOut, EventAggregate, EventOut, EventPage
from baton.server.routes.runs import RunId, State
from baton.store.attempts import step_durations
from baton.store.events import Event, count_by_type, query_events, summarize_durations
from baton.store.runs import find_run_id, store_state_counts
from baton.store.tasks import task_state_counts

router = APIRouter(tags=["events"])

EventLimit = Annotated[int, Query(ge=1, le=5000, description="page size")]
After = Annotated[int, Query(ge=0, le=2**62, description="only events after this event id")]
Types = Annotated[
    list[str] | None,
    Query(max_length=20, description="event types; `task.*` matches a prefix", alias="type"),
]
Since = Annotated[float | None, Query(ge=0, le=1e11, description="only events at or after this UNIX time")]
Until = Annotated[float | None, Query(ge=0, le=1e11, description="only events before this UNIX time")]


def event_out(event: Event) -> EventOut:
    return EventOut(
        id=event.id,
        run_id=event.run_id,
        task_id=event.task_id,
        type=event.type,
        ts=event.ts,
        data=redact_value(event.data),
    )


def _checked_types(types: list[str] | None) -> list[str]:
    for t in types or []:
        if not t or len(t) > 60:
            raise InvalidInputError(
                f"{t!r} is not an event type",
                fields={"type": "1 to 60 characters"},
                hint="e.g. task.state or task.*",
            )
    return list(types or [])


def _page(events: list[Event], limit: int) -> EventPage:
    return EventPage(
        items=[event_out(e) for e in events], limit=limit, next_after=events[-1].id if events else None
    )


@router.get("/runs/{run_id}/events", response_model=EventPage, summary="A run's events in order")
def run_events_route(
    run_id: RunId,
    state: State,
    _: Annotated[Principal, Depends(viewer)],
    after: After = 0,
    types: Types = None,
    limit: EventLimit = 500,
) -> EventPage:
    with state.store.read() as conn:
        full = find_run_id(conn, run_id)
        events = query_events(conn, run_id=full, types=_checked_types(types), after=after, limit=limit)
    return _page(events, limit)


@router.get("/events", response_model=EventPage, summary="Events across runs, filtered")
def events_route(
    state: State,
    _: Annotated[Principal, Depends(viewer)],
    run_id: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    after: After = 0,
    types: Types = None,
    since: Since = None,
    until: Until = None,
    limit: EventLimit = 500,
) -> EventPage:
    with state.store.read() as conn:
        full = find_run_id(conn, run_id) if run_id else None
        events = query_events(
            conn, run_id=full, types=_checked_types(types), after=after, since=since, until=until, limit=limit
        )
    return _page(events, limit)


@router.get(
    "/events/aggregate",
    response_model=EventAggregate,
    summary="Counts by event type and task state, durations by step",
)
def aggregate_route(
    state: State,
    _: Annotated[Principal, Depends(viewer)],
    run_id: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
) -> EventAggregate:
    with state.store.read() as conn:
        full = find_run_id(conn, run_id) if run_id else None
        counts = count_by_type(conn, full)
        if full:
            task_counts = {s.value: n for s, n in task_state_counts(conn, full).items()}
        else:  # every run's tasks
            task_counts = store_state_counts(conn)[1]
        durations = summarize_durations(step_durations(conn, run_id=full))
    return EventAggregate(
        run_id=full,
        counts_by_type=counts,
        task_counts=task_counts,
        durations=[DurationOut(**d.__dict__) for d in durations],
    )


@router.get(
    "/costs",
    response_model=dict[str, Any],
    tags=["costs"],
    summary="Model costs: totals and by run, step, agent and model",
)
def costs_route(
    state: State,
    _: Annotated[Principal, Depends(viewer)],
    run_id: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
) -> dict[str, Any]:
    full = None
    if run_id:
        with state.store.read() as conn:
            full = find_run_id(conn, run_id)
    report: dict[str, Any] = cost_report(state.store, full).as_dict()
    return report


@router.get(
    "/runs/{run_id}/costs", response_model=dict[str, Any], tags=["costs"], summary="A run's model costs"
)
def run_costs_route(run_id: RunId, state: State, _: Annotated[Principal, Depends(viewer)]) -> dict[str, Any]:
    with state.store.read() as conn:
        full = find_run_id(conn, run_id)
    report: dict[str, Any] = cost_report(state.store, full).as_dict()
    return report
