"""Structured extraction: plain words into a pydantic model.

With a model: ask for structured output (the model's JSON schema), validate, re-ask once with the
validation errors, then give up with an :class:`ExtractionError` listing the missing and invalid fields.
Without one: the deterministic extractor of ``baton.agents.rules`` (dates, numbers, percentages,
enumerations, durations) fills what it recognises and says which fields it could not fill.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from baton.agents.errors import ExtractionError, validation_fields
from baton.llm import CallContext, Gateway, Message, ModelRequest, ModelResponse, Role

M = TypeVar("M", bound=BaseModel)

RULES = "rules"
_SYSTEM = (
    "You extract structured data from the user's text. Fill every field the text supports; "
    "do not invent values the text does not give. Answer with JSON only."
)


class RulesOutcome(Protocol):
    """The shape of ``baton.agents.rules.RulesResult``."""

    @property
    def values(self) -> Mapping[str, Any]: ...

    @property
    def missing(self) -> list[str]: ...

    @property
    def invalid(self) -> Mapping[str, str]: ...


RulesExtractor = Callable[[str, type[BaseModel]], RulesOutcome]


@dataclass(frozen=True)
class Extracted(Generic[M]):
    """An extracted model, what produced it, the fields left to their defaults, and the asks it took."""

    value: M
    produced_by: str
    unfilled: tuple[str, ...] = ()
    attempts: int = 1


async def extract(
    text: str,
    target: type[M],
    *,
    gateway: Gateway | None = None,
    context: CallContext | None = None,
    instructions: str = "",
    rules: RulesExtractor | None = None,
) -> Extracted[M]:
    """Extract a ``target`` from ``text``: with the gateway when a model can answer, else with rules."""
    call = context or CallContext()
    if gateway is not None and gateway.can_answer(call):
        return await _with_model(text, target, gateway, call, instructions)
    extractor = rules or load_rules_extractor()
    if extractor is None:
        raise ExtractionError(
            target.__name__,
            _required_fields(target),
            {},
            produced_by=RULES,
            attempts=0,
        )
    return _with_rules(text, target, extractor)


async def _with_model(
    text: str, target: type[M], gateway: Gateway, call: CallContext, instructions: str
) -> Extracted[M]:
    system = f"{_SYSTEM}\n{instructions}".strip()
    request = ModelRequest.of(
        text, system=system, response_schema=target.model_json_schema(), schema_name=target.__name__
    )
    response = await gateway.complete(request, call)
    value, missing, invalid = _parse(response, target)
    if value is not None:
        return Extracted(value, response.produced_by)
    retry = request.with_messages(
        Message(Role.ASSISTANT, response.text),
        Message(Role.USER, _correction(missing, invalid)),
    )
    response = await gateway.complete(retry, call)
    value, missing, invalid = _parse(response, target)
    if value is not None:
        return Extracted(value, response.produced_by, attempts=2)
    raise ExtractionError(target.__name__, missing, invalid, produced_by=response.produced_by, attempts=2)


def _parse(response: ModelResponse, target: type[M]) -> tuple[M | None, list[str], dict[str, str]]:
    try:
        data = response.json()
    except ValueError as error:
        return None, [], {"(answer)": f"not JSON ({error})"}
    try:
        return target.model_validate(data), [], {}
    except ValidationError as error:
        missing, invalid = validation_fields(error)
        return None, missing, invalid


def _correction(missing: list[str], invalid: dict[str, str]) -> str:
    lines = ["Your answer does not validate against the schema."]
    if missing:
        lines.append("Missing required fields: " + ", ".join(missing) + ".")
    for field, reason in invalid.items():
        lines.append(f"Field {field}: {reason}.")
    lines.append("Answer again with the corrected JSON object only.")
    return "\n".join(lines)


def _with_rules(text: str, target: type[M], extractor: RulesExtractor) -> Extracted[M]:
    outcome = extractor(text, target)
    try:
        value = target.model_validate(dict(outcome.values))
    except ValidationError as error:
        missing, invalid = validation_fields(error)
        merged_missing = list(dict.fromkeys([*outcome.missing, *missing]))
        merged_invalid = {**invalid, **dict(outcome.invalid)}  # the rules explain their own findings better
        # A field the rules could not read is reported once, as invalid, with the rules' reason.
        merged_missing = [f for f in merged_missing if f not in merged_invalid]
        raise ExtractionError(target.__name__, merged_missing, merged_invalid, produced_by=RULES) from None
    unfilled = tuple(name for name in target.model_fields if name not in outcome.values)
    return Extracted(value, RULES, unfilled=unfilled)


def load_rules_extractor() -> RulesExtractor | None:
    """``baton.agents.rules.extract_with_rules`` if that module is installed, else None."""
    try:
        module = importlib.import_module("baton.agents.rules")
    except ImportError:
        return None
    extractor = getattr(module, "extract_with_rules", None)
    return extractor if callable(extractor) else None


def _required_fields(target: type[BaseModel]) -> list[str]:
    return [name for name, field in target.model_fields.items() if field.is_required()]


def schema_of(target: type[BaseModel]) -> str:
    """The JSON schema that extraction sends for ``target`` (for prompts and docs)."""
    return json.dumps(target.model_json_schema())
