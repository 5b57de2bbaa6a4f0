"""Benchmark of the season workflow's computation on the sample data (no engine, no store).

    .venv/bin/python benchmarks/season.py                 # 50 and 500 stores, 104 weeks, 3 categories
    .venv/bin/python benchmarks/season.py --stores 50     # one size only

Targets (issue 6), 50 stores: context assembly ≤ 2 s, the whole run ≤ 10 s. Prints figures; asserts nothing.
Issue 15 adds, in the same run: the extractor's accuracy on the phrasing table of
tests/workflows/season/test_season_wording.py; per-week WAPE, season-total WAPE and peak-week error of the
old ensemble (no calendar) and the event-aware one side by side, on a spring and a holiday season; and a
holiday season's whole run. The machine is shared: seconds are noisy, accuracy figures are not (seeded).
"The whole run" is measured twice: cold (the first run in a fresh process, which pays for importing
statsforecast/statsmodels, ~3 s here) and warm (a second run in the same process, as in a worker).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REQUEST = "Luxury capsule: no replenishment, 45% holdback, 26 weeks starting 2 March 2026"
FAST_FASHION = "12 weeks from March 2nd 2026, weekly replenishment, keep 10% at the DC"
HOLIDAY = "Holiday: sixteen weeks from the 28th of September 2026, top up every week, hold back a fifth in the depot"


def _score(score: object) -> str:
    wape, mase = getattr(score, "wape", None), getattr(score, "mase", None)
    return f"WAPE {wape:.3f}  MASE {mase:.3f}" if wape is not None and mase is not None else "—"


def bench(stores: int, request: str, work: Path, level: str) -> None:
    from baton.workflows.season import PlanningPolicy, SeasonInputs, run_locally, write_sample_data
    from baton.workflows.season.context import assemble_context, demand_context
    from baton.workflows.season.panel import build_panel
    from baton.workflows.season.parameters import extract_parameters

    data = work / f"data-{stores}"
    began = time.perf_counter()
    write_sample_data(data, stores=stores, weeks=104, seed=7)
    sample_seconds = time.perf_counter() - began

    inputs = SeasonInputs(
        request=request,
        data=str(data),
        out=str(work / f"plan-{stores}"),
        today=date(2026, 11, 22),
        policy=PlanningPolicy.model_validate({"forecast_level": level}),
    )
    began = time.perf_counter()
    parameters = extract_parameters(request, today=inputs.today)
    summary = assemble_context(data, parameters, None)
    checked = time.perf_counter() - began
    context = demand_context(summary, parameters, inputs.policy)
    build_panel(context.history, context.stores)
    assembled = time.perf_counter() - began

    runs = []
    for _ in range(2):
        began = time.perf_counter()
        run = run_locally(inputs)
        runs.append((time.perf_counter() - began, run))
    (cold, _), (warm, run) = runs
    demand = run.outputs["demand"].summary
    backtest = demand.backtest
    rows = len(context.history)
    print(f"\n== {stores} stores × 104 weeks × {len(demand.categories)} categories ({rows:,} history rows)")
    print(f"   request: {request}")
    print(f"   sample data written          {sample_seconds:6.2f} s")
    print(f"   context: files checked       {checked:6.2f} s   (target ≤ 2 s)")
    print(f"   context: + demand context    {assembled:6.2f} s   (reload, panel)")
    print(
        f"   whole run, cold              {cold:6.2f} s   (target ≤ 10 s; includes importing statsforecast)"
    )
    print(f"   whole run, warm              {warm:6.2f} s")
    print("   steps (warm): " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in run.seconds.items()))
    if backtest.skipped:
        print(f"   backtest skipped: {backtest.skipped}")
        return
    print(
        f"   backtest: {backtest.window_weeks} weeks from {backtest.window_start} ({backtest.window_reason})"
    )
    print(f"     {demand.level} totals  ensemble        {_score(backtest.groups['ensemble'])}")
    for name in ("AutoETS", "AutoARIMA", "AutoTheta"):
        print(f"     {demand.level} totals  {name:<15} {_score(backtest.groups[name])}")
    print(f"     {demand.level} totals  seasonal naive  {_score(backtest.groups['seasonal_naive'])}")
    print(f"     store × category  top-down  {_score(backtest.stores['ensemble_top_down'])}")
    print(f"     store × category  s. naive  {_score(backtest.stores['seasonal_naive'])}")
    if backtest.sample is not None:
        s = backtest.sample
        print(
            f"     sample of {len(s.series)} series: top-down {_score(s.top_down)} | per-series {_score(s.per_series)}"
            f" | seasonal naive {_score(s.seasonal_naive)}"
        )
        print(
            f"     per-series fitting: {s.per_series_seconds:.2f} s for the sample, "
            f"~{s.estimated_all_series_seconds:.0f} s for all series"
        )


def _pct(x: float | None) -> str:
    return "   —  " if x is None else f"{x:6.3f}"


def bench_events(stores: int) -> None:
    """The old ensemble (no calendar) against the event-aware one, on the same windows, side by side."""
    import pandas as pd

    from baton.workflows.season.backtest import run_backtest
    from baton.workflows.season.panel import build_panel
    from baton.workflows.season.sample_data import SampleSpec, make_sample_data

    scenarios = (
        ("spring (104 wks to 2026-02-23)", SampleSpec(stores=stores, weeks=104), "2026-03-02", 12),
        (
            "holiday (156 wks to 2026-09-21)",
            SampleSpec(stores=stores, weeks=156, last_week=date(2026, 9, 21)),
            "2026-09-28",
            16,
        ),
    )
    print(f"\n== forecast accuracy, {stores} stores: old ensemble vs event-aware (category chain totals)")
    print("   weekly WAPE counts every week's miss; season-total WAPE only each category's season sum;")
    print("   peak error = worst |forecast/actual − 1| over the categories' biggest week of the window")
    header = (
        f"   {'scenario':<32} {'window':<11} {'forecast':<16} {'weekly':>7} {'season':>7} {'peak':>7}  secs"
    )
    print(header)
    for label, spec, start, horizon in scenarios:
        history, store_table = make_sample_data(spec)
        history["week"] = pd.to_datetime(history["week"])
        panel = build_panel(history, store_table)
        index = panel.index_of(pd.Timestamp(start))
        reports = {}
        for aware in (False, True):
            began = time.perf_counter()
            reports[aware] = (
                run_backtest(panel, index, horizon, level="category", sample_size=0, event_aware=aware),
                time.perf_counter() - began,
            )
        old, new = reports[False][0], reports[True][0]
        rows = (
            ("old ensemble", old, "ensemble", reports[False][1]),
            ("event-aware", new, "ensemble", reports[True][1]),
            ("seasonal naive", new, "seasonal_naive", None),
        )
        for name, report, key, seconds in rows:
            print(
                f"   {label:<32} {report.window_start!s:<11} {name:<16} {_pct(report.weekly_wape[key]):>7} "
                f"{_pct(report.season_total_wape[key]):>7} {_pct(report.worst_peak_error.get(key)):>7}"
                + (f"  {seconds:.2f}" if seconds is not None else "")
            )
        for peak in new.peaks:
            old_peak = next(p for p in old.peaks if p.category == peak.category)
            print(
                f"     peak {peak.category:<10} {peak.week_start} {peak.event or '(no event)':<32} actual "
                f"{peak.actual:>7,}  old {old_peak.error['ensemble']:+.1%}  event-aware "
                f"{peak.error['ensemble']:+.1%}  naive {peak.error['seasonal_naive']:+.1%}"
            )


def bench_holiday_run(stores: int, work: Path) -> None:
    from baton.workflows.season import SeasonInputs, run_locally, write_sample_data

    data = work / f"holiday-{stores}"
    write_sample_data(data, stores=stores, weeks=156, last_week=date(2026, 9, 21))
    inputs = SeasonInputs(
        request=HOLIDAY, data=str(data), out=str(work / f"holiday-plan-{stores}"), today=date(2026, 9, 1)
    )
    times = []
    for _ in range(2):
        began = time.perf_counter()
        run = run_locally(inputs)
        times.append(time.perf_counter() - began)
    print(f"\n== holiday season run, {stores} stores × 156 weeks: {HOLIDAY!r}")
    print(f"   whole run cold {times[0]:.2f} s, warm {times[1]:.2f} s (target ≤ 10 s warm)")
    print("   steps (warm): " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in run.seconds.items()))
    for event in run.outputs["demand"].summary.events:
        print(
            f"   week {event.season_week:>2} {event.week_start} {event.event}: {event.uplift:.2f}× an average week"
        )


def bench_phrasings() -> None:
    """The extractor on the phrasing table of tests/workflows/season/test_season_wording.py."""
    from baton.agents.rules import extract_with_rules
    from baton.workflows.season import SeasonParameterError, SeasonParameters, extract_parameters

    path = Path(__file__).resolve().parents[1] / "tests" / "workflows" / "season" / "test_season_wording.py"
    spec = importlib.util.spec_from_file_location("season_phrasings", path)
    if spec is None or spec.loader is None:
        print(f"\n== phrasings: cannot load {path}")
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["season_phrasings"] = module
    spec.loader.exec_module(module)
    table, today = module.PHRASINGS, module.TODAY

    def outcome(found: object) -> tuple[object, ...]:
        return (
            getattr(found, "forecast_horizon_weeks", None),
            getattr(found, "season_start_date", None),
            str(getattr(getattr(found, "replenishment_strategy", None), "value", None)),
            round(float(getattr(found, "dc_holdback_percentage", -1)), 4),
        )

    right = generic_right = 0
    wrong: list[str] = []
    began = time.perf_counter()
    for text, expected in table:
        refused = isinstance(expected, module.Refused)
        try:
            found = extract_parameters(text, today=today)
            ok = not refused and outcome(found) == (
                expected.weeks,
                expected.start,
                expected.replenishment,
                round(expected.holdback, 4),
            )
        except SeasonParameterError as error:
            ok = refused and expected.field in error.fields
        right += ok
        if not ok:
            wrong.append(text)
    seconds = time.perf_counter() - began
    for text, expected in table:
        # the generic field rules alone (no planner vocabulary), for contrast
        result = extract_with_rules(text, SeasonParameters, today=today)
        if isinstance(expected, module.Refused):
            generic_right += not result.ok and expected.field in {*result.missing, *result.invalid}
        elif result.ok:
            found = SeasonParameters.model_validate(result.values)
            generic_right += outcome(found) == (
                expected.weeks,
                expected.start,
                expected.replenishment,
                round(expected.holdback, 4),
            )
    total = len(table)
    print(
        f"\n== extractor on {total} phrasings ({sum(isinstance(e, module.Refused) for _, e in table)} must be refused)"
    )
    print(
        f"   planner vocabulary + rules  {right}/{total} right ({right / total:.0%}), "
        f"{seconds / total * 1000:.1f} ms each"
    )
    print(f"   generic field rules alone   {generic_right}/{total} right ({generic_right / total:.0%})")
    for text in wrong:
        print(f"   wrong: {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--request", default=REQUEST)
    parser.add_argument("--level", choices=["category", "cluster"], default="category")
    args = parser.parse_args(argv)
    bench_phrasings()
    bench_events(args.stores[0])
    with tempfile.TemporaryDirectory(prefix="baton-season-bench-") as work:
        bench_holiday_run(args.stores[0], Path(work))
        for stores in args.stores:
            bench(stores, args.request, Path(work), args.level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
