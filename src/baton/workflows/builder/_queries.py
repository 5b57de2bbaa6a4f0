"""Uniqueness and queries read from an idea: "one review per customer per product", "a unique email",
"the latest reading per city", "how many tickets each customer has"."""

from __future__ import annotations

import re

from baton.workflows.builder._draft import Clause, Draft, article
from baton.workflows.builder._naming import singular
from baton.workflows.builder._reading import field_kind, nearest
from baton.workflows.builder._words import STOP


def read_unique(clause: Clause, draft: Draft) -> None:
    """ "one review per customer per product", "each user has a unique email"."""
    words = clause.words
    for i, word in enumerate(words):
        if word == "unique" and i >= 2 and (words[i - 1] == "is" or words[i - 2 : i] == ["is", "always"]):
            # "a sku that is unique", "the email is unique"
            skipped = ("is", "that", "which", "always")
            k = next((m for m in range(i - 1, max(-1, i - 4), -1) if words[m] not in skipped), -1)
            name = singular(words[k]) if k >= 0 else ""
            entity = nearest(clause, draft, k)
            if entity and name and name not in draft.entities and name.isidentifier() and name not in STOP:
                draft.set_field(entity, name, type=field_kind(name), unique=True)
                clause.use(*range(k, i + 1))
                shown = f"{article(entity)} {entity}'s {name.replace('_', ' ')} is unique"
                draft.said[:] = [(t, f) for t, f in draft.said if f != f"field:{entity}.{name}"]
                draft.said.append((shown, f"field:{entity}.{name}"))
            continue
        if word == "unique" and i + 1 < len(words):
            name = singular(words[i + 1])
            entity = nearest(clause, draft, i)
            if entity and name not in draft.entities:
                draft.set_field(entity, name, type=field_kind(name), unique=True)
                clause.use(i, i + 1)
                draft.said.append((clause.phrase(max(0, i - 3), i + 1), f"field:{entity}.{name}"))
        if word == "one" and i + 3 < len(words) and words[i + 2] == "per":
            entity = singular(words[i + 1])
            keys = [
                singular(w) for k, w in enumerate(words[i + 3 :], i + 3) if w not in ("per", "and", "a", "an")
            ]
            keys = [k for k in keys if k in draft.entities][:3]
            if entity in draft.entities and keys:
                for key in keys:
                    draft.relate(key, entity, f"'{clause.phrase(i, min(len(words) - 1, i + 6))}'")
                group = [f"{key}_id" for key in keys]
                if all((key, entity) in draft.relations for key in keys) and len(group) >= 2:
                    draft.unique_together.setdefault(entity, []).append(group)
                    end = max(k for k, w in enumerate(words) if singular(w) in keys)
                    clause.use(*range(i, end + 1))
                    draft.said.append((clause.phrase(i, end), f"unique:{entity}"))


def read_queries(clause: Clause, draft: Draft) -> None:
    """ "the latest reading per city", "how many tickets each customer has"."""
    text = " ".join(clause.words)
    latest = re.search(
        r"\b(?:latest|newest|most recent|last|current)\s+([a-z_]+)\s+(?:per|for each|of each|for every|by)\s+([a-z_]+)",
        text,
    )
    if latest:
        entity, key = singular(latest.group(1)), singular(latest.group(2))
        start = len(text[: latest.start()].split())
        end = start + len(latest.group(0).split()) - 1
        if entity in draft.entities:
            if key in draft.entities:
                draft.relate(key, entity, f"'{latest.group(0)}'")
                key_name = f"{key}_id"
            else:
                draft.set_field(entity, key, type="string")
                key_name = key
            dated = [f["name"] for f in draft.entities[entity] if f["type"] in ("datetime", "date")]
            by = dated[0] if dated else "recorded_at"
            if not dated:
                draft.set_field(entity, by, type="datetime")
                draft.assumptions.append(f"{entity} gets a recorded_at time to tell the latest")
            draft.queries.append({"kind": "latest", "entity": entity, "key": key_name, "by": by})
            clause.use(*range(start, end + 1))
            draft.said.append((latest.group(0), f"query:latest:{entity}"))
    count = re.search(
        r"\b(?:how many|number of|count of|counts of)\s+([a-z_]+)\s+(?:per|each|for each|a|an|every)\s+([a-z_]+)",
        text,
    )
    if count:
        entity, parent = singular(count.group(1)), singular(count.group(2))
        start = len(text[: count.start()].split())
        end = start + len(count.group(0).split()) - 1
        if (
            entity in draft.entities
            and parent in draft.entities
            and draft.relate(parent, entity, f"'{count.group(0)}'")
        ):
            draft.queries.append({"kind": "count", "entity": entity, "parent": parent})
            clause.use(*range(start, min(len(clause.words), end + 2)))
            draft.said.append((count.group(0), f"query:count:{entity}"))


def mark_fields(draft: Draft) -> None:
    """ "cars with a plate (unique)", "a subtitle (optional)": the field the two words before the parenthesis
    name is unique, optional (not required) or required."""
    for before, word, kind in draft.field_marks:
        names = [f"{before}_{word}", word, singular(word)]
        found = next(
            ((entity, name) for name in names for entity in draft.entities if draft.field_of(entity, name)),
            None,
        )
        if found is None:
            draft.unsaid.append((f"{word.replace('_', ' ')} ({kind})", "no field of that name was read"))
            continue
        entity, name = found
        if kind != "unique":
            draft.set_field(entity, name, required=kind == "required")
            continue
        draft.set_field(entity, name, unique=True)
        draft.said[:] = [(t, f) for t, f in draft.said if f != f"field:{entity}.{name}"]
        shown = f"{article(entity)} {entity.replace('_', ' ')}'s {name.replace('_', ' ')} is unique"
        draft.said.append((shown, f"field:{entity}.{name}"))
