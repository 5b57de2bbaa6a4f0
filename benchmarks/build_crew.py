"""The build crew, measured: the same idea built offline (rules and templates only) and with a model.

    .venv/bin/python benchmarks/build_crew.py                 # the scripted model (a local fake server)
    BATON_CONFIG=baton.toml .venv/bin/python benchmarks/build_crew.py --real [--ideas benchmarks/ideas.yaml]

Scripted (default): a local server speaking OpenAI's protocol plays the crew's turns of the test suite
(architect, coder, reviewer) for the exchange-rates idea: per build, the model turns, tool calls, tokens,
the cost as priced for the configured models (gpt-4o-mini for the architect and reviewer, gpt-4o for the
coder, at the price book's rates), the wall time of each stage, and the gateway's share of the code stage
(the time spent inside model calls). The scripted server answers at once, so the model time here is the
gateway's own overhead plus loopback HTTP: a real model adds its latency to every turn.

Real (--real): the models of BATON_CONFIG build each idea of the ideas file (a YAML list of ideas, or of
mappings with an ``idea`` key), and the figure that matters is printed: requirements honoured / stated,
by the build's own acceptance checks against the running service. That spends real money: --budget caps
each build (default $1).

Builds run through the real engine (worker + SQLite store) in this process. Figures are printed, never
asserted; the machine is shared, so they are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "workflows" / "builder")]

import tomllib  # noqa: E402

import yaml  # noqa: E402
from sqlalchemy import select  # noqa: E402

from baton.engine import WorkerSettings, start_run  # noqa: E402
from baton.engine.worker import run_to_end  # noqa: E402
from baton.llm import Gateway, load_config  # noqa: E402
from baton.store.runs import run_outputs  # noqa: E402
from baton.store.schema import model_calls, tasks  # noqa: E402
from baton.store.store import Store  # noqa: E402
from baton.workflows.builder import stop_service  # noqa: E402

BUILD = "baton.workflows.builder:workflow"
STAGES = ["architecture", "repository", "code", "gate", "infrastructure", "deploy", "docs"]


def build(
    store: Store, gateway: Gateway, idea: str, out: Path, options: dict[str, Any]
) -> tuple[str, dict[str, Any], float]:
    run_id = start_run(store, BUILD, {"idea": idea, "out": str(out), "force": True}, options=options)
    started = time.perf_counter()
    asyncio.run(_drive(store, run_id, gateway))
    return run_id, _figures(store, run_id), time.perf_counter() - started


async def _drive(store: Store, run_id: str, gateway: Gateway) -> None:
    async with gateway:
        await run_to_end(store, run_id, WorkerSettings(concurrency=8), services={"gateway": gateway})


def _figures(store: Store, run_id: str) -> dict[str, Any]:
    with store.read() as conn:
        rows = list(conn.execute(select(tasks).where(tasks.c.run_id == run_id)))
        calls = list(conn.execute(select(model_calls).where(model_calls.c.run_id == run_id)))
        try:
            outputs = run_outputs(conn, run_id)
        except Exception:
            outputs = {}
    stages = {}
    for row in rows:
        started, finished = getattr(row, "started_at", None), getattr(row, "finished_at", None)
        if started and finished:
            stages[row.name] = finished - started
    requirements = (outputs.get("deploy") or {}).get("requirements") or []
    failed = [row.name for row in rows if str(row.state) == "failed"]
    return {
        "state": f"FAILED at {failed[0]}" if failed else ("succeeded" if outputs.get("docs") else "stopped"),
        "stages": stages,
        "turns": sum(1 for c in calls if c.status in ("ok", "cached", "replayed")),
        "tokens": sum(c.tokens_in + c.tokens_out for c in calls),
        "cost": sum(c.cost_usd for c in calls),
        "model_s": sum(c.latency_ms for c in calls) / 1000.0,
        "honoured": sum(1 for r in requirements if r.get("status") == "honoured"),
        "stated": len(requirements),
    }


def _row(label: str, figures: dict[str, Any], total: float) -> str:
    cells = "".join(f"{figures['stages'].get(s, 0.0):>8.2f}" for s in STAGES)
    code = figures["stages"].get("code", 0.0)
    share = f"{figures['model_s'] / code:>6.0%}" if code else "     -"
    return (
        f"{label:<22}{cells}{total:>8.2f}{figures['turns']:>6}{figures['tokens']:>8}"
        f"{figures['cost']:>9.4f}{share}  {figures['honoured']}/{figures['stated']:<4} {figures['state']}"
    )


HEADER = (
    f"{'build':<22}" + "".join(f"{s[:7]:>8}" for s in STAGES) + f"{'total':>8}{'turns':>6}{'tokens':>8}"
    f"{'cost $':>9}{'gw%':>6}  honoured  state"
)


def scripted() -> None:
    from crew_code import IDEA, script_green_build
    from crew_support import KEY, FakeModelServer, config_text

    server = FakeModelServer().start()
    table = tomllib.loads(config_text(server))["llm"]
    config = load_config(data=table, env={"CREW_TEST_KEY": KEY})
    offline_config = load_config(data={}, env={})
    try:
        with tempfile.TemporaryDirectory(prefix="baton-crew-bench-") as scratch:
            store = Store.open(f"sqlite:///{Path(scratch) / 'baton.db'}")
            print(HEADER)
            for label in ("offline (rules)", "scripted model"):
                out = Path(scratch) / label.split()[0]
                if label == "scripted model":
                    server.reset()
                    script_green_build(server)
                gateway = Gateway(config if label == "scripted model" else offline_config, store)
                try:
                    _, figures, total = build(store, gateway, IDEA, out, {})
                finally:
                    stop_service(out)
                print(_row(label, figures, total), flush=True)
            store.close()
    finally:
        server.stop()
    print(
        "seconds per stage (gate and infrastructure overlap); gw% = time inside model calls / code stage."
        "\nThe scripted server answers at once: with a real model every turn adds its latency."
    )


NO_MODEL = """--real needs a model endpoint, and {why}.
Put a provider and its models in a baton.toml (README: Configuration), for example

    [llm.providers.cloud]
    kind = "openai"                      # or "anthropic"
    base_url = "https://api.openai.com/v1"
    api_key_env = "OPENAI_API_KEY"

    [[llm.models]]
    name = "gpt-4o-mini"
    provider = "cloud"
    tier = "moderate"                    # the architect and the reviewer

    [[llm.models]]
    name = "gpt-4o"
    provider = "cloud"
    tier = "complex"                     # the coder

