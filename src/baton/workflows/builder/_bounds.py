"""Small readers of a phrase's shape: the bounds it states ("between 1 and 5", "more than 0"), the words a
range's requirement quotes, a participle closing a field's name ("calories burned") and where a list of fields
reads on after its choices.
"""

from __future__ import annotations

import re

from baton.workflows.builder._naming import singular
from baton.workflows.builder._words import STOP, UNIT_WORDS

NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")

UNITS = frozenset(
    {"minutes", "hours", "days", "seconds", "weeks", "grams", "kilograms", "kg", "meters", "km", "cents"}
)


_STRICT = {"more": "low", "greater": "low", "above": "low", "less": "high", "fewer": "high", "below": "high"}


def bound_at(words: list[str], i: int) -> tuple[float | None, float | None, tuple[int, int], bool]:
    """The bounds a phrase at ``i`` states: (low, high, span, strict) — "from 1 to 5", "at least 0", "more
    than 0" (strict), "below 100" (strict); (None, None, …) when none."""
    word = words[i]
    ranged = word in ("from", "between") and i + 3 < len(words) and words[i + 2] in ("to", "and")
    if ranged and NUMBER.match(words[i + 1]) and NUMBER.match(words[i + 3]):
        return float(words[i + 1]), float(words[i + 3]), (i, i + 3), False
    if (
        word in ("most", "least")
        and 0 < i < len(words) - 1
        and words[i - 1] == "at"
        and NUMBER.match(words[i + 1])
    ):
        value = float(words[i + 1])
        return (
            (None, value, (i - 1, i + 1), False) if word == "most" else (value, None, (i - 1, i + 1), False)
        )
    than = words[i + 1 : i + 2] == ["than"] and i + 2 < len(words) and NUMBER.match(words[i + 2])
    bare = word in ("above", "below") and i + 1 < len(words) and NUMBER.match(words[i + 1])
    if word in _STRICT and (than or bare):
        value = float(words[i + 2] if than else words[i + 1])
        span = (i, i + 2 if than else i + 1)
        return (value, None, span, True) if _STRICT[word] == "low" else (None, value, span, True)
    return None, None, (i, i), False


def strict_bounds(kind: str, low: float | None, high: float | None) -> tuple[float | None, float | None]:
    """ "more than 0" of a whole number is at least 1, of money at least 0.01; a float keeps the bound."""
    step = 1.0 if kind == "integer" else 0.01 if kind == "decimal" else 0.0
    return (None if low is None else low + step), (None if high is None else high - step)


def range_phrase(words: list[str], name: str, span: tuple[int, int]) -> tuple[int, int]:
    """ "a price between 100 and 5000 euros": the field's words (and its article) before the bound, the unit
    after it; never the end of the field before ("a model name, a price …")."""
    start = span[0]
    named = set(name.split("_")) | {singular(p) for p in name.split("_")}
    while (
        start > 0
        and span[0] - start < 3
        and (words[start - 1] in named or singular(words[start - 1]) in named)
    ):
        start -= 1
    if start == span[0]:
        start = max(0, span[0] - 3)  # "rate books from 1 to 5": the words before, as before
        while start < span[0] and words[start] in ("and", "a", "an", "the", "with", "or"):
            start += 1
    elif start > 0 and words[start - 1] in ("a", "an", "the", "its", "their"):
        start -= 1
    end = span[1] + (span[1] + 1 < len(words) and words[span[1] + 1] in UNIT_WORDS | UNITS)
    return start, end


def participle(words: list[str], k: int) -> bool:
    """ "a duration and calories burned": a past participle closing a field's words is part of its name."""
    if k + 1 >= len(words) or not words[k + 1].endswith("ed") or not words[k + 1].isalpha():
        return False
    closes = k + 2 >= len(words) or words[k + 2] in ("and", "or", "a", "an", "per", "in")
    return closes and len(words[k + 1]) > 4 and words[k + 1] not in STOP and words[k] not in STOP


def after_choices(words: list[str], j: int) -> int:
    """ "a priority one of low, medium or high and a due date": read_choices reads the choices; where the list
    reads on after them (0 when it does not)."""
    if words[j : j + 2] != ["one", "of"] or "or" not in words[j:]:
        return 0
    last = words.index("or", j) + 1
    return last + 2 if last + 1 < len(words) and words[last + 1] == "and" else 0
