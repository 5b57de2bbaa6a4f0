"""The parameters of a season plan, and reading them from a planner's plain words."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from baton.agents.rules import FieldRule, Mention, extract_with_rules, find_mentions
from baton.core.errors import InvalidInputError
from baton.workflows.season.scope import category_in_another_form, unknown_scopes
from baton.workflows.season.wording import Reading, normalise

__all__ = ["ReplenishmentStrategy", "SeasonParameterError", "SeasonParameters", "extract_parameters"]

MIN_HORIZON_WEEKS = 4
MAX_HORIZON_WEEKS = 52


class ReplenishmentStrategy(StrEnum):
    NONE = "none"  # the whole season is bought and sent up front; the DC holdback is a reserve
    WEEKLY = "weekly"  # stores are topped up from the DC every week
    BI_WEEKLY = "bi-weekly"  # stores are topped up from the DC every other week

    @property
    def review_weeks(self) -> int | None:
        """Weeks between two shipments from the DC; ``None`` when nothing is shipped after the start."""
        return {"none": None, "weekly": 1, "bi-weekly": 2}[self.value]


def _rules(kind: str | None = None, keywords: tuple[str, ...] = (), **more: Any) -> dict[str, Any]:
    return {"rules": {"kind": kind, "keywords": list(keywords), **more}}


class SeasonParameters(BaseModel):
    """What a season plan needs to know. ``season_end_date`` is ``season_start_date + forecast_horizon_weeks``
    — exclusive, the first day after the season, as date ranges in code are — and is filled in when not
    given. What a person reads (PLAN.md, the run's report, the CLI) is :attr:`last_day`, the season's last
    day, included: 12 weeks from 2026-03-02 are "2026-03-02 → 2026-05-24"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    forecast_horizon_weeks: int = Field(
        ge=MIN_HORIZON_WEEKS,
        le=MAX_HORIZON_WEEKS,
        description="length of the season in weeks",
        json_schema_extra=_rules(
            "duration", ("horizon", "season", "for", "over", "lasting", "plan"), unit="weeks"
        ),
    )
    season_start_date: date = Field(
        description="first day of the season",
        json_schema_extra=_rules(
            "date", ("from", "start", "starting", "starts", "begin", "begins", "beginning", "launch", "on")
        ),
    )
    season_end_date: date | None = Field(
        default=None,
        description="start + horizon weeks: the first day AFTER the season (exclusive); derived when not given",
        json_schema_extra=_rules("date", ("to", "until", "through", "till", "end", "ending", "ends")),
    )
    replenishment_strategy: ReplenishmentStrategy = Field(
        description="how stores are restocked from the DC during the season",
        json_schema_extra=_rules(
            "enum",
            ("replenishment", "replenish", "restock"),
            synonyms={
                "none": [
                    "no replenishment",
                    "without replenishment",
                    "no restocking",
                    "no replen",
                    "one-shot buy",
                    "single buy",
                    "no reorders",
                    "replenishment: none",
                    "replenishment none",
                ],
                "weekly": ["every week", "each week", "once a week"],
                "bi-weekly": [
                    "every two weeks",
                    "every other week",
                    "fortnightly",
                    "every 2 weeks",
                    "twice a month",
                    "bi weekly",
                    "biweekly",
                ],
            },
        ),
    )
    dc_holdback_percentage: float = Field(
        ge=0.0,
        le=1.0,
        description="share of the initial buy kept at the distribution centre (0.0–1.0)",
        json_schema_extra=_rules(
            "fraction",
            (
                "dc",
                "dcs",
                "holdback",
                "hold back",
                "held back",
                "hold-back",
                "holding back",
                "keep",
                "keep back",
                "retain",
                "leave",
                "reserve",
                "in reserve",
                "distribution center",
                "distribution centre",
                "fulfilment centre",
                "fulfilment center",
                "fulfillment centre",
                "fulfillment center",
                "central stock",
                "central warehouse",
                "depot",
                "back stock",
                "backstock",
                "warehouse",
            ),
        ),
    )
    category: str | None = Field(
        default=None,
        description="plan only this category (all categories when not given)",
        json_schema_extra=_rules("word", ("category",)),
    )
    markdown_start_week: int | None = Field(
        default=None,
        ge=1,
        le=MAX_HORIZON_WEEKS,
        description="earliest season week a markdown may be taken",
        json_schema_extra=_rules(
            "number", ("markdown", "markdowns", "mark down", "discount", "discounts", "clearance")
        ),
    )
    target_sell_through: float | None = Field(
        default=None,
        ge=0.3,
        le=1.0,
        description="share of the buy to sell by season end (default 0.85)",
        json_schema_extra=_rules(
            "fraction",
            (
                "sell-through",
                "sell through",
                "sellthrough",
                "sell-thru",
                "sell thru",
                "sell out",
                "sell",
                "sold",
            ),
        ),
    )

    readings: tuple[str, ...] = Field(
        default=(),
        description="how the request's words were read, one line each (\"'a quarter' → 25% DC holdback\")",
        json_schema_extra=_rules("word", ()),
    )

    @model_validator(mode="after")
    def _season_dates(self) -> Self:
        end = self.season_start_date + timedelta(weeks=self.forecast_horizon_weeks)
        if self.season_end_date is None:
            object.__setattr__(self, "season_end_date", end)
        elif self.season_end_date != end:
            raise ValueError(
                f"season_end_date {self.season_end_date} is not season_start_date {self.season_start_date} "
                f"+ {self.forecast_horizon_weeks} weeks ({end})"
            )
        if self.markdown_start_week is not None and self.markdown_start_week > self.forecast_horizon_weeks:
            raise ValueError(
                f"markdown_start_week {self.markdown_start_week} is after the season's last week "
                f"{self.forecast_horizon_weeks}"
            )
        return self

    @property
    def end_date(self) -> date:
        """``season_end_date``, typed as always present."""
        return self.season_end_date or self.season_start_date + timedelta(weeks=self.forecast_horizon_weeks)

    @property
    def last_day(self) -> date:
        """The season's last day, included (``season_end_date`` is the day after it)."""
        return self.end_date - timedelta(days=1)

    def week_start(self, week: int) -> date:
        """The first day of season week ``week`` (1-based)."""
        return self.season_start_date + timedelta(weeks=week - 1)


class SeasonParameterError(InvalidInputError):
    """A request that does not give every required parameter, or gives one out of its bounds."""

    code = "invalid_season_parameters"

    def __init__(self, *, missing: list[str], invalid: dict[str, str], request: str = "") -> None:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        # a rule across fields ("__model__") and a reason quoting the request speak for themselves; any
        # other field's reason follows its name
        parts += [
            reason if name.startswith("__") or reason.startswith("'") else f"{name} {reason}"
            for name, reason in invalid.items()
        ]
        fields = {name: "missing" for name in missing} | invalid
        super().__init__(
            "the season request cannot be planned: " + "; ".join(parts),
            fields=fields,
            hint=_hint(missing, invalid),
        )
        self.missing = list(missing)
        self.invalid = dict(invalid)
        self.request = request


_HOW_TO_SAY = {
    "forecast_horizon_weeks": "the season length (e.g. '12 weeks', 4–52)",
    "season_start_date": "the start date (e.g. 'from March 2nd 2026')",
    "replenishment_strategy": "the replenishment ('weekly', 'bi-weekly' or 'no replenishment')",
    "dc_holdback_percentage": "the DC holdback (e.g. 'keep 10% at the DC', 0–100%)",
    "category": "a category of the data (or none, to plan every category)",
}


def _hint(missing: list[str], invalid: dict[str, str]) -> str:
    said = [_HOW_TO_SAY[name] for name in [*missing, *invalid] if name in _HOW_TO_SAY]
    return ("say " + ", ".join(said) + " in the request") if said else "fix the request and try again"


_FRACTIONS = frozenset({"dc_holdback_percentage", "target_sell_through"})


def _metadata(name: str) -> list[Any]:
    return list(SeasonParameters.model_fields[name].metadata)


def extract_parameters(
    text: str,
    *,
    today: date | None = None,
    categories: list[str] | None = None,
    store_groups: Mapping[str, Sequence[str]] | None = None,
) -> SeasonParameters:
    """Read a season's parameters from plain words with deterministic rules (no model needed).

    Planners' phrasings ("a quarter", "top up every other week", "the first of May", "three months")
    are rewritten first (:mod:`.wording`); every reading is kept in ``readings``. A date without a year
    is the next such date on or after ``today``. ``categories`` (the data's categories), when given, lets
    the request name one without the word "category"; ``store_groups`` (stores.csv's text columns and
    their values) lets a request that names a group of stores ("the north region") be told that the
    plan covers every store. Raises :class:`SeasonParameterError` naming every missing field, every
    violated bound and every contradiction.
    """
    found, readings = read_request(text, today=today, categories=categories, store_groups=store_groups)
    if found.missing or found.invalid:
        raise SeasonParameterError(missing=found.missing, invalid=found.invalid, request=text)
    try:
        parameters = SeasonParameters.model_validate(found.values)
    except ValueError as error:
        raise SeasonParameterError(missing=[], invalid={"__model__": str(error)}, request=text) from None
    lines = describe_readings(parameters, readings, text, today=today or date.today())
    return parameters.model_copy(update={"readings": tuple(lines)})


@dataclass(frozen=True)
class RequestReading:
    """What the rules read from a request: values (possibly invalid), what is missing, what is wrong."""

    values: dict[str, Any]
    missing: list[str]
    invalid: dict[str, str]


def read_request(
    text: str,
    *,
    today: date | None = None,
    categories: list[str] | None = None,
    store_groups: Mapping[str, Sequence[str]] | None = None,
) -> tuple[RequestReading, list[Reading]]:
    """The rules' reading of ``text`` without raising: see :func:`extract_parameters`."""
    today = today or date.today()
    words = normalise(text, today=today)
    hints: dict[str, FieldRule | dict[str, Any]] = {}
    if categories:
        hints["category"] = {"kind": "enum", "choices": list(categories), "keywords": ["category"]}
    found = extract_with_rules(words.text, SeasonParameters, hints=hints, today=today)
    values, invalid = dict(found.values), dict(found.invalid)
    values.pop("readings", None)
    missing = list(found.missing)
    invalid.pop("__model__", None) if words.problems else None
    if words.replenishment is not None:
        values["replenishment_strategy"] = words.replenishment
    if "dc_holdback_percentage" in words.problems:
        values.pop("dc_holdback_percentage", None)
        invalid["dc_holdback_percentage"] = words.problems["dc_holdback_percentage"]
        missing = [m for m in missing if m != "dc_holdback_percentage"]
    if "replenishment_strategy" in words.problems:
        values.pop("replenishment_strategy", None)
        invalid["replenishment_strategy"] = words.problems["replenishment_strategy"]
        missing = [m for m in missing if m != "replenishment_strategy"]
    readings = list(words.readings)
    _no_holdback_without_replenishment(values, missing, readings)
    _horizon_from_dates(values, missing, invalid)
    for name in _FRACTIONS & invalid.keys():
        value = values.get(name)
        bounds = {type(m).__name__: getattr(m, type(m).__name__.lower()) for m in _metadata(name)}
        if isinstance(value, float) and {"Ge", "Le"} <= bounds.keys():
            invalid[name] = f"must be between {bounds['Ge']:.0%} and {bounds['Le']:.0%}, got {value:.0%}"
    other = category_in_another_form(text, categories or []) if "category" not in values else None
    if other is not None:  # "basic only" when the data says basics
        values["category"] = other[1]
    category = values.get("category")
    if other is None and isinstance(category, str) and not _names_the_scope(text, category):
        values.pop("category")
        readings.append(
            Reading(
                category,
                f"named in a price or markdown phrase: not read as the only category to plan "
                f"(every category is planned; say '{category} only' to plan it alone)",
                "unread",
            )
        )
    readings += _store_groups_named(text, store_groups or {})
    groups = [group for named in (store_groups or {}).values() for group in named]
    unknown = unknown_scopes(text, categories or [], groups)
    if unknown:  # "raincoats only" with no raincoats in the data: refused, not planned as every category
        invalid["category"] = "; ".join(reason for _, reason in unknown)
    return RequestReading(values=values, missing=missing, invalid=invalid), readings


def _horizon_from_dates(values: dict[str, Any], missing: list[str], invalid: dict[str, str]) -> None:
    """A season given as two dates and no length: the horizon is the whole weeks between them."""
    start, end = values.get("season_start_date"), values.get("season_end_date")
    if "forecast_horizon_weeks" in missing and isinstance(start, date) and isinstance(end, date):
        days = (end - start).days
        if days % 7 == 6:
            # "from March 2nd through May 24th": the last day, included — the season ends the day after
            days += 1
            values["season_end_date"] = end + timedelta(days=1)
        # "from March 2nd to May 25th": the horizon is the whole weeks between the two dates
        values["forecast_horizon_weeks"] = round(days / 7)
        missing.remove("forecast_horizon_weeks")
        if days % 7:
            invalid["season_end_date"] = f"must be a whole number of weeks after the start, got {days} days"
        elif not MIN_HORIZON_WEEKS <= days // 7 <= MAX_HORIZON_WEEKS:
            invalid["forecast_horizon_weeks"] = (
                f"must be between {MIN_HORIZON_WEEKS} and {MAX_HORIZON_WEEKS}, got {days // 7}"
            )


def _no_holdback_without_replenishment(
    values: dict[str, Any], missing: list[str], readings: list[Reading]
) -> None:
    """No replenishment and no holdback said: nothing is shipped from the DC after the start, so a holdback
    nobody asked for would be stock that reaches no store. Read as 0 % and said as an assumption;
    "keep 10% at the DC" still holds a reserve (for a re-plan once the first weeks are known)."""
    if "dc_holdback_percentage" not in missing or str(values.get("replenishment_strategy")) != "none":
        return
    values["dc_holdback_percentage"] = 0.0
    missing.remove("dc_holdback_percentage")
    said = next((r.said for r in readings if r.kind == "replenishment"), "no replenishment")
    readings.append(
        Reading(
            said,
            "0% DC holdback",
            "fraction",
            0.0,
            "no holdback was said and nothing is shipped from the DC during the season, so the whole "
            "buy goes to the stores at the start; say 'keep 10% at the DC' to hold a reserve for a re-plan",
        )
    )


# "30% off swimwear", "discount the swimwear", "mark down swimwear" / "swimwear markdowns", "swimwear
# at 30% off", "swimwear on sale": the category is what a price phrase is about, not the plan's scope.
_PRICE_BEFORE = re.compile(
    r"(?:\boff|\bdiscount\w*|\bmark(?:ed|ing)?[- ]?downs?|\bclear(?:ance|ing)?|\bpromot\w*|\breduce|\bcut)"
    r"\s+(?:the\s+|all\s+|our\s+|any\s+)?$",
    re.IGNORECASE,
)
_PRICE_AFTER = re.compile(
    r"^\s*(?:mark(?:ed)?[- ]?downs?|discounts?|promotions?|clearance|prices?|(?:at|by)\s+\d+(?:\.\d+)?\s*%"
    r"|at\s+half|on\s+sale|(?:\d+(?:\.\d+)?\s*%|half)\s+off)",
    re.IGNORECASE,
)


def _names_the_scope(text: str, category: str) -> bool:
    """Whether some mention of ``category`` in ``text`` is outside a price or markdown phrase."""
    for match in re.finditer(rf"(?<![\w-]){re.escape(category)}(?![\w-])", text, re.IGNORECASE):
        before, after = text[: match.start()], text[match.end() :]
        if not (_PRICE_BEFORE.search(before) or _PRICE_AFTER.match(after)):
            return True
    return False


def _store_groups_named(text: str, groups: Mapping[str, Sequence[str]]) -> list[Reading]:
    """A group of stores named in the request ("only the north region"): the plan covers every store of
    the data, and says so rather than leaving the words unread without a word."""
    found = []
    for column, values in groups.items():
        for value in values:
            pattern = rf"(?<![\w-]){re.escape(value)}(?![\w-])"
            match = re.search(pattern, text, re.IGNORECASE) if value.strip() else None
            if match:
                found.append(
                    Reading(
                        match.group(0),
                        f"a store {column} in stores.csv: not read — the plan covers every store of the "
                        f"data (to plan only the {value} stores, give --data a folder whose stores.csv and "
                        "historical_sales.csv hold only them)",
                        "unread",
                    )
                )
    return found


_STRATEGY_LABEL = {
    "none": "no replenishment",
    "weekly": "weekly replenishment",
    "bi-weekly": "bi-weekly replenishment",
}


_LABELS: dict[str, Callable[[SeasonParameters], str]] = {
    "forecast_horizon_weeks": lambda p: f"{p.forecast_horizon_weeks}-week season",
    "season_start_date": lambda p: f"season starts {p.season_start_date}",
    "season_end_date": lambda p: f"season's last day {p.last_day}",
    "replenishment_strategy": lambda p: _STRATEGY_LABEL[p.replenishment_strategy.value],
    "dc_holdback_percentage": lambda p: f"{_share(p.dc_holdback_percentage)} DC holdback",
    "markdown_start_week": lambda p: f"markdowns from season week {p.markdown_start_week}",
    "target_sell_through": lambda p: f"{_share(p.target_sell_through or 0)} target sell-through",
    "category": lambda p: f"only category {p.category} is planned",
}


def _share(value: float) -> str:
    return f"{round(value * 100, 2):g}%"


def _matches(name: str, value: Any, reading: Reading) -> bool:
    if name in _FRACTIONS:
        return (
            reading.kind == "fraction"
            and isinstance(reading.value, float)
            and abs(reading.value - value) < 1e-4
        )
    if name == "forecast_horizon_weeks":
        return reading.kind == "duration" and reading.value == value
    if name == "season_start_date":
        return reading.kind == "date" and reading.value == value
    if name == "season_end_date":  # the day after the season, or its last day as said
        return reading.kind == "date" and reading.value in (value, value - timedelta(days=1))
    if name == "replenishment_strategy":
        return reading.kind == "replenishment" and reading.value == value
    return False


def _mention_of(name: str, value: Any, mentions: list[Mention]) -> str | None:
    for mention in mentions:
        if name in _FRACTIONS and mention.kind == "percent" and abs(mention.value - value) < 1e-6:
            return mention.text
        if (
            name == "forecast_horizon_weeks"
            and mention.kind == "duration"
            and round(mention.value / 7) == value
        ):
            return mention.text
        if (
            name in ("season_start_date", "season_end_date")
            and mention.kind == "date"
            and (
                mention.value == value
                or (name == "season_end_date" and mention.value == value - timedelta(days=1))
            )
        ):
            return mention.text
    return None


def describe_readings(
    parameters: SeasonParameters,
    readings: list[Reading],
    text: str,
    *,
    today: date,
    skip: frozenset[str] = frozenset(),
) -> list[str]:
    """One line per parameter saying which words gave it ("'a quarter' → 25% DC holdback"); the fields
    in ``skip`` (filled otherwise) are left out."""
    mentions = find_mentions(text, today=today)
    lines = []
    for name, label in _LABELS.items():
        value = getattr(parameters, name)
        if (
            value is None
            or name in skip
            or (name == "season_end_date" and not _end_was_said(parameters, readings, mentions))
        ):
            continue
        said = [r for r in readings if _matches(name, value, r)]
        if said:
            for reading in said:
                note = f" (assumed: {reading.assumption})" if reading.assumption else ""
                lines.append(f"'{reading.said.strip()}' → {label(parameters)}{note}")
            continue
        plain = _mention_of(name, value, mentions) or (
            _word_in(text, value) or _other_form_in(text, value)
            if name == "category" and isinstance(value, str)
            else None
        )
        lines.append(f"'{plain}' → {label(parameters)}" if plain else label(parameters))
    lines += [f"'{r.said.strip()}' → {r.means}" for r in readings if r.kind in ("depth", "unread")]
    return lines


def _other_form_in(text: str, category: str) -> str | None:
    found = category_in_another_form(text, [category])
    return found[0] if found else None


def _word_in(text: str, word: str) -> str | None:
    match = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE)
    return match.group(0) if match else None


def _end_was_said(parameters: SeasonParameters, readings: list[Reading], mentions: list[Mention]) -> bool:
    ends = {parameters.end_date, parameters.last_day}
    return any(r.kind == "date" and r.value in ends for r in readings) or any(
        m.kind == "date" and m.value in ends for m in mentions
    )
