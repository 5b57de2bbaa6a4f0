"""A run's report: the user-facing summary of what a run produced, in one small typed shape.

A workflow names its report with :meth:`baton.core.workflow.Workflow.report`: a pure function of some
steps' checkpoints that returns a :class:`RunReport`. The API (``GET /runs/{id}``), ``baton status`` and
the dashboard show it without knowing anything of the workflow's steps.

The report's :attr:`RunReport.verdict` is not the workflow's to choose: it is computed from the rows'
outcomes, so a report can never say that everything holds when a row was not checked, was left out or
failed. Rows left out or failed must say why (``reason``).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

__all__ = ["ReportRow", "RowOutcome", "RunReport", "Verdict"]


class RowOutcome(StrEnum):
    MET = "met"  # checked, and it holds
    FAILED = "failed"  # checked, and it does not hold; `reason` says how
    NOT_IMPLEMENTED = "not_implemented"  # left out: nothing does it; `reason` says why
    UNCHECKED = "unchecked"  # done, but nothing has checked it (yet)
    INFO = "info"  # a fact of the result, with no verdict of its own


class Verdict(StrEnum):
    ALL_MET = "all_met"  # every row with a verdict was checked and holds (and there is at least one)
    INCOMPLETE = "incomplete"  # none failed, but some were left out or not checked
    FAILED = "failed"  # at least one row was checked and does not hold
    NOTHING_CHECKED = "nothing_checked"  # no row carries a verdict: the report states facts only


NEEDS_REASON = frozenset({RowOutcome.FAILED, RowOutcome.NOT_IMPLEMENTED})


class ReportRow(BaseModel):
    """One line of the report's table."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="a short key, e.g. `R3` or a category name")
    subject: str = Field(description="what the row is about, in the user's words")
    status: str = Field(description="the workflow's own word for the outcome, e.g. `not implemented`")
    outcome: RowOutcome = Field(description="the outcome in the words every client knows")
    reason: str | None = Field(
        default=None, description="why; always given for `failed` and `not_implemented` rows"
    )
    cells: dict[str, str] = Field(
        default_factory=dict, description="the row's values of the report's `columns`, by column name"
    )

    @model_validator(mode="after")
    def _reason_when_wanting(self) -> ReportRow:
        if self.outcome in NEEDS_REASON and not (self.reason or "").strip():
            raise ValueError(f"report row {self.id!r} is {self.outcome.value} but gives no reason")
        return self


class RunReport(BaseModel):
    """A run's result summary: a title, a headline, key facts, a table of rows and notes."""

    model_config = ConfigDict(extra="forbid")

    title: str
    headline: str = Field(description="one line, e.g. `requirements 3/5 honoured, 2 not implemented`")
    subject_label: str = Field(default="item", description="the heading of the rows' `subject` column")
    columns: list[str] = Field(
        default_factory=list, description="the rows' extra columns (`cells`), in the order to show them"
    )
    rows: list[ReportRow] = Field(default_factory=list)
    facts: dict[str, str] = Field(default_factory=dict, description="key facts of the result, in order")
    notes: list[str] = Field(
        default_factory=list, description="what the result left out or assumed, and why, in words"
    )
    source: list[str] = Field(
        default_factory=list, description="the steps whose checkpoints the report was made from"
    )

    @computed_field(description="from the rows' outcomes, never chosen by the workflow")  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Verdict:
        judged = [row.outcome for row in self.rows if row.outcome is not RowOutcome.INFO]
        if not judged:
            return Verdict.NOTHING_CHECKED
        if RowOutcome.FAILED in judged:
            return Verdict.FAILED
        if all(outcome is RowOutcome.MET for outcome in judged):
            return Verdict.ALL_MET
        return Verdict.INCOMPLETE

    @computed_field(description="how many rows have each outcome, every outcome listed")  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        counts = {outcome.value: 0 for outcome in RowOutcome}
        for row in self.rows:
            counts[row.outcome.value] += 1
        return counts
