"""The example requests of issue 6: each must yield its parameters, or say exactly what is wrong."""

from __future__ import annotations

from datetime import date

import pytest

from baton.core.errors import InvalidInputError
from baton.workflows.season import (
    ReplenishmentStrategy,
    SeasonParameterError,
    SeasonParameters,
    extract_parameters,
)

TODAY = date(2026, 11, 22)


def test_fast_fashion_request() -> None:
    found = extract_parameters(
        "12 weeks from March 2nd 2026, weekly replenishment, keep 10% at the DC", today=TODAY
    )
    assert found.model_copy(update={"readings": ()}) == SeasonParameters(
        forecast_horizon_weeks=12,
        season_start_date=date(2026, 3, 2),
        replenishment_strategy=ReplenishmentStrategy.WEEKLY,
        dc_holdback_percentage=0.10,
    )
    assert found.readings == (
        "'12 weeks' → 12-week season",
        "'March 2nd 2026' → season starts 2026-03-02",
        "'weekly' → weekly replenishment",
        "'10%' → 10% DC holdback",
    )
    assert found.season_end_date == date(2026, 5, 25)


def test_standard_request() -> None:
    found = extract_parameters(
        "Standard spring/summer season: 26 weeks starting 2026-03-02, restock the stores every two weeks "
        "and hold back twenty percent at the distribution centre.",
        today=TODAY,
    )
    assert (found.forecast_horizon_weeks, found.season_start_date) == (26, date(2026, 3, 2))
    assert found.replenishment_strategy is ReplenishmentStrategy.BI_WEEKLY
    assert found.dc_holdback_percentage == pytest.approx(0.20)
    assert found.season_end_date == date(2026, 8, 31)


def test_luxury_request() -> None:
    found = extract_parameters(
        "Luxury capsule: no replenishment, 45% holdback, 26 weeks starting 2 March 2026", today=TODAY
    )
    assert found.replenishment_strategy is ReplenishmentStrategy.NONE
    assert found.dc_holdback_percentage == pytest.approx(0.45)
    assert found.forecast_horizon_weeks == 26
    assert found.season_start_date == date(2026, 3, 2)


def test_incomplete_request_reports_exactly_the_missing_fields() -> None:
    with pytest.raises(SeasonParameterError) as caught:
        extract_parameters("Plan the spring season with weekly replenishment", today=TODAY)
    error = caught.value
    assert isinstance(error, InvalidInputError)
    assert error.missing == ["forecast_horizon_weeks", "season_start_date", "dc_holdback_percentage"]
    assert error.invalid == {}
    assert "missing forecast_horizon_weeks, season_start_date, dc_holdback_percentage" in error.message
    assert "replenishment_strategy" not in error.fields


def test_invalid_request_reports_each_violated_bound() -> None:
    with pytest.raises(SeasonParameterError) as caught:
        extract_parameters("80 weeks from March 2nd 2026, weekly replenishment, 150% holdback", today=TODAY)
    error = caught.value
    assert error.missing == []
    assert error.invalid == {
        "forecast_horizon_weeks": "must be between 4 and 52, got 80",
        "dc_holdback_percentage": "must be between 0% and 100%, got 150%",
    }
    assert error.exit_code == 2 and error.http_status == 422


def test_horizon_is_derived_from_a_start_and_an_end_date() -> None:
    found = extract_parameters(
        "from March 2nd 2026 to May 25th 2026, weekly replenishment, 10% DC holdback", today=TODAY
    )
    assert found.forecast_horizon_weeks == 12


def test_an_end_date_that_is_not_whole_weeks_after_the_start_is_reported() -> None:
    with pytest.raises(SeasonParameterError) as caught:
        extract_parameters(
            "from 2026-03-02 to 2026-05-27, weekly replenishment, 10% DC holdback", today=TODAY
        )
    assert "season_end_date" in caught.value.invalid


def test_optional_fields_category_markdown_start_and_target_sell_through() -> None:
    found = extract_parameters(
        "outerwear only: 16 weeks from 2026-09-07, bi-weekly replenishment, 15% at the DC, markdowns from "
        "week 10, aim for 90% sell-through",
        today=TODAY,
        categories=["basics", "outerwear", "swimwear"],
    )
    assert found.category == "outerwear"
    assert found.markdown_start_week == 10
    assert found.target_sell_through == pytest.approx(0.90)
    assert found.dc_holdback_percentage == pytest.approx(0.15)


def test_a_markdown_week_after_the_season_is_invalid() -> None:
    with pytest.raises(SeasonParameterError) as caught:
        extract_parameters(
            "12 weeks from 2026-03-02, weekly replenishment, 10% at the DC, markdowns from week 20",
            today=TODAY,
        )
    assert "markdown_start_week 20 is after the season's last week 12" in caught.value.message


def test_parameters_are_immutable_and_reject_unknown_fields() -> None:
    with pytest.raises(ValueError, match="extra"):
        SeasonParameters.model_validate({
            "forecast_horizon_weeks": 12, "season_start_date": "2026-03-02",
            "replenishment_strategy": "weekly", "dc_holdback_percentage": 0.1, "colour": "red",
        })  # fmt: skip


def test_round_trip_through_json_keeps_the_end_date() -> None:
    found = extract_parameters("12 weeks from 2026-03-02, no replenishment, 0% holdback", today=TODAY)
    assert SeasonParameters.model_validate_json(found.model_dump_json()) == found
    assert found.dc_holdback_percentage == 0.0
