"""Benchmark of the season workflow's computation on the sample data (no engine, no store).

    .venv/bin/python benchmarks/season.py                 # 50 and 500 stores, 104 weeks, 3 categories
    .venv/bin/python benchmarks/season.py --stores 50     # one size only

Targets (issue 6), 50 stores: context assembly ≤ 2 s, the whole run ≤ 10 s. Prints figures; asserts nothing.
"The whole run" is measured twice: cold (the first run in a fresh process, which pays for importing
statsforecast/statsmodels, ~3 s here) and warm (a second run in the same process, as in a worker).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REQUEST = "Luxury capsule: no replenishment, 45% holdback, 26 weeks starting 2 March 2026"
FAST_FASHION = "12 weeks from March 2nd 2026, weekly replenishment, keep 10% at the DC"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--request", default=REQUEST)
    parser.add_argument("--level", choices=["category", "cluster"], default="category")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="baton-season-bench-") as work:
        for stores in args.stores:
            bench(stores, args.request, Path(work), args.level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
