"""The deterministic spec extractor: an idea in plain words → a :class:`BuildSpec`, without a model.

Rules, in order: plural nouns (and nouns the vocabulary knows, and the subject of "each X has …")
become entities — a third-person verb after a singular subject does not ("a job collects rates"), and
two nouns stay whole ("exchange rates"); "X has a/many Y", "Y belongs to X", "Ys from X", "X <verb>
Y" and "X <verb> many Y" (a link entity) become relations; then _reading.py reads fields and rules
(priority, status and its transitions, capacity and its limit, money, ranges, date pairs, choices,
uniqueness), queries (latest per key, counts) and what needs the outside world; well-known pairs
are related when the idea is silent; the stack follows the words. Every guess is written to
``spec.assumptions``; every phrase understood becomes a requirement in the user's words with the
feature that implements it, and every phrase not understood a ``not implemented`` requirement.
"""

from __future__ import annotations

import re
from typing import Any

from baton.core.errors import InvalidInputError
from baton.workflows.builder import _actions as actions
from baton.workflows.builder import _choices as choices
from baton.workflows.builder import _dates as dates
from baton.workflows.builder import _reading as reading
from baton.workflows.builder import _said as said
from baton.workflows.builder import _tidy as tidy
from baton.workflows.builder import _vocabulary as vocab
from baton.workflows.builder import _wording as wording
from baton.workflows.builder._draft import Clause, Draft
from baton.workflows.builder._jobs import (
    FLASK_WORDS,
    FUNCTIONS_WORDS,
    fetch_sources,
    infer_stack,
    read_fetch_jobs,
    read_jobs,
)
from baton.workflows.builder._leftovers import SERVICE_WORDS, leftovers
from baton.workflows.builder._naming import looks_plural, plural, singular, slug
from baton.workflows.builder._queries import mark_fields, read_queries, read_unique
from baton.workflows.builder._relations import HAS, known_relations, scan_relations
from baton.workflows.builder._words import (
    ACTION_VERBS,
    ADJECTIVES,
    AGENT_NOUNS,
    AMBIGUOUS_ACTIONS,
    COLLECTIVE_NOUNS,
    COUNT_NOUNS,
    FIELD_WORDS,
    KEEPING_HEADS,
    PERSON_NOUNS,
    STOP,
    UNIT_WORDS,
)
from baton.workflows.builder.spec import (
    BuildSpec,
    Environment,
    Stack,
    default_azure_plan,
    validate_spec,
)

_WORD = re.compile(r"[^\W\d_][\w']*|\d+(?:\.\d+)?")
IDEA_HINT = (
    "describe what the service keeps in plain words, e.g. "
    "'A REST API for a small library: books, authors and loans; members borrow books', or pass --spec spec.yaml"
)


_VERB_BASES = frozenset(
    set(vocab.LINKING_VERBS)
    | {w[:-1] for w in vocab.VERBS_3RD if w.endswith("s")}
    | {w[:-2] for w in vocab.VERBS_3RD if w.endswith("es")}
)
# "… who book rooms", "… can book rooms": the next word is a verb
# "parking spots", "meeting rooms": a word in -ing that is a noun before another
_ING_NOUNS = frozenset(
    {"parking", "meeting", "training", "building", "wedding", "shipping", "billing", "housing", "clothing"}
)
# "each class has a type and an order": words that are fields in a list after "has"
_CHAIN_FIELDS = frozenset({"order", "position", "rank", "sequence", "type"})
# "money between accounts": a preposition never starts a compound noun
_PREPOSITIONS = frozenset(
    {"between", "among", "across", "through", "within", "without", "about", "against", "during", "towards"}
)
# verbs that look plural: "… and belongs to a vehicle", "a match ends after it starts"
_NEVER_ENTITIES = frozenset({"starts", "ends", "begins", "belongs", "belong"})
# "a shopping list", "a reading list": what such a list holds
_LISTS_OF = {"shopping": "item", "packing": "item", "grocery": "item", "reading": "book", "watch": "movie"}
_JOB_KINDS = frozenset(
    {
        "cron",
        "timer",
        "background",
        "batch",
        "scheduled",
        "nightly",
        "daily",
        "hourly",
        "weekly",
        "cleanup",
        "queue",
    }
)
_RELATIVE_PRONOUNS = frozenset({"that", "which", "who"})
# "users can post messages": the word after a modal is a verb
_MODALS = frozenset({"can", "may", "will", "must", "should", "could", "would", "cannot"})
# "users add books", "staff can list orders": verbs whose next word is their object
# fmt: off
_OBJECT_TAKERS = frozenset({
    "add", "adds", "create", "creates", "edit", "edits", "update", "view", "browse", "search", "find", "manage",
    "track", "keep", "store", "save", "record", "log", "see", "share", "upload", "uploads", "write", "list",
})
# fmt: on
_VERB_LEADS = frozenset({"who", "to", "can", "may", "will", "must", "also", "then", "should"})
_SUBJECT_WORDS = frozenset(
    {"who", "that", "which", "it", "also", "then", "automatically", "nightly", "daily"}
)


