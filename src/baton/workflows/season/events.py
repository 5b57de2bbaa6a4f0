"""The retail calendar: the weeks that carry the year's peaks, placed by a holiday calendar.

Retail peaks follow holidays that move: the late-November promotion is the week after US Thanksgiving
(the fourth Thursday), Easter moves by up to five weeks, back-to-school runs the two weeks before US
Labor Day, and gifting fills the two weeks before Christmas. The dates come from the ``holidays``
package, so the peaks land on the right week in any year; a week "has" an event when the event's day
falls within its seven days, whatever weekday the data's weeks start on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import holidays
import numpy as np
import pandas as pd

__all__ = ["EVENTS", "RetailEvent", "event_days", "event_matrix", "events_in"]


@dataclass(frozen=True)
class RetailEvent:
    name: str  # column name and label
    label: str  # how a planner says it


EVENTS = (
    RetailEvent("black_friday", "Black Friday week"),
    RetailEvent("pre_christmas", "the two weeks before Christmas"),
    RetailEvent("easter", "Easter week"),
    RetailEvent("back_to_school", "back-to-school (two weeks before Labor Day)"),
)


@cache
def _days(year: int) -> dict[str, tuple[date, ...]]:
    us = holidays.country_holidays("US", years=year)
    gb = holidays.country_holidays("GB", years=year)
    thanksgiving = us.get_named("Thanksgiving")[0]
    labor_day = us.get_named("Labor Day")[0]
    good_friday = gb.get_named("Good Friday")[0]
    christmas = date(year, 12, 25)
    return {
        "black_friday": (thanksgiving + timedelta(days=1),),
        "pre_christmas": (christmas - timedelta(days=1), christmas - timedelta(days=8)),
        "easter": (good_friday,),
        "back_to_school": (labor_day - timedelta(days=3), labor_day - timedelta(days=10)),
    }


def event_days(year: int) -> dict[str, tuple[date, ...]]:
    """Each event's marker days in ``year`` (a week holding a marker day is an event week)."""
    return dict(_days(year))


def event_matrix(week_starts: pd.DatetimeIndex | Sequence[date]) -> np.ndarray:
    """(events, weeks) of 0/1: whether each week (7 days from its start) holds each event."""
    starts = [pd.Timestamp(w).date() for w in week_starts]
    matrix = np.zeros((len(EVENTS), len(starts)))
    if not starts:
        return matrix
    for year in range(starts[0].year - 1, starts[-1].year + 2):
        for e, event in enumerate(EVENTS):
            for day in _days(year)[event.name]:
                for w, start in enumerate(starts):
                    if start <= day < start + timedelta(days=7):
                        matrix[e, w] = 1.0
    return matrix


def events_in(week_starts: Sequence[date]) -> list[tuple[int, str]]:
    """``(index, label)`` of every event week among ``week_starts``, in order."""
    matrix = event_matrix(week_starts)
    return [(w, EVENTS[e].label) for w in range(matrix.shape[1]) for e in range(len(EVENTS)) if matrix[e, w]]
