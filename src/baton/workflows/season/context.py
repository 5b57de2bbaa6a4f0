"""Context assembly: from the checked files and earlier agents' checkpoints to each agent's typed context.

The ``context`` step checks the files once and checkpoints only their paths, fingerprints and a summary;
each later step rebuilds its context from those paths (and the earlier agents' files), refusing to go on
if a file changed since the run began — a resumed run plans from the data it started with or not at all.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from baton.workflows.season.artifacts import read_table
from baton.workflows.season.data import (
    HISTORY_FILE,
    MIN_HISTORY_WEEKS,
    STORES_FILE,
    DataProblem,
    SeasonData,
    SeasonDataError,
    file_fingerprint,
    load_data,
    read_actuals,
)
from baton.workflows.season.demand import DemandContext, DemandSummary
from baton.workflows.season.forecasting import SEASON_WEEKS
from baton.workflows.season.inventory import InventoryContext, InventorySummary
from baton.workflows.season.parameters import SeasonParameterError, SeasonParameters
from baton.workflows.season.policy import PlanningPolicy
from baton.workflows.season.pricing import CategoryInputs, PricingContext, PricingSummary

__all__ = [
    "AgentFiles",
    "ContextSummary",
    "DemandResult",
    "InventoryResult",
    "PricingResult",
    "assemble_context",
    "demand_context",
    "inventory_context",
    "pricing_context",
]


class ContextSummary(BaseModel):
    """The checked data, by reference: what the ``context`` step checkpoints."""

    data_dir: str
    actuals_file: str | None
    fingerprints: dict[str, str]
    stores: int
    categories: list[str]
    history_weeks: int
    history_start: date
    history_end: date
    notes: list[str] = []


class AgentFiles(BaseModel):
    """Where an agent wrote its tables and summary (name → path)."""

    files: dict[str, str]


class DemandResult(AgentFiles):
    summary: DemandSummary


class InventoryResult(AgentFiles):
    summary: InventorySummary


class PricingResult(AgentFiles):
    summary: PricingSummary


def _season_history(data: SeasonData, parameters: SeasonParameters) -> tuple[pd.DataFrame, list[str]]:
    """The history the plan may use: before the season, in the planned category; raises if unusable."""
    history, notes = data.history, []
    start = pd.Timestamp(parameters.season_start_date)
    if parameters.category is not None:
        known = sorted(history["category"].unique())
        if parameters.category not in known:
            raise SeasonParameterError(
                missing=[],
                invalid={
                    "category": f"'{parameters.category}' is not a category of the data ({', '.join(known)})"
                },
            )
        history = history[history["category"] == parameters.category]
    later = history["week"] >= start
    if later.any():
        history = history[~later]
        notes.append(
            f"{int(later.sum())} history rows on or after the season start {start.date()} are not used "
            "(pass sales since the season start with --actuals to re-plan)"
        )
    weeks = history["week"].nunique()
    if weeks < MIN_HISTORY_WEEKS:
        raise SeasonDataError(
            [
                DataProblem(
                    HISTORY_FILE,
                    f"has {weeks} weeks before the season start {start.date()}; at least "
                    f"{MIN_HISTORY_WEEKS} are needed",
                    "week",
                )
            ]
        )
    gap = (start - history["week"].max()).days // 7 - 1
    if gap >= SEASON_WEEKS:
        raise SeasonDataError(
            [
                DataProblem(
                    HISTORY_FILE,
                    f"ends {history['week'].max().date()}, {gap} weeks before the season starts "
                    f"{start.date()}; the plan forecasts at most {SEASON_WEEKS - 1} weeks past the data "
                    "— add recent sales",
                    "week",
                )
            ]
        )
    last = history["week"].max()
    if start.dayofweek != last.dayofweek:
        first = last + pd.Timedelta(weeks=max(gap, 0) + 1)
        notes.append(
            f"the season starts on a {start:%A} ({start.date()}) and the history's weeks on a {last:%A}: "
            f"season week 1 is forecast as the history's week from {first.date()}, and each later week "
            "likewise (the plan's tables date the weeks from the season's start)"
        )
    return history.reset_index(drop=True), notes


def _check_unchanged(summary: ContextSummary) -> None:
    directory = Path(summary.data_dir)
    for name, expected in summary.fingerprints.items():
        path = Path(name) if name == summary.actuals_file else directory / name
        if not path.is_file() or file_fingerprint(path) != expected:
            raise SeasonDataError(
                [
                    DataProblem(
                        path.name,
                        "changed since this run checked it; a run plans from the data it started with",
                    )
                ]
            )


def assemble_context(
    data_dir: str | Path, parameters: SeasonParameters, actuals: str | Path | None
) -> ContextSummary:
    """Check every input file and that the season can be planned from them; see :mod:`.data`."""
    directory = Path(data_dir).resolve()
    data = load_data(directory)
    history, notes = _season_history(data, parameters)
    fingerprints = dict(data.fingerprints)
    actuals_file = None
    if actuals is not None:
        path = Path(actuals).resolve()
        read_actuals(path, known_stores=data.stores["store_id"])
        actuals_file = str(path)
        fingerprints[actuals_file] = file_fingerprint(path)
    return ContextSummary(
        data_dir=str(directory),
        actuals_file=actuals_file,
        fingerprints=fingerprints,
        stores=len(data.stores),
        categories=sorted(history["category"].unique()),
        history_weeks=int((history["week"].max() - history["week"].min()).days // 7 + 1),
        history_start=history["week"].min().date(),
        history_end=history["week"].max().date(),
        notes=[*data.notes, *notes],
    )


def demand_context(
    summary: ContextSummary, parameters: SeasonParameters, policy: PlanningPolicy
) -> DemandContext:
    """The demand agent's context: parameters, the usable history, the stores, the policy."""
    _check_unchanged(summary)
    data = load_data(Path(summary.data_dir))
    history, _ = _season_history(data, parameters)
    return DemandContext(parameters=parameters, history=history, stores=data.stores, policy=policy)


