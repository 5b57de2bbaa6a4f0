"""Dates read from an idea: a pair that is ordered ("check-in and check-out dates", "a start date and an end
date"), and one date after another ("a due date after the borrowed date", "a match ends after it starts").
A pair said twice ("… and the end date must be after the start date") is one pair, ordered once.
"""

from __future__ import annotations

from baton.workflows.builder import _vocabulary as vocab
from baton.workflows.builder._draft import Clause, Draft
from baton.workflows.builder._reading import DATE_HEADS, nearest
from baton.workflows.builder._words import STOP

_PAIR_WORDS = frozenset({"and", "dates", "date", "times", "time", "a", "an"})


def read_dates(clause: Clause, draft: Draft) -> None:
    """ "check-in and check-out dates", "a start and an end": two dates, the second after the first."""
    words = clause.words
    pairs = [
        ("check_in", "check_out", "date"),
        ("start", "end", "datetime"),
        ("starts", "ends", "datetime"),
        ("arrival", "departure", "date"),
        ("departure", "arrival", "datetime"),
        ("pickup", "return", "datetime"),
        ("from", "until", "date"),
    ]
    for first, second, kind in pairs:
        if first in words and second in words and words.index(first) < words.index(second):
            i, j = words.index(first), words.index(second)
            if first == "from" and not (j - i <= 3):
                continue
            lemmas = [w[:-1] if w.endswith("s") and w[:-1] in vocab.LINKING_VERBS else w for w in words]
            linked = [vocab.LINKING_VERBS[w] for w in lemmas if vocab.LINKING_VERBS.get(w) in draft.entities]
            entity = linked[0] if linked else nearest(clause, draft, i)
            if entity is None:
                continue
            names = (
                (first, second)
                if first.startswith("check") or (kind == "date" and first != "from")
                else ("starts_at", "ends_at")
            )
            dated = words[i + 1 : i + 2] == ["date"] or words[j + 1 : j + 2] in (["date"], ["dates"])
            if first == "from" or (first == "start" and dated):
                names = ("starts_on", "ends_on")  # "a start date and an end date": dates, not times
            if kind == "date" and first in ("arrival",):
                names = ("arrives_on", "departs_on")
            if first == "departure":  # "a departure time and an arrival time": a flight's
                names = ("departs_on", "arrives_on") if dated else ("departs_at", "arrives_at")
            for name in names:
                draft.set_field(entity, name, type=kind if not name.endswith("_on") else "date")
            _drop_usual_dates(draft, entity, names)
            rule = {"kind": "ordering", "entity": entity, "before": names[0], "after": names[1]}
            if rule not in draft.rules:
                draft.rules.append(rule)
            clause.use(
                i,
                j,
                *[k for k in range(i, min(len(words), j + 2)) if words[k] in _PAIR_WORDS],
            )
            end = j + 1 if words[j + 1 : j + 2] in (["date"], ["dates"], ["time"], ["times"]) else j
            draft.said.append((clause.phrase(i, end), f"rule:ordering:{entity}"))


def _drop_usual_dates(draft: Draft, entity: str, names: tuple[str, str]) -> None:
    """ "trips have a start date and an end date": the vocabulary's started_at of a trip gives way."""
    stems = {"start", "starts", "started", "end", "ends", "ended"}
    kept = [
        f
        for f in draft.entities[entity]
        if f["name"] in names or f["type"] not in ("date", "datetime") or f["name"].split("_")[0] not in stems
    ]
    dropped = [f["name"] for f in draft.entities[entity] if f not in kept]
    if dropped:
        draft.entities[entity] = kept
        draft.assumptions.append(
            f"{entity}: the idea's {' and '.join(names)} replace the usual {', '.join(dropped)}"
        )


def _dated_owner(draft: Draft, words: list[str]) -> str | None:
    """ "the arrival time is after the departure time": the entity whose date the words name."""
    for k in range(1, len(words)):
        if words[k] in DATE_HEADS:
            for entity, fields in draft.entities.items():
                dated = [f["name"] for f in fields if f["type"] in ("date", "datetime")]
                if any(_same_date(n, words[k - 1]) for n in dated):
                    return entity
    return None


def _same_date(name: str, qualifier: str) -> bool:
    """ "the end date" names ends_on, end_on or ended_at."""
    stem = name.split("_")[0]
    qualifier = {"arrival": "arrive", "departure": "depart"}.get(qualifier, qualifier)
    return stem in (qualifier, f"{qualifier}s", f"{qualifier}ed", f"{qualifier}d")


def _date_field(draft: Draft, entity: str, qualifier: str, head: str) -> str:
    """The field "the due date" of a loan names: its due_on when it has one, the loan's own date for
    "the borrowed date" (a loan is what borrowing makes), else a new ``<qualifier>_on``."""
    kind = "datetime" if head == "time" else "date"
    dated: list[str] = [f["name"] for f in draft.entities[entity] if f["type"] in ("date", "datetime")]
    same = [n for n in dated if _same_date(n, qualifier)]
    stem = qualifier[:-2] if qualifier.endswith("ed") else qualifier
    made = vocab.LINKING_VERBS.get(stem) == entity or vocab.LINKING_VERBS.get(stem + "e") == entity
    if same:
        return same[0]
    if made and dated:
        return dated[0]
    name = f"{qualifier}_{'at' if kind == 'datetime' else 'on'}"
    draft.set_field(entity, name, type=kind)
    return name


def read_date_order(clause: Clause, draft: Draft) -> None:
    """ "a due date after the borrowed date", "the end date is before the start date", "a match ends after
    it starts": two dates of one entity, one after the other."""
    words = clause.words
    for k, word in enumerate(words):
        if word not in ("after", "before") or k < 2:
            continue
        start = max(0, k - 3)
        entity = nearest(clause, draft, k) or _dated_owner(draft, words[max(0, k - 3) : k])
        if entity is None:
            continue
        if words[k - 1] in ("ends", "finishes") and any(
            w in ("starts", "begins") for w in words[k + 1 : k + 4]
        ):
            dated = [f["name"] for f in draft.entities[entity] if f["type"] in ("date", "datetime")]
            first = next((n for n in dated if _same_date(n, "start")), "starts_at")
            second = next((n for n in dated if _same_date(n, "end")), "ends_at")
            if first == "starts_at" or second == "ends_at":
                draft.set_field(entity, first, type="datetime")
                draft.set_field(entity, second, type="datetime")
            end = next(m for m in range(k + 1, len(words)) if words[m] in ("starts", "begins"))
        else:
            left = next((m for m in (k - 1, k - 2, k - 3) if m > 0 and words[m] in DATE_HEADS), None)
            right = next((m for m in range(k + 2, min(len(words), k + 5)) if words[m] in DATE_HEADS), None)
            if left is None or right is None or words[right - 1] in STOP or words[left - 1] in STOP:
                continue
            first_word = left - 1
            later = _date_field(draft, entity, words[left - 1], words[left])
            earlier = _date_field(draft, entity, words[right - 1], words[right])
            first, second = (earlier, later) if word == "after" else (later, earlier)
            end = right
            start = min(start, first_word)
        if first == second:
            continue
        rule = {"kind": "ordering", "entity": entity, "before": first, "after": second}
        if rule not in draft.rules:
            draft.rules.append(rule)
        clause.use(*range(start, end + 1))
        draft.said.append((clause.phrase(start, end), f"rule:ordering:{entity}"))