_URL = re.compile(r"https?://[^\s,;()<>\"']+", re.IGNORECASE)


def _hide_urls(idea: str, draft: Draft) -> str:
    """ "fetch rates from https://api.example.com/rates": a URL is one word of the idea, kept as written."""

    def placeholder(match: re.Match[str]) -> str:
        url = match.group(0).rstrip(".:!?")
        word = f"sourceurl{len(draft.urls)}"
        draft.urls[word] = url
        return f" {word}{match.group(0)[len(url) :]} "

    return _URL.sub(placeholder, idea)


def _clauses(text: str) -> list[Clause]:
    text = text.replace("(", " ").replace(")", " ")
    # "a pet clinic's API", "the owners' pets": a possessive mark is no part of the noun
    text = re.sub(r"(?<=[^\W\d_])['’]s\b|(?<=s)['’](?=\s|$)", "", text)
    parts = [" ".join(p.strip(" ,").split()) for p in re.split(r"[.;:!?]+(?=\s|$)|\n|\s[-–—]\s", text)]
    clauses = [Clause(text=p, words=_WORD.findall(p)) for p in parts if _WORD.findall(p)]
    if clauses:
        clauses[0].first = True
    return clauses


def _names_service(words: list[str], i: int) -> bool:
    """ "A staff API", "a people app": a collective noun naming the service, no entity."""
    return words[i] in COLLECTIVE_NOUNS and i + 1 < len(words) and words[i + 1] in SERVICE_WORDS


def _noun(word: str) -> str | None:
    """The entity a plural word (or a noun the vocabulary knows) names, or None."""
    word = word.strip("'")
    if word in COLLECTIVE_NOUNS:
        return COLLECTIVE_NOUNS[word]  # "staff book playgroups": a staff member
    if (word in UNIT_WORDS and word not in vocab.ENTITY_FIELDS) or word in _NEVER_ENTITIES:
        return None
    verb = word in ACTION_VERBS and word not in AMBIGUOUS_ACTIONS
    if word in AGENT_NOUNS or verb or word.startswith("sourceurl"):
        return None  # "a currency converter", "forwards": what the service does, not what it keeps
    if not word.isascii():
        return None  # names become identifiers: a word with accents stays a word of the idea
    base = singular(word)
    if word in vocab.NOT_ENTITIES or base in vocab.NOT_ENTITIES or len(base) < 3 or word[0].isdigit():
        return None
    if word in ADJECTIVES:
        return None
    if (base in vocab.MEASURE_WORDS or base in vocab.MONEY_WORDS) and base not in vocab.ENTITY_FIELDS:
        return None  # "quantities", "prices": values, not things
    if looks_plural(word) or word in vocab.ENTITY_FIELDS:
        return base
    return None


def _is_verb(words: list[str], i: int) -> bool:
    """ "a nightly job collects rates": a third-person verb after a singular subject is no entity."""
    if i > 0 and words[i - 1] in _RELATIVE_PRONOUNS and words[i].endswith("s") and words[i] not in HAS:
        return True  # "a service that converts temperatures": a relative clause starts with its verb
    if words[i] not in vocab.VERBS_3RD or i == 0:
        return False
    before = words[i - 1]
    if before in HAS or before in vocab.VERBS_3RD or before in ("can", "will", "to", "may", "must"):
        return False
    if before in ("out", "up", "off", "back") and i > 1 and words[i - 2] not in vocab.DETERMINERS:
        return False  # "members check out books": the object of a phrasal verb
    if before in _VERB_BASES or before in _OBJECT_TAKERS:
        return False  # "members borrow books", "users add books": the object of a verb, not a verb
    return before in _SUBJECT_WORDS or (before not in vocab.DETERMINERS and not looks_plural(before))


