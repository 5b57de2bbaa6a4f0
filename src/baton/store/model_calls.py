"""The statements on ``model_calls``: record calls with their events, read a run's spend, its recorded
answers (for replay) and the rows a cost report adds up. What a call is and how it is priced stays in
:mod:`baton.llm`; this module only reads and writes the rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from baton.store.events import append_events_txn
from baton.store.schema import model_calls, runs


def record_calls_txn(
    conn: Connection, rows: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]
) -> None:
    """Insert the rows and their events (built with :func:`baton.store.events.event_row`) in the
    caller's transaction."""
    if not rows:
        return
    conn.execute(insert(model_calls), list(rows))
    append_events_txn(conn, list(events))


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


def asked_a_model(conn: Connection, run_id: str, step: str | None) -> bool:
    """Whether ``run_id`` asked a model anything at ``step`` (answered or not)."""
    query = select(model_calls.c.id).where(model_calls.c.run_id == run_id).limit(1)
    query = query.where(model_calls.c.step.is_(None) if step is None else model_calls.c.step == step)
    return conn.execute(query).first() is not None


def has_record(conn: Connection, run_id: str) -> bool:
    found = conn.execute(select(model_calls.c.id).where(model_calls.c.run_id == run_id).limit(1)).first()
    return found is not None


# The columns a cost report adds up, in the order the calls were made.
COST_ROWS = select(
    model_calls.c.run_id,
    model_calls.c.step,
    model_calls.c.agent,
    model_calls.c.model,
    model_calls.c.status,
    model_calls.c.request,
    model_calls.c.tokens_in,
    model_calls.c.tokens_out,
    model_calls.c.cost_usd,
    model_calls.c.cache_hit,
).order_by(model_calls.c.id)


def cost_rows(conn: Connection, run_id: str | None) -> list[Any] | None:
    """The calls of one run (every call when ``run_id`` is None) with what a cost report needs.

    None for a run id that neither exists nor has recorded calls.
    """
    query = COST_ROWS if run_id is None else COST_ROWS.where(model_calls.c.run_id == run_id)
    rows: list[Any] = list(conn.execute(query))
    if run_id is None or rows or has_record(conn, run_id):
        return rows
    return rows if conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is not None else None