and run: BATON_CONFIG=baton.toml .venv/bin/python benchmarks/build_crew.py --real --budget 1"""


def _need_a_model() -> None:
    """Stop with what to do when BATON_CONFIG names no usable model (nothing is built, nothing spent)."""
    from baton.core.errors import BatonError

    try:
        config = load_config()
    except BatonError as error:
        raise SystemExit(NO_MODEL.format(why=f"its configuration is refused: {error.message}")) from None
    if not config.enabled:
        where = os.environ.get("BATON_CONFIG") or "./baton.toml (BATON_CONFIG is not set)"
        raise SystemExit(NO_MODEL.format(why=f"{where} configures no model"))


def real(ideas_file: Path, budget: float) -> None:
    _need_a_model()
    raw = yaml.safe_load(ideas_file.read_text(encoding="utf-8"))
    items = raw.get("ideas", raw) if isinstance(raw, dict) else raw
    ideas = [i["idea"] if isinstance(i, dict) else str(i) for i in items]
    honoured = stated = 0
    with tempfile.TemporaryDirectory(prefix="baton-crew-real-") as scratch:
        store = Store.open(f"sqlite:///{Path(scratch) / 'baton.db'}")
        print(HEADER)
        for number, idea in enumerate(ideas, 1):
            out = Path(scratch) / f"idea{number}"
            try:
                _, figures, total = build(
                    store, Gateway.from_config(store), idea, out, {"budget_usd": budget}
                )
            finally:
                stop_service(out)
            honoured += figures["honoured"]
            stated += figures["stated"]
            print(_row(f"{number}. {idea[:18]}", figures, total), flush=True)
        store.close()
    share = f"{honoured / stated:.0%}" if stated else "-"
    print(f"requirements honoured / stated: {honoured}/{stated} ({share})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--real", action="store_true", help="use the models of BATON_CONFIG (costs money)")
    parser.add_argument("--ideas", type=Path, default=ROOT / "benchmarks" / "ideas.yaml")
    parser.add_argument("--budget", type=float, default=1.0, help="US dollars per build (with --real)")
    args = parser.parse_args()
    if args.real:
        real(args.ideas, args.budget)
    else:
        scripted()


if __name__ == "__main__":
    main()
