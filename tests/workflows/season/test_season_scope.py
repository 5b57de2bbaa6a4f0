"""What a request says about the plan's scope: a category planned alone only when the words make it the
scope, and a group of stores the plan cannot narrow to said, never dropped without a word."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from baton.workflows.season import SeasonParameterError, extract_parameters
from baton.workflows.season.context import assemble_context
from baton.workflows.season.data import categories_in, store_groups_in

TODAY = date(2026, 11, 22)
CATEGORIES = ["basics", "outerwear", "swimwear"]
BASE = "12 weeks from March 2nd 2026, weekly replenishment, keep 10% at the DC"


@pytest.mark.parametrize(
    "request_text",
    [
        f"{BASE}, 30% off swimwear in week 8",
        f"{BASE}, mark down the swimwear from week 8",
        f"{BASE}, swimwear markdowns from week 8",
        f"{BASE}, swimwear at 40% off after week 9",
        f"{BASE}, discount all swimwear late in the season",
    ],
)
def test_a_category_in_a_price_phrase_does_not_narrow_the_plan(request_text: str) -> None:
    found = extract_parameters(request_text, today=TODAY, categories=CATEGORIES)
    assert found.category is None
    said = [line for line in found.readings if line.startswith("'swimwear' →")]
    assert len(said) == 1 and "every category is planned" in said[0], found.readings


@pytest.mark.parametrize(
    "request_text",
    [
        f"swimwear only: {BASE}",
        f"swimwear: {BASE}",
        f"{BASE}, only swimwear",
        # a scope and a price phrase about the same category: the scope stands
        f"swimwear only: {BASE}, 30% off swimwear in week 8",
    ],
)
def test_a_category_named_as_the_scope_is_planned_alone_and_the_reading_quotes_it(request_text: str) -> None:
    found = extract_parameters(request_text, today=TODAY, categories=CATEGORIES)
    assert found.category == "swimwear"
    assert "'swimwear' → only category swimwear is planned" in found.readings


def test_a_group_of_stores_the_plan_cannot_narrow_to_is_said() -> None:
    groups = {"region": ["east", "north", "south", "west"], "format": ["mall", "outlet"]}
    found = extract_parameters(
        f"{BASE}, only for the North region stores", today=TODAY, categories=CATEGORIES, store_groups=groups
    )
    lines = [line for line in found.readings if "store region" in line]
    assert lines == [
        "'North' → a store region in stores.csv: not read — the plan covers every store of the data (to "
        "plan only the north stores, give --data a folder whose stores.csv and historical_sales.csv hold "
        "only them)"
    ]
    # words that only contain a group's value are no mention of it
    plain = extract_parameters(f"{BASE}, northern lights", today=TODAY, store_groups=groups)
    assert not [line for line in plain.readings if "store" in line]


def test_categories_and_store_groups_are_read_from_the_files(small_data: Path, tmp_path: Path) -> None:
    assert categories_in(small_data) == CATEGORIES
    groups = store_groups_in(small_data)
    assert set(groups) == {"region", "climate", "format"} and all(groups.values())
    assert categories_in(tmp_path) is None and store_groups_in(tmp_path) == {}


def test_a_date_without_a_year_is_in_the_year_the_request_names() -> None:
    found = extract_parameters(
        "Spring 2026: twelve weeks from the first of March, restock every other week, keep a tenth in reserve",
        today=TODAY,  # after March 2026: without the named year it would be March 2027
    )
    assert found.season_start_date == date(2026, 3, 1)
    assert any("2026, the year the request names" in line for line in found.readings), found.readings
    # no year named anywhere: the next such date, as before
    later = extract_parameters("twelve weeks from the first of March, weekly, 10% at the DC", today=TODAY)
    assert later.season_start_date == date(2027, 3, 1)


def test_a_holdback_in_units_is_refused_not_read_as_a_percentage() -> None:
    with pytest.raises(SeasonParameterError) as caught:
        extract_parameters(
            "12 weeks from March 2nd 2026, weekly replenishment, keep 10 units at the DC", today=TODAY
        )
    assert "'10 units at the DC' is a number of units" in caught.value.message
    assert "dc_holdback_percentage" in caught.value.invalid


def test_a_rule_across_fields_is_said_without_the_internal_key() -> None:
    with pytest.raises(SeasonParameterError) as caught:
        extract_parameters(f"{BASE}, markdowns from week 15", today=TODAY)
    assert "__model__" not in caught.value.message
    assert "markdown_start_week 15 is after the season's last week 12" in caught.value.message


def test_a_season_that_starts_on_another_weekday_than_the_history_says_how_weeks_align(
    small_data: Path,
) -> None:
    wednesday = extract_parameters(
        "12 weeks from 2026-03-04, weekly replenishment, keep 10% at the DC", today=TODAY
    )
    notes = assemble_context(small_data, wednesday, None).notes
    assert any(
        "starts on a Wednesday (2026-03-04) and the history's weeks on a Monday" in n
        and "the history's week from 2026-03-02" in n
        for n in notes
    ), notes
    monday = extract_parameters(BASE, today=TODAY)
    assert not any(
        "weekday" in n or "starts on a" in n for n in assemble_context(small_data, monday, None).notes
    )
