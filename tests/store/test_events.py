"""The event log keeps no secrets: what a step reports is redacted on the way in, so no reader (the CLI,
the REST API, the live streams that pass stored text through as it is) can hand one out."""

from __future__ import annotations

import time

from baton.store.events import append_events_txn, event_row, event_rows_after, query_events
from baton.store.store import Store

KEY = "baton_0123456789abcdef_s3cr3tpart"


def test_secrets_are_redacted_before_they_are_stored(store: Store) -> None:
    with store.begin() as conn:
        append_events_txn(
            conn,
            [
                event_row(None, None, "task.log", time.time(), {"message": f"calling with {KEY}"}),
                event_row(None, None, "task.log", time.time(), {"message": "ok", "api_key": "sk-live-42"}),
                event_row(None, None, "task.log", time.time(), {"message": "GET /x?token=abc&page=2"}),
                event_row(None, None, "model.call", time.time(), {"tokens_in": 12, "model": "m"}),
            ],
        )
    with store.read() as conn:
        raw = [row.data for row in event_rows_after(conn, 0, 10)]
        decoded = [event.data for event in query_events(conn)]
    assert not any(secret in text for text in raw for secret in (KEY, "sk-live-42", "token=abc"))
    assert decoded[0] == {"message": "calling with [redacted]"}
    assert decoded[1] == {"message": "ok", "api_key": "[redacted]"}
    assert decoded[2] == {"message": "GET /x?[redacted]&page=2"}
    assert decoded[3] == {"tokens_in": 12, "model": "m"}  # "tokens" names no secret: kept as it was
