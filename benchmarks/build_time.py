"""Time per stage and in total for three ideas, from the idea to a smoke-tested running service.

    .venv/bin/python benchmarks/build_time.py          # warm: the venv cache in ~/.cache/baton
    .venv/bin/python benchmarks/build_time.py --cold   # cold: a fresh, empty cache directory

Targets (issue 4): ≤ 60 s warm, ≤ 3 min cold on this machine. The figures are printed, never asserted.
Stages run as in the engine: the gate and the infrastructure side by side (their times overlap).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from baton.workflows.builder import run_stages_locally, stop_service

IDEAS = {
    "library (fastapi)": "A REST API for a small library: books, authors and loans; members borrow books",
    "timer job (functions)": (
        "A serverless timer job that every night cleans up expired reservations; rooms have reservations"
    ),
    "bakery (flask)": "A small web app for a bakery: customers place orders; products with name, price and is_vegan",
}
STAGES = ["architecture", "repository", "code", "gate", "infrastructure", "deploy", "docs", "notify"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cold", action="store_true", help="start from an empty venv cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as scratch:
        if args.cold:
            os.environ["BATON_CACHE_DIR"] = str(Path(scratch) / "cache")
        print(f"{'idea':<24}" + "".join(f"{s[:8]:>9}" for s in STAGES) + f"{'total':>9}  smoke")
        for label, idea in IDEAS.items():
            out = Path(scratch) / label.split()[0]
            started = time.perf_counter()
            try:
                build = run_stages_locally({"idea": idea, "out": str(out)})
                total = time.perf_counter() - started
                cells = "".join(f"{build.durations.get(s, 0.0):>9.2f}" for s in STAGES)
                smoke = "ok" if all(c.passed for c in build.deploy.smoke) else "FAILED"
                print(f"{label:<24}{cells}{total:>9.2f}  {smoke}", flush=True)
            finally:
                stop_service(out)
    print("seconds; gate and infrastructure overlap. Cold: the first build of each stack creates its venv.")


if __name__ == "__main__":
    main()
