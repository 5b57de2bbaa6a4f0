"""Deterministic extraction of a pydantic model's fields from plain words — the `rules` skill.

When no model is configured (or to check one), agents fill structured inputs with these rules:

1. find every *mention* in the text: dates ("March 2nd 2026", "2026-03-02", "2 March 2026"), durations
   ("12 weeks", "six months", "half a year", "a 12-week season"), percentages ("10%", "ten percent"),
   plain numbers ("0.1", "12", "twenty-six") and the phrases of enumerated values;
2. score each (field, mention) pair by how close the mention is to one of the field's keywords;
3. assign greedily, best score first, each mention to at most one field and each field at most one
   mention; a required field with no keyword nearby takes a mention of its kind nobody else claimed;
4. convert (a percentage into a fraction, months into weeks, …) and validate each value against the
   field's type and bounds, then the whole model.

What a field is and where it tends to be written is said by :class:`FieldRule`, given either on the
model, ``Field(json_schema_extra={"rules": {"kind": "fraction", "keywords": ["holdback"]}})``, or at
call time through ``hints={"field": FieldRule(...)}`` (which wins). Without a rule the kind is inferred
from the annotation: ``date`` → date, ``Literal``/``Enum`` → enum, ``int``/``float`` → number.
"""

from __future__ import annotations

import calendar
import enum
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

__all__ = ["FieldRule", "Kind", "Mention", "RulesResult", "extract_with_rules", "find_mentions"]

Kind = Literal["date", "duration", "fraction", "number", "enum", "word"]
"""What a field holds. ``fraction``: a share of 1 written as a percentage ("10%" → 0.1)."""

Unit = Literal["days", "weeks", "months", "years"]

_DAYS_PER_UNIT: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}
_KEYWORD_AFTER_PENALTY = 4  # a keyword before its value ("from March 2nd") is likelier than after it
_UNTYPED_DURATION = 2000.0  # ranks after every typed mention, even one with no keyword nearby


@dataclass(frozen=True)
class FieldRule:
    """How a field is written in plain words.

    ``keywords``: words near which its value is written ("holdback", "at the DC"); ``window``: how
    many characters away a keyword still counts; ``synonyms``: for an enum, phrases per value
    ("none": ["no replenishment"]); ``choices``: for an enum over plain strings, the allowed values;
    ``unit``: for a duration, the unit the field is counted in.
    """

    kind: Kind | None = None
    keywords: tuple[str, ...] = ()
    window: int = 40
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    unit: Unit = "weeks"

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> FieldRule:
        return cls(
            kind=raw.get("kind"),
            keywords=tuple(raw.get("keywords", ())),
            window=int(raw.get("window", 40)),
            synonyms={str(k): tuple(v) for k, v in dict(raw.get("synonyms", {})).items()},
            choices=tuple(raw.get("choices", ())),
            unit=raw.get("unit", "weeks"),
        )


@dataclass(frozen=True)
class RulesResult:
    """What the rules found: converted ``values``, required fields not found, and fields whose value is invalid."""

    values: dict[str, Any]
    missing: list[str]
    invalid: dict[str, str]
    produced_by: str = "rules"

    @property
    def ok(self) -> bool:
        return not self.missing and not self.invalid


@dataclass(frozen=True)
class Mention:
    """A value found in the text: its kind, value and where it was written."""

    kind: Literal["date", "duration", "percent", "number", "phrase"]
    value: Any
    start: int
    end: int
    text: str


# -- numbers written in words -----------------------------------------------------------------------

_UNITS_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS_WORDS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_NUMBER_WORD = (
    r"(?:(?:"
    + "|".join(_TENS_WORDS)
    + r")(?:[- ](?:"
    + "|".join(k for k in _UNITS_WORDS if k != "zero")
    + r"))?"
    r"|" + "|".join(sorted(_UNITS_WORDS, key=len, reverse=True)) + r"|a hundred|one hundred|a|an)"
)
_NUMBER = r"(?:\d+(?:[.,]\d+)?|\.\d+|" + _NUMBER_WORD + r")"


def _number_value(raw: str) -> float:
    text = raw.strip().lower()
    if text in {"a", "an"}:
        return 1.0
    if text in {"a hundred", "one hundred"}:
        return 100.0
    if re.fullmatch(r"\d+,\d+", text):
        text = text.replace(",", ".") if len(text.split(",")[1]) != 3 else text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        pass
    total = 0.0
    for part in re.split(r"[- ]", text):
        total += _TENS_WORDS.get(part, 0) + _UNITS_WORDS.get(part, 0)
    return total


