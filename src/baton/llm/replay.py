"""Replay: a run answered entirely from the recorded model calls of an earlier run.

Calls are matched on the step and the request key (messages and parameters, not the model: replay must
work offline, whatever the router would choose today). The n-th identical request of a step gets the
n-th recorded answer, the last one again when the source made fewer.
"""

from __future__ import annotations

from collections import defaultdict

from baton.llm.errors import ReplayMissingError
from baton.llm.records import RecordedAnswer, recorded_answers
from baton.store.store import Connection


class ReplayBook:
    """Which recorded answer each replayed request gets. One per gateway."""

    def __init__(self) -> None:
        self._served: defaultdict[tuple[str | None, str, str | None, str], int] = defaultdict(int)

    def answer(
        self, conn: Connection, *, run_id: str | None, source_run: str, step: str | None, request_key: str
    ) -> RecordedAnswer:
        answers = recorded_answers(conn, source_run, step, request_key)
        if not answers:
            raise ReplayMissingError(source_run, step, request_key)
        slot = (run_id, source_run, step, request_key)
        index = min(self._served[slot], len(answers) - 1)
        self._served[slot] += 1
        return answers[index]
