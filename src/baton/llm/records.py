"""The record of model calls (table ``model_calls``) and their ``model.call`` events, written together.

Every call the gateway answers or fails is one row: the request (messages and parameters, never
credentials), the response, tokens, cost, latency, cache hit and fallback. Replay answers from these
rows; cost reports add them up; the per-run budget reads their sum.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, insert, select

from baton.core.events import EventType
from baton.store.events import append_events_txn, event_row
from baton.store.schema import model_calls

MODEL_CALL_EVENT = EventType.MODEL_CALL


class CallStatus(StrEnum):
    OK = "ok"  # a provider answered
    CACHED = "cached"  # answered from the response cache, no provider called
    REPLAYED = "replayed"  # answered from the record of the run being replayed
    FAILED = "failed"  # the provider failed (after its retries); the chain may have gone on
    REFUSED = "refused"  # not sent: the run's budget would have been exceeded


@dataclass(slots=True)
class CallRecord:
    """One row of ``model_calls``; ``route`` holds how the call was routed and priced."""

    provider: str
    model: str
    request_key: str
    request: str  # the canonical request as JSON, serialised once
    status: CallStatus
    created_at: float
    run_id: str | None = None
    task_id: int | None = None
    step: str | None = None
    agent: str | None = None
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cache_hit: bool = False
    fallback: bool = False
    route: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "task_id": self.task_id,
            "step": self.step,
            "agent": self.agent,
            "provider": self.provider,
            "model": self.model,
            "request_key": self.request_key,
            # The route rides along with the request so that reports can price what a call avoided.
            "request": '{"route": ' + json.dumps(self.route) + ', "request": ' + self.request + "}",
            "response": json.dumps(self.response) if self.response is not None else None,
            "status": self.status.value,
            "error": json.dumps(self.error) if self.error is not None else None,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms,
            "cache_hit": self.cache_hit,
            "fallback": self.fallback,
            "created_at": self.created_at,
        }

    def event_data(self) -> dict[str, Any]:
        """The event: everything but the request and response bodies (which stay in the record)."""
        return {
            "step": self.step,
            "agent": self.agent,
            "provider": self.provider,
            "model": self.model,
            "request_key": self.request_key,
            "status": self.status.value,
            "error": self.error,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "tokens_estimated": bool(self.route.get("tokens_estimated")),
            "cost_usd": self.cost_usd,
            "latency_ms": round(self.latency_ms, 3),
            "cache_hit": self.cache_hit,
            "fallback": self.fallback,
            "complexity": self.route.get("complexity"),
            "attempts": self.route.get("attempts", 0),
        }


def record_calls_txn(conn: Connection, records: Sequence[CallRecord]) -> None:
    """Insert the rows and their ``model.call`` events in the caller's transaction."""
    if not records:
        return
    conn.execute(insert(model_calls), [r.row() for r in records])
    append_events_txn(
        conn,
        [event_row(r.run_id, r.task_id, MODEL_CALL_EVENT, r.created_at, r.event_data()) for r in records],
    )


def spent_usd(conn: Connection, run_id: str) -> float:
    """What a run's model calls have cost so far."""
    total = conn.execute(
        select(func.sum(model_calls.c.cost_usd)).where(model_calls.c.run_id == run_id)
    ).scalar()
    return float(total or 0.0)


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    id: int
    provider: str
    model: str
    response: dict[str, Any]
    tokens_in: int
    tokens_out: int


def asked_a_model(conn: Connection, run_id: str, step: str | None) -> bool:
    """Whether ``run_id`` asked a model anything at ``step`` (answered or not)."""
    query = select(model_calls.c.id).where(model_calls.c.run_id == run_id).limit(1)
    query = query.where(model_calls.c.step.is_(None) if step is None else model_calls.c.step == step)
    return conn.execute(query).first() is not None


def recorded_answers(
    conn: Connection, run_id: str, step: str | None, request_key: str
) -> list[RecordedAnswer]:
    """The answered calls of ``run_id`` at ``step`` for this request, oldest first."""
    query = (
        select(
            model_calls.c.id,
            model_calls.c.provider,
            model_calls.c.model,
            model_calls.c.response,
            model_calls.c.tokens_in,
            model_calls.c.tokens_out,
        )
        .where(
            model_calls.c.run_id == run_id,
            model_calls.c.request_key == request_key,
            model_calls.c.response.is_not(None),
        )
        .order_by(model_calls.c.id)
    )
    query = query.where(model_calls.c.step.is_(None) if step is None else model_calls.c.step == step)
    return [
        RecordedAnswer(
            row.id, row.provider, row.model, json.loads(row.response), row.tokens_in, row.tokens_out
        )
        for row in conn.execute(query)
    ]


def has_record(conn: Connection, run_id: str) -> bool:
    found = conn.execute(select(model_calls.c.id).where(model_calls.c.run_id == run_id).limit(1)).first()
    return found is not None
