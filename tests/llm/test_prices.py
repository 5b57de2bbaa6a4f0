from __future__ import annotations

import pytest
from genai_prices import Usage, calc_price

from baton.llm import count_tokens, load_config
from baton.llm.prices import PriceBook
from baton.llm.tokens import count_message_tokens

TABLE = {
    "providers": {
        "local": {"base_url": "http://localhost:8080/v1"},
        "openai": {"base_url": "https://api.openai.com/v1"},
        "anthropic": {"kind": "anthropic"},
    },
    "models": [
        {"name": "llama", "provider": "local", "tier": "complex"},
        {"name": "gpt-4o-mini", "provider": "openai"},
        {"name": "claude-sonnet-4-5", "provider": "anthropic", "tier": "complex"},
        {"name": "mystery-model", "provider": "openai"},
        {"name": "my-finetune", "provider": "openai", "input_price_per_mtok": 1, "output_price_per_mtok": 4},
    ],
}


def book() -> PriceBook:
    return PriceBook(load_config(data=TABLE, env={}))


def test_cloud_prices_come_from_genai_prices_and_local_models_are_free() -> None:
    prices = book()
    config = load_config(data=TABLE, env={})
    expected = calc_price(Usage(input_tokens=1000, output_tokens=500), "gpt-4o-mini", provider_id="openai")
    assert prices.cost(config.model("gpt-4o-mini"), 1000, 500) == pytest.approx(float(expected.total_price))  # type: ignore[arg-type]
    assert prices.cost(config.model("llama"), 10**6, 10**6) == 0.0  # type: ignore[arg-type]
    assert prices.cost(config.model("my-finetune"), 10**6, 10**6) == pytest.approx(5.0)  # type: ignore[arg-type]


def test_an_unknown_model_costs_nothing_and_says_its_price_is_unknown() -> None:
    prices = book()
    mystery = load_config(data=TABLE, env={}).model("mystery-model")
    assert mystery is not None
    assert not prices.rates(mystery).known
    assert prices.cost(mystery, 1000, 1000) == 0.0


def test_the_most_expensive_model_is_the_baseline_of_savings() -> None:
    assert book().most_expensive().name == "claude-sonnet-4-5"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("", 0, 0),
        ("Hello, world!", 3, 5),
        ("The quick brown fox jumps over the lazy dog.", 9, 11),
        ("def add(a, b):\n    return a + b\n", 10, 15),
        ("internationalization", 2, 6),
        ("1234567890", 3, 5),
    ],
)
# Ranges around what BPE tokenizers of current models give for these strings.
def test_the_token_approximation_stays_near_real_tokenizer_counts(text: str, low: int, high: int) -> None:
    assert low <= count_tokens(text) <= high


def test_message_overhead_is_counted() -> None:
    assert count_message_tokens(["hi", "there"]) == count_tokens("hi") + count_tokens("there") + 10
