"""Each provider kind against the fake server: what the SDK sends and how answers are read."""

from __future__ import annotations

from typing import Any

import pytest

from baton.llm import CallContext, ModelRequest, NoModelConfiguredError, load_config
from baton.llm.providers import retry_after_seconds

from .conftest import ENV, GatewayFactory
from .fakeserver import FakeModelServer, Reply

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def single(server: FakeModelServer, provider: dict[str, Any], model: dict[str, Any]) -> Any:
    return load_config(data={"providers": {"p": provider}, "models": [{"provider": "p", **model}]}, env=ENV)


async def test_openai_structured_output_sends_a_json_schema(
    gateway: GatewayFactory, server: FakeModelServer
) -> None:
    server.script("gpt-4o", Reply.structured({"city": "Lyon"}))
    request = ModelRequest.of("where?", model="gpt-4o", response_schema=SCHEMA, schema_name="place")
    response = await gateway.complete(request)  # type: ignore[attr-defined]
    assert response.json() == {"city": "Lyon"}
    sent = server.calls_for("gpt-4o")[0]
    assert sent.body["response_format"]["json_schema"] == {"name": "place", "schema": SCHEMA}
    assert sent.headers["authorization"].startswith("Bearer sk-test")


async def test_a_model_without_structured_output_gets_the_schema_in_its_prompt(
    make_gateway: GatewayFactory, server: FakeModelServer
) -> None:
    config = single(server, {"base_url": server.openai_url}, {"name": "old", "structured_output": False})
    await make_gateway(config).complete(ModelRequest.of("where?", response_schema=SCHEMA))
    sent = server.calls_for("old")[0].body
    assert "response_format" not in sent
    assert '"city"' in sent["messages"][0]["content"]


async def test_anthropic_takes_the_system_prompt_apart_and_reads_a_forced_tool_call(
    make_gateway: GatewayFactory, server: FakeModelServer
) -> None:
    config = single(
        server,
        {"kind": "anthropic", "base_url": server.anthropic_url, "api_key_env": "TEST_ANTHROPIC_KEY"},
        {"name": "claude-3-haiku", "structured_output": False},
    )
    server.script("claude-3-haiku", Reply.structured({"city": "Oslo"}))
    request = ModelRequest.of("where?", system="be brief", response_schema=SCHEMA, schema_name="place")
    response = await make_gateway(config).complete(request)
    assert response.structured == {"city": "Oslo"} and response.json() == {"city": "Oslo"}
    sent = server.calls_for("claude-3-haiku")[0]
    assert sent.path == "/v1/messages"
    assert sent.body["system"] == "be brief"
    assert [m["role"] for m in sent.body["messages"]] == ["user"]
    assert sent.body["tool_choice"] == {"type": "tool", "name": "place"}
    assert "sk-test" in sent.headers.get("x-api-key", "") + sent.headers.get("authorization", "")


async def test_anthropic_native_structured_output(
    make_gateway: GatewayFactory, server: FakeModelServer
) -> None:
    config = single(
        server,
        {"kind": "anthropic", "base_url": server.anthropic_url, "api_key_env": "TEST_ANTHROPIC_KEY"},
        {"name": "claude-haiku-4-5"},
    )
    server.script("claude-haiku-4-5", Reply.structured({"city": "Rome"}))
    response = await make_gateway(config).complete(ModelRequest.of("where?", response_schema=SCHEMA))
    assert response.json() == {"city": "Rome"}
    assert server.calls_for("claude-haiku-4-5")[0].body["output_config"]["format"]["schema"] == SCHEMA


async def test_azure_openai_calls_the_deployment(
    make_gateway: GatewayFactory, server: FakeModelServer
) -> None:
    config = single(
        server,
        {
            "kind": "azure",
            "base_url": f"http://127.0.0.1:{server.port}",
            "api_version": "2024-10-21",
            "api_key_env": "TEST_OPENAI_KEY",
            "local": False,
        },
        {"name": "gpt-4o", "id": "my-deployment"},
    )
    response = await make_gateway(config).complete(ModelRequest.of("hi"), CallContext(run_id="az"))
    assert response.text == "echo: hi" and response.cost_usd > 0
    sent = server.received[0]
    assert sent.path.startswith("/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21")
    assert sent.headers["api-key"].startswith("sk-test")


async def test_an_answer_without_usage_is_counted_and_flagged(
    gateway: GatewayFactory, server: FakeModelServer
) -> None:
    server.script("llama-small", Reply.text("three little words", usage=False))
    response = await gateway.complete(ModelRequest.of("count me"))  # type: ignore[attr-defined]
    assert response.tokens_estimated and response.tokens_out == 3 and response.tokens_in > 2


async def test_a_cloud_provider_without_its_key_is_unavailable_with_the_reason(
    make_gateway: GatewayFactory, server: FakeModelServer
) -> None:
    config = load_config(
        data={
            "providers": {"cloud": {"base_url": server.openai_url, "local": False, "api_key_env": "ABSENT"}},
            "models": [{"name": "gpt-4o", "provider": "cloud"}],
        },
        env={},
    )
    with pytest.raises(NoModelConfiguredError, match=r"needs an API key"):
        await make_gateway(config).complete(ModelRequest.of("hi"))


def test_retry_after_is_read_from_seconds_milliseconds_and_dates() -> None:
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
