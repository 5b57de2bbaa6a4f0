"""The choices of a field read from an idea: "a status (draft, published or archived)", "priority: low,
normal or urgent", "a size that is one of s, m or l", "paid either by cash or card" — exactly the values
listed, nothing added; a status's values move along the order they were listed in (see ``status_flow``).
"""

from __future__ import annotations

import re

from baton.workflows.builder._draft import Clause, Draft, article, enum_field
from baton.workflows.builder._naming import singular
from baton.workflows.builder._reading import NUMBER, nearest, plural_words, qualifies
from baton.workflows.builder._words import EXIT_CHOICES, FIELD_WORDS, FINAL_CHOICES, STOP

_CHOICE_NAMES = r"(status|priority|state|stage|severity|level|size|kind)"
_KNOWN_CHOICES = re.compile(
    rf"\b{_CHOICE_NAMES}\s+(?:of\s+|is\s+|can\s+be\s+|one\s+of\s+)?"
    r"([a-z_]+(?:\s+[a-z_]+)?(?:\s*,\s*[a-z_]+(?:\s+[a-z_]+)?)+,?\s+(?:or|and)\s+[a-z_]+(?:\s+[a-z_]+)?)"
)
# "a size one of small, medium or large", "a payment method that is either cash or card"
_LISTED_CHOICES = re.compile(
    r"\b([a-z_]+),?\s+(?:(?:that\s+|which\s+)?(?:is|are|can\s+be|must\s+be)\s+)?(?:one\s+of|either)\s+"
    r"([a-z_]+(?:\s*,\s*[a-z_]+)*,?\s+(?:or|and)\s+[a-z_]+)"
)


def status_flow(choices: list[str]) -> dict[str, list[str]]:
    """The moves between listed status values: each to the next, and any unfinished one to an exit
    ("cancelled", "rejected"); exits and final values ("completed") move nowhere."""
    main = [c for c in choices if c not in EXIT_CHOICES]
    exits = [c for c in choices if c in EXIT_CHOICES]
    flow: dict[str, list[str]] = {}
    for k, value in enumerate(main):
        after = [main[k + 1]] if k + 1 < len(main) else []
        final = not after and value in FINAL_CHOICES  # "shipped" last is final; "paid" then "shipped" is not
        flow[value] = after + ([] if final else exits)
    for value in exits:
        flow[value] = []
    return {c: flow[c] for c in choices}


def read_choices(clause: Clause, draft: Draft) -> None:
    """ "a status (draft, published or archived)", "priority: low, normal or urgent", "a size that is
    one of s, m or l", "paid either by cash or card": exactly the values listed, nothing added."""
    text = clause.text
    taken: list[tuple[int, int]] = []
    matches = [*_LISTED_CHOICES.finditer(text), *_KNOWN_CHOICES.finditer(text)]
    for match in matches:
        if any(a <= match.start() < b for a, b in taken):
            continue
        name = match.group(1)
        if (name in STOP and name not in FIELD_WORDS) or NUMBER.match(name):
            continue
        raw = re.split(r"\s*,\s*|\s+or\s+|\s+and\s+", match.group(2))
        choices = [c.strip().replace(" ", "_") for c in raw if c.strip()]
        position = len(text[: match.start()].split())
        entity = nearest(clause, draft, position)
        if entity is None or len(set(choices)) < 2 or len(set(choices)) != len(choices):
            continue
        taken.append((match.start(), match.end()))
        first = position
        before = text[: match.start()].split()
        if before and qualifies(before[-1].strip(","), draft) and name in FIELD_WORDS:
            name = f"{before[-1].strip(',')}_{name}"  # "a light level, one of low, medium or high"
            position -= 1
        if singular(name) in draft.entities:
            name = "kind"  # "each payment is either cash or card": the kind of payment
        elif name not in FIELD_WORDS and name != "state":
            name = singular(name)
        flow = status_flow(choices) if name in ("status", "state", "stage") else None
        name = "status" if name == "state" else name
        enum_field(draft, entity, name, choices, flow)
        draft.listed.add((entity, name))
        end = first + len(match.group(0).split()) - 1
        clause.use(*range(position, end + 1))
        feature = f"field:{entity}.{name}" + (f", rule:transitions:{entity}" if flow else "")
        draft.said[:] = [(t, f) for t, f in draft.said if f != f"field:{entity}.{name}"]
        shown = f"{', '.join(choices[:-1])} or {choices[-1]}".replace("_", " ")
        draft.said.append(
            (f"{plural_words(entity)} have {article(name)} {name.replace('_', ' ')}: {shown}", feature)
        )
