"""What the crew works on and what it reports."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from baton.agents.tools import LoopEnd


class Outcome(StrEnum):
    """What became of a requirement given to the crew."""

    IMPLEMENTED = "implemented"  # code and tests in, checks green; acceptance checks decide the rest
    NOT_IMPLEMENTED = "not implemented"  # the coder said so, or a limit or an outage stopped it (note: why)
    FAILED = "failed"  # claimed, but the checks stayed red: reset to the last green commit


CREW_REPORT = "crew.json"  # in the repository's .baton-build/


class CrewRequirement(BaseModel):
    id: str
    text: str
    # The acceptance checks the spec states for it (the architect's): they run against the working
    # tree's service in `run_checks` and against the deployed one; the coder may add its own.
    checks: list[dict[str, Any]] = Field(default_factory=list)


class RequirementOutcome(BaseModel):
    """What became of one requirement the crew was given. ``implemented``: its code is in and the
    project's checks pass (the deploy stage's acceptance checks decide whether it is honoured)."""

    id: str
    text: str
    status: Outcome
    note: str = ""
    checks: list[dict[str, Any]] = Field(default_factory=list)  # acceptance checks the coder wrote


class CrewRound(BaseModel):
    round: int
    commit: str
    passed: bool
    summary: str


class CrewSettings(BaseModel):
    max_turns: int = Field(default=40, ge=1, le=500, description="model calls of the coder, all rounds")
    max_tokens: int = Field(default=400_000, ge=1000, description="tokens in and out of the coder")
    rounds: int = Field(default=3, ge=1, le=10, description="debugger rounds after the first finish")


class CrewReport(BaseModel):
    ran: bool
    reason: str = ""  # why the crew did not run, or how it ended
    requirements: list[RequirementOutcome] = Field(default_factory=list)
    rounds: list[CrewRound] = Field(default_factory=list)
    start_commit: str = ""
    final_commit: str = ""
    reset_to_green: bool = False
    kept_attempt: str | None = None  # the branch that keeps the red attempt after a reset
    stopped: LoopEnd | None = None
    turns: int = 0
    tool_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    models: list[str] = Field(default_factory=list)
    files_written: list[str] = Field(default_factory=list)
    summary: str = ""
    review: list[str] = Field(default_factory=list)  # the reviewer's findings
    security: list[str] = Field(default_factory=list)  # ruff S findings on the crew's files
