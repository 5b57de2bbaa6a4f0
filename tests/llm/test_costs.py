from __future__ import annotations

import pytest

from baton.core.errors import RunNotFoundError
from baton.llm import CallContext, Complexity, ModelRequest, cost_report
from baton.store.store import Store

from .conftest import GatewayFactory
from .fakeserver import FakeModelServer, Reply

# genai-prices, per million tokens: gpt-4o-mini $0.15 in / $0.60 out; gpt-4o $2.50 / $10;
# claude-haiku-4-5 $1 / $5. The fake server counts prompt tokens as words + 7.


async def test_costs_by_run_step_agent_and_model_with_the_savings_of_routing_and_caching(
    gateway: GatewayFactory, server: FakeModelServer, store: Store
) -> None:
    server.script("gpt-4o-mini", Reply.text("one two three"))  # 4 output tokens
    server.script("gpt-4o", Reply.text("a b c d e f g h i"))  # 10 output tokens
    moderate = ModelRequest.of("plan the work", complexity=Complexity.MODERATE)  # 10 input tokens
    hard = ModelRequest.of("design it", complexity=Complexity.COMPLEX)  # 9 input tokens
    ask = gateway.complete  # type: ignore[attr-defined]
    await ask(moderate, CallContext(run_id="r1", step="plan", agent="planner"))
    await ask(moderate, CallContext(run_id="r1", step="plan", agent="planner"))  # cache hit
    await ask(hard, CallContext(run_id="r1", step="design", agent="architect"))
    await ask(ModelRequest.of("hi"), CallContext(run_id="r1", step="greet", agent="greeter"))  # local, free
    await ask(ModelRequest.of("other run"), CallContext(run_id="r2", step="greet"))

    report = cost_report(store, "r1")
    mini = (10 * 0.15 + 4 * 0.60) / 1e6
    big = (9 * 2.50 + 10 * 10.0) / 1e6
    assert report.total.calls == 4 and report.total.cache_hits == 1
    assert report.total.cost_usd == pytest.approx(mini + big)
    assert {line.key: line.cost_usd for line in report.by_step} == pytest.approx(
        {"plan": mini, "design": big, "greet": 0.0}
    )
    assert [line.key for line in report.by_agent] == ["architect", "planner", "greeter"]
    assert {line.key: line.calls for line in report.by_model} == {
        "gpt-4o": 1,
        "gpt-4o-mini": 2,
        "llama-small": 1,
    }
    assert report.baseline_models == ["gpt-4o"]
    # Everything on gpt-4o: plan twice (10 in, 4 out), design (9 in, 10 out), greet (9 in, 3 out).
    greet = next(line for line in report.by_model if line.key == "llama-small")
    baseline = 2 * (10 * 2.5 + 4 * 10) / 1e6 + big + (greet.tokens_in * 2.5 + greet.tokens_out * 10) / 1e6
    assert report.total.baseline_usd == pytest.approx(baseline)
    assert report.caching_savings_usd == pytest.approx(mini)
    assert report.savings_usd == pytest.approx(baseline - mini - big)
    assert report.routing_savings_usd == pytest.approx(baseline - 2 * mini - big)
    assert report.as_dict()["savings_usd"] == pytest.approx(report.savings_usd)

    everything = cost_report(store)
    assert [line.key for line in everything.by_run] == ["r1", "r2"]
    assert everything.total.calls == 5


def test_an_unknown_run_is_a_clear_error(store: Store) -> None:
    with pytest.raises(RunNotFoundError, match="no run with id 'nope'"):
        cost_report(store, "nope")
