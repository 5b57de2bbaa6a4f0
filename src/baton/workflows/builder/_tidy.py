"""The draft tidied once its entities are read: a noun that only named the service dropped, the fields of each
entity filled (listed, usual or default), who a link entity names through its parents, a URL shortener's links.
"""

from __future__ import annotations

from baton.workflows.builder import _reading as reading
from baton.workflows.builder import _vocabulary as vocab
from baton.workflows.builder._draft import WHO_FIELDS, Clause, Draft
from baton.workflows.builder._naming import plural, singular
from baton.workflows.builder._words import COUNT_NOUNS, FIELD_WORDS


def drop_service_modifiers(
    clauses: list[Clause], draft: Draft, modifiers: list[tuple[str, Clause, int, int]]
) -> None:
    """ "A clinic booking service: doctors, patients and appointments": a noun before "service" (or app, API…)
    that ends its clause describes the service when the idea lists its entities elsewhere and never names the
    noun again; "a booking API" alone, "a todo API with tags" or "a sensor API that records readings" keeps
    it (the service word does not end its clause there)."""
    for name, clause, i, head in modifiers:
        others = [e for e in draft.mentioned if e != name]
        after = clause.words[head + 1 : head + 2]
        if not others or after:  # "a sensor API that records readings", "a todo API with tags": kept
            continue
        again = [
            (c, k)
            for c in clauses
            for k, w in enumerate(c.words)
            if singular(w) == name and not (c is clause and k == i)
        ]
        if again or name not in draft.entities or draft.entities[name]:
            continue
        del draft.entities[name]
        draft.mentioned.remove(name)
        shown = clause.phrase(i, head)
        draft.assumptions.append(
            f"'{shown}' names the service: no {name} entity (the idea lists {', '.join(plural(o) for o in others)})"
        )


def fill_fields(draft: Draft, listed: dict[str, list[str]]) -> None:
    for name in list(draft.entities):
        own = draft.entities[name]
        # "podcasts with episodes; each episode has …": a child entity, not a field
        named = [
            f
            for f in dict.fromkeys(listed.get(name, []))
            if singular(f) not in draft.entities or f in FIELD_WORDS | COUNT_NOUNS
        ]
        if named:
            for field_name in named:
                reading.add_named_field(draft, name, field_name)
        elif name in vocab.ENTITY_FIELDS:
            for field_name, kind, required in vocab.ENTITY_FIELDS[name]:
                if draft.field_of(name, field_name) is None:
                    own.append({"name": field_name, "type": kind, "required": required})
            shown = ", ".join(f[0] for f in vocab.ENTITY_FIELDS[name])
            draft.assumptions.append(f"{name} has the usual fields: {shown}")
        elif not own:
            own.extend({"name": f, "type": kind, "required": r} for f, kind, r in vocab.DEFAULT_FIELDS)
            draft.assumptions.append(f"{name} is not a familiar noun: it gets a name and a description")
        for f in own:
            if f["type"] == "enum" and not f.get("choices"):
                if f["name"] == "status":
                    reading.add_named_field(draft, name, "status")
                else:
                    f["type"] = "string"


def drop_who_fields(draft: Draft, listed: dict[str, list[str]]) -> None:
    """A booking linking two or more parents (a dog, a playgroup) keeps no free-text guest field
    from the vocabulary, unless the idea named it."""
    features = {f for _, feature in draft.said for f in feature.split(", ")}
    for name, fields in draft.entities.items():
        parents = [p for p, c in draft.relations if c == name]
        if len(parents) < 2 or name not in vocab.ENTITY_FIELDS:
            continue
        usual = {f for f, _, _ in vocab.ENTITY_FIELDS[name]} & WHO_FIELDS
        drop = {f for f in usual if f not in listed.get(name, []) and f"field:{name}.{f}" not in features}
        if drop and fields:
            fields[:] = [f for f in fields if f["name"] not in drop]
            draft.assumptions.append(
                f"{name} names who through its {', '.join(parents)}: no {', '.join(sorted(drop))} field"
            )


def shortened_links(clauses: list[Clause], draft: Draft) -> None:
    """ "a URL shortener": the links it keeps (a URL and its short code); the redirect is left over."""
    for clause in clauses:
        if clause.kind == "shorten":
            draft.add_entity("link")
            draft.set_field("link", "url", type="url")
            draft.set_field("link", "code", type="string", unique=True, max_length=32)
            draft.said.append(
                (f"{clause.text}: links, each with a URL and a unique short code", "entity:link")
            )
            draft.assumptions.append("a URL shortener keeps links: a url and a unique short code")
            return
