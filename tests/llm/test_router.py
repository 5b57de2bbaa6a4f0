from __future__ import annotations

from typing import Any

import pytest

from baton.llm import Complexity, ModelRequest, NoModelConfiguredError, load_config
from baton.llm.prices import PriceBook
from baton.llm.router import Router, classify

TABLE: dict[str, Any] = {
    "providers": {
        "local": {"base_url": "http://127.0.0.1:9/v1"},
        "cloud": {"base_url": "https://api.example.com/v1", "local": False, "price_provider": "openai"},
    },
    "models": [
        {"name": "gpt-4o", "provider": "cloud", "tier": "complex"},
        {"name": "gpt-4o-mini", "provider": "cloud", "tier": "moderate", "fallbacks": ["gpt-4o"]},
        {"name": "qwen-7b", "provider": "local", "tier": "moderate"},
        {"name": "tiny", "provider": "local", "tier": "simple"},
    ],
}


def router() -> Router:
    config = load_config(data=TABLE, env={})
    return Router(config, PriceBook(config))


def names(route: Any) -> list[str]:
    return [m.name for m in route.chain]


def test_local_models_come_first_then_the_cheapest_cloud_ones() -> None:
    r = router()
    assert names(r.route(ModelRequest.of("hi"), 10)) == ["tiny", "qwen-7b", "gpt-4o-mini", "gpt-4o"]
    assert names(r.route(ModelRequest.of("hi", complexity=Complexity.MODERATE), 10)) == [
        "qwen-7b",
        "gpt-4o-mini",
        "gpt-4o",
    ]
    assert names(r.route(ModelRequest.of("hi"), 10, declared=Complexity.COMPLEX)) == ["gpt-4o"]


def test_prompt_size_and_response_schema_raise_the_complexity() -> None:
    config = load_config(data=TABLE, env={})
    plain = ModelRequest.of("x")
    assert classify(plain, 100, config) is Complexity.SIMPLE
    assert classify(plain, 2000, config) is Complexity.MODERATE
    assert classify(plain, 7000, config) is Complexity.COMPLEX
    many_fields = {"type": "object", "properties": {f"f{i}": {"type": "string"} for i in range(8)}}
    nested = {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/X"}}}}
    small = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert classify(ModelRequest.of("x", response_schema=many_fields), 10, config) is Complexity.MODERATE
    assert classify(ModelRequest.of("x", response_schema=nested), 10, config) is Complexity.MODERATE
    assert classify(ModelRequest.of("x", response_schema=small), 10, config) is Complexity.SIMPLE


def test_a_pinned_model_goes_first_with_its_fallbacks() -> None:
    assert names(router().route(ModelRequest.of("x", model="gpt-4o-mini"), 10)) == ["gpt-4o-mini", "gpt-4o"]


def test_a_model_that_keeps_failing_moves_behind_healthy_ones() -> None:
    r = router()
    for _ in range(4):
        r.record("tiny", success=False)
    assert names(r.route(ModelRequest.of("hi"), 10))[:2] == ["qwen-7b", "tiny"]
    for _ in range(10):
        r.record("tiny", success=True)
    assert names(r.route(ModelRequest.of("hi"), 10))[0] == "tiny"


def test_unavailable_providers_are_left_out_and_named_when_nothing_is_left() -> None:
    r = router()
    route = r.route(ModelRequest.of("x"), 10, declared=Complexity.MODERATE, unavailable={"local": "down"})
    assert names(route) == ["gpt-4o-mini", "gpt-4o"]
    with pytest.raises(NoModelConfiguredError, match="cloud: no API key"):
        r.route(ModelRequest.of("x"), 10, declared=Complexity.COMPLEX, unavailable={"cloud": "no API key"})
