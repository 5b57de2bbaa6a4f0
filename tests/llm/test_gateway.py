"""The gateway against a real HTTP server: routing, fallback, retries, breaker, budget, cache, replay."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from baton.llm import (
    AllModelsFailedError,
    BreakerState,
    BudgetExceededError,
    CallContext,
    CallStatus,
    Complexity,
    ModelRequest,
    NoModelConfiguredError,
    ReplayMissingError,
    UnknownModelError,
)
from baton.store.events import query_events
from baton.store.schema import model_cache, model_calls
from baton.store.store import Store

from .conftest import SECRET, GatewayFactory, Sleeps, make_config
from .fakeserver import FakeModelServer, Reply


def calls(store: Store, run_id: str | None = None) -> list[dict[str, object]]:
    query = select(model_calls).order_by(model_calls.c.id)
    if run_id is not None:
        query = query.where(model_calls.c.run_id == run_id)
    with store.read() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_simple_request_goes_to_the_local_model_and_is_recorded_with_its_event(
    gateway: GatewayFactory, server: FakeModelServer, store: Store
) -> None:
    context = CallContext(run_id="run-1", task_id=7, step="draft", agent="writer")
    response = await gateway.complete(ModelRequest.of("hello there"), context)  # type: ignore[attr-defined]

    assert (response.text, response.model, response.cost_usd) == ("echo: hello there", "llama-small", 0.0)
    assert response.produced_by == "model:llama-small"
    [row] = calls(store, "run-1")
    assert (row["step"], row["agent"], row["task_id"], row["status"]) == ("draft", "writer", 7, "ok")
    assert json.loads(str(row["request"]))["request"]["messages"][-1]["content"] == "hello there"
    with store.read() as conn:
        [event] = query_events(conn, run_id="run-1", types=["model.call"])
    assert event.task_id == 7
    assert {k: event.data[k] for k in ("provider", "model", "cache_hit", "fallback", "status")} == {
        "provider": "local",
        "model": "llama-small",
        "cache_hit": False,
        "fallback": False,
        "status": "ok",
    }
    assert event.data["tokens_in"] == response.tokens_in > 0
    assert "messages" not in json.dumps(event.data)


async def test_complexity_routes_to_the_cheapest_model_whose_tier_fits(
    gateway: GatewayFactory, server: FakeModelServer
) -> None:
    moderate = await gateway.complete(  # type: ignore[attr-defined]
        ModelRequest.of("summarise", complexity=Complexity.MODERATE)
    )
    complex_ = await gateway.complete(  # type: ignore[attr-defined]
        ModelRequest.of("design", complexity=Complexity.COMPLEX)
    )
    assert moderate.model == "gpt-4o-mini"  # cheaper than claude-haiku-4-5 in genai-prices
    assert complex_.model == "gpt-4o"


async def test_a_pinned_unknown_model_is_a_clear_error(gateway: GatewayFactory) -> None:
    with pytest.raises(UnknownModelError, match="'nope' is not configured"):
        await gateway.complete(ModelRequest.of("x", model="nope"))  # type: ignore[attr-defined]


async def test_no_model_configured_is_a_clear_error(
    make_gateway: GatewayFactory, server: FakeModelServer
) -> None:
    gateway = make_gateway(make_config(server, models=[]))
    assert not gateway.enabled
    with pytest.raises(NoModelConfiguredError, match="no model is configured"):
        await gateway.complete(ModelRequest.of("x"))


async def test_a_429_is_retried_after_its_retry_after(
    gateway: GatewayFactory, server: FakeModelServer, sleeps: Sleeps, store: Store
) -> None:
    server.script("gpt-4o", Reply.rate_limited(retry_after="7"), Reply.text("finally"))
    response = await gateway.complete(ModelRequest.of("x", model="gpt-4o"))  # type: ignore[attr-defined]
    assert response.text == "finally"
    assert sleeps.delays == [7.0]
    assert len(server.calls_for("gpt-4o")) == 2
    assert json.loads(str(calls(store)[0]["request"]))["route"]["attempts"] == 2


async def test_5xx_are_retried_with_backoff_then_the_chain_falls_back(
    make_gateway: GatewayFactory, server: FakeModelServer, sleeps: Sleeps, store: Store
) -> None:
    config = make_config(server)
    gateway = make_gateway(config)
    server.script("gpt-4o-mini", *[Reply.fail(500)] * 3)
    response = await gateway.complete(ModelRequest.of("x", complexity=Complexity.MODERATE))
    assert (response.model, response.fallback) == ("claude-haiku-4-5", True)
    assert sleeps.delays == [0.25, 0.5]  # backoff doubles; 2 retries after the first try
    failed, answered = calls(store)
    assert (failed["status"], failed["model"], failed["fallback"]) == ("failed", "gpt-4o-mini", False)
    assert (answered["status"], answered["fallback"]) == ("ok", True)
    assert json.loads(str(failed["error"]))["code"] == "provider_error"


async def test_a_retry_after_longer_than_the_limit_falls_back_at_once(
    gateway: GatewayFactory, server: FakeModelServer, sleeps: Sleeps
) -> None:
    server.script("gpt-4o-mini", Reply.rate_limited(retry_after="3600"))
    response = await gateway.complete(  # type: ignore[attr-defined]
        ModelRequest.of("x", complexity=Complexity.MODERATE)
    )
    assert response.model == "claude-haiku-4-5"
    assert sleeps.delays == []


async def test_a_slow_answer_past_the_timeout_falls_back(
    make_gateway: GatewayFactory, server: FakeModelServer
) -> None:
    table_config = make_config(server)
    providers = dict(table_config.providers)
    providers["openai"] = providers["openai"].model_copy(update={"timeout": 0.3})
    gateway = make_gateway(table_config.model_copy(update={"providers": providers}))
    server.script("gpt-4o-mini", Reply.hanging())
    response = await gateway.complete(ModelRequest.of("x", complexity=Complexity.MODERATE))
    assert response.model == "claude-haiku-4-5"


async def test_malformed_json_falls_back_and_every_failure_is_listed_when_all_fail(
    gateway: GatewayFactory, server: FakeModelServer
) -> None:
    server.script("gpt-4o-mini", Reply.malformed())
    server.script("claude-haiku-4-5", Reply.fail(400, "bad request"))
    server.script("gpt-4o", Reply.malformed())
    with pytest.raises(AllModelsFailedError) as caught:
        await gateway.complete(ModelRequest.of("x", complexity=Complexity.MODERATE))  # type: ignore[attr-defined]
    assert [model for model, _ in caught.value.failures] == ["gpt-4o-mini", "claude-haiku-4-5", "gpt-4o"]
    assert "unreadable answer" in caught.value.message and "bad request" in caught.value.message
    assert caught.value.transient  # malformed answers may succeed on another attempt


async def test_the_breaker_opens_skips_the_provider_then_half_opens(
    make_gateway: GatewayFactory, server: FakeModelServer
) -> None:
    clock = Clock()
    gateway = make_gateway(monotonic=clock)
    server.script("llama-small", *[Reply.fail(503)] * 9)
    for _ in range(1):  # 3 attempts (1 + 2 retries) reach the threshold of 3
        response = await gateway.complete(ModelRequest.of("x", cache=False))
        assert response.model == "gpt-4o-mini" and response.fallback
    assert gateway.channel("local").breaker.state is BreakerState.OPEN
    sent = len(server.calls_for("llama-small"))
    response = await gateway.complete(ModelRequest.of("y", cache=False))
    assert response.model == "gpt-4o-mini"
    assert len(server.calls_for("llama-small")) == sent  # not even tried while open

    clock.now += 31
    assert gateway.channel("local").breaker.state is BreakerState.HALF_OPEN
    server.reset()
    response = await gateway.complete(ModelRequest.of("z", cache=False))
    assert response.model == "llama-small"
    assert gateway.channel("local").breaker.state is BreakerState.CLOSED


async def test_the_budget_refuses_a_call_the_run_cannot_afford(
    gateway: GatewayFactory, server: FakeModelServer, store: Store
) -> None:
    # gpt-4o: $10 per million output tokens; 300 of them may cost $0.003.
    context = CallContext(run_id="run-b", step="plan", budget_usd=0.0035)
    server.script("gpt-4o", Reply.text("word " * 99))  # 100 output tokens: $0.001
    request = ModelRequest.of("think hard", complexity=Complexity.COMPLEX, max_tokens=300)
    first = await gateway.complete(request, context)  # type: ignore[attr-defined]
    assert first.cost_usd == pytest.approx(0.001 + first.tokens_in * 2.5e-6)
    with pytest.raises(BudgetExceededError) as caught:
        await gateway.complete(  # type: ignore[attr-defined]
            ModelRequest.of("think again", complexity=Complexity.COMPLEX, max_tokens=300), context
        )
    assert "run run-b would exceed its budget of $0.0035" in caught.value.message
    assert "gpt-4o" in caught.value.message
    assert not caught.value.transient
    assert [row["status"] for row in calls(store, "run-b")] == ["ok", "refused"]
    assert len(server.calls_for("gpt-4o")) == 1


async def test_a_tight_budget_keeps_the_chain_to_models_it_can_afford(
    gateway: GatewayFactory, server: FakeModelServer
) -> None:
    server.script("gpt-4o-mini", Reply.fail(500), Reply.fail(500), Reply.fail(500))
    context = CallContext(run_id="run-c", budget_usd=0.001)
    # max_tokens=1000: gpt-4o-mini could cost $0.0006, claude-haiku-4-5 $0.005: only the first fits.
    with pytest.raises(AllModelsFailedError) as caught:
        await gateway.complete(  # type: ignore[attr-defined]
            ModelRequest.of("x", complexity=Complexity.MODERATE, max_tokens=1000), context
        )
    assert [model for model, _ in caught.value.failures] == ["gpt-4o-mini"]


async def test_identical_requests_are_answered_from_the_cache_until_the_ttl(
    make_gateway: GatewayFactory, server: FakeModelServer, store: Store
) -> None:
    clock = Clock(5000.0)
    gateway = make_gateway(make_config(server, cache_ttl=60), clock=clock)
    request = ModelRequest.of("same question", complexity=Complexity.MODERATE)
    first = await gateway.complete(request, CallContext(run_id="r1"))
    second = await gateway.complete(request, CallContext(run_id="r2"))
    assert (first.cache_hit, second.cache_hit, second.text, second.cost_usd) == (False, True, first.text, 0.0)
    assert len(server.received) == 1
    assert (gateway.cache_stats.hits, gateway.cache_stats.misses) == (1, 1)
    with store.read() as conn:
        assert conn.execute(select(model_cache.c.hits)).scalar() == 1
    other = await gateway.complete(
        ModelRequest.of("same question", complexity=Complexity.MODERATE, max_tokens=9)
    )
    assert not other.cache_hit  # another parameter, another key

    clock.now += 61
    third = await gateway.complete(request)
    assert not third.cache_hit
    assert len(server.received) == 3


async def test_a_request_can_skip_the_cache(gateway: GatewayFactory, server: FakeModelServer) -> None:
    request = ModelRequest.of("fresh please", cache=False)
    await gateway.complete(request)  # type: ignore[attr-defined]
    again = await gateway.complete(request)  # type: ignore[attr-defined]
    assert not again.cache_hit and len(server.received) == 2


async def test_a_run_replays_from_its_record_without_any_provider(
    make_gateway: GatewayFactory, server: FakeModelServer, store: Store
) -> None:
    gateway = make_gateway()
    server.script("gpt-4o-mini", Reply.text("first answer"), Reply.text("second answer"))
    request = ModelRequest.of("q", complexity=Complexity.MODERATE, cache=False)
    await gateway.complete(request, CallContext(run_id="src", step="ask"))
    await gateway.complete(request, CallContext(run_id="src", step="ask"))
    offline = make_gateway(make_config(server, models=[]))  # no model at all
    server.reset()
    replay = CallContext(run_id="again", step="ask", replay_of="src")
    answers = [await offline.complete(request, replay) for _ in range(3)]
    assert [a.text for a in answers] == ["first answer", "second answer", "second answer"]
    assert all(a.replayed and a.cost_usd == 0 and a.model == "gpt-4o-mini" for a in answers)
    assert server.received == []
    assert {row["status"] for row in calls(store, "again")} == {CallStatus.REPLAYED.value}


async def test_a_replayed_request_without_a_record_names_the_step(
    gateway: GatewayFactory, server: FakeModelServer
) -> None:
    await gateway.complete(ModelRequest.of("q"), CallContext(run_id="src", step="ask"))  # type: ignore[attr-defined]
    with pytest.raises(ReplayMissingError) as caught:
        await gateway.complete(  # type: ignore[attr-defined]
            ModelRequest.of("another question"), CallContext(run_id="new", step="summarise", replay_of="src")
        )
    assert "step 'summarise'" in caught.value.message and "'src'" in caught.value.message


async def test_api_keys_never_leak_into_errors_records_events_or_logs(
    gateway: GatewayFactory, server: FakeModelServer, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.echo_errors_with_headers = True  # a server whose error bodies repeat the Authorization header
    server.script("gpt-4o", Reply.fail(401, "invalid key"))
    server.script("gpt-4o-mini", Reply.fail(500), Reply.fail(500), Reply.fail(500))
    server.script("claude-haiku-4-5", Reply.fail(403, "forbidden"))
    with pytest.raises(AllModelsFailedError) as caught:
        await gateway.complete(  # type: ignore[attr-defined]
            ModelRequest.of("x", complexity=Complexity.MODERATE), CallContext(run_id="leak")
        )
    seen_by_server = json.dumps([r.headers for r in server.received])
    assert SECRET in seen_by_server  # the key was sent, and echoed back in the error bodies
    with store.read() as conn:
        stored = json.dumps(calls(store)) + json.dumps([e.as_dict() for e in query_events(conn)])
    for text in (
        str(caught.value),
        caught.value.message,
        json.dumps(caught.value.details),
        stored,
        caplog.text,
    ):
        assert SECRET not in text
    assert "***" in caught.value.message


async def test_two_hundred_concurrent_calls_all_succeed(
    gateway: GatewayFactory, server: FakeModelServer, store: Store
) -> None:
    import asyncio

    requests = [ModelRequest.of(f"question {i}", cache=False) for i in range(200)]
    answers = await asyncio.gather(  # type: ignore[attr-defined]
        *(gateway.complete(r, CallContext(run_id="many")) for r in requests)
    )
    assert sorted(a.text for a in answers) == sorted(f"echo: question {i}" for i in range(200))
    assert len(calls(store, "many")) == 200
