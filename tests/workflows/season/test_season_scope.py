"""What a request says about the plan's scope: a category planned alone only when the words make it the
scope, and a group of stores the plan cannot narrow to said, never dropped without a word."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from baton.workflows.season import extract_parameters
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
