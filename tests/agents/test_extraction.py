from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from baton.agents import ExtractionError, extract
from baton.agents.extraction import load_rules_extractor
from baton.llm import CallContext, Gateway
from llm.fakeserver import FakeModelServer, Reply


class Season(BaseModel):
    start: date
    # How the rules read these fields from plain words (see baton.agents.rules.FieldRule).
    weeks: int = Field(ge=1, le=52, json_schema_extra={"rules": {"kind": "duration", "unit": "weeks"}})
    markdown: float = Field(
        ge=0, le=1, json_schema_extra={"rules": {"kind": "fraction", "keywords": ["markdown"]}}
    )
    cadence: Literal["weekly", "biweekly"] = "weekly"


GOOD = {"start": "2026-03-02", "weeks": 12, "markdown": 0.3, "cadence": "weekly"}
TEXT = "Season starts March 2nd 2026, runs 12 weeks, markdown 30%, weekly replenishment."


async def test_a_valid_structured_answer_is_validated_into_the_model(
    gateway: Gateway, server: FakeModelServer
) -> None:
    server.script("llama-small", Reply.structured(GOOD))
    result = await extract(TEXT, Season, gateway=gateway, context=CallContext(run_id="r", step="params"))
    assert result.value == Season.model_validate(GOOD)
    assert (result.produced_by, result.attempts) == ("model:llama-small", 1)
    sent = server.received[0].body
    assert sent["response_format"]["json_schema"]["name"] == "Season"
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["weeks"]["maximum"] == 52
    assert sent["messages"][-1]["content"] == TEXT


async def test_an_answer_that_fails_validation_is_re_asked_once_with_the_errors(
    gateway: Gateway, server: FakeModelServer
) -> None:
    server.script(
        "llama-small", Reply.structured({**GOOD, "weeks": 80, "start": None}), Reply.structured(GOOD)
    )
    result = await extract(TEXT, Season, gateway=gateway)
    assert result.value.weeks == 12 and result.attempts == 2
    second = server.received[1].body["messages"]
    assert second[-2]["role"] == "assistant" and json.loads(second[-2]["content"])["weeks"] == 80
    assert "Field weeks: Input should be less than or equal to 52" in second[-1]["content"]
    assert "Field start: Input should be a valid date" in second[-1]["content"]


async def test_two_bad_answers_give_a_typed_error_listing_missing_and_invalid_fields(
    gateway: Gateway, server: FakeModelServer
) -> None:
    bad = {"weeks": 80, "cadence": "daily"}
    server.script("llama-small", Reply.structured(bad), Reply.structured(bad))
    with pytest.raises(ExtractionError) as caught:
        await extract(TEXT, Season, gateway=gateway)
    error = caught.value
    assert error.missing == ["start", "markdown"]
    assert set(error.invalid) == {"weeks", "cadence"}
    assert error.produced_by == "model:llama-small" and not error.transient
    assert "missing: start, markdown" in error.message and "2 attempts" in error.message


async def test_an_answer_that_is_not_json_is_re_asked(gateway: Gateway, server: FakeModelServer) -> None:
    server.script("llama-small", Reply.text("Sure! Here it is: start is March"), Reply.structured(GOOD))
    result = await extract(TEXT, Season, gateway=gateway)
    assert result.attempts == 2
    assert "(answer): not JSON" in server.received[1].body["messages"][-1]["content"]


@dataclass
class FakeRules:
    values: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    produced_by: str = "rules"


async def test_without_a_model_the_rules_extractor_fills_the_model() -> None:
    def rules(text: str, model: type[BaseModel]) -> FakeRules:
        return FakeRules({"start": date(2026, 3, 2), "weeks": 12, "markdown": 0.3})

    result = await extract(TEXT, Season, rules=rules)
    assert result.produced_by == "rules"
    assert result.value.weeks == 12 and result.unfilled == ("cadence",)


async def test_without_a_model_the_fields_the_rules_could_not_fill_are_listed() -> None:
    def rules(text: str, model: type[BaseModel]) -> FakeRules:
        return FakeRules({"weeks": 90}, missing=["start", "markdown"], invalid={"weeks": "at most 52"})

    with pytest.raises(ExtractionError) as caught:
        await extract("ninety weeks", Season, rules=rules)
    assert caught.value.missing == ["start", "markdown"]
    assert caught.value.invalid["weeks"] == "at most 52"
    assert caught.value.produced_by == "rules"


async def test_without_a_model_the_shipped_rules_handle_a_common_phrasing() -> None:
    if load_rules_extractor() is None:
        pytest.skip("baton.agents.rules is not there yet")
    result = await extract(TEXT, Season)
    assert result.produced_by == "rules"
    assert (result.value.start, result.value.weeks, result.value.markdown) == (date(2026, 3, 2), 12, 0.3)


async def test_a_replayed_run_extracts_from_its_record_without_any_model(
    gateway: Gateway, server: FakeModelServer, store: Any
) -> None:
    server.script("llama-small", Reply.structured(GOOD))
    await extract(TEXT, Season, gateway=gateway, context=CallContext(run_id="src", step="params"))
    from llm.fakeserver import make_config

    offline = Gateway(make_config(server, models=[]), store)
    result = await extract(
        TEXT, Season, gateway=offline, context=CallContext(run_id="again", step="params", replay_of="src")
    )
    assert result.value == Season.model_validate(GOOD)
    assert len(server.received) == 1
    await offline.close()
