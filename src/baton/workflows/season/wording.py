"""How merchandise planners write a season: their words rewritten into the forms the rules read.

A planner writes "hold back a quarter in the depot, top up every other week, ten weeks from the first
of May". Before the field rules of :mod:`baton.agents.rules` run, :func:`normalise` rewrites each such
phrase into a canonical one ("25%", "bi-weekly replenishment", "10 weeks", "2026-05-01") and records a
:class:`Reading` of it — what was written, what it was read as, and whether an assumption was made
(months → weeks, "next Monday" relative to today, ISO week numbers). Replenishment is read here in full:
every phrasing is found, and two that disagree ("no replenishment, restock weekly") refuse the request
instead of picking one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

__all__ = ["Normalised", "Reading", "normalise"]

_ONES = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "a": 1, "an": 1,
}  # fmt: skip
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "thirtieth": 30,
}  # fmt: skip
_DENOMINATORS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4, "fourths": 4,
    "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "eighth": 8, "eighths": 8, "tenth": 10, "tenths": 10,
}  # fmt: skip
_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTHS = {name: i + 1 for i, name in enumerate(_MONTH_NAMES)} | {
    name[:3]: i + 1 for i, name in enumerate(_MONTH_NAMES)
}
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SMALL = r"(?:\d+(?:\.\d+)?|" + "|".join(sorted(_ONES, key=len, reverse=True)) + r")"
_ORDINAL_WORD = (
    r"(?P<ordinal>(?:twenty|thirty)[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|"
    + "|".join(sorted(_ORDINALS, key=len, reverse=True))
    + r")"
)
_WEEKS_PER_MONTH = 52 / 12


@dataclass(frozen=True)
class Reading:
    """One phrase of the request and how it was read; ``assumption`` when the words left room."""

    said: str
    means: str
    kind: str  # fraction, duration, date, replenishment
    value: object = None
    assumption: str = ""


@dataclass
class Normalised:
    """The rewritten request, each reading made, replenishment as read, and any refusal."""

    text: str
    readings: list[Reading] = field(default_factory=list)
    replenishment: str | None = None
    problems: dict[str, str] = field(default_factory=dict)


def _number(raw: str) -> float:
    text = raw.strip().lower()
    if text in _ONES:
        return float(_ONES[text])
    parts = re.split(r"[- ]", text)
    if all(p in _ONES for p in parts):
        return float(sum(_ONES[p] for p in parts))
    return float(text)


def _ordinal(raw: str) -> int:
    parts = re.split(r"[- ]", raw.lower())
    return sum(_ONES.get(p, 0) if p in _ONES else _ORDINALS[p] for p in parts)


def _percent(value: float) -> str:
    return f"{round(value * 100, 2):g}%"


# A rewrite: pattern → function of (match, today) giving (replacement, Reading) or None to leave it.
_Rewrite = Callable[[re.Match[str], date], tuple[str, Reading] | None]
_TIME_UNIT = r"(?:years?|seasons?|months?|weeks?|wks?|days?)"


def _fraction(match: re.Match[str], today: date) -> tuple[str, Reading] | None:
    count = _number(match["count"]) if match["count"] else 1.0
    share = count / _DENOMINATORS[match["denominator"].lower()]
    if not 0 < share <= 1:
        return None
    return _percent(share), Reading(match[0], _percent(share), "fraction", share)


def _ratio(match: re.Match[str], today: date) -> tuple[str, Reading] | None:
    top, bottom = _number(match["top"]), _number(match["bottom"])
    if bottom <= 0 or top > bottom:
        return None
    return _percent(top / bottom), Reading(match[0], _percent(top / bottom), "fraction", top / bottom)


def _pc(match: re.Match[str], today: date) -> tuple[str, Reading] | None:
    value = _number(match["n"]) / 100
    return _percent(value), Reading(match[0], _percent(value), "fraction", value)


def _weeks(said: str, weeks: int, assumption: str = "") -> tuple[str, Reading]:
    return f"{weeks} weeks", Reading(said, f"{weeks} weeks", "duration", weeks, assumption)


def _dozen(match: re.Match[str], today: date) -> tuple[str, Reading] | None:
    count = _number(match["count"]) if match["count"] else 1.0
    return _weeks(match[0], round(12 * count))


def _months(match: re.Match[str], today: date) -> tuple[str, Reading] | None:
    count = _number(match["count"]) + (0.5 if match["half"] else 0.0)
    weeks = math.floor(count * _WEEKS_PER_MONTH + 0.5)
    return _weeks(match[0], weeks, f"a month taken as 52/12 weeks: {count:g} months ≈ {weeks} weeks")


def _half_year(match: re.Match[str], today: date) -> tuple[str, Reading] | None:
    return _weeks(match[0], 26, "half a year taken as 26 weeks")


def _quarter_duration(match: re.Match[str], today: date) -> tuple[str, Reading] | None:
    count = _number(match["count"]) if match["count"] else 1.0
    weeks = round(13 * count)
    return _weeks(match[0], weeks, f"a quarter taken as 13 weeks: {weeks} weeks")


def _iso(day: date) -> str:
    return day.isoformat()


def _ordinal_date(
    match: re.Match[str], today: date, year_said: int | None = None
) -> tuple[str, Reading] | None:
    day, month = _ordinal(match["ordinal"]), _MONTHS[match["month"].lower().rstrip(".")]
    year = int(match["year"]) if match["year"] else None
    try:
        found = date(year or year_said or today.year, month, day)
        if year is None and year_said is None and found < today:
            found = date(today.year + 1, month, day)
    except ValueError:
        return None
    if year:
        assumption = ""
    elif year_said:
        assumption = f"no year by the date: {year_said}, the year the request names"
    else:
        assumption = f"no year given: the next {found:%-d %B} on or after {today}"
    return _iso(found), Reading(match[0], _iso(found), "date", found, assumption)


_YEAR = re.compile(r"(?<![\w/.-])(?P<year>(?:19|20)\d{2})(?![\w/.%-])")


def _year_said(text: str) -> int | None:
    """The one year a request names ("Spring 2026", "2026-03-02"): a date written without a year is in
    it, not the next such date after today. None when it names none or several."""
    years = {int(m["year"]) for m in _YEAR.finditer(text)}
    years |= {int(m[1]) for m in re.finditer(r"(?<!\d)((?:19|20)\d{2})-\d{2}-\d{2}(?!\d)", text)}
    return years.pop() if len(years) == 1 else None


def _next_weekday(match: re.Match[str], today: date) -> tuple[str, Reading] | None:
    weekday = _WEEKDAYS.index(match["weekday"].lower())
    ahead = (weekday - today.weekday()) % 7 or 7
    found = today + timedelta(days=ahead)
    return _iso(found), Reading(
        match[0], _iso(found), "date", found, f"relative to today, {today:%A} {today}"
    )


def _next_week(match: re.Match[str], today: date) -> tuple[str, Reading] | None:
    found = today + timedelta(days=7 - today.weekday())
    return _iso(found), Reading(
        match[0], _iso(found), "date", found, f"the Monday after today, {today:%A} {today}"
    )


def _iso_week(match: re.Match[str], today: date, year_said: int | None = None) -> tuple[str, Reading] | None:
    week = int(match["week"])
    year = int(match["year"]) if match["year"] else (year_said or today.year)
    try:
        found = date.fromisocalendar(year, week, 1)
        if not match["year"] and year_said is None and found + timedelta(days=6) < today:
            found = date.fromisocalendar(year + 1, week, 1)
    except ValueError:
        return None
    if match["year"]:
        where = ""
    elif year_said:
        where = f", in {year_said}, the year the request names"
    else:
        where = f", the next one on or after {today}"
    replacement = match[0][: match.start("when") - match.start()] + _iso(found)
    return replacement, Reading(
        match[0][match.start("when") - match.start() :],
        _iso(found),
        "date",
        found,
        f"ISO week {week} starts on Monday {found}{where}",
    )


_MARKDOWN_WORDS = re.compile(
    r"markdowns?|mark[- ]downs?|discounts?|clearance|promo|\boff\b|\bprice\b|\bsale\b", re.IGNORECASE
)

_REWRITES: tuple[tuple[re.Pattern[str], _Rewrite], ...] = (
    # dates first: "the third of May" is a day, not a share
    (
        re.compile(
            r"\b(?:the\s+)?" + _ORDINAL_WORD + r"\s+(?:of\s+)?" + _MONTH + r"(?:\s*,?\s*(?P<year>\d{4}))?\b",
            re.IGNORECASE,
        ),
        _ordinal_date,
    ),
    (
        re.compile(
            r"\b" + _MONTH + r"\s+(?:the\s+)?" + _ORDINAL_WORD + r"(?:\s*,?\s*(?P<year>\d{4}))?\b",
            re.IGNORECASE,
        ),
        _ordinal_date,
    ),
    (
        re.compile(
            r"\b(?:(?:this\s+)?coming|next)\s+(?P<weekday>" + "|".join(_WEEKDAYS) + r")\b", re.IGNORECASE
        ),
        _next_weekday,
    ),
    (
        re.compile(r"\b(?:from|starting|start(?:s|ing)?|beginning|begins?)\s+next\s+week\b", re.IGNORECASE),
        _next_week,
    ),
    (
        re.compile(
            r"\b(?:from|starting(?:\s+in)?|starts?(?:\s+in)?|beginning(?:\s+in)?|begins?(?:\s+in)?|launch(?:ing)?"
            r"(?:\s+in)?|in|on)\s+(?P<when>(?:iso\s+)?(?:week|wk)\s*(?P<week>\d{1,2})"
            r"(?:\s*(?:of|,)?\s*(?P<year>\d{4}))?)\b",
            re.IGNORECASE,
        ),
        _iso_week,
    ),
    # durations
    (re.compile(r"\b(?:(?P<count>" + _SMALL + r")\s+)?dozen\s+weeks\b", re.IGNORECASE), _dozen),
    (
        re.compile(
            r"\b(?P<count>" + _SMALL + r")(?P<half>\s+and\s+a\s+half)?[\s-]+months?(?:[\s-]+long)?\b",
            re.IGNORECASE,
        ),
        _months,
    ),
    (re.compile(r"\b(?:half\s+an?\s+year|half[- ]year|six[- ]month)\b", re.IGNORECASE), _half_year),
    (
        re.compile(
            r"\b(?:(?:for|over|lasting|spanning|across)\s+(?:(?P<count>" + _SMALL + r")\s+|the\s+next\s+)?"
            r"quarters?(?!\s+of\b)|(?P<whole>a\s+)?quarter[- ]long)\b",
            re.IGNORECASE,
        ),
        _quarter_duration,
    ),
    # shares: "15 pc", "one in ten", "3 out of 20", "1/4", "a quarter", "two thirds", "half"
    (re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?:pc|pct|per\s*cent|percent)\b", re.IGNORECASE), _pc),
    (
        re.compile(
            r"\b(?P<top>"
            + _SMALL
            + r")\s+(?:in|out\s+of)\s+(?:every\s+)?(?P<bottom>"
            + _SMALL
            + r")\b(?!\s*%)",
            re.IGNORECASE,
        ),
        _ratio,
    ),
    (re.compile(r"(?<![\d/.])(?P<top>\d{1,2})\s*/\s*(?P<bottom>\d{1,3})(?![\d/])"), _ratio),
    (
        re.compile(
            r"\b(?:(?P<count>a|an|one|two|three|four|five|seven|nine|\d)[\s-]+)?"
            r"(?P<denominator>halves|half|thirds?|quarters?|fifths?|sixths?|eighths?|tenths?)\b"
            r"(?!\s+(?:an?\s+)?" + _TIME_UNIT + r"\b)(?![\s-]+(?:year|season|month))"
            r"(?!\s+of\s+(?:the\s+|this\s+|a\s+)?(?:season|year|month|quarter|weeks?)\b)"
            r"(?![\s-]+(?:price|off)\b)",
            re.IGNORECASE,
        ),
        _fraction,
    ),
)


# -- replenishment -------------------------------------------------------------------------------------

_REPLENISH = (
    r"(?:replenish(?:ment|ing|ed)?|replen|restock(?:ing|ed|s)?|re-stock(?:ing)?|top(?:ping)?[\s-]?ups?"
    r"|reorders?|re-orders?)"
)
_NOT_REPLENISHMENT_AFTER = (
    r"(?!\s+(?:sales|forecasts?|reports?|reporting|reviews?|data|units|demand|plans?|trend))"
)
_REPLENISHMENT_PHRASES: tuple[tuple[str, str], ...] = (
    # (strategy, pattern); longer and more specific phrasings first so "bi-weekly" is not read as "weekly"
    (
        "none",
        r"\bno\s+(?:more\s+|further\s+|in[- ]season\s+)?" + _REPLENISH + r"(?:\s+at\s+all|\s+whatsoever)?",
    ),
    ("none", r"\bwithout\s+(?:any\s+)?" + _REPLENISH),
    ("none", r"\b(?:zero|nil)\s+" + _REPLENISH),
    (
        "none",
        r"\b(?:don'?t|do\s+not|never|won'?t|will\s+not|not\s+to|cannot|can'?t)\s+(?:be\s+)?" + _REPLENISH,
    ),
    ("none", r"\b" + _REPLENISH + r"\s*[:=]?\s*(?:none|nil|no|never)\b"),
    ("none", r"\bone[- ](?:shot|time|off)\s+(?:buy|drop|delivery|shipment|allocation)\b"),
    ("none", r"\bsingle\s+(?:buy|drop|delivery|shipment|allocation)\b"),
    ("none", r"\b(?:one|a\s+single)\s+(?:drop|delivery)\s+only\b"),
    ("none", r"\bbuy\s+once\b"),
    ("bi-weekly", r"\bbi[- ]?weekly\b"),
    ("bi-weekly", r"\bsemi[- ]?monthly\b"),
    ("bi-weekly", r"\bfortnightly\b|\bevery\s+fortnight\b|\bonce\s+a\s+fortnight\b"),
    ("bi-weekly", r"\bevery\s+(?:other|second|2nd|two|2|alternate)\s+weeks?\b|\balternate\s+weeks\b"),
    ("bi-weekly", r"\btwice\s+(?:a|per|each|every)\s+month\b|\btwice\s+monthly\b"),
    ("bi-weekly", r"\bevery\s+(?:14|fourteen)\s+days\b"),
    ("weekly", r"(?<![\w-])weekly\b" + _NOT_REPLENISHMENT_AFTER),
    ("weekly", r"\b(?:every|each)\s+week\b(?!\s*(?:\d|of\b))|\bonce\s+(?:a|per|each)\s+week\b"),
    ("weekly", r"\bevery\s+(?:" + "|".join(_WEEKDAYS) + r")\b"),
    ("weekly", r"\b(?:every|each)\s+(?:7|seven)\s+days\b"),
    # phrasings of a rhythm the plan cannot do: refused with what it can do
    ("unsupported", r"\bmonthly\b|\b(?:every|each|once\s+a)\s+month\b"),
    ("unsupported", r"\bevery\s+(?:three|four|five|six|3|4|5|6)\s+weeks\b"),
    ("unsupported", r"\bdaily\b|\bevery\s+day\b|\btwice\s+(?:a|per)\s+week\b|\btwice\s+weekly\b"),
)
_CANONICAL = {
    "none": "no replenishment",
    "weekly": "weekly replenishment",
    "bi-weekly": "bi-weekly replenishment",
}

_NO_HOLDBACK = re.compile(
    r"\b(?:no|zero|nil|without\s+(?:a|any))\s+(?:dc\s+|warehouse\s+|central\s+)?(?:hold[- ]?backs?|reserve)\b"
    r"|\bnothing\s+(?:held\s+back|kept|left|retained|reserved)\s+(?:at|in)\s+(?:the\s+)?"
    r"(?:dc|warehouse|depot|distribution\s+cent(?:re|er)|reserve|back\s*stock)\b"
    r"|\b(?:ship|send|push)\s+(?:it\s+)?(?:everything|all(?:\s+of\s+it)?|the\s+whole\s+buy)\s+(?:out\s+)?to\s+(?:the\s+)?stores\b",
    re.IGNORECASE,
)


def _replenishment(text: str, result: Normalised) -> str:
    """Find every replenishment phrasing, refuse disagreement, and write each as its canonical phrase."""
    spans: list[tuple[int, int, str]] = []
    for strategy, pattern in _REPLENISHMENT_PHRASES:
        for match in re.finditer(pattern, text, re.IGNORECASE):
            if not any(match.start() < end and start < match.end() for start, end, _ in spans):
                spans.append((match.start(), match.end(), strategy))
    spans.sort()
    said = {strategy: [text[s:e] for s, e, st in spans if st == strategy] for _, _, strategy in spans}
    unsupported = said.pop("unsupported", [])
    if unsupported:
        result.problems["replenishment_strategy"] = (
            f"{unsupported[0]!r} is not a replenishment this plan can do: say weekly, bi-weekly (every other "
            "week) or no replenishment"
        )
    elif len(said) > 1:
        phrases = " and ".join(f"{words[0]!r} ({strategy})" for strategy, words in said.items())
        result.problems["replenishment_strategy"] = (
            f"the request says {phrases}, which contradict each other: say one of weekly, bi-weekly or "
            "no replenishment"
        )
    elif said:
        strategy, words = next(iter(said.items()))
        result.replenishment = strategy
        for phrase in dict.fromkeys(words):
            result.readings.append(Reading(phrase, f"{strategy} replenishment", "replenishment", strategy))
    # every phrase is written canonically (or blanked) so its words are not read again as durations
    pieces, last = [], 0
    for start, end, strategy in spans:
        pieces += [text[last:start], _CANONICAL.get(strategy, " ")]
        last = end
    return "".join([*pieces, text[last:]])


_DEPTH = re.compile(
    r"\b(?:(?:up\s+to|at)\s+)?(?:\d+(?:\.\d+)?\s*%|half)[\s-]+(?:off|price|markdowns?|discount)\b",
    re.IGNORECASE,
)
_CENTRAL_STOCK = (
    r"(?:dcs?|depot|warehouse|distribution\s+cent(?:re|er)|fulfil?l?ment\s+cent(?:re|er)|central\s+(?:stock|warehouse)"
    r"|back\s*stock|reserve)"
)
_SHARE_AT_DC = re.compile(
    r"(?P<share>\d+(?:\.\d+)?)%\s+(?:(?:is\s+|are\s+|stays?\s+|goes\s+|kept\s+|held\s+back\s+)?"
    r"(?:at|in|to|for|as)\s+(?:the\s+|our\s+)?)?" + _CENTRAL_STOCK + r"\b",
    re.IGNORECASE,
)


def _depths(text: str, result: Normalised) -> str:
    """Markdown depths ("30% off", "half price") are the pricing policy's, not a share of the buy: they
    are set aside so their numbers are not read as the holdback or a markdown week."""
    pieces, last = [], 0
    for match in _DEPTH.finditer(text):
        pieces += [text[last : match.start()], "markdown"]
        last = match.end()
        result.readings.append(
            Reading(
                match[0], "a markdown depth: not read — the planning policy's ladder sets depths", "depth"
            )
        )
    return "".join([*pieces, text[last:]])


_UNITS_AT_DC = re.compile(
    r"\b(?P<said>\d[\d,]*(?:\.\d+)?\s+(?:units?|pieces?|pcs|items?|packs?)\s+(?:(?:at|in|to|for|as)\s+"
    r"(?:the\s+|our\s+)?)?" + _CENTRAL_STOCK + r")\b",
    re.IGNORECASE,
)


def _holdbacks(text: str, result: Normalised) -> None:
    """Two different shares each placed at the central stock ("10% at the DC … 20% in the depot") is refused,
    and so is a count of units there ("10 units at the DC"): the holdback is a share of the buy."""
    counted = _UNITS_AT_DC.search(text)
    if counted:
        result.problems["dc_holdback_percentage"] = (
            f"{counted['said']!r} is a number of units: the DC holdback is a share of each category's buy — "
            "say it as a percentage, e.g. 'keep 10% at the DC'"
        )
        return
    shares = dict.fromkeys(m["share"] for m in _SHARE_AT_DC.finditer(text))
    if len({float(share) for share in shares}) > 1:
        said = " and ".join(f"{share}%" for share in shares)
        result.problems["dc_holdback_percentage"] = (
            f"the request puts {said} at the central stock: say one DC holdback"
        )


def normalise(text: str, *, today: date) -> Normalised:
    """Rewrite planners' phrasings of ``text`` into canonical ones; see the module docstring."""
    result = Normalised(text=text)
    # replenishment first: "twice a month" is a rhythm, not a month of season
    text = _replenishment(text, result)
    taken: list[tuple[int, int, str, Reading | None]] = []
    year_said = _year_said(text)
    for pattern, rewrite in _REWRITES:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end, _, _ in taken):
                continue
            if rewrite is _iso_week and _MARKDOWN_WORDS.search(
                text[max(0, match.start() - 30) : match.start()]
            ):
                continue  # "markdowns from week 10" is a season week, not a date
            if rewrite is _ordinal_date or rewrite is _iso_week:
                done = rewrite(match, today, year_said)
            else:
                done = rewrite(match, today)
            if done is not None:
                taken.append((match.start(), match.end(), done[0], done[1]))
    for match in _NO_HOLDBACK.finditer(text):
        if not any(match.start() < end and start < match.end() for start, end, _, _ in taken):
            taken.append(
                (match.start(), match.end(), "0% holdback", Reading(match[0], "0%", "fraction", 0.0))
            )
    taken.sort(key=lambda t: t[0])
    pieces, last = [], 0
    for start, end, replacement, reading in taken:
        pieces += [text[last:start], replacement]
        last = end
        if reading is not None:
            result.readings.append(reading)
    result.text = _depths("".join([*pieces, text[last:]]), result)
    _holdbacks(result.text, result)
    return result