# -- finding mentions --------------------------------------------------------------------------------

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_DATE_PATTERNS = (
    re.compile(r"\b(?P<year>\d{4})-(?P<mnum>\d{1,2})-(?P<day>\d{1,2})\b"),
    re.compile(r"\b" + _MONTH + r"\s+(?:the\s+)?" + _DAY + r"(?:\s*,?\s*" + _YEAR + r")?\b", re.IGNORECASE),
    re.compile(
        r"\b(?:the\s+)?" + _DAY + r"\s+(?:of\s+)?" + _MONTH + r"(?:\s*,?\s*" + _YEAR + r")?\b", re.IGNORECASE
    ),
)
_DURATION = re.compile(
    r"\b(?P<half>half an? |half of an? )?(?P<n>" + _NUMBER + r")?\s*[- ]?\s*(?P<half2>and a half )?"
    r"(?P<unit>days?|weeks?|wks?|months?|mos?|years?|yrs?|quarters?)\b(?P<ly>ly)?",
    re.IGNORECASE,
)
_HALF_YEAR = re.compile(r"\b(?:half an? year|half-year|half year)\b", re.IGNORECASE)
_PERCENT = re.compile(r"(?P<n>" + _NUMBER + r")\s*(?:%|\s(?:per\s?cent|pct)\b)", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(
    r"(?<![\w.])(?P<n>\d+(?:\.\d+)?|\.\d+|" + _NUMBER_WORD + r")(?:st|nd|rd|th)?(?![\w%])"
)


def _parse_date(match: re.Match[str], today: date) -> date | None:
    parts = match.groupdict()
    month = int(parts["mnum"]) if parts.get("mnum") else _MONTHS[parts["month"].lower().rstrip(".")]
    day = int(parts["day"])
    year = int(parts["year"]) if parts.get("year") else None
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(today.year, month, day)
        # a date without a year is the next one to come
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return any(start < t_end and t_start < end for t_start, t_end in taken)


def _duration_days(match: re.Match[str]) -> float | None:
    unit = match["unit"].lower()
    if match["ly"] and not match["n"]:
        return None  # "weekly", "monthly": a frequency, not a duration
    if not match["n"] and not match["half"]:
        return None
    amount = _number_value(match["n"]) if match["n"] else 1.0
    if match["half"]:
        amount *= 0.5
    if match["half2"]:
        amount += 0.5
    if unit.startswith("quarter"):
        return amount * 365.25 / 4
    key = {"d": "days", "w": "weeks", "m": "months", "y": "years"}[unit[0]]
    return amount * _DAYS_PER_UNIT[key]


def find_mentions(text: str, *, today: date | None = None) -> list[Mention]:
    """Every date, duration, percentage and plain number in ``text``, without overlaps, in text order.

    A date without a year is the next such date on or after ``today`` (default: the real today).
    """
    today = today or date.today()
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []

    def add(kind: Any, value: Any, match: re.Match[str]) -> None:
        start, end = match.span()
        if value is None or _overlaps(start, end, taken):
            return
        taken.append((start, end))
        found.append(Mention(kind, value, start, end, match.group(0).strip()))

    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            add("date", _parse_date(match, today), match)
    for match in _HALF_YEAR.finditer(text):
        add("duration", _DAYS_PER_UNIT["years"] / 2, match)
    for match in _DURATION.finditer(text):
        add("duration", _duration_days(match), match)
    for match in _PERCENT.finditer(text):
        add("percent", _number_value(match["n"]) / 100, match)
    for match in _PLAIN_NUMBER.finditer(text):
        if match["n"].lower() in {"a", "an"}:
            continue
        add("number", _number_value(match["n"]), match)
    return sorted(found, key=lambda m: m.start)


# -- what each field is --------------------------------------------------------------------------------


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
    if origin is typing.Annotated:
        return _strip_optional(typing.get_args(annotation)[0])
    return annotation


def _enum_values(annotation: Any) -> tuple[str, ...]:
    base = _strip_optional(annotation)
    if typing.get_origin(base) is Literal:
        return tuple(str(v) for v in typing.get_args(base))
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return tuple(str(member.value) for member in base)
    return ()


def _rule_for(name: str, info: FieldInfo, override: FieldRule | Mapping[str, Any] | None) -> FieldRule:
    if isinstance(override, FieldRule):
        return override
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    declared = extra.get("rules")
    raw: dict[str, Any] = dict(declared) if isinstance(declared, dict) else {}
    if override is not None:
        raw.update(override)
    rule = FieldRule.from_mapping(raw)
    if rule.kind is not None:
        return rule
    base = _strip_optional(info.annotation)
    kind: Kind
    if base is date:
        kind = "date"
    elif _enum_values(info.annotation) or rule.choices:
        kind = "enum"
    elif base in (int, float):
        kind = "number"
    else:
        kind = "word"
    return replace(rule, kind=kind)


def _phrases(rule: FieldRule, annotation: Any) -> dict[str, tuple[str, ...]]:
    """Every phrase that names an enum value, the value's own spelling variants included."""
    values = rule.choices or _enum_values(annotation)
    phrases: dict[str, tuple[str, ...]] = {}
    for value in values:
        spelled = {value, value.replace("-", " "), value.replace("-", ""), value.replace("_", " ")}
        phrases[value] = tuple(sorted(spelled | set(rule.synonyms.get(value, ())), key=len, reverse=True))
    return phrases


def _phrase_mentions(text: str, phrases: Mapping[str, Iterable[str]]) -> list[Mention]:
    """Where each value's phrases occur; a longer phrase hides the shorter ones inside it."""
    candidates = []
    for value, options in phrases.items():
        for phrase in options:
            pattern = re.compile(
                r"(?<!\w)" + re.escape(phrase).replace(r"\ ", r"[\s-]+") + r"(?!\w)", re.IGNORECASE
            )
            candidates += [
                Mention("phrase", value, m.start(), m.end(), m.group(0)) for m in pattern.finditer(text)
            ]
    candidates.sort(key=lambda m: (-(m.end - m.start), m.start))
    kept: list[Mention] = []
    for mention in candidates:
        if not _overlaps(mention.start, mention.end, [(k.start, k.end) for k in kept]):
            kept.append(mention)
    return sorted(kept, key=lambda m: m.start)


def _word_mentions(text: str, rule: FieldRule) -> list[Mention]:
    """For a free word: the word right after a keyword ("category: outerwear") or right before it."""
    found = []
    for keyword in rule.keywords:
        k = re.escape(keyword)
        after = re.compile(
            r"(?<!\w)" + k + r"\s*(?::|=|is)?\s*(?:the\s+)?(?P<w>[A-Za-z][\w-]*)", re.IGNORECASE
        )
        before = re.compile(r"(?P<w>[A-Za-z][\w-]*)\s+" + k + r"(?!\w)", re.IGNORECASE)
        for pattern in (after, before):
            for m in pattern.finditer(text):
                if m["w"].lower() not in {"the", "a", "an", "this", "that", "of", "for", "in", "per", "by"}:
                    found.append(Mention("phrase", m["w"], m.start("w"), m.end("w"), m["w"]))
    return found


# -- scoring and conversion ----------------------------------------------------------------------------


def _keyword_distance(text: str, mention: Mention, rule: FieldRule) -> int | None:
    best: int | None = None
    lowered = text.lower()
    for keyword in rule.keywords:
        # a keyword also matches its plural ("markdown" finds "markdowns")
        for m in re.finditer(r"(?<!\w)" + re.escape(keyword.lower()) + r"(?:s|es)?(?!\w)", lowered):
            if m.end() <= mention.start:
                distance = mention.start - m.end()
            elif m.start() >= mention.end:
                distance = m.start() - mention.end + _KEYWORD_AFTER_PENALTY
            else:
                distance = 0
            if distance <= rule.window and (best is None or distance < best):
                best = distance
    return best


_COMPATIBLE: dict[str, frozenset[str]] = {
    "date": frozenset({"date"}),
    "duration": frozenset({"duration", "number"}),
    "fraction": frozenset({"percent", "number"}),
    "number": frozenset({"number", "percent"}),
    "enum": frozenset({"phrase"}),
    "word": frozenset({"phrase"}),
}


def _convert(kind: Kind, rule: FieldRule, mention: Mention) -> Any:
    value = mention.value
    if kind == "duration":
        if mention.kind == "duration":
            return round(float(value) / _DAYS_PER_UNIT[rule.unit], 6)
        return value
    if kind == "fraction" and mention.kind == "number":
        # "holdback 45" means 45 %, "holdback 0.45" means 0.45
        return value / 100 if value > 1 else value
    if kind == "number" and mention.kind == "percent":
        return value * 100
    return value


def _tidy_number(value: Any, annotation: Any) -> Any:
    if isinstance(value, float) and _strip_optional(annotation) is int and float(value).is_integer():
        return int(value)
    if isinstance(value, float) and _strip_optional(annotation) is int:
        return round(value)
    return value


def _bound_message(info: FieldInfo, value: Any, fallback: str) -> str:
    lower: Any = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
    lower = lower if lower is not None else next((m.gt for m in info.metadata if isinstance(m, Gt)), None)
    upper: Any = next((m.le for m in info.metadata if isinstance(m, Le)), None)
    upper = upper if upper is not None else next((m.lt for m in info.metadata if isinstance(m, Lt)), None)
    if lower is not None and upper is not None:
        return f"must be between {lower} and {upper}, got {value}"
    return f"{fallback}, got {value!r}"


def _validate_fields(model: type[BaseModel], values: dict[str, Any]) -> dict[str, str]:
    invalid: dict[str, str] = {}
    for name, value in values.items():
        info = model.model_fields[name]
        try:
            field_type: Any = typing.Annotated[info.annotation, info]
            TypeAdapter(field_type).validate_python(value)
        except ValidationError as error:
            first = error.errors()[0]
            bounded = first["type"] in {"less_than_equal", "greater_than_equal", "less_than", "greater_than"}
            invalid[name] = (
                _bound_message(info, value, first["msg"]) if bounded else f"{first['msg']}, got {value!r}"
            )
    return invalid


_NO_KEYWORD = 1000.0  # ranks after every mention near a keyword


def _score(text: str, rule: FieldRule, required: bool, mention: Mention) -> float | None:
    """How well ``mention`` fits field ``name`` (lower is better); ``None`` when it does not fit at all."""
    kind = rule.kind or "word"
    distance = _keyword_distance(text, mention, rule)
    if distance is not None and kind == "duration" and mention.kind == "number":
        # a bare number is a duration only when no written duration ("12 weeks") is left
        return _UNTYPED_DURATION + distance
    if distance is not None:
        return float(distance)
    if kind == "enum" or (required and mention.kind in _COMPATIBLE[kind] - {"number"}):
        # no keyword nearby: an enum phrase names its field by itself; a typed mention may still
        # fill a required field no better mention claims
        return _NO_KEYWORD + mention.start / 1000
    return None


def _assign(
    text: str, model: type[BaseModel], rules: dict[str, FieldRule], today: date | None
) -> dict[str, Any]:
    """Best-first assignment of mentions to fields: each mention and each field used at most once."""
    phrases = {
        name: _phrase_mentions(text, _phrases(rule, model.model_fields[name].annotation))
        for name, rule in rules.items()
        if rule.kind == "enum"
    }
    # a value inside an enum phrase ("every two weeks") belongs to that phrase, not to another field
    claimed = [(m.start, m.end) for found in phrases.values() for m in found]
    mentions = [m for m in find_mentions(text, today=today) if not _overlaps(m.start, m.end, claimed)]
    pairs: list[tuple[float, int, str, Mention]] = []
    for order, (name, rule) in enumerate(rules.items()):
        kind = rule.kind or "word"
        if kind == "enum":
            pool = phrases[name]
        elif kind == "word":
            pool = _word_mentions(text, rule)
        else:
            pool = [m for m in mentions if m.kind in _COMPATIBLE[kind]]
        required = model.model_fields[name].is_required()
        for mention in pool:
            score = _score(text, rule, required, mention)
            if score is not None:
                pairs.append((score, order, name, mention))
    pairs.sort(key=lambda p: (p[0], p[1], p[3].start))
    values: dict[str, Any] = {}
    used: set[tuple[int, int]] = set()
    for _, _, name, mention in pairs:
        if name in values or (mention.start, mention.end) in used:
            continue
        converted = _convert(rules[name].kind or "word", rules[name], mention)
        values[name] = _tidy_number(converted, model.model_fields[name].annotation)
        used.add((mention.start, mention.end))
    return {n: values[n] for n in model.model_fields if n in values}


def extract_with_rules(
    text: str,
    model: type[BaseModel],
    *,
    hints: Mapping[str, FieldRule | Mapping[str, Any]] | None = None,
    today: date | None = None,
) -> RulesResult:
    """Fill ``model``'s fields from ``text`` with deterministic rules; see the module docstring.

    ``values`` holds what was found, converted to each field's type where possible (invalid values
    included, so a caller can show them); ``missing`` the required fields not found; ``invalid`` a
    message per field that fails its type or bounds (and, when every field is fine, per error of the
    model's own validators, under the field they name or ``"__model__"``).
    """
    hints = hints or {}
    rules = {name: _rule_for(name, info, hints.get(name)) for name, info in model.model_fields.items()}
    values = _assign(text, model, rules, today)
    missing = [n for n, info in model.model_fields.items() if info.is_required() and n not in values]
    invalid = _validate_fields(model, values)
    if not missing and not invalid:
        try:
            model.model_validate(values)
        except ValidationError as error:
            for e in error.errors():
                key = str(e["loc"][0]) if e["loc"] else "__model__"
                invalid[key] = e["msg"].removeprefix("Value error, ")
    return RulesResult(values=values, missing=missing, invalid=invalid)
