"""The deterministic spec extractor: an idea in plain words → a :class:`BuildSpec`, without a model.

Rules, in order: plural nouns (and nouns the field vocabulary knows) become entities; "X has/have Y",
"X belongs to Y" and "X <verb> Y" become relations; well-known pairs (authors and books) are related
when the idea is silent; fields come from the idea ("books with title and isbn") or the vocabulary;
the stack follows the words (scheduled or event-driven → functions, web app → flask, else fastapi).
Every guess is written to ``spec.assumptions`` so the user can see and correct it in ``spec.yaml``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from baton.core.errors import InvalidInputError
from baton.workflows.builder import _vocabulary as vocab
from baton.workflows.builder._naming import looks_plural, plural, singular, slug
from baton.workflows.builder.spec import (
    BuildSpec,
    Environment,
    JobKind,
    Stack,
    default_azure_plan,
    validate_spec,
)

_WORD = re.compile(r"[a-z][a-z0-9_']*")
_FUNCTIONS_WORDS = frozenset(
    [
        "serverless",
        "function",
        "functions",
        "timer",
        "scheduled",
        "schedule",
        "cron",
        "hourly",
        "daily",
        "nightly",
        "weekly",
        "every",
        "event-driven",
        "event",
        "queue",
        "trigger",
        "triggered",
    ]
)
_FLASK_WORDS = frozenset(
    ["website", "webapp", "site", "pages", "page", "dashboard", "flask", "form", "forms"]
)
_CLEANUP_WORDS = frozenset(
    [
        "clean",
        "cleans",
        "cleanup",
        "purge",
        "purges",
        "delete",
        "deletes",
        "remove",
        "removes",
        "expire",
        "expired",
        "archive",
    ]
)
_HAS = frozenset(
    {"has", "have", "own", "owns", "contain", "contains", "hold", "holds", "include", "includes"}
)
_QUANTIFIERS = frozenset(
    {"many", "several", "multiple", "some", "any", "one", "a", "an", "zero", "or", "more"}
)

IDEA_HINT = (
    "describe what the service keeps in plain words, e.g. "
    "'A REST API for a small library: books, authors and loans; members borrow books', or pass --spec spec.yaml"
)


@dataclass
class _Draft:
    entities: dict[str, list[vocab.FieldSketch]] = field(default_factory=dict)
    relations: list[tuple[str, str]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def add_entity(self, name: str) -> None:
        if name not in self.entities:
            self.entities[name] = []

    def relate(self, parent: str, child: str, why: str) -> None:
        if parent == child or (parent, child) in self.relations or (child, parent) in self.relations:
            return
        self.relations.append((parent, child))
        article = "an" if parent[0] in "aeiou" else "a"
        self.assumptions.append(f"{why}: each {child} belongs to {article} {parent} ({child}.{parent}_id)")


def _clauses(idea: str) -> list[list[str]]:
    return [_WORD.findall(part) for part in re.split(r"[.;:!?\n]+", idea.lower()) if part.strip()]


def _noun(word: str) -> str | None:
    """The entity a word names, or None."""
    word = word.strip("'")
    base = singular(word)
    if word in vocab.NOT_ENTITIES or base in vocab.NOT_ENTITIES or len(base) < 3:
        return None
    if looks_plural(word) or word in vocab.ENTITY_FIELDS:
        return base
    return None


def _compound(words: list[str], i: int) -> str | None:
    if i + 1 < len(words):
        joined = f"{singular(words[i])}_{singular(words[i + 1])}"
        if joined in vocab.ENTITY_FIELDS and looks_plural(words[i + 1]):
            return joined
    return None


def _field_list(words: list[str], start: int) -> list[str]:
    names: list[str] = []
    for word in words[start:]:
        if word in ("and", "a", "an", "the", "its", "their", "optional"):
            continue
        if word in _HAS or (_noun(word) in vocab.ENTITY_FIELDS and word not in ("name",)):
            break
        names.append(word)
    return names


def _field_type(name: str) -> str:
    if name.startswith(vocab.BOOLEAN_PREFIXES) or name in vocab.BOOLEAN_WORDS:
        return "boolean"
    for suffix, kind in vocab.TYPE_BY_SUFFIX:
        if name.endswith(suffix):
            return kind
    return "string"


def _scan_entities(clauses: list[list[str]], draft: _Draft, fields: dict[str, list[str]]) -> None:
    for words in clauses:
        i = 0
        while i < len(words):
            compound = _compound(words, i)
            name = compound or _noun(words[i])
            if name and not (words[i] in vocab.LINKING_VERBS and i > 0 and _noun(words[i - 1])):
                draft.add_entity(name)
                after = i + (2 if compound else 1)
                if after < len(words) and words[after] == "with":
                    fields[name] = _field_list(words, after + 1)
                    i = after + 1 + len(fields[name])
                    continue
            i += 2 if compound else 1


def _scan_relations(clauses: list[list[str]], draft: _Draft) -> None:
    for words in clauses:
        nouns = [(i, n) for i, w in enumerate(words) if (n := _noun(w)) in draft.entities]
        for (i, left), (j, right) in itertools.pairwise(nouns):
            between = [w for w in words[i + 1 : j] if w not in _QUANTIFIERS and w != "the"]
            if not between or between == ["and"] or "and" in between or "," in between:
                continue
            verb = between[0]
            lemma = verb[:-1] if verb.endswith("s") and verb[:-1] in vocab.LINKING_VERBS else verb
            phrase = " ".join(words[i : j + 1])
            if verb in _HAS:
                single = not looks_plural(words[j])
                parent, child = (right, left) if single else (left, right)
                draft.relate(parent, child, f"'{phrase}'")
            elif between[:2] == ["belongs", "to"] or between[:2] == ["belong", "to"]:
                draft.relate(right, left, f"'{phrase}'")
            elif lemma in vocab.LINKING_VERBS and vocab.LINKING_VERBS[lemma] not in (left, right):
                link = vocab.LINKING_VERBS[lemma]
                if link not in draft.entities:
                    draft.add_entity(link)
                    draft.assumptions.append(
                        f"'{phrase}' needs a {link} entity linking a {left} and a {right}"
                    )
                draft.relate(left, link, f"'{phrase}'")
                draft.relate(right, link, f"'{phrase}'")
            elif len(between) == 1:
                draft.relate(left, right, f"'{phrase}'")


def _known_relations(draft: _Draft) -> None:
    for parent, child in vocab.KNOWN_RELATIONS:
        if parent in draft.entities and child in draft.entities:
            draft.relate(parent, child, f"{plural(parent)} and {plural(child)} are usually related")


def _fill_fields(draft: _Draft, listed: dict[str, list[str]]) -> None:
    for name in draft.entities:
        if listed.get(name):
            draft.entities[name] = [(f, _field_type(f), True) for f in dict.fromkeys(listed[name])]
        elif name in vocab.ENTITY_FIELDS:
            draft.entities[name] = list(vocab.ENTITY_FIELDS[name])
            shown = ", ".join(f[0] for f in draft.entities[name])
            draft.assumptions.append(f"{name} has the usual fields: {shown}")
        else:
            draft.entities[name] = list(vocab.DEFAULT_FIELDS)
            draft.assumptions.append(f"{name} is not a familiar noun: it gets a name and a description")


def _infer_stack(words: set[str], idea: str) -> Stack:
    if words & _FUNCTIONS_WORDS:
        return Stack.FUNCTIONS
    if words & _FLASK_WORDS or "web app" in idea or "small app" in idea:
        return Stack.FLASK
    return Stack.FASTAPI


def _schedule(idea: str) -> tuple[str, str]:
    every_n = re.search(r"every (\d{1,2}) minutes?", idea)
    if every_n:
        n = int(every_n.group(1))
        return f"0 */{n} * * * *", f"every {n} minutes"
    table = [
        (r"every minute", "0 * * * * *", "every minute"),
        (r"hourly|every hour", "0 0 * * * *", "every hour"),
        (r"nightly|every night|at night|midnight", "0 0 2 * * *", "every night at 02:00 UTC"),
        (r"weekly|every week", "0 0 3 * * 0", "every Sunday at 03:00 UTC"),
        (r"daily|every day|each day", "0 0 1 * * *", "every day at 01:00 UTC"),
    ]
    for pattern, cron, said in table:
        if re.search(pattern, idea):
            return cron, said
    return "0 0 * * * *", "every hour (no schedule was named)"


def _jobs(idea: str, words: set[str], draft: _Draft, stack: Stack) -> list[dict[str, Any]]:
    if stack is not Stack.FUNCTIONS:
        return []
    cron, said = _schedule(idea)
    if words & _CLEANUP_WORDS:
        mentioned = [singular(w) for w in _WORD.findall(idea) if singular(w) in draft.entities]
        target = mentioned[-1] if mentioned else next(iter(draft.entities))
        dated = [f for f in draft.entities[target] if f[1] in ("date", "datetime")]
        preferred = [f for f in dated if f[0] in ("expires_at", "ends_at", "due_on", "expires_on")]
        if not dated:
            draft.entities[target].append(("expires_at", "datetime", True))
            draft.assumptions.append(f"{target} gets an expires_at field for the clean-up job")
            chosen = "expires_at"
        else:
            chosen = (preferred or dated)[0][0]
        draft.assumptions.append(f"a timer job deletes {plural(target)} whose {chosen} has passed, {said}")
        return [
            {
                "name": f"cleanup_{plural(target)}",
                "kind": JobKind.CLEANUP,
                "schedule": cron,
                "entity": target,
                "field": chosen,
            }
        ]
    draft.assumptions.append(f"a timer job logs how many rows each entity has, {said}")
    return [{"name": "summary", "kind": JobKind.SUMMARY, "schedule": cron}]


def _project_name(idea: str, draft: _Draft, stack: Stack) -> tuple[str, str]:
    suffix = {Stack.FASTAPI: "api", Stack.FLASK: "app", Stack.FUNCTIONS: "functions"}[stack]
    domain = re.search(
        r"\bfor (?:an? |the |my |our )?(?:small |simple |tiny |little )?([a-z][a-z0-9]+)", idea
    )
    word = domain.group(1) if domain and domain.group(1) not in vocab.NOT_ENTITIES else None
    base = word or plural(next(iter(draft.entities))).replace("_", "-")
    return slug(
        f"{base} {suffix}"
    ), f"{base.replace('-', ' ').title()} {suffix.upper() if suffix == 'api' else suffix.title()}"


def _check_meaningful(idea: str) -> None:
    letters = re.findall(r"[A-Za-z]{2,}", idea)
    if not idea.strip():
        raise InvalidInputError("the idea is empty", fields={"idea": "empty"}, hint=IDEA_HINT)
    if len(letters) < 2 or not any(re.search(r"[aeiouy]", w.lower()) for w in letters):
        raise InvalidInputError(
            f"the idea {idea.strip()[:80]!r} is not a description of a service",
            fields={"idea": "meaningless"},
            hint=IDEA_HINT,
        )


def extract_spec(
    idea: str, *, stack: Stack | None = None, environment: Environment = Environment.DEV
) -> BuildSpec:
    """The spec an idea describes, by rules; raises :class:`InvalidInputError` for an idea naming no entities."""
    _check_meaningful(idea)
    text = " ".join(idea.lower().split())
    clauses = _clauses(text)
    words = {w for clause in clauses for w in clause}
    draft = _Draft()
    listed: dict[str, list[str]] = {}
    _scan_entities(clauses, draft, listed)
    if not draft.entities:
        raise InvalidInputError(
            f"the idea {idea.strip()[:80]!r} names no entities (things the service keeps, as plural nouns)",
            fields={"idea": "no entities"},
            hint=IDEA_HINT,
        )
    _fill_fields(draft, listed)
    _scan_relations(clauses, draft)
    _known_relations(draft)
    chosen = stack or _infer_stack(words, text)
    if stack is None:
        draft.assumptions.insert(0, f"stack {chosen.value}, chosen from the words of the idea")
    jobs = _jobs(text, words, draft, chosen)
    name, title = _project_name(text, draft, chosen)
    draft.assumptions.append("auth: an API key in the X-API-Key header guards every route but /health")
    raw: dict[str, Any] = {
        "name": name,
        "title": title,
        "description": " ".join(idea.split()),
        "stack": chosen,
        "environment": environment,
        "entities": [
            {"name": n, "fields": [{"name": f, "type": t, "required": r} for f, t, r in fs]}
            for n, fs in draft.entities.items()
        ],
        "relations": [{"parent": p, "child": c} for p, c in draft.relations],
        "jobs": jobs,
        "azure": default_azure_plan(chosen),
        "assumptions": draft.assumptions,
    }
    try:
        return validate_spec(raw, source="the spec extracted from the idea")
    except InvalidInputError as error:
        raise InvalidInputError(
            f"the idea cannot be built as worded: {error.message}",
            fields=error.fields,
            hint="reword the idea with another noun, or write spec.yaml and pass --spec",
        ) from None