def _compound(words: list[str], i: int) -> str | None:
    """ "exchange rates", "purchase orders", "time slots": a noun before a plural noun stays with it."""
    if i + 1 >= len(words):
        return None
    first, second = words[i], words[i + 1]
    known = f"{first}_{singular(second)}" in vocab.COMPOUNDS  # "stock prices": a price alone is no entity
    # "print jobs", "repair jobs": work the service keeps ("cron jobs" and "timer jobs" are the service's own)
    known = known or (second == "jobs" and first.isalpha() and first not in _JOB_KINDS and first not in STOP)
    if not looks_plural(second) or (_noun(second) is None and not known) or not first.isalpha():
        return None
    if i > 0 and words[i - 1] in ("a", "an", "each", "every"):
        return None  # "a match ends after it starts": one noun, then its verb
    if singular(second) in ("date", "time", "name", "number") or second in ("dates", "times"):
        return None  # "with due dates", "start times": a field, never a thing kept
    if second in HAS or second in ("belongs", "contains", "includes"):
        return None  # "each bike belongs to", "a shipment contains": a noun and its verb
    subject = i > 0 and (looks_plural(words[i - 1]) or words[i - 1] in COLLECTIVE_NOUNS)
    if subject and _noun(words[i - 1]) is not None and words[i - 1] not in vocab.VERBS_3RD:
        return None  # "suppliers deliver shipments": the word after a plural subject is its verb
    joined = f"{first}_{singular(second)}"
    if joined in vocab.COMPOUNDS or joined in vocab.ENTITY_FIELDS:
        return joined
    noun_first = first in AMBIGUOUS_ACTIONS and (
        i == 0 or words[i - 1] in ("the", "our", "their", "its", "of")
    )
    if (
        first in vocab.NOT_ENTITIES
        or (first in ACTION_VERBS and not noun_first)  # "harvest logs" at the start: a noun
        or first in _OBJECT_TAKERS
        or first in _PREPOSITIONS
        or first in vocab.DETERMINERS
        or first in wording.FOREIGN_ARTICLES
        or first in ADJECTIVES
        or first in _VERB_BASES
    ):
        return None
    if looks_plural(first) or first in vocab.ENTITY_FIELDS or first in FIELD_WORDS or len(first) < 3:
        return None
    if first in STOP or first.endswith(("ly", "ed")) or (first.endswith("ing") and first not in _ING_NOUNS):
        return None
    return joined


def _field_list(words: list[str], start: int, *, listing: bool = False) -> list[int]:
    """Positions of the field names listed after "with" ("books with title, isbn and year")."""
    found: list[int] = []
    k = start
    while k < len(words):
        word = words[k]
        if word in ("and", "a", "an", "the", "its", "their", "optional", "unique"):
            k += 1
            continue
        if words[k : k + 2] in (["at", "least"], ["at", "most"], ["more", "than"], ["less", "than"]):
            counted = k + 3 < len(words) and _noun(words[k + 3]) is not None and looks_plural(words[k + 3])
            if counted and words[k + 3] not in COUNT_NOUNS:
                break  # "teams with at most 11 players": a limit on the players, read by read_ranges
            k += 3 + (
                k + 3 < len(words) and words[k + 3] in UNIT_WORDS
            )  # "qty at least 0", "at most 100 chars"
            continue
        if words[k : k + 2] == ["one", "of"] or word == "either":
            while k < len(words) and words[k] != "and":
                k += 1  # "a severity one of low, medium or high and …": the choices read_choices reads
            continue
        if word == "in" and k + 1 < len(words) and words[k + 1] in UNIT_WORDS | reading.UNITS:
            k += 2  # "a blade length in cm and a price": the unit of the field before
            continue
        noun = _noun(word)
        if (
            word in HAS
            or word in vocab.VERBS_3RD
            or noun in vocab.ENTITY_FIELDS
            or (
                found
                and not listing  # "animals (name, age, species)": a parenthesis lists fields only
                and noun is not None
                and looks_plural(word)
                and word not in FIELD_WORDS | COUNT_NOUNS
                and singular(word) not in FIELD_WORDS  # "a name and due dates"
            )
            or word in ("from", "between", "per", "who", "that", "which", "in", "at", "on", "for", "to")
            or word in reading.DATE_WORDS
            or reading.NUMBER.match(word)
        ):
            break
        found.append(k)
        k += 1
    return found


