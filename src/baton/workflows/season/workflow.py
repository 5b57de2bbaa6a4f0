"""The season workflow: parameters → context → demand → inventory → pricing → report.

The run's report (:mod:`.summary`) is the plan summary: a row per category and for the backtest.

Each agent's result is a checkpoint that holds file paths, a summary and typed results; the tables
themselves are files in the run's output directory, so a checkpoint stays small and a resumed run hands
the next agent exactly what the last one wrote.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from baton.core.errors import BatonError, InvalidInputError
from baton.core.workflow import RetryPolicy, TaskContext, Workflow
from baton.llm import CallContext, Gateway
from baton.workflows.season.artifacts import prepare_output_folder, write_agent_files
from baton.workflows.season.context import (
    ContextSummary,
    DemandResult,
    InventoryResult,
    PricingResult,
    assemble_context,
    demand_context,
    inventory_context,
    pricing_context,
)
from baton.workflows.season.data import categories_in, store_groups_in
from baton.workflows.season.demand import forecast_demand
from baton.workflows.season.inputs import SeasonInputs, check_season_inputs
from baton.workflows.season.inventory import plan_inventory
from baton.workflows.season.model_fill import extract_parameters_with_model
from baton.workflows.season.parameters import SeasonParameters, extract_parameters
from baton.workflows.season.pricing import plan_markdowns
from baton.workflows.season.report import (
    ReportResult,
    draw_allocation,
    draw_forecast,
    draw_markdowns,
    write_plan,
)
from baton.workflows.season.summary import season_report

__all__ = ["LocalRun", "SeasonInputs", "run_locally", "workflow"]


workflow = Workflow(
    "season",
    inputs=SeasonInputs,
    description="retail season plan: parameters from plain words → demand forecast → allocation → markdowns",
)

# POST /runs and `baton season plan` refuse what the first steps would fail on, before a run is stored
workflow.check(check_season_inputs)

# bad input stays bad: never retried; anything else (a full disk, a killed worker) is tried again
_RETRY = RetryPolicy(attempts=3, permanent=(BatonError,))


def _out(inputs: SeasonInputs) -> Path:
    return Path(inputs.out)


@workflow.step(retry=_RETRY)
async def parameters(inputs: SeasonInputs, ctx: TaskContext) -> SeasonParameters:
    """Read the season's parameters from the request: rules first, then — with a model configured —
    the model for only what the rules left empty (see :mod:`.model_fill`)."""
    if inputs.parameters is not None:
        ctx.log("parameters given directly")
        return inputs.parameters
    categories = await asyncio.to_thread(categories_in, inputs.data)
    store_groups = await asyncio.to_thread(store_groups_in, inputs.data)
    gateway = ctx.services.get("gateway")
    if isinstance(gateway, Gateway) and gateway.enabled:
        found = await extract_parameters_with_model(
            inputs.request,
            gateway=gateway,
            call=CallContext.from_task(ctx, agent="season-parameters"),
            today=inputs.today,
            categories=categories,
            store_groups=store_groups,
        )
    else:
        found = extract_parameters(
            inputs.request, today=inputs.today, categories=categories, store_groups=store_groups
        )
    by_model = any("filled by the model" in line for line in found.readings)
    ctx.log(
        "parameters extracted",
        produced_by="rules+model" if by_model else "rules",
        **found.model_dump(mode="json"),
    )
    return found


@workflow.step(retry=_RETRY)
def context(inputs: SeasonInputs, parameters: SeasonParameters, ctx: TaskContext) -> ContextSummary:
    """Check the history, stores and actuals files, that the season can be planned from them, and that
    the plan's folder can be written (a bad ``out`` is refused here, not after the forecast)."""
    prepare_output_folder(inputs.out)
    summary = assemble_context(inputs.data, parameters, inputs.actuals)
    ctx.log(f"{summary.stores} stores, {len(summary.categories)} categories, {summary.history_weeks} weeks")
    return summary


@workflow.step(retry=_RETRY, expected_duration=6.0)
def demand(
    inputs: SeasonInputs, parameters: SeasonParameters, context: ContextSummary, ctx: TaskContext
) -> DemandResult:
    """Demand agent: forecast, backtest and safety stock."""
    ctx.progress(5, "loading history")
    result = forecast_demand(demand_context(context, parameters, inputs.policy))
    ctx.progress(90, "writing forecasts")
    files = write_agent_files(
        _out(inputs),
        "demand",
        result.summary,
        {
            "forecast": result.stores,
            "groups": result.groups,
            "store_totals": result.store_totals,
            "history": result.history,
        },
    )
    return DemandResult(files=files, summary=result.summary)


@workflow.step(retry=_RETRY)
def inventory(
    inputs: SeasonInputs,
    parameters: SeasonParameters,
    context: ContextSummary,
    demand: DemandResult,
    ctx: TaskContext,
) -> InventoryResult:
    """Inventory agent: buy, DC holdback, store allocation and replenishment."""
    plan = plan_inventory(inventory_context(context, parameters, inputs.policy, demand))
    files = write_agent_files(
        _out(inputs),
        "inventory",
        plan.summary,
        {"allocation": plan.allocation, "replenishment": plan.replenishment},
    )
    ctx.log("allocated", buy={c.category: c.initial_buy for c in plan.summary.categories})
    return InventoryResult(files=files, summary=plan.summary)


