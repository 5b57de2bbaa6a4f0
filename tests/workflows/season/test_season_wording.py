"""How planners write: a table of phrasings → the parameters read, or the refusal they must get.

``PHRASINGS`` is also what ``benchmarks/season.py`` scores the extractor on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from baton.workflows.season import SeasonParameterError, extract_parameters

TODAY = date(2026, 4, 22)  # a Wednesday


@dataclass(frozen=True)
class Expected:
    weeks: int
    start: date
    replenishment: str
    holdback: float
    more: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    field: str  # the field the refusal names
    says: str  # words the message must hold


MAY1 = date(2026, 5, 1)
PHRASINGS: list[tuple[str, Expected | Refused]] = [
    # holdback as words, ratios and abbreviations; every name of the central stock and its verbs
    (
        "12 weeks from 1 May 2026, weekly replenishment, hold back a quarter at the DC",
        Expected(12, MAY1, "weekly", 0.25),
    ),
    ("12 weeks from 1 May 2026, weekly, keep half in the depot", Expected(12, MAY1, "weekly", 0.5)),
    (
        "12 weeks from 1 May 2026, weekly, two thirds held back in the warehouse",
        Expected(12, MAY1, "weekly", 0.6667),
    ),
    (
        "12 weeks from 1 May 2026, weekly, reserve one in ten at the distribution center",
        Expected(12, MAY1, "weekly", 0.1),
    ),
    ("12 weeks from 1 May 2026, weekly, retain a tenth as back stock", Expected(12, MAY1, "weekly", 0.1)),
    ("12 weeks from 1 May 2026, weekly, 15 pc central stock", Expected(12, MAY1, "weekly", 0.15)),
    (
        "12 weeks from 1 May 2026, weekly, leave fifteen percent at the fulfilment centre",
        Expected(12, MAY1, "weekly", 0.15),
    ),
    ("12 weeks from 1 May 2026, weekly, keep 1 in 5 units in reserve", Expected(12, MAY1, "weekly", 0.2)),
    (
        "12 weeks from 1 May 2026, weekly, a fifth stays at the fulfillment center",
        Expected(12, MAY1, "weekly", 0.2),
    ),
    (
        "12 weeks from 1 May 2026, weekly, three quarters go to stores, a quarter to the DC",
        Expected(12, MAY1, "weekly", 0.25),
    ),
    (
        "12 weeks from 1 May 2026, weekly, keep back 3 out of 20 at the backstock",
        Expected(12, MAY1, "weekly", 0.15),
    ),
    ("12 weeks from 1 May 2026, weekly, DC holdback 1/4", Expected(12, MAY1, "weekly", 0.25)),
    (
        "12 weeks from 1 May 2026, weekly, 12.5 per cent at the distribution centre",
        Expected(12, MAY1, "weekly", 0.125),
    ),
    ("12 weeks from 1 May 2026, weekly, no holdback", Expected(12, MAY1, "weekly", 0.0)),
    ("12 weeks from 1 May 2026, weekly, ship everything to the stores", Expected(12, MAY1, "weekly", 0.0)),
    (
        "12 weeks from 1 May 2026, weekly, 30% held back in the central warehouse",
        Expected(12, MAY1, "weekly", 0.3),
    ),
    # durations
    ("ten weeks from 1 May 2026, weekly, 10% at the DC", Expected(10, MAY1, "weekly", 0.1)),
    ("a dozen weeks from 1 May 2026, weekly, 10% at the DC", Expected(12, MAY1, "weekly", 0.1)),
    ("three months from 1 May 2026, weekly, 10% at the DC", Expected(13, MAY1, "weekly", 0.1)),
    ("a six-month season from 1 May 2026, weekly, 10% at the DC", Expected(26, MAY1, "weekly", 0.1)),
    ("half a year from 1 May 2026, weekly, 10% at the DC", Expected(26, MAY1, "weekly", 0.1)),
    ("for a quarter from 1 May 2026, weekly, 10% at the DC", Expected(13, MAY1, "weekly", 0.1)),
    ("one and a half months from 1 May 2026, weekly, 10% at the DC", Expected(7, MAY1, "weekly", 0.1)),
    ("twenty-six weeks from 1 May 2026, weekly, 10% at the DC", Expected(26, MAY1, "weekly", 0.1)),
    # replenishment in any phrasing
    ("12 weeks from 1 May 2026, restock every week, 10% at the DC", Expected(12, MAY1, "weekly", 0.1)),
    ("12 weeks from 1 May 2026, replenish each week, 10% at the DC", Expected(12, MAY1, "weekly", 0.1)),
    (
        "12 weeks from 1 May 2026, top up the stores every Monday, 10% at the DC",
        Expected(12, MAY1, "weekly", 0.1),
    ),
    ("12 weeks from 1 May 2026, top-ups once a week, 10% at the DC", Expected(12, MAY1, "weekly", 0.1)),
    ("12 weeks from 1 May 2026, every other week, 10% at the DC", Expected(12, MAY1, "bi-weekly", 0.1)),
    ("12 weeks from 1 May 2026, restock fortnightly, 10% at the DC", Expected(12, MAY1, "bi-weekly", 0.1)),
    ("12 weeks from 1 May 2026, top up twice a month, 10% at the DC", Expected(12, MAY1, "bi-weekly", 0.1)),
    (
        "12 weeks from 1 May 2026, bi-weekly replenishment, 10% at the DC",
        Expected(12, MAY1, "bi-weekly", 0.1),
    ),
    ("12 weeks from 1 May 2026, biweekly top ups, 10% at the DC", Expected(12, MAY1, "bi-weekly", 0.1)),
    (
        "12 weeks from 1 May 2026, replenish every 2 weeks, 10% at the DC",
        Expected(12, MAY1, "bi-weekly", 0.1),
    ),
    ("12 weeks from 1 May 2026, no replenishment at all, 10% at the DC", Expected(12, MAY1, "none", 0.1)),
    ("12 weeks from 1 May 2026, one-shot buy, 10% at the DC", Expected(12, MAY1, "none", 0.1)),
    ("12 weeks from 1 May 2026, single drop, 10% at the DC", Expected(12, MAY1, "none", 0.1)),
    ("12 weeks from 1 May 2026, we won't restock, 10% at the DC", Expected(12, MAY1, "none", 0.1)),
    ("12 weeks from 1 May 2026, without any top-ups, 10% at the DC", Expected(12, MAY1, "none", 0.1)),
    # dates
    ("12 weeks from May 1st, weekly, 10% at the DC", Expected(12, MAY1, "weekly", 0.1)),
    ("12 weeks from the first of May, weekly, 10% at the DC", Expected(12, MAY1, "weekly", 0.1)),
    ("12 weeks starting 2026-05-01, weekly, 10% at the DC", Expected(12, MAY1, "weekly", 0.1)),
    ("12 weeks starting May the first 2026, weekly, 10% at the DC", Expected(12, MAY1, "weekly", 0.1)),
    ("12 weeks from next Monday, weekly, 10% at the DC", Expected(12, date(2026, 4, 27), "weekly", 0.1)),
    ("12 weeks starting week 36, weekly, 10% at the DC", Expected(12, date(2026, 8, 31), "weekly", 0.1)),
    ("12 weeks from week 10 of 2027, weekly, 10% at the DC", Expected(12, date(2027, 3, 8), "weekly", 0.1)),
    (
        "12 weeks from the twenty-first of September, weekly, 10% at the DC",
        Expected(12, date(2026, 9, 21), "weekly", 0.1),
    ),
    # several at once, and what must stay what it was
    (
        "Holiday capsule: a dozen weeks from the first of October, hold back a quarter in the depot, top up "
        "every other week, markdowns from week 9, aim for 80% sell-through",
        Expected(
            12, date(2026, 10, 1), "bi-weekly", 0.25, {"markdown_start_week": 9, "target_sell_through": 0.8}
        ),
    ),
    (
        "Three months from next Monday. One-shot buy; leave one in ten at the fulfilment centre.",
        Expected(13, date(2026, 4, 27), "none", 0.1),
    ),
    (
        "Restock weekly from the DC, keeping 15% back; 14 weeks from June 1st; markdowns in week 8",
        Expected(14, date(2026, 6, 1), "weekly", 0.15, {"markdown_start_week": 8}),
    ),
    (
        "20 weeks starting the 3rd of August, replenish fortnightly, the DC keeps two fifths",
        Expected(20, date(2026, 8, 3), "bi-weekly", 0.4),
    ),
    (
        "Autumn: first half of the season at full price, 12 weeks from 2026-09-07, bi-weekly, 10% at the DC",
        Expected(12, date(2026, 9, 7), "bi-weekly", 0.1),
    ),
    (
        "ten weeks from next Monday, weekly replenishment with weekly sales reviews, 5% reserve",
        Expected(10, date(2026, 4, 27), "weekly", 0.05),
    ),
    # markdown depths and sell-through shares are not the holdback
    (
        "12 weeks from 1 May 2026, weekly, 10% at the DC, markdown to half price from week 8",
        Expected(12, MAY1, "weekly", 0.1, {"markdown_start_week": 8}),
    ),
    (
        "12 weeks from 1 May 2026, weekly, 10% at the DC, 30% off from week 8",
        Expected(12, MAY1, "weekly", 0.1, {"markdown_start_week": 8}),
    ),
    (
        "12 weeks from 1 May 2026, weekly, 10% at the DC, sell three quarters by the end",
        Expected(12, MAY1, "weekly", 0.1, {"target_sell_through": 0.75}),
    ),
    # refusals: contradictions, impossible values, rhythms the plan cannot do
    (
        "12 weeks from 1 May 2026, no replenishment, restock weekly, 10% at the DC",
        Refused("replenishment_strategy", "contradict"),
    ),
    (
        "12 weeks from 1 May 2026, one-shot buy, top up fortnightly, 10% at the DC",
        Refused("replenishment_strategy", "contradict"),
    ),
    (
        "12 weeks from 1 May 2026, weekly, hold back 120% at the DC",
        Refused("dc_holdback_percentage", "got 120%"),
    ),
    (
        "12 weeks from 1 May 2026, weekly, keep 10% at the DC and 20% in the depot",
        Refused("dc_holdback_percentage", "10% and 20% at the central stock"),
    ),
    (
        "12 weeks from 1 May 2026, replenish monthly, 10% at the DC",
        Refused("replenishment_strategy", "monthly"),
    ),
    ("12 weeks from 1 May 2026, restock daily, 10% at the DC", Refused("replenishment_strategy", "daily")),
    (
        "two years from 1 May 2026, weekly, 10% at the DC",
        Refused("forecast_horizon_weeks", "between 4 and 52"),
    ),
    ("12 weeks from 1 May 2026, 10% at the DC", Refused("replenishment_strategy", "missing")),
    ("12 weeks, weekly, 10% at the DC", Refused("season_start_date", "missing")),
    (
        "12 weeks from the thirty-first of April, weekly, 10% at the DC",
        Refused("season_start_date", "missing"),
    ),
]


@pytest.mark.parametrize(("request_text", "expected"), PHRASINGS, ids=[r[:60] for r, _ in PHRASINGS])
def test_phrasing(request_text: str, expected: Expected | Refused) -> None:
    if isinstance(expected, Refused):
        with pytest.raises(SeasonParameterError) as caught:
            extract_parameters(request_text, today=TODAY)
        assert expected.field in caught.value.fields, caught.value.message
        assert expected.says in caught.value.message
        return
    found = extract_parameters(request_text, today=TODAY)
    got = (
        found.forecast_horizon_weeks,
        found.season_start_date,
        found.replenishment_strategy.value,
        round(found.dc_holdback_percentage, 4),
    )
    assert got == (expected.weeks, expected.start, expected.replenishment, round(expected.holdback, 4))
    for name, value in expected.more.items():
        assert getattr(found, name) == value, name


def test_each_reading_is_listed_with_the_words_it_came_from() -> None:
    found = extract_parameters(
        "Keep back a quarter in the depot; top up every other week; three months from next Monday",
        today=TODAY,
    )
    assert "'a quarter' → 25% DC holdback" in found.readings
    assert "'every other week' → bi-weekly replenishment" in found.readings
    assert any(
        r.startswith("'three months' → 13-week season (assumed: a month taken as 52/12")
        for r in found.readings
    )
    assert any(
        r.startswith("'next Monday' → season starts 2026-04-27 (assumed: relative to today")
        for r in found.readings
    )


def test_a_contradiction_names_both_phrasings() -> None:
    with pytest.raises(SeasonParameterError) as caught:
        extract_parameters(
            "12 weeks from 1 May 2026, no replenishment, restock weekly, 10% at the DC", today=TODAY
        )
    message = caught.value.message
    assert "'no replenishment' (none)" in message and "'weekly' (weekly)" in message
    assert "contradict" in message
    assert caught.value.exit_code == 2


def test_the_same_strategy_said_twice_is_not_a_contradiction() -> None:
    found = extract_parameters(
        "12 weeks from 1 May 2026, weekly replenishment — top up every week — 10% at the DC", today=TODAY
    )
    assert found.replenishment_strategy.value == "weekly"


def test_a_date_without_a_year_is_the_next_one() -> None:
    found = extract_parameters("12 weeks from the first of March, weekly, 10% at the DC", today=TODAY)
    assert found.season_start_date == date(2027, 3, 1)
    assert any("no year given" in r for r in found.readings)