def _names_field(words: list[str], i: int) -> bool:
    """ "each class has a room number", "a customer name": a singular noun before a naming head is a field's."""
    named = i + 1 < len(words) and words[i + 1] in reading.NAMING_HEADS and not looks_plural(words[i])
    return named and i > 0 and words[i - 1] in ("a", "an", "the", "its", "their")


def _in_field_chain(words: list[str], i: int) -> bool:
    """ "visits have a date and notes": a field word in a list after has/with is a field, not an entity."""
    if _names_field(words, i):
        return True
    counted = words[i] in COUNT_NOUNS  # "each recipe has servings", "flyers with copies": a count
    if (
        singular(words[i]) not in FIELD_WORDS
        and words[i] not in FIELD_WORDS
        and words[i] not in _CHAIN_FIELDS
        and not counted
    ):
        return False
    k = i - 1
    if (
        k > 0
        and words[k].isalpha()
        and words[k] not in STOP
        and words[k] not in ADJECTIVES
        and _noun(words[k]) is None
        and words[k - 1] in ("with", "has", "have", "a")
    ):
        k -= 1  # "with due dates": a qualifier of the field word
    while k >= 0 and (
        words[k]
        in ("a", "an", "and", "its", "their", "optional", "more", "less", "than", "at", "least", "most")
        or words[k] in FIELD_WORDS
        or words[k] in UNIT_WORDS
        or reading.NUMBER.match(words[k])  # "an amount more than 0, a category": the list reads on
    ):
        k -= 1
    return k >= 0 and words[k] in ("has", "have", "with", "having") and (k < i - 1 or counted)


def _kept_by_name(words: list[str], i: int) -> str | None:
    """ "a todo list", "a habit tracker", "a todo API": the singular noun naming what the service keeps."""
    word = words[i]
    if i + 1 >= len(words) or not word.isalpha() or len(word) < 3 or looks_plural(word):
        return None
    if (
        word in STOP
        or word in ADJECTIVES
        or word in FIELD_WORDS
        or word in AGENT_NOUNS
        or word in ACTION_VERBS
    ):
        return None
    if word in vocab.VERBS_3RD or word in _VERB_BASES or word in vocab.NOT_ENTITIES:
        return None
    if word in _LISTS_OF and words[i + 1] == "list":
        return _LISTS_OF[word]  # "a shopping list": its items
    if word.endswith(("ing", "ly", "ed")) and word not in _ING_NOUNS:
        return None  # "a weekly planner": no noun
    head = words[i + 1]
    if (head in KEEPING_HEADS and head not in ("list", "log")) or (
        head in ("list", "log") and (i == 0 or words[i - 1] in ("a", "an", "my", "our", "the"))
    ):
        return word
    if head in SERVICE_WORDS and word in vocab.ENTITY_FIELDS:
        return word
    return None


def _verb_of_subject(words: list[str], i: int) -> bool:
    """ "harvest logs record the weight", "users log expenses": a verb after its plural subject, no entity
    (a verb naming a link, "members book rooms", is read by the relations)."""
    word = words[i]
    if i == 0 or i + 1 >= len(words) or word not in _VERB_BASES or word in vocab.LINKING_VERBS:
        return False
    subject = looks_plural(words[i - 1]) and _noun(words[i - 1]) is not None
    return subject and (words[i + 1] in vocab.DETERMINERS or looks_plural(words[i + 1]))


def _note_modifier(
    draft: Draft, at: tuple[Clause, int], name: str, modifiers: list[tuple[str, Clause, int, int]]
) -> None:
    """ "a clinic booking service", "a plant care tracker", "a sports league API": a noun before the word naming
    the service (or before a noun and that word) may only describe the service."""
    clause, i = at
    words = clause.words
    heads = SERVICE_WORDS | KEEPING_HEADS
    if not name or name in draft.entities or i + 1 >= len(words):
        return
    if words[i + 1] in heads and not looks_plural(words[i]):
        modifiers.append((name, clause, i, i + 1))
        return
    middle = words[i + 1]  # "a sports league API": the league's sports
    plain = middle.isalpha() and middle not in STOP and not looks_plural(middle) and _noun(middle) is None
    if plain and i + 2 < len(words) and words[i + 2] in SERVICE_WORDS:
        modifiers.append((name, clause, i, i + 2))