def inventory_context(
    summary: ContextSummary, parameters: SeasonParameters, policy: PlanningPolicy, demand: DemandResult
) -> InventoryContext:
    """The inventory agent's context: parameters, the demand agent's forecasts, the stores, the policy and
    any actual sales (the replenishment is re-planned on them)."""
    _check_unchanged(summary)
    stores = pd.read_csv(Path(summary.data_dir) / STORES_FILE, dtype={"store_id": str})
    actuals = read_actuals(Path(summary.actuals_file)) if summary.actuals_file is not None else None
    return InventoryContext(
        parameters=parameters,
        policy=policy,
        forecast=read_table(demand.files["forecast"]).astype({"store_id": str}),
        store_totals=read_table(demand.files["store_totals"]).astype({"store_id": str}),
        stores=stores,
        actuals=actuals,
    )


def pricing_context(
    summary: ContextSummary,
    parameters: SeasonParameters,
    policy: PlanningPolicy,
    demand: DemandResult,
    inventory: InventoryResult,
) -> PricingContext:
    """The pricing agent's context: parameters, chain forecast per category, the buy and any actuals."""
    _check_unchanged(summary)
    forecast = read_table(demand.files["forecast"])
    weekly = forecast.groupby(["category", "season_week"])["forecast"].sum()
    categories = {
        c.category: CategoryInputs(
            demand=weekly.loc[c.category].sort_index().to_numpy(dtype=float),
            regular_price=c.regular_price,
            elasticity=c.elasticity,
            initial_buy=inventory.summary.buy_of(c.category),
        )
        for c in demand.summary.categories
    }
    actuals = None
    if summary.actuals_file is not None:
        actuals = read_actuals(Path(summary.actuals_file))
    return PricingContext(parameters=parameters, policy=policy, categories=categories, actuals=actuals)
