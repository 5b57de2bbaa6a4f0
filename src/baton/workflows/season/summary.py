"""The season's run report: the plan summary for `GET /runs/{id}`, `baton status` and the dashboard.

One row per planned category — does the plan's own projection reach the target sell-through (the
pricing agent's simulation of the season under the forecast demand) — and one for the backtest: did the
forecast beat last year's same weeks on held-out history. Only the backtest carries a verdict (met or
failed): it measures the forecast against a baseline on weeks it did not see. A category row is ``info``:
its projection is the plan simulating itself under its own forecast, which no data has checked, so it
says "projected to reach/miss" and never counts as met or failed. Facts say what was planned (season, stores,
categories, forecast method, buy) and the notes what the plan left out and why (stores without
history, history after the season start, stores short of the minimum …), as PLAN.md does.
"""

from __future__ import annotations

from datetime import timedelta

from baton.core.report import ReportRow, RowOutcome, RunReport
from baton.workflows.season.backtest import BacktestReport
from baton.workflows.season.context import ContextSummary, DemandResult, InventoryResult, PricingResult
from baton.workflows.season.parameters import SeasonParameters
from baton.workflows.season.pricing import CategoryPricing
from baton.workflows.season.report import ReportResult

COLUMNS = ["forecast units", "buy", "to stores", "DC holdback", "stores short of minimum", "markdowns"]
REACHES, MISSES = "projected to reach target", "projected to miss target"


def _markdowns(pricing: CategoryPricing) -> str:
    return ", ".join(f"week {m.season_week}: {m.depth:.0%}" for m in pricing.markdowns) or "none"


def _category_rows(
    demand: DemandResult, inventory: InventoryResult, pricing: PricingResult
) -> list[ReportRow]:
    forecast = {c.category: c.season_units for c in demand.summary.categories}
    stock = {c.category: c for c in inventory.summary.categories}
    rows = []
    for plan in pricing.summary.categories:
        held = stock.get(plan.category)
        projected = f"projected sell-through {plan.projected_sell_through:.0%}"
        reason = (
            f"{projected} against the {plan.target_sell_through:.0%} target "
            f"(at full price alone {plan.full_price_sell_through:.0%})"
        )
        if not plan.reaches_target:
            reason += (
                " — no markdown schedule on the ladder reaches it: consider a smaller buy or an earlier "
                "first markdown"
            )
        rows.append(
            ReportRow(
                id=plan.category,
                subject=f"sell {plan.target_sell_through:.0%} of the {plan.category} buy by the season's end",
                status=REACHES if plan.reaches_target else MISSES,
                outcome=RowOutcome.INFO,  # the plan's own simulation: a projection, not a check
                reason=reason,
                cells={
                    "forecast units": f"{forecast.get(plan.category, 0):,}",
                    "buy": f"{plan.initial_buy:,}",
                    "to stores": f"{held.allocated_to_stores:,}" if held else "-",
                    "DC holdback": f"{held.dc_holdback:,}" if held else "-",
                    "stores short of minimum": str(held.stores_short_of_minimum) if held else "-",
                    "markdowns": _markdowns(plan),
                },
            )
        )
    return rows


def _backtest_row(backtest: BacktestReport) -> ReportRow:
    subject = "the forecast beats last year's same weeks (seasonal naive) on held-out history"
    if backtest.skipped:
        return ReportRow(
            id="backtest",
            subject=subject,
            status="not checked",
            outcome=RowOutcome.UNCHECKED,
            reason=f"backtest skipped: {backtest.skipped}",
        )
    ours, naive = backtest.weekly_wape.get("ensemble"), backtest.weekly_wape.get("seasonal_naive")
    if ours is None or naive is None:
        return ReportRow(
            id="backtest",
            subject=subject,
            status="not checked",
            outcome=RowOutcome.UNCHECKED,
            reason="the weekly error could not be computed on the backtest window (no sales in it)",
        )
    window = f"{backtest.window_weeks} weeks from {backtest.window_start}"
    scores = f"weekly WAPE {ours:.3f} against {naive:.3f} for seasonal naive, on {window}"
    beats = ours <= naive
    return ReportRow(
        id="backtest",
        subject=subject,
        status="beats the baseline" if beats else "worse than the baseline",
        outcome=RowOutcome.MET if beats else RowOutcome.FAILED,
        reason=scores if beats else f"{scores}: the plan still uses the forecast, read it with care",
    )


def season_report(
    parameters: SeasonParameters,
    context: ContextSummary,
    demand: DemandResult,
    inventory: InventoryResult,
    pricing: PricingResult,
    report: ReportResult,
) -> RunReport:
    """The plan summary: one row per category and one for the backtest, the key facts and the notes."""
    rows = _category_rows(demand, inventory, pricing)
    reaching = sum(1 for row in rows if row.status == REACHES)
    buy = sum(c.initial_buy for c in inventory.summary.categories)
    to_stores = sum(c.allocated_to_stores for c in inventory.summary.categories)
    strategy = parameters.replenishment_strategy.value
    facts = {
        "season": f"{parameters.season_start_date} → {parameters.last_day} "
        f"({parameters.forecast_horizon_weeks} weeks, last day included)",
        "stores planned": str(context.stores),
        "categories": ", ".join(c.category for c in inventory.summary.categories),
        "forecast": f"{demand.summary.produced_by}; by {demand.summary.level}",
        "history": f"{context.history_start} → {context.history_end + timedelta(days=6)} "
        f"({context.history_weeks} weeks, last day included)",
        "replenishment": "none" if strategy == "none" else strategy,
        "DC holdback": f"{parameters.dc_holdback_percentage:.0%}",
        "buy": f"{buy:,} units, {to_stores:,} to stores",
        "re-planned with actual sales": ", ".join(
            part
            for part, done in (
                ("replenishment", inventory.summary.replanned_with_actuals),
                ("markdowns", pricing.summary.replanned_with_actuals),
            )
            if done
        )
        or "no",
        "plan": report.plan,
    }
    notes = [*context.notes, *demand.summary.notes, *inventory.summary.notes, *pricing.summary.notes]
    return RunReport(
        title=f"Season plan: {parameters.forecast_horizon_weeks} weeks from {parameters.season_start_date}",
        headline=(
            f"{reaching}/{len(rows)} categories projected to reach their sell-through target · "
            f"{context.stores} stores · buy {buy:,} units"
        ),
        subject_label="target",
        columns=COLUMNS,
        rows=[*rows, _backtest_row(demand.summary.backtest)],
        facts=facts,
        notes=notes,
    )
