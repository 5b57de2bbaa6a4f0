"""The generic rules extractor, on models that have nothing to do with retail."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Literal

import pytest
from pydantic import BaseModel, Field, model_validator

from baton.agents.rules import FieldRule, RulesResult, extract_with_rules, find_mentions

TODAY = date(2026, 11, 22)


class Trip(BaseModel):
    depart: date = Field(json_schema_extra={"rules": {"keywords": ["leave", "leaving", "depart", "from"]}})
    back: date | None = Field(None, json_schema_extra={"rules": {"keywords": ["back", "return", "until"]}})
    nights: int = Field(ge=1, le=30, json_schema_extra={"rules": {"kind": "duration", "unit": "days"}})
    budget_share: float = Field(
        ge=0, le=1, json_schema_extra={"rules": {"kind": "fraction", "keywords": ["budget"]}}
    )
    tip: float | None = Field(
        None, ge=0, le=1, json_schema_extra={"rules": {"kind": "fraction", "keywords": ["tip"]}}
    )
    travel: Literal["train", "plane", "car"] = Field(
        json_schema_extra={"rules": {"synonyms": {"plane": ["fly", "flight"], "car": ["drive", "road trip"]}}}
    )


class Colour(Enum):
    RED = "red"
    DARK_BLUE = "dark-blue"


class Paint(BaseModel):
    colour: Colour
    litres: float = Field(
        gt=0, json_schema_extra={"rules": {"kind": "number", "keywords": ["litre", "liter"]}}
    )
    coats: int | None = Field(None, json_schema_extra={"rules": {"keywords": ["coats", "coat"]}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("March 2nd 2026", date(2026, 3, 2)),
        ("2026-03-02", date(2026, 3, 2)),
        ("2 March 2026", date(2026, 3, 2)),
        ("the 2nd of March, 2026", date(2026, 3, 2)),
        ("Mar. 2, 2026", date(2026, 3, 2)),
        ("march 2", date(2027, 3, 2)),  # no year: the next one after today
        ("December 1st", date(2026, 12, 1)),
    ],
)
def test_dates_in_every_common_spelling(text: str, expected: date) -> None:
    found = [m for m in find_mentions(text, today=TODAY) if m.kind == "date"]
    assert [m.value for m in found] == [expected]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("10%", "percent", 0.10),
        ("ten percent", "percent", 0.10),
        ("forty-five per cent", "percent", 0.45),
        ("0.1", "number", 0.1),
        ("twenty-six", "number", 26.0),
        ("12 weeks", "duration", 84.0),
        ("a 12-week season", "duration", 84.0),
        ("six months", "duration", 365.25 / 2),
        ("half a year", "duration", 365.25 / 2),
        ("a year and a half", "duration", 365.25),  # "a year" — the half is not read: stated, not guessed
    ],
)
def test_numbers_percentages_and_durations(text: str, kind: str, value: float) -> None:
    found = find_mentions(text, today=TODAY)
    assert found[0].kind == kind
    assert found[0].value == pytest.approx(value)


def test_every_field_of_a_full_request() -> None:
    result = extract_with_rules(
        "Leaving March 2nd 2026 and back March 9th 2026, a 7-day trip, we fly; budget 30% and tip 0.1.",
        Trip,
        today=TODAY,
    )
    assert result == RulesResult(
        values={
            "depart": date(2026, 3, 2),
            "back": date(2026, 3, 9),
            "nights": 7,
            "budget_share": 0.3,
            "tip": 0.1,
            "travel": "plane",
        },
        missing=[],
        invalid={},
    )
    assert result.produced_by == "rules"
    assert result.ok


def test_two_percentages_go_to_the_fields_whose_keywords_are_nearest() -> None:
    result = extract_with_rules(
        "by train for two weeks from 2026-05-01, a 15% tip, and 40% of the budget", Trip, today=TODAY
    )
    assert result.values["tip"] == pytest.approx(0.15)
    assert result.values["budget_share"] == pytest.approx(0.40)
    assert result.values["nights"] == 14


def test_missing_lists_exactly_the_required_fields_not_found() -> None:
    result = extract_with_rules("we drive, starting 2026-06-01", Trip, today=TODAY)
    assert result.missing == ["nights", "budget_share"]
    assert result.values == {"depart": date(2026, 6, 1), "travel": "car"}


def test_invalid_names_each_violated_bound_with_the_value() -> None:
    result = extract_with_rules("train from 2026-06-01 for 45 days, budget 150%", Trip, today=TODAY)
    assert result.invalid == {
        "nights": "must be between 1 and 30, got 45",
        "budget_share": "must be between 0 and 1, got 1.5",
    }
    assert not result.ok


def test_a_plain_number_above_one_in_a_fraction_field_is_a_percentage() -> None:
    result = extract_with_rules("train from 2026-06-01, 3 days, budget 25", Trip, today=TODAY)
    assert result.values["budget_share"] == pytest.approx(0.25)


def test_model_validators_run_once_every_field_is_valid() -> None:
    class Window(BaseModel):
        start: date = Field(json_schema_extra={"rules": {"keywords": ["from"]}})
        end: date = Field(json_schema_extra={"rules": {"keywords": ["to"]}})

        @model_validator(mode="after")
        def _ordered(self) -> Window:
            if self.end < self.start:
                raise ValueError("end is before start")
            return self

    result = extract_with_rules("from 2026-05-01 to 2026-04-01", Window, today=TODAY)
    assert result.invalid == {"__model__": "end is before start"}


def test_enums_match_values_spelling_variants_and_synonyms() -> None:
    assert extract_with_rules("two coats of dark blue, 5 litres", Paint).values == {
        "colour": Colour.DARK_BLUE.value,
        "litres": 5.0,
        "coats": 2,
    }
    assert extract_with_rules("red, 2.5 liters", Paint).values["colour"] == "red"


def test_hints_given_at_call_time_override_the_model() -> None:
    hints = {"colour": FieldRule(kind="enum", synonyms={"red": ("crimson",)})}
    assert extract_with_rules("crimson, 1 litre", Paint, hints=hints).values["colour"] == "red"
    plain = extract_with_rules("crimson, 1 litre", Paint)
    assert plain.missing == ["colour"]


def test_a_number_inside_an_enum_phrase_is_not_taken_by_another_field() -> None:
    class Schedule(BaseModel):
        every: Literal["weekly", "bi-weekly"] = Field(
            json_schema_extra={"rules": {"synonyms": {"bi-weekly": ["every two weeks"]}}}
        )
        length_weeks: int = Field(json_schema_extra={"rules": {"kind": "duration"}})

    result = extract_with_rules("for six months, restocking every two weeks", Schedule)
    assert result.values == {"every": "bi-weekly", "length_weeks": 26}


def test_a_word_field_takes_the_word_next_to_its_keyword() -> None:
    class Pick(BaseModel):
        category: str | None = Field(
            None, json_schema_extra={"rules": {"kind": "word", "keywords": ["category"]}}
        )

    assert extract_with_rules("only the knitwear category", Pick).values == {"category": "knitwear"}
    assert extract_with_rules("category: shoes", Pick).values == {"category": "shoes"}
    assert extract_with_rules("nothing here", Pick).values == {}
