"""The model gateway's own overhead per call, measured against the local scripted model server.

    .venv/bin/python benchmarks/gateway_overhead.py [--calls 500]

Figures (printed, never asserted):
- overhead per call: the gateway's time outside the provider's HTTP call (router, cache lookup,
  budget, record and event write), p50 and p99 — target ≤ 2 ms p50;
- cache hit: the whole call when the answer comes from the store's cache — target ≤ 0.5 ms p50;
- 200 concurrent in-flight calls: errors (target: none) and wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection
import multiprocessing.synchronize
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from baton.llm import CallContext, Gateway, ModelConfig, ModelRequest, load_config
from baton.llm.messages import Completion
from baton.llm.providers import OpenAIProvider, Provider
from baton.store.store import Store
from llm.fakeserver import FakeModelServer


class TimedProvider:
    """The real SDK-backed provider, timed from the inside, so the gateway's share can be told apart."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name = inner.name
        self.last_ms = 0.0

    async def complete(self, model: ModelConfig, request: ModelRequest) -> Completion:
        started = time.perf_counter()
        try:
            return await self.inner.complete(model, request)
        finally:
            self.last_ms = (time.perf_counter() - started) * 1000.0

    async def close(self) -> None:
        await self.inner.close()


def quantile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


def show(label: str, values: list[float]) -> None:
    print(
        f"{label:<44} p50 {quantile(values, 0.5):7.3f} ms   p99 {quantile(values, 0.99):7.3f} ms"
        f"   mean {statistics.fmean(values):7.3f} ms   n={len(values)}"
    )


def serve(port_out: multiprocessing.connection.Connection, stop: multiprocessing.synchronize.Event) -> None:
    server = FakeModelServer().start()
    port_out.send(server.openai_url)
    stop.wait()
    server.stop()


async def main(calls: int) -> None:
    # The server runs in its own process, so that its threads do not compete for this one's GIL.
    receive, send = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(send, stop), daemon=True)
    server.start()
    openai_url = receive.recv()
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    store = Store.open(f"sqlite:///{folder / 'baton.db'}")
    config = load_config(
        data={
            "providers": {"local": {"base_url": openai_url, "max_concurrency": 256}},
            "models": [{"name": "bench-model", "provider": "local", "tier": "complex"}],
            "budget_usd": 5.0,
        },
        env={},
    )
    timed = TimedProvider(OpenAIProvider(config.providers["local"]))
    gateway = Gateway(config, store, providers={"local": timed})
    context = CallContext(run_id="bench", task_id=1, step="bench", agent="bench")
    try:
        for i in range(20):  # warm up connections, SQLite pages, pydantic schemas
            await gateway.complete(ModelRequest.of(f"warm {i}", cache=False), context)

        overhead, total = [], []
        for i in range(calls):
            started = time.perf_counter()
            await gateway.complete(
                ModelRequest.of(f"question {i}: what is the weather?", cache=False), context
            )
            elapsed = (time.perf_counter() - started) * 1000.0
            total.append(elapsed)
            overhead.append(elapsed - timed.last_ms)

        cached_request = ModelRequest.of("a question asked again and again")
        await gateway.complete(cached_request, context)
        hits = []
        for _ in range(calls):
            started = time.perf_counter()
            response = await gateway.complete(cached_request, context)
            hits.append((time.perf_counter() - started) * 1000.0)
            assert response.cache_hit

        started = time.perf_counter()
        results = await asyncio.gather(
            *(gateway.complete(ModelRequest.of(f"burst {i}", cache=False), context) for i in range(200)),
            return_exceptions=True,
        )
        wall = time.perf_counter() - started
        errors = [r for r in results if isinstance(r, BaseException)]

        print(f"gateway overhead against the local scripted server ({calls} calls each)")
        show("whole call through the gateway (miss)", total)
        show("gateway overhead per call (outside HTTP)", overhead)
        show("cache hit (whole call)", hits)
        print(f"{'200 concurrent in-flight calls':<44} errors {len(errors)}   wall {wall:.2f} s")
        if errors:
            print("first error:", errors[0])
    finally:
        await gateway.close()
        store.close()
        stop.set()
        server.join(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500)
    asyncio.run(main(parser.parse_args().calls))
