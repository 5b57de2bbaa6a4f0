"""What a call costs: prices from the `genai-prices` library, zero for local models.

No price is typed by hand here. A model the library does not know costs 0 and is reported as
``price_known=False`` (configure ``price_ref`` to the library's name for it, or explicit
``input_price_per_mtok``/``output_price_per_mtok`` for a fine-tune).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from baton.llm.config import GatewayConfig, ModelConfig, ProviderConfig

_log = logging.getLogger("baton.llm.prices")


@dataclass(frozen=True, slots=True)
class Rates:
    """Dollars per million tokens; used to estimate before a call and to compare models."""

    input_per_mtok: float
    output_per_mtok: float
    known: bool = True

    def estimate(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok) / 1_000_000


FREE = Rates(0.0, 0.0)


class PriceBook:
    """Prices of the configured models."""

    def __init__(self, config: GatewayConfig) -> None:
        self._config = config
        self._rates = {m.name: self._compute_rates(m) for m in config.models}

    def rates(self, model: ModelConfig) -> Rates:
        found = self._rates.get(model.name)
        return found if found is not None else self._compute_rates(model)

    def cost(self, model: ModelConfig, tokens_in: int, tokens_out: int) -> float:
        """The exact price of a call (tiered prices included) in dollars."""
        provider = self._config.provider_of(model)
        if provider.is_local:
            return 0.0
        if model.input_price_per_mtok is not None or model.output_price_per_mtok is not None:
            return self.rates(model).estimate(tokens_in, tokens_out)
        for ref in _price_refs(model):
            price = _library_price(ref, provider.price_provider_id, tokens_in, tokens_out)
            if price is not None:
                return price
        return 0.0

    def most_expensive(self) -> ModelConfig | None:
        """The configured model whose typical call (3 input tokens to 1 output) costs most."""
        priced = [m for m in self._config.models if self.rates(m).known]
        if not priced:
            return None
        return max(priced, key=lambda m: self.rates(m).estimate(3, 1))

    def _compute_rates(self, model: ModelConfig) -> Rates:
        provider = self._config.provider_of(model)
        return model_rates(model, provider)


def model_rates(model: ModelConfig, provider: ProviderConfig) -> Rates:
    if provider.is_local:
        return FREE
    if model.input_price_per_mtok is not None or model.output_price_per_mtok is not None:
        return Rates(model.input_price_per_mtok or 0.0, model.output_price_per_mtok or 0.0)
    provider_id = provider.price_provider_id
    for ref in _price_refs(model):
        # Sampled below any long-context tier, so rates are those of ordinary requests.
        input_price = _library_price(ref, provider_id, 100_000, 0)
        output_price = _library_price(ref, provider_id, 0, 100_000)
        if input_price is not None and output_price is not None:
            return Rates(input_price * 10, output_price * 10)
    _log.warning("no price known for model %s (provider %s): counted as free", model.name, provider_id)
    return Rates(0.0, 0.0, known=False)


def _price_refs(model: ModelConfig) -> list[str]:
    """Names to look up, best first: the explicit reference, the provider's id, baton's name."""
    if model.price_ref:
        return [model.price_ref]
    return list(dict.fromkeys([model.provider_model, model.name]))


@lru_cache(maxsize=4096)
def _library_price(ref: str, provider_id: str, tokens_in: int, tokens_out: int) -> float | None:
    try:
        result = calc_price(
            PriceUsage(input_tokens=tokens_in, output_tokens=tokens_out), ref, provider_id=provider_id
        )
    except LookupError:
        try:  # the provider id may be unknown to the library (a proxy); the model name may still match
            result = calc_price(PriceUsage(input_tokens=tokens_in, output_tokens=tokens_out), ref)
        except LookupError:
            return None
    return float(result.total_price)
