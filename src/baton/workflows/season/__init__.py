"""The season workflow: a retail season plan from a planner's plain words.

``baton season "<request>" --data DIR`` runs :data:`workflow`: the parameters are read from the request
(:func:`extract_parameters`), the files checked, then three agents hand off in a chain — demand
(forecast, backtest, safety stock), inventory (buy, DC holdback, allocation, replenishment) and pricing
(markdowns toward a target sell-through) — and ``PLAN.md`` sums it up with charts.
``baton season sample-data DIR`` writes realistic example files (:func:`write_sample_data`).
The run's report (:mod:`.summary`, shown by `GET /runs/{id}`, `baton status` and the dashboard) is the
plan summary: a row per category and one for the backtest, the key facts, and what the plan left out.
"""

from baton.workflows.season.data import DataProblem, SeasonDataError
from baton.workflows.season.parameters import (
    ReplenishmentStrategy,
    SeasonParameterError,
    SeasonParameters,
    extract_parameters,
)
from baton.workflows.season.policy import PlanningPolicy
from baton.workflows.season.sample_data import write_sample_data
from baton.workflows.season.workflow import LocalRun, SeasonInputs, run_locally, workflow

__all__ = [
    "DataProblem",
    "LocalRun",
    "PlanningPolicy",
    "ReplenishmentStrategy",
    "SeasonDataError",
    "SeasonInputs",
    "SeasonParameterError",
    "SeasonParameters",
    "extract_parameters",
    "run_locally",
    "workflow",
    "write_sample_data",
]
