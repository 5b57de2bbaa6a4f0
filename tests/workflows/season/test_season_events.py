"""The retail calendar: event weeks that move with the year, in the sample data, the forecast, the
backtest, the shipments and the plan — the last through the real engine on a SQLite store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from baton.core.states import RunState
from baton.engine import WorkerSettings, run_to_end, start_run
from baton.store.runs import run_outputs
from baton.store.store import Store
from baton.workflows.season import write_sample_data
from baton.workflows.season.backtest import run_backtest
from baton.workflows.season.events import EVENTS, event_matrix, events_in
from baton.workflows.season.panel import SalesPanel, build_panel
from baton.workflows.season.sample_data import SampleSpec, make_sample_data

FAST = WorkerSettings(poll_interval=0.05, heartbeat_every=0.5, lease_seconds=30)
HOLIDAY_END = date(2026, 9, 21)  # the week before a holiday season starting 2026-09-28


def _mondays(first: str, count: int) -> list[date]:
    return [d.date() for d in pd.date_range(first, periods=count, freq="W-MON")]


def test_black_friday_and_easter_move_with_the_calendar() -> None:
    weeks = _mondays("2024-01-01", 160)
    found = {
        label: [weeks[i] for i, lab in events_in(weeks) if lab == label]
        for label in {e.label for e in EVENTS}
    }
    # the Mondays of the weeks holding the day after Thanksgiving: 29 Nov 2024, 28 Nov 2025, 27 Nov 2026
    assert found["Black Friday week"] == [date(2024, 11, 25), date(2025, 11, 24), date(2026, 11, 23)]
    # Good Friday: 29 Mar 2024, 18 Apr 2025, 3 Apr 2026 — three weeks apart in a row
    assert found["Easter week"] == [date(2024, 3, 25), date(2025, 4, 14), date(2026, 3, 30)]
    assert len(found["the two weeks before Christmas"]) == 6
    assert found["back-to-school (two weeks before Labor Day)"][:2] == [date(2024, 8, 19), date(2024, 8, 26)]


def test_weeks_that_start_on_another_weekday_hold_the_same_days() -> None:
    sundays = [d.date() for d in pd.date_range("2025-11-02", periods=6, freq="W-SUN")]
    black_friday = event_matrix(sundays)[0]
    assert [sundays[i] for i in np.flatnonzero(black_friday)] == [date(2025, 11, 23)]  # holds Fri 28 Nov


def test_the_sample_peaks_land_on_the_event_weeks_of_each_year() -> None:
    history, _ = make_sample_data(SampleSpec(stores=10, weeks=156, seed=3, last_week=HOLIDAY_END))
    chain = history.groupby(["category", "week"])["units"].sum()
    for category in ("basics", "outerwear"):
        series = chain.loc[category]
        weeks = list(series.index)
        for year in (2023, 2024, 2025):
            november = [w for w in weeks if w.year == year and w.month == 11]
            top = max(november, key=lambda w: series[w])
            assert top in {w for i, lab in events_in(weeks) if lab == "Black Friday week" for w in [weeks[i]]}


@pytest.fixture(scope="module")
def holiday_panel() -> tuple[SalesPanel, int]:
    history, stores = make_sample_data(SampleSpec(stores=20, weeks=156, seed=4, last_week=HOLIDAY_END))
    history["week"] = pd.to_datetime(history["week"])
    panel = build_panel(history, stores)
    return panel, panel.index_of(pd.Timestamp("2026-09-28"))


def test_the_event_aware_forecast_gets_the_peak_weeks_right(holiday_panel: tuple[SalesPanel, int]) -> None:
    panel, start = holiday_panel
    aware = run_backtest(panel, start, 16, level="category", sample_size=0)
    old = run_backtest(panel, start, 16, level="category", sample_size=0, event_aware=False)
    assert aware.window_start == date(2025, 9, 29) and aware.event_aware and not old.event_aware
    weekly, naive = aware.weekly_wape["ensemble"], aware.weekly_wape["seasonal_naive"]
    assert weekly is not None and naive is not None and old.weekly_wape["ensemble"] is not None
    assert weekly < naive and weekly < old.weekly_wape["ensemble"]
    assert {p.event for p in aware.peaks} == {"Black Friday week"}
    assert aware.worst_peak_error["ensemble"] <= 0.15
    # a season total can look fine while weeks are missed: the two measures are reported apart
    assert old.season_total_wape["ensemble"] is not None
    assert old.season_total_wape["ensemble"] < old.weekly_wape["ensemble"]


@pytest.mark.slow
async def test_a_holiday_season_through_the_engine(sqlite_store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_sample_data(data, stores=8, weeks=156, seed=11, last_week=HOLIDAY_END)
    request = (
        "Holiday: sixteen weeks from the 28th of September 2026, top up every week, "
        "hold back a fifth in the depot"
    )
    run_id = start_run(
        sqlite_store,
        "baton.workflows.season:workflow",
        {"request": request, "data": str(data), "out": str(tmp_path / "plan"), "today": "2026-09-01"},
    )
    assert await run_to_end(sqlite_store, run_id, FAST) is RunState.SUCCEEDED
    with sqlite_store.read() as conn:
        outputs = run_outputs(conn, run_id)
    events = outputs["demand"]["summary"]["events"]
    assert [(e["season_week"], e["event"]) for e in events] == [
        (9, "Black Friday week"),
        (12, "the two weeks before Christmas"),
        (13, "the two weeks before Christmas"),
    ]
    black_friday = events[0]
    assert black_friday["uplift"] > 1.5  # the forecast carries the peak instead of flattening it
    shipments = pd.read_csv(outputs["inventory"]["files"]["replenishment"])
    arriving = shipments.groupby("arrives_week")["units"].sum()
    # the order-up-to level looks lead time ahead: the shipment arriving for Christmas week leaves a week
    # before it and is bigger than the season's average arrival
    assert int(shipments[shipments["arrives_week"] == 13]["season_week"].iloc[0]) == 12
    assert arriving[13] > arriving.mean()
    plan = (tmp_path / "plan" / "PLAN.md").read_text()
    assert "'a fifth' → 20% DC holdback" in plan and "'every week' → weekly replenishment" in plan
    assert "week 9 (2026-11-23): Black Friday week" in plan
    assert "peak week of the backtest" in plan
