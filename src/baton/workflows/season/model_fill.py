"""With a model configured: the rules read the request first, the model is asked only for what they left.

The question holds only the fields the rules could not fill, each with the bounds of
:class:`SeasonParameters`; the answer is validated against the same bounds (a value out of them is sent
back once with the reason, then refused), and a field the model leaves empty stays missing. What the
rules found is never overwritten, and a request the rules found wrong (a contradiction, a bound broken)
is refused before any model is asked.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from baton.agents.errors import ExtractionError
from baton.agents.extraction import extract
from baton.llm import CallContext, Gateway
from baton.workflows.season.parameters import (
    SeasonParameterError,
    SeasonParameters,
    describe_readings,
    read_request,
)

__all__ = ["extract_parameters_with_model"]

_ASKABLE = (
    "forecast_horizon_weeks",
    "season_start_date",
    "replenishment_strategy",
    "dc_holdback_percentage",
    "markdown_start_week",
    "target_sell_through",
)


_HOW = {
    "forecast_horizon_weeks": "forecast_horizon_weeks counts weeks.",
    "season_start_date": "season_start_date is a date written YYYY-MM-DD.",
    "dc_holdback_percentage": "dc_holdback_percentage is a fraction between 0 and 1 (10% is 0.1).",
    "target_sell_through": "target_sell_through is a fraction between 0 and 1 (85% is 0.85).",
}


def _gaps_model(names: list[str]) -> type[BaseModel]:
    """A model of only ``names``, each optional, with the bounds and descriptions of SeasonParameters."""
    fields: dict[str, Any] = {}
    for name in names:
        info = copy.copy(SeasonParameters.model_fields[name])
        info.default = None
        info.json_schema_extra = None
        annotation: Any = info.annotation
        fields[name] = (annotation | None, info)
    model: type[BaseModel] = create_model("SeasonGaps", __config__=ConfigDict(extra="forbid"), **fields)
    return model


async def extract_parameters_with_model(
    text: str,
    *,
    gateway: Gateway,
    call: CallContext,
    today: date | None = None,
    categories: list[str] | None = None,
    store_groups: Mapping[str, Sequence[str]] | None = None,
) -> SeasonParameters:
    """Rules first; the model fills only the fields the rules left empty (see the module docstring).

    Raises :class:`SeasonParameterError` for what neither could read or what breaks a bound.
    """
    today = today or date.today()
    found, readings = read_request(text, today=today, categories=categories, store_groups=store_groups)
    if found.invalid:
        raise SeasonParameterError(missing=found.missing, invalid=found.invalid, request=text)
    values = dict(found.values)
    asked = [name for name in found.missing if name in _ASKABLE]
    asked += [n for n in _ASKABLE if n not in values and n not in asked and n not in found.missing]
    filled: dict[str, Any] = {}
    produced_by = ""
    if found.missing:
        try:
            answer = await extract(
                text,
                _gaps_model(asked),
                gateway=gateway,
                context=call,
                instructions=" ".join(
                    [
                        f"Today is {today}. Fill only what the text says; leave a field null otherwise.",
                        *(_HOW[name] for name in asked if name in _HOW),
                    ]
                ),
            )
        except ExtractionError as error:
            raise SeasonParameterError(
                missing=[m for m in found.missing if m not in error.invalid],
                invalid={name: f"the model answered: {reason}" for name, reason in error.invalid.items()},
                request=text,
            ) from None
        produced_by = answer.produced_by
        filled = {k: v for k, v in answer.value.model_dump().items() if v is not None and k not in values}
    values.update(filled)
    missing = [name for name in found.missing if name not in filled]
    if missing:
        raise SeasonParameterError(missing=missing, invalid={}, request=text)
    try:
        parameters = SeasonParameters.model_validate(values)
    except ValidationError as error:
        raise SeasonParameterError(
            missing=[], invalid={"__model__": str(error.errors()[0]["msg"])}, request=text
        ) from None
    lines = describe_readings(parameters, readings, text, today=today, skip=frozenset(filled))
    by_model = [f"{name} = {filled[name]} (filled by the model {produced_by})" for name in filled]
    return parameters.model_copy(update={"readings": (*lines, *by_model)})
