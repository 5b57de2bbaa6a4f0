"""A scope the request names that the data does not have: "raincoats only" when the history holds basics,
outerwear and swimwear is refused, never planned as every category without a word.

A scope is a word after "only", "just", "nothing but" or "category", after "for" at the end of a clause, before
"only", "alone" or "category", or opening the request before a colon ("raincoats only", "just the raincoats",
"for raincoats", "the raincoats category", "raincoats: 12 weeks from …"). The word is
a scope the data lacks when it is none of the data's categories (singular or plural), none of its store
groups (those are said by :mod:`.parameters`), and no word the rules read for something else ("only
weekly", "for 12 weeks", "just 10% at the DC", "for the summer").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from functools import cache

__all__ = ["category_in_another_form", "unknown_scopes"]

_ARTICLE = r"(?:(?:the|our|all|any|a|an)\s+)?"
_WORD = r"([A-Za-z][A-Za-z&'-]*)"
_SCOPE_BEFORE = re.compile(
    rf"\b(?:only|just|nothing\s+but|category|categories)\s+(?:for\s+)?{_ARTICLE}{_WORD}", re.IGNORECASE
)
# "for X" only when X ends its clause ("for raincoats", "for raincoats only"): "for Acme's spring range"
# names no scope the rules could check
_SCOPE_FOR = re.compile(
    rf"\bfor\s+{_ARTICLE}{_WORD}(?=\s*(?:$|[,.;:!?)])|\s+(?:only|alone)\b)", re.IGNORECASE
)
_SCOPE_LEAD = re.compile(rf"^\s*{_WORD}\s*:")  # "raincoats: 12 weeks from …"
_SCOPE_AFTER = re.compile(rf"{_WORD}\s+(?:only|alone|category)\b", re.IGNORECASE)

# Words a scope phrase may hold that name no category: time, replenishment, the plan, the stores.
_WORDS = (
    "a an the our all any every each this that these those one two three four five six seven eight nine "
    "ten eleven twelve thirteen fourteen fifteen sixteen twenty thirty forty fifty half quarter third "
    "fifth tenth week weeks weekly month months monthly day days daily year years quarter quarters "
    "fortnight fortnightly season seasons seasonal spring summer autumn fall winter holiday holidays "
    "christmas easter next last first second this coming following january february march april may june "
    "july august september october november december jan feb mar apr jun jul aug sep sept oct nov dec "
    "monday tuesday wednesday thursday friday saturday sunday store stores shop shops location locations "
    "region regions dc dcs warehouse depot centre center plan plans planning planned forecast category "
    "categories product products item items line lines replenishment replenish restock restocking reorder "
    "reorders top up markdown markdowns discount discounts sale sales clearance price prices pricing once "
    "twice now then after before during when if more less than up down start starting from until through "
    "to in on at by of with without no note notes request brief draft it them us me you we i everything "
    "anything nothing sell sold "
)
_NOT_A_CATEGORY = frozenset(_WORDS.split())


@cache
def _rule_words() -> frozenset[str]:
    """Every word the season's field rules read (keywords and synonyms of each parameter)."""
    from baton.workflows.season.parameters import SeasonParameters

    words: set[str] = set()
    for spec in SeasonParameters.model_fields.values():
        extra = spec.json_schema_extra
        rules = extra.get("rules") if isinstance(extra, dict) else None
        if not isinstance(rules, dict):
            continue
        keywords = rules.get("keywords")
        phrases = [str(k) for k in keywords] if isinstance(keywords, list) else []
        synonyms = rules.get("synonyms")
        if isinstance(synonyms, dict):
            phrases += [str(k) for k in synonyms]
            phrases += [str(p) for named in synonyms.values() if isinstance(named, list) for p in named]
        words |= {w for phrase in phrases for w in re.findall(r"[a-z]+", phrase.lower())}
    return frozenset(words)


def _forms(word: str) -> set[str]:
    word = word.lower()
    forms = {word, word + "s", word + "es"}
    if word.endswith("s"):
        forms.add(word[:-1])
    if word.endswith("es"):
        forms.add(word[:-2])
    return forms


def unknown_scopes(
    text: str, categories: Sequence[str], store_groups: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """The scope words of ``text`` that are no category of the data, each with the reason to give
    ("'raincoats' is not a category of the data (basics, outerwear, swimwear)"). Empty when
    ``categories`` is (the data could not be read: checking it is another step's job)."""
    if not categories:
        return []
    known = {c.lower() for c in categories}
    groups = {g.lower() for g in store_groups}
    ignore = _NOT_A_CATEGORY | _rule_words()
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for word in _scope_words(text):
        lower = word.lower()
        if not word or lower in seen or lower in ignore or _forms(word) & (known | groups):
            continue
        seen.add(lower)
        listed = ", ".join(sorted(categories))
        close = difflib.get_close_matches(lower, sorted(known), n=1, cutoff=0.75)
        guess = f"; did you mean {close[0]}?" if close else ""
        found.append((word, f"'{word}' is not a category of the data ({listed}){guess}"))
    return found


def _scope_words(text: str) -> list[str]:
    return [
        match.group(1).strip("'-")
        for pattern in (_SCOPE_BEFORE, _SCOPE_FOR, _SCOPE_AFTER, _SCOPE_LEAD)
        for match in pattern.finditer(text)
    ]


def category_in_another_form(text: str, categories: Sequence[str]) -> tuple[str, str] | None:
    """A scope naming a category in its other number ("basic only" for the data's basics): the words
    said and the category, when exactly one category has that form."""
    known = {c.lower(): c for c in categories}
    for word in _scope_words(text):
        lower = word.lower()
        if lower in known:
            return None  # the category itself is named: the rules read it
        matches = sorted(known[form] for form in _forms(word) if form in known)
        if len(matches) == 1:
            return word, matches[0]
    return None
