"""The extractor's working draft: entities, fields, relations, rules, queries and what the idea said.

Each clause of the idea is a list of words; a rule that uses a word marks it ``used``. What was
understood becomes a requirement with the feature that implements it (``said``); what a rule saw
but cannot build becomes a ``not implemented`` requirement with its reason (``unsaid``); words no
rule used are reported the same way, quoting the phrase, so nothing in the idea is silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baton.workflows.builder import _vocabulary as vocab
from baton.workflows.builder._naming import plural

Field = dict[str, Any]
WHO_FIELDS = frozenset({"guest", "borrower", "customer", "member", "patient", "student", "attendee"})


def article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


@dataclass
class Clause:
    text: str  # as the user wrote it (lowercased, spaces collapsed)
    words: list[str]
    used: set[int] = field(default_factory=set)
    # "": read for everything; "action": what the service must do (see _actions.py), read for nothing;
    # "object": what a fetch brings in, read for entities only
    role: str = ""
    kind: str = ""  # the action's kind ("compute", "fetch", …) when role == "action"
    headless: bool = False  # it follows an action whose subject it shares: "… and records the times"
    first: bool = False  # the idea's first clause: "Warehouse!!!" there is its title

    def phrase(self, start: int, end: int) -> str:
        """Words ``start..end`` (inclusive) as written, underscores back to hyphens or spaces."""
        return " ".join(self.words[start : end + 1]).replace("_", "-")

    def use(self, *positions: int) -> None:
        self.used.update(positions)


class Said(list[tuple[str, str]]):
    """What the idea said that the spec implements, as (the user's words, feature); each entry remembers the
    clause being read when it was added (``current``), so that one clause of the user is one requirement."""

    def __init__(self) -> None:
        super().__init__()
        self.current = ""
        self.origin: dict[tuple[str, str], str] = {}

    def append(self, item: tuple[str, str]) -> None:
        super().append(item)
        if self.current:
            self.origin.setdefault(item, self.current)


@dataclass
class Draft:
    entities: dict[str, list[Field]] = field(default_factory=dict)
    mentioned: list[str] = field(default_factory=list)  # entities the idea names (not link entities)
    relations: list[tuple[str, str]] = field(default_factory=list)
    unique_together: dict[str, list[list[str]]] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    said: Said = field(default_factory=Said)  # (the user's words, feature)
    unsaid: list[tuple[str, str]] = field(default_factory=list)  # (the user's words, why not)
    partial: set[str] = field(default_factory=set)  # the clauses with words no rule understood
    listed: set[tuple[str, str]] = field(default_factory=set)
    # (entity, field) whose choices the idea lists
    aliases: dict[str, str] = field(default_factory=dict)  # "spot" → "parking_spot", once the idea said it
    # "a plate (unique)", "a subtitle (optional)": the two words before the mark, and the mark
    field_marks: list[tuple[str, str, str]] = field(default_factory=list)
    paren_nouns: set[str] = field(
        default_factory=set
    )  # "animals (name, age, species)": nouns with listed fields
    urls: dict[str, str] = field(
        default_factory=dict
    )  # a placeholder word of the idea → the URL it stood for

    def add_entity(self, name: str, *, mentioned: bool = True) -> None:
        name = self.aliases.get(name, name)
        head = name.rsplit("_", 1)[-1]
        if "_" in name and mentioned and head not in self.entities and len(head) > 2:
            self.aliases.setdefault(head, name)  # "parking spots … a spot has a size"
        if name not in self.entities:
            self.entities[name] = []
        if mentioned and name not in self.mentioned:
            self.mentioned.append(name)

    def field_of(self, entity: str, name: str) -> Field | None:
        return next((f for f in self.entities.get(entity, []) if f["name"] == name), None)

    def set_field(self, entity: str, name: str, **values: Any) -> Field:
        """The field ``name`` of ``entity``, created or updated with ``values``."""
        found = self.field_of(entity, name)
        if found is None:
            found = {"name": name, "type": "string", "required": True}
            self.entities[entity].append(found)
        found.update(values)
        return found

    def _ancestors(self, name: str) -> set[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            for parent, child in self.relations:
                if child == current and parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def relate(self, parent: str, child: str, why: str) -> bool:
        """Add ``parent`` 1—n ``child``; False when it would repeat, reverse or loop an existing one."""
        if parent == child or (parent, child) in self.relations or (child, parent) in self.relations:
            return (parent, child) in self.relations
        if child in self._ancestors(parent):
            return False
        self.relations.append((parent, child))
        self.assumptions.append(
            f"{why}: each {child} belongs to {article(parent)} {parent} ({child}.{parent}_id)"
        )
        return True

    def link(self, left: str, right: str, why: str, name: str | None = None) -> str:
        """A many-to-many between ``left`` and ``right`` through a link entity; its name."""
        link = name or f"{left}_{right}"
        if link not in self.entities:
            self.add_entity(link, mentioned=False)
            # the parents say who: a booking linking dogs and playgroups has no free-text guest
            self.entities[link] = [
                {"name": f, "type": t, "required": r}
                for f, t, r in vocab.ENTITY_FIELDS.get(link, [])
                if f not in WHO_FIELDS
            ]
            for f in self.entities[link]:
                if f["type"] == "enum" and f["name"] == "status":  # "fans buy tickets": an order's status
                    flow = self.status(link)
                    enum_field(self, link, "status", list(flow), flow)
                elif f["type"] == "enum":
                    f["type"] = "string"
            self.assumptions.append(f"{why}: a {link} entity links {plural(left)} and {plural(right)}")
        self.relate(left, link, why)
        self.relate(right, link, why)
        groups = self.unique_together.setdefault(link, [])
        pair = [f"{left}_id", f"{right}_id"]
        if name is None and pair not in groups:
            groups.append(pair)
        return link

    def status(self, entity: str) -> dict[str, list[str]]:
        """The state machine of ``entity``'s status: its own, a similar entity's, or the default."""
        key = entity if entity in vocab.STATUS_FLOWS else vocab.STATUS_ALIASES.get(entity, "")
        return vocab.STATUS_FLOWS.get(key, vocab.DEFAULT_STATUS_FLOW)


def enum_field(
    draft: Draft, entity: str, name: str, choices: list[str], flow: dict[str, list[str]] | None
) -> None:
    draft.set_field(entity, name, type="enum", choices=choices, default=choices[0])
    if flow:
        draft.rules = [r for r in draft.rules if not (r["kind"] == "transitions" and r["entity"] == entity)]
        draft.rules.append({"kind": "transitions", "entity": entity, "field": name, "transitions": flow})
        moves = "; ".join(f"{k} → {', '.join(v) or 'final'}" for k, v in flow.items())
        draft.assumptions.append(f"{entity}.{name} moves only {moves}")