def _scan_entities(
    clauses: list[Clause],
    draft: Draft,
    listed: dict[str, list[str]],
    modifiers: list[tuple[str, Clause, int, int]],
) -> None:
    for clause in clauses:
        if clause.role == "action":
            continue
        draft.said.current = clause.text
        words = clause.words
        i = 0
        while i < len(words):
            kept = _kept_by_name(words, i)
            if kept is not None:
                _note_modifier(draft, (clause, i), kept, modifiers)
                draft.add_entity(draft.aliases.get(kept, kept))
                clause.use(i, i + 1)
                i += 2
                continue
            compound = _compound(words, i)
            # what is fetched is a noun phrase
            verb = (_is_verb(words, i) or _verb_of_subject(words, i)) and clause.role != "object"
            verb = verb or _names_service(words, i)
            if clause.headless and i == 0 and (words[0] in vocab.VERBS_3RD or words[0] in HAS):
                verb = True  # "… and records the response times": its subject came before
            if compound is None and (verb or (words[i] in HAS and i > 0)):
                i += 1
                continue
            modal = i > 0 and words[i - 1] in _MODALS and not looks_plural(words[i])
            name = compound or (None if _in_field_chain(words, i) or modal else _noun(words[i]))
            subject = (
                i > 0
                and words[i - 1] in ("each", "every", "one", "a", "an")
                and i + 1 < len(words)
                and words[i + 1] in ("has", "have", "belongs", "holds", "contains", "can", "is", "gets")
            )
            if name is None and subject and words[i].isalpha() and words[i] not in FIELD_WORDS:
                name = words[i] if words[i] not in vocab.NOT_ENTITIES else None
            owner = (
                i > 1
                and words[i - 1] in ("a", "an", "one")
                and words[i - 2] in ("has", "have")
                and singular(words[i]) in PERSON_NOUNS
                and not _names_field(words, i)
            )
            if name is None and owner:
                name = singular(words[i])
            if name and not (
                words[i] in vocab.LINKING_VERBS
                and i > 0
                and (_noun(words[i - 1]) or words[i - 1] in _VERB_LEADS)
                and not compound
            ):
                name = draft.aliases.get(name, name)
                _note_modifier(draft, (clause, i), "" if compound else name, modifiers)
                draft.add_entity(name)
                end = i + (1 if compound else 0)
                clause.use(i, end)
                owned = i > 0 and words[i - 1] in (
                    "many",
                    "several",
                    "multiple",
                )  # "has many products with …"
                if end + 1 < len(words) and words[end + 1] == "with" and not owned:
                    listing = any(clause.text.startswith(f"{n} with ") for n in draft.paren_nouns)
                    positions = _field_list(words, end + 2, listing=listing)
                    if positions:
                        listed.setdefault(name, []).extend(reading.joined_names(words, positions))
                        clause.use(end + 1, *positions, *range(end + 2, positions[-1] + 1))
                        draft.said.append((clause.phrase(i, positions[-1]), f"entity:{name}"))
                        i = positions[-1] + 1
                        continue
                i = end + 1
                continue
            i += 1


def _project_name(idea: str, draft: Draft, stack: Stack) -> tuple[str, str]:
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
    if len(letters) == 1 and singular(letters[0].lower()) in vocab.ENTITY_FIELDS:
        return  # "todo", "books": one word naming what is kept
    if len(letters) < 2 or not any(re.search(r"[aeiouy]", w.lower()) for w in letters):
        raise InvalidInputError(
            f"the idea {wording.quote(idea)} is not a description of a service",
            fields={"idea": "meaningless"},
            hint=IDEA_HINT,
        )


def _without_rules(raw: dict[str, Any], why: str) -> dict[str, Any]:
    """The spec with its rules, queries and composite uniqueness dropped, their requirements not implemented.

    A rule the rules read wrongly must not refuse the idea: the rest is built, and what was dropped says why.
    """
    dropped = ("rule:", "query:", "unique:")
    requirements = []
    for requirement in raw["requirements"]:
        feature = requirement.get("implemented_by") or ""
        if any(part.strip().startswith(dropped) for part in feature.split(",")):
            requirement = {
                **requirement,
                "implemented_by": None,
                "status": "not_implemented",
                "reason": f"the rules could not make a consistent spec of it ({why}); say it in spec.yaml",
            }
        requirements.append(requirement)
    entities = [{**e, "unique_together": []} for e in raw["entities"]]
    return {**raw, "rules": [], "queries": [], "entities": entities, "requirements": requirements}


