"""The one-page ``PLAN.md`` and its charts: forecast vs history, allocation by store, markdown curve.

Charts are drawn on matplotlib ``Figure`` objects with the Agg canvas — no pyplot, no global state — so
steps may draw in worker threads at the same time.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pydantic import BaseModel

from baton.workflows.season.artifacts import write_text
from baton.workflows.season.backtest import Score
from baton.workflows.season.demand import DemandSummary
from baton.workflows.season.events import events_in
from baton.workflows.season.inventory import InventorySummary
from baton.workflows.season.parameters import SeasonParameters
from baton.workflows.season.pricing import PricingSummary

__all__ = ["ReportResult", "draw_allocation", "draw_forecast", "draw_markdowns", "write_plan"]

_TEMPLATES = Path(__file__).parent / "templates"
_HISTORY_SHOWN_WEEKS = 104
_STORES_SHOWN = 60


class ReportResult(BaseModel):
    plan: str
    charts: dict[str, str]


def _save(figure: Figure, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    return str(path)


def draw_forecast(history: pd.DataFrame, groups: pd.DataFrame, categories: list[str], path: Path) -> str:
    """History and forecast (ensemble, 80% band, seasonal naive) of each category's chain total, with the
    retail calendar's event weeks shaded."""
    figure = Figure(figsize=(10, 2.4 * len(categories)))
    axes = figure.subplots(len(categories), 1, squeeze=False)[:, 0]
    for ax, category in zip(axes, categories, strict=True):
        past = history[history["category"] == category].tail(_HISTORY_SHOWN_WEEKS)
        ahead = (
            groups[groups["group"].str.split(" / ").str[0] == category]
            .groupby("week_start")
            .sum(numeric_only=True)
        )
        ax.plot(pd.to_datetime(past["week"]), past["units"], color="0.35", lw=1, label="history")
        when = pd.to_datetime(ahead.index)
        ax.fill_between(
            when, ahead["lo_80"], ahead["hi_80"], color="tab:blue", alpha=0.2, label="80% interval"
        )
        ax.plot(when, ahead["ensemble"], color="tab:blue", lw=2, label="forecast (ensemble)")
        ax.plot(when, ahead["seasonal_naive"], color="tab:orange", lw=1, ls="--", label="seasonal naive")
        _mark_events(ax, [*pd.to_datetime(past["week"]), *when])
        ax.set_title(category, loc="left", fontsize=10)
        ax.set_ylabel("units / week")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=7, ncol=4)
    return _save(figure, path)


_EVENT_COLOURS = {"Black": "tab:red", "the two": "tab:green", "Easter": "tab:purple", "back-to": "tab:brown"}


def _mark_events(ax: Any, weeks: list[pd.Timestamp]) -> None:
    """Shade each retail event week (from :mod:`.events`) and name each event once in the legend."""
    named: set[str] = set()
    for index, label in events_in([w.date() for w in weeks]):
        start = weeks[index]
        colour = next((c for key, c in _EVENT_COLOURS.items() if label.startswith(key)), "tab:gray")
        short = label.split(" (")[0]
        ax.axvspan(
            start - pd.Timedelta(days=3),
            start + pd.Timedelta(days=4),
            color=colour,
            alpha=0.15,
            lw=0,
            label=None if short in named else short,
        )
        named.add(short)


def draw_allocation(allocation: pd.DataFrame, path: Path) -> str:
    """Units allocated to each store, stacked by category, largest stores first."""
    table = allocation.pivot_table(
        index="store_id", columns="category", values="allocated_units", aggfunc="sum"
    )
    table = table.loc[table.sum(axis=1).sort_values(ascending=False).index]
    shown = table.head(_STORES_SHOWN)
    figure = Figure(figsize=(10, 3.6))
    ax = figure.subplots()
    bottom = np.zeros(len(shown))
    for category in shown.columns:
        ax.bar(shown.index, shown[category], bottom=bottom, label=category, width=0.8)
        bottom += shown[category].to_numpy()
    more = f" (largest {_STORES_SHOWN} of {len(table)})" if len(table) > _STORES_SHOWN else ""
    ax.set_title(f"initial allocation by store{more}", loc="left", fontsize=10)
    ax.set_ylabel("units")
    ax.tick_params(axis="x", labelrotation=90, labelsize=6)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def draw_markdowns(curve: pd.DataFrame, path: Path) -> str:
    """Per category: the price path (markdown depth) and the projected cumulative sell-through."""
    figure = Figure(figsize=(10, 3.4))
    ax = figure.subplots()
    other = ax.twinx()
    for i, (category, rows) in enumerate(curve.groupby("category", sort=True)):
        color = f"C{i}"
        # repeat the last week one week on, so a markdown in the last week shows as a step
        weeks = [*rows["season_week"], rows["season_week"].iloc[-1] + 1]
        depths = [*(rows["depth"] * 100), rows["depth"].iloc[-1] * 100]
        ax.step(weeks, depths, where="post", color=color, lw=2, label=f"{category} depth")
        other.plot(
            rows["season_week"], rows["sell_through"] * 100, color=color, ls=":", label=f"{category} sold"
        )
    ax.set_xlabel("season week")
    ax.set_ylabel("markdown depth (%)")
    other.set_ylabel("cumulative sell-through (%)")
    ax.set_ylim(0, 100)
    other.set_ylim(0, 100)
    ax.set_title("markdown plan and projected sell-through", loc="left", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    other.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(figure, path)


def _units(value: float | int | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _score(score: Score) -> str:
    def show(x: float | None) -> str:
        return "—" if x is None else f"{x:.3f}"

    return f"{show(score.wape)} / {show(score.mase)}"


def write_plan(
    out: Path,
    *,
    request: str,
    produced_by: str,
    parameters: SeasonParameters,
    target: float,
    stores: int,
    demand: DemandSummary,
    inventory: InventorySummary,
    pricing: PricingSummary,
    charts: dict[str, str],
    notes: list[str],
) -> str:
    """Render ``PLAN.md`` into ``out`` (chart links relative to it); returns its path."""
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    steps = {
        c.category: ", ".join(f"wk {m.season_week}: {m.depth:.0%}" for m in c.markdowns) or "none"
        for c in pricing.categories
    }
    text = environment.get_template("plan.md.jinja").render(
        p=parameters,
        request=request,
        produced_by=produced_by,
        target=target,
        stores=stores,
        d=demand,
        history_last_day=demand.history_end + timedelta(days=6),  # weeks are labelled by their first day
        b=demand.backtest,
        i=inventory,
        pr=pricing,
        steps=steps,
        charts={k: Path(v).relative_to(out).as_posix() for k, v in charts.items()},
        notes=notes,
        n=_units,
        pct=lambda x: f"{x:.0%}",
        err=lambda x: f"{x:+.1%}",
        w=lambda x: "—" if x is None else f"{x:.3f}",
        sc=_score,
    )
    return str(write_text(out / "PLAN.md", text))
