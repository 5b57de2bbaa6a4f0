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

from baton.core.events import EventType
from baton.store import model_calls
from baton.store.events import event_row
from baton.store.model_calls import RecordedAnswer, asked_a_model, has_record, recorded_answers, spent_usd
from baton.store.store import Connection

__all__ = [
    "MODEL_CALL_EVENT",
    "CallRecord",
    "CallStatus",
    "RecordedAnswer",
    "asked_a_model",
    "has_record",
    "record_calls_txn",
    "recorded_answers",
    "spent_usd",
]

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
    model_calls.record_calls_txn(
        conn,
        [r.row() for r in records],
        [event_row(r.run_id, r.task_id, MODEL_CALL_EVENT, r.created_at, r.event_data()) for r in records],
    )