def extract_spec(
    idea: str, *, stack: Stack | None = None, environment: Environment = Environment.DEV
) -> BuildSpec:
    """The spec an idea describes, by rules; raises :class:`InvalidInputError` for an idea naming no entities."""
    _check_meaningful(idea)
    wording.check_english(idea)
    draft = Draft()
    text = wording.normalise(_hide_urls(idea, draft), draft)
    clauses = actions.split_actions(_clauses(text), _WORD, draft)
    # what the service does not do picks no stack and no job ("a todo API that emails me a daily summary")
    words = {w for c in clauses if not c.role or c.kind == "fetch" for w in c.words}
    listed: dict[str, list[str]] = {}
    modifiers: list[tuple[str, Clause, int, int]] = []
    _scan_entities(clauses, draft, listed, modifiers)
    tidy.drop_service_modifiers(clauses, draft, modifiers)
    tidy.shortened_links(clauses, draft)
    if not draft.entities:
        wording.check_english(idea, strict=True)
        raise InvalidInputError(
            f"the idea {wording.quote(idea)} names no entities (things the service keeps, as plural nouns)",
            fields={"idea": "no entities"},
            hint=IDEA_HINT,
        )
    tidy.fill_fields(draft, listed)
    draft.said.current = ""
    scan_relations(clauses, draft)
    for clause in [c for c in clauses if not c.role]:
        draft.said.current = clause.text
        unsaid = len(draft.unsaid)
        choices.read_choices(clause, draft)
        reading.read_has_fields(clause, draft)
        reading.read_has_parents(clause, draft)
        reading.read_ranges(clause, draft)
        dates.read_dates(clause, draft)
        dates.read_date_order(clause, draft)
        read_unique(clause, draft)
        read_queries(clause, draft)
        if len(draft.unsaid) > unsaid:
            draft.partial.add(clause.text)  # "… at a time": a part of it is reported, the rest is said apart
    draft.said.current = ""
    mark_fields(draft)
    known_relations(draft)
    reading.read_capacity_limits(draft)
    tidy.drop_who_fields(draft, listed)
    # a fetch naming its URL is rendered on FastAPI: its schedule words pick no timer stack
    fetched = {w for c in fetch_sources(clauses) for w in c.words}
    kept = {
        w for w in words if singular(w) in draft.entities
    }  # "an events API": the events are data, no trigger
    inferred, why = infer_stack(words - fetched - kept, text)
    chosen = stack or inferred
    if stack is None:
        draft.assumptions.insert(0, why)
    read_jobs([c for c in clauses if not c.role], text, words, draft, chosen)
    read_fetch_jobs(clauses, draft, chosen, actions.REASONS["fetch"])
    for clause in [c for c in clauses if not c.role]:
        clause.use(*[k for k, w in enumerate(clause.words) if w in FUNCTIONS_WORDS or w in FLASK_WORDS])
        leftovers(clause, draft)
    renames = said.rename_reserved(draft)
    name, title = _project_name(text, draft, chosen)
    draft.assumptions.append("auth: an API key in the X-API-Key header guards every route but /health")
    raw: dict[str, Any] = {
        "name": name,
        "title": title,
        "description": " ".join(idea.split()),
        "stack": chosen,
        "environment": environment,
        "entities": [
            {"name": n, "fields": fs, "unique_together": draft.unique_together.get(n, [])}
            for n, fs in draft.entities.items()
        ],
        "relations": [{"parent": p, "child": c} for p, c in draft.relations],
        "rules": draft.rules,
        "queries": draft.queries,
        "jobs": draft.jobs,
        "requirements": said.requirements(draft, renames),
        "azure": default_azure_plan(chosen),
        "assumptions": draft.assumptions,
    }
    try:
        return validate_spec(raw, source="the spec extracted from the idea")
    except InvalidInputError as first:
        raw = _without_rules(raw, first.message)
    try:
        return validate_spec(raw, source="the spec extracted from the idea")
    except InvalidInputError as error:
        raise InvalidInputError(
            f"the idea cannot be built as worded: {error.message}",
            fields=error.fields,
            hint="reword the idea, or write spec.yaml and pass --spec",
        ) from None