@workflow.step(retry=_RETRY)
def pricing(
    inputs: SeasonInputs,
    parameters: SeasonParameters,
    context: ContextSummary,
    demand: DemandResult,
    inventory: InventoryResult,
    ctx: TaskContext,
) -> PricingResult:
    """Pricing agent: markdowns aiming at the target sell-through (re-planned with actuals when given)."""
    plan = plan_markdowns(pricing_context(context, parameters, inputs.policy, demand, inventory))
    files = write_agent_files(_out(inputs), "pricing", plan.summary, {"markdowns": plan.curve})
    ctx.log("markdowns planned", replanned=plan.summary.replanned_with_actuals)
    return PricingResult(files=files, summary=plan.summary)


@workflow.step(retry=_RETRY)
def report(
    inputs: SeasonInputs,
    parameters: SeasonParameters,
    context: ContextSummary,
    demand: DemandResult,
    inventory: InventoryResult,
    pricing: PricingResult,
    ctx: TaskContext,
) -> ReportResult:
    """Write PLAN.md with its three charts."""
    out = _out(inputs)
    charts = {
        "forecast": draw_forecast(
            pd.read_csv(demand.files["history"]),
            pd.read_csv(demand.files["groups"]),
            [c.category for c in demand.summary.categories],
            out / "charts" / "forecast.png",
        ),
        "allocation": draw_allocation(
            pd.read_csv(inventory.files["allocation"], dtype={"store_id": str}),
            out / "charts" / "allocation.png",
        ),
        "markdown": draw_markdowns(pd.read_csv(pricing.files["markdowns"]), out / "charts" / "markdowns.png"),
    }
    notes = [*context.notes, *demand.summary.notes, *inventory.summary.notes, *pricing.summary.notes]
    plan = write_plan(
        out,
        request=inputs.request.strip(),
        produced_by=(
            "given"
            if inputs.parameters is not None
            else "rules and a model"
            if any("filled by the model" in line for line in parameters.readings)
            else "rules"
        ),
        parameters=parameters,
        target=parameters.target_sell_through or inputs.policy.target_sell_through,
        stores=context.stores,
        demand=demand.summary,
        inventory=inventory.summary,
        pricing=pricing.summary,
        charts=charts,
        notes=notes,
    )
    ctx.log("plan written", path=plan)
    return ReportResult(plan=plan, charts=charts)


# The run's report (GET /runs/{id}, `baton status`, the dashboard): the plan summary, once PLAN.md is written.
workflow.report(season_report)


@dataclass
class LocalRun:
    """What :func:`run_locally` returns: each step's output, seconds and the events it emitted."""

    outputs: dict[str, Any]
    seconds: dict[str, float]
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


async def _awaited(output: Awaitable[Any]) -> Any:
    return await output


def run_locally(
    inputs: SeasonInputs | Mapping[str, Any],
    *,
    until: str | None = None,
    on_event: Callable[[str, str, dict[str, Any]], None] | None = None,
) -> LocalRun:
    """Test and benchmark convenience — NOT the engine: run the steps in order in this thread.

    No store, no retries, no resume. Each output goes through the same JSON round trip a checkpoint
    does, so a step receives exactly what the engine would give it. ``until`` stops after that step.
    """
    raw = inputs.model_dump() if isinstance(inputs, SeasonInputs) else dict(inputs)
    parsed = workflow.parse_inputs(raw)
    if parsed is None:  # pragma: no cover — the workflow declares its inputs model
        raise InvalidInputError("the season workflow needs inputs")
    run = LocalRun(outputs={}, seconds={})
    checkpoints: dict[str, bytes] = {}
    for task_id, name in enumerate(workflow.order()):
        step = workflow.steps[name]

        def emit(kind: str, data: dict[str, Any], name: str = name) -> None:
            run.events.append((name, kind, data))
            if on_event is not None:
                on_event(name, kind, data)

        arguments: dict[str, Any] = {}
        for parameter in step.parameters:
            if parameter == "inputs":
                arguments[parameter] = parsed
            elif parameter == "ctx":
                arguments[parameter] = TaskContext(
                    run_id="local", task_id=task_id, task_name=name, attempt=1, emit=emit
                )
            else:
                arguments[parameter] = step.parameter_adapter(parameter).validate_json(checkpoints[parameter])
        began = time.perf_counter()
        output = step.fn(**arguments)
        if inspect.isawaitable(output):
            output = asyncio.run(_awaited(output))
        run.seconds[name] = time.perf_counter() - began
        checkpoints[name] = step.output_adapter.dump_json(output)
        run.outputs[name] = step.output_adapter.validate_json(checkpoints[name])
        if name == until:
            break
    return run
