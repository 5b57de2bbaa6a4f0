"""Reading fields, rules, queries and jobs out of the clauses of an idea, as a person would.

Each reader looks for one shape of phrase ("has a priority", "from 1 to 5", "check-in and
check-out", "the latest reading per city", "every night, fetch …"), changes the draft, marks the
words it used and records the requirement it understood, in the user's words.
"""

from __future__ import annotations

from baton.workflows.builder import _vocabulary as vocab
from baton.workflows.builder._bounds import NUMBER as NUMBER
from baton.workflows.builder._bounds import UNITS as UNITS
from baton.workflows.builder._bounds import after_choices, bound_at, participle, range_phrase, strict_bounds
from baton.workflows.builder._draft import Clause, Draft, article, enum_field
from baton.workflows.builder._naming import looks_plural, plural, singular
from baton.workflows.builder._words import (
    ADJECTIVES,
    COLLECTIVE_NOUNS,
    COUNT_NOUNS,
    FIELD_HEADS,
    FIELD_WORDS,
    PERSON_NOUNS,
    STOP,
    UNIT_WORDS,
)


def mentions(clause: Clause, draft: Draft) -> list[tuple[int, str]]:
    """Where the clause names an entity of the draft: (position of the noun, entity)."""
    found: list[tuple[int, str]] = []
    words = clause.words
    skip = -1
    for i, word in enumerate(words):
        if i <= skip:
            continue
        if i + 1 < len(words):
            compound = f"{word}_{singular(words[i + 1])}"
            if compound in draft.entities:
                found.append((i + 1, compound))
                skip = i + 1
                continue
        name = COLLECTIVE_NOUNS.get(word) or singular(word.strip("'"))
        name = draft.aliases.get(name, name)
        verb = word in vocab.LINKING_VERBS and i > 0 and looks_plural(words[i - 1]) and i + 1 < len(words)
        if name in draft.entities and not verb:
            found.append((i, name))
    return found


def nearest(clause: Clause, draft: Draft, position: int) -> str | None:
    """The entity named nearest before ``position`` (else the first after it)."""
    found = mentions(clause, draft)
    before = [name for pos, name in found if pos < position]
    after = [name for pos, name in found if pos >= position]
    return before[-1] if before else after[0] if after else None


def field_kind(name: str) -> str:
    if name in COUNT_NOUNS or (name.endswith("ed") and name.split("_")[0] in COUNT_NOUNS | UNIT_WORDS):
        return "integer"  # "copies", "pages": a count
    if name in vocab.MONEY_WORDS:
        return "decimal"
    if name in vocab.MEASURE_WORDS:
        return vocab.MEASURE_WORDS[name]
    if name.startswith(vocab.BOOLEAN_PREFIXES) or name in vocab.BOOLEAN_WORDS:
        return "boolean"
    for suffix, kind in vocab.TYPE_BY_SUFFIX:
        whole = suffix.startswith("_") or name == suffix or name.endswith(f"_{suffix}")
        if name.endswith(suffix) and whole:  # "stage" is no age, "message" no age either
            return "decimal" if kind == "float" and name in vocab.MONEY_WORDS else kind
    head = name.rsplit("_", 1)[-1]
    if head != name and head in (*vocab.MONEY_WORDS, *vocab.MEASURE_WORDS):
        return field_kind(head)  # "an entry fee", "a home score": the kind of the head word
    return "string"


def add_named_field(draft: Draft, entity: str, name: str) -> str:
    """Add field ``name`` to ``entity`` with the type and rules its name suggests; the feature."""
    for said, kept in (("_date", "_on"), ("_time", "_at")):
        usual = draft.field_of(entity, name.removesuffix(said) + kept)
        if name.endswith(said) and usual is not None and draft.field_of(entity, name) is None:
            usual["name"] = name  # "a due date" of a todo: its usual due_on, named as the user said it
    stem, _, head = name.rpartition("_")
    usual = draft.field_of(entity, stem) if head in NAMING_HEADS and stem else None
    if usual is not None and usual["type"] == "string" and draft.field_of(entity, name) is None:
        usual["name"] = (
            name  # "a plate number", "a phone number": the usual plate (phone), as the user said it
        )
    existing = draft.field_of(entity, name)
    if (entity, name) in draft.listed and existing is not None:
        transitions = any(r["kind"] == "transitions" and r["entity"] == entity for r in draft.rules)
        return f"field:{entity}.{name}" + (f", rule:transitions:{entity}" if transitions else "")
    if name == "status":
        flow = draft.status(entity)
        enum_field(draft, entity, "status", list(flow), flow)
        return f"field:{entity}.status, rule:transitions:{entity}"
    if name in ("priority", "severity"):
        enum_field(draft, entity, name, list(vocab.PRIORITIES), None)
        draft.set_field(entity, name, default="medium")
        return f"field:{entity}.{name}"
    existing = draft.field_of(entity, name)
    if existing is not None and existing["type"] == "enum":
        return f"field:{entity}.{name}"  # its choices were read from the idea already
    kind = "integer" if name in ("order", "position", "rank", "sequence") else field_kind(name)
    values: dict[str, object] = {"type": kind}
    if kind == "decimal" or name in ("capacity", "quantity", "seats", "stock") or name in COUNT_NOUNS:
        values["min"] = 1 if name in ("capacity", "quantity", "seats") else 0
    draft.set_field(entity, name, **values)
    return f"field:{entity}.{name}"


DATE_WORDS = frozenset({"start", "end", "starts", "ends", "check_in", "check_out", "arrival", "departure"})


# heads that name a field with any word before them: "a phone number", "a first name", "an email address"
NAMING_HEADS = frozenset({"number", "name", "address", "code", "id"})


def _joins(words: list[str], k: int) -> bool:
    """Whether the word at ``k`` and the next name one field ("a due date", "a phone number")."""
    if k + 1 >= len(words) or singular(words[k + 1]) not in FIELD_HEADS or not words[k].isalpha():
        return False
    if words[k] in ("and", "a", "an", "or", "the", "its", "their") or words[k] in DATE_WORDS:
        return False
    return words[k] not in FIELD_HEADS or singular(words[k + 1]) in NAMING_HEADS


def _field_name(parts: list[str]) -> str:
    name = "_".join([*parts[:-1], singular(parts[-1]) if len(parts) > 1 else parts[-1]])  # "due dates"
    return "email" if name == "email_address" else name


def joined_names(words: list[str], positions: list[int]) -> list[str]:
    """The field names at ``positions`` of a list ("with a serial number and a price"), two or three words
    naming one field joined."""
    names: list[str] = []
    k = 0
    while k < len(positions):
        parts = [words[positions[k]]]
        while (
            k + 1 < len(positions)
            and positions[k + 1] == positions[k] + 1
            and len(parts) < 3
            and _joins(words, positions[k])
        ):
            k += 1
            parts.append(words[positions[k]])
        names.append(_field_name(parts))
        k += 1
    return names


def _field_name_at(clause: Clause, draft: Draft, j: int) -> tuple[str, int]:
    """The field name at ``j``, two or three words joined when the last is a field head ("a due date",
    "a mobile phone number")."""
    words = clause.words
    end = j
    while end - j < 2 and _joins(words, end) and singular(words[end]) not in draft.entities:
        end += 1
    if participle(words, end):
        end += 1  # "calories burned", "hours worked": one field
    clause.use(*range(j + 1, end + 1))
    return _field_name(words[j : end + 1]), end


def _field_word(name: str, draft: Draft) -> str | None:
    """The field a word after "has a" names, or None when it names an entity, a number or nothing."""
    if NUMBER.match(name) or (singular(name) in draft.entities and name not in FIELD_WORDS):
        return None
    if name in vocab.NOT_ENTITIES and name not in FIELD_WORDS:
        return None
    base = name if name in FIELD_WORDS or name in COUNT_NOUNS else singular(name)
    unknown_noun = base == name and name.replace("_", "").isalpha() and len(name) > 2 and name not in STOP
    if base not in FIELD_WORDS and not (unknown_noun and name not in vocab.VERBS_3RD):
        return None
    return base


_CHAIN_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "its",
        "their",
        "one",
        "optional",
        "and",
        "unique",
        "at",
        "from",
        "between",
        "many",
        "several",
        "least",
        "most",
        "to",
        "more",
        "less",
        "fewer",
        "than",
        "above",
        "below",
    }
)


def _passed_over(word: str, draft: Draft) -> bool:
    """Words a list of fields runs through: articles, adjectives, bounds ("at least 1"), the dates of
    read_dates ("a start and an end") and entities ("have many employees and a budget")."""
    if word in _CHAIN_WORDS or word in ADJECTIVES or word in DATE_WORDS or NUMBER.match(word):
        return True
    return singular(word) in draft.entities and word not in FIELD_WORDS


def _chain_ends(words: list[str], j: int) -> bool:
    """A list of fields ends at the choices of the field before ("one of …", read by read_choices) and at
    "at a time" ("at most 3 loans at a time")."""
    if words[j] == "either" or words[j : j + 2] == ["one", "of"] or words[j] in ("after", "before"):
        return True
    if j + 2 < len(words) and words[j + 1] in DATE_HEADS and words[j + 2] in ("after", "before"):
        return True  # "a due date after the borrowed date", read by read_date_order
    return words[j] == "at" and j + 1 < len(words) and words[j + 1] in ("a", "once", "any")


def _read_unit(clause: Clause, draft: Draft, field: tuple[str, str], j: int) -> int:
    """ "a cost in dollars", "a size in square meters": a number in that unit; where the field's words end."""
    words = clause.words
    entity, name = field
    unit = j + 2 + (words[j + 2 : j + 3] in (["square"], ["cubic"]))
    if not (unit < len(words) and words[j + 1] == "in" and words[unit] in UNIT_WORDS | UNITS):
        return j
    if field_kind(name) == "float":  # "a weight in kilograms": a measure, never negative
        draft.set_field(entity, name, min=0)
    elif field_kind(name) != "decimal":  # "a cost in dollars" stays money
        draft.set_field(entity, name, type="integer", min=0)
    clause.use(*range(j + 1, unit + 1))
    return unit


# "harvest logs record the weight …", "keep a rating …": verbs whose object is a field of their subject
_KEEPING = frozenset(
    {"record", "records", "log", "logs", "store", "stores", "keep", "keeps", "track", "tracks"}
)


def read_has_fields(clause: Clause, draft: Draft) -> None:
    """ "tickets have a priority and a status", "each room has a capacity", "products with a price"."""
    words = clause.words
    for i, word in enumerate(words):
        keeping = word in _KEEPING and words[i + 1 : i + 2] in (["a"], ["an"], ["the"], ["their"], ["its"])
        if word not in ("has", "have", "with", "having", "includes", "include") and not keeping:
            continue
        if i + 2 > len(words):
            continue
        if i in clause.used and word == "with":
            continue
        j = i + 1
        dated = False
        while j < len(words):
            j = after_choices(words, j) or j
            if j >= len(words) or _chain_ends(words, j):
                break
            if dated and words[j] in ("date", "dates", "time", "times"):
                j += 1  # "with check-in and check-out dates": the pair read_dates reads
                continue
            naming = j + 1 < len(words) and words[j + 1] in NAMING_HEADS and words[j] in ADJECTIVES
            if _passed_over(words[j], draft) and not naming:
                dated = dated or words[j] in DATE_WORDS
                j += 1
                continue
            name, j = _field_name_at(clause, draft, j)
            base = _field_word(name, draft)
            ranged = j + 1 < len(words) and words[j + 1] in ("from", "between")
            if base is None:
                break
            if ranged and draft.field_of(nearest(clause, draft, i) or "", base) is None:
                j += 5  # "a number between 1 and 200, a size …": read_ranges adds it with its bounds
                j += j < len(words) and words[j] in UNIT_WORDS | UNITS  # "… and 5000 euros and a frame size"
                continue
            entity = nearest(clause, draft, i)
            if entity is None:
                break
            feature = add_named_field(draft, entity, base)
            end = _read_unit(clause, draft, (entity, base), j)
            draft.said.append(
                (f"{plural(entity).replace('_', ' ')} have {article(base)} {base.replace('_', ' ')}", feature)
            )
            clause.use(i, j, *range(i + 1, j))
            j = end + 1  # "a volume in litres at least 0 and a date": the list reads on after the unit


def read_has_parents(clause: Clause, draft: Draft) -> None:
    """ "each talk has a title, a level and a room": the room (an entity, one of it) is the talk's parent."""
    words = clause.words
    has = next((k for k, w in enumerate(words) if w in ("has", "have")), None)
    if has is None:
        return
    for j in range(has + 2, len(words)):
        if words[j] in ("who", "that", "which", "where", "when"):
            return
        parent = singular(words[j])
        if parent not in draft.entities or words[j] in FIELD_WORDS or looks_plural(words[j]):
            continue
        child = nearest(clause, draft, has)
        if words[j - 1] not in ("a", "an", "one") or child is None or child == parent:
            continue
        if (parent, child) in draft.relations:
            continue
        if not draft.relate(parent, child, f"'{clause.phrase(max(0, has - 1), j)}'"):
            continue
        clause.use(j - 1, j)
        shown = f"{article(child)} {child.replace('_', ' ')} has {article(parent)} {parent.replace('_', ' ')}"
        draft.said.append((shown, f"relation:{parent}>{child}"))


def _length_bound(
    clause: Clause,
    draft: Draft,
    field: tuple[str, str],
    bound: tuple[float | None, float | None, tuple[int, int]],
) -> None:
    """ "a name (max 100 chars)": the length of a text field."""
    entity, name = field
    low, high, span = bound
    found = draft.field_of(entity, name)
    clause.use(*range(span[0], span[1] + 2))
    if found is None or found["type"] not in ("string", "text"):
        draft.unsaid.append(
            (clause.phrase(span[0], span[1] + 1), f"{entity}.{name} is no text to bound in length")
        )
        return
    if high is not None:
        found["max_length"] = int(high)
    if low is not None:
        found["min_length"] = int(low)
    draft.said.append(
        (
            f"{article(entity)} {entity}'s {name} has {clause.phrase(span[0], span[1] + 1)}",
            f"field:{entity}.{name}",
        )
    )


def read_ranges(clause: Clause, draft: Draft) -> None:
    """ "rate books from 1 to 5", "a score between 0 and 100", "quantity is at most 10", "a price > 0"."""
    words = clause.words
    for i in range(len(words)):
        low, high, span, strict = bound_at(words, i)
        if low is None and high is None:
            continue
        if high is not None and low is None and _count_limit(clause, draft, span, high - strict):
            continue
        target = _range_target(clause, draft, span[0], span[1])
        counted = span[1] + 1 < len(words) and singular(words[span[1] + 1]) in draft.entities
        if target is None:
            end = span[1] + counted
            why = (
                f"a limit on {words[end]} needs a relation saying whose they are (e.g. 'each "
                f"{singular(words[end])} belongs to …'): none was read"
                if counted
                else "no field or entity to bound was found near it"
            )
            draft.unsaid.append((clause.phrase(max(0, span[0] - 3), end), why))
            clause.use(*range(max(0, span[0] - 3), end + 1))  # quoted: reported once
            continue
        entity, name = target
        existing = draft.field_of(entity, name)
        if words[span[1] + 1 : span[1] + 2] in (["chars"], ["characters"], ["letters"]):
            _length_bound(clause, draft, (entity, name), (low, high, span))
            continue
        whole = all(float(v).is_integer() for v in (low, high) if v is not None)
        kind = (
            existing["type"]
            if existing and existing["type"] in ("integer", "float", "decimal")
            else "decimal"
            if field_kind(name) == "decimal"  # "a price between 10 and 500 dollars" stays money
            else ("integer" if whole else "float")
        )
        f = draft.set_field(entity, name, type=kind)
        f.pop("default", None)
        if strict:
            low, high = strict_bounds(kind, low, high)
            if kind == "float":
                draft.assumptions.append(
                    f"{entity}.{name}: a strict bound of a float is kept as an inclusive one"
                )
        if low is not None:
            f["min"] = low
        if high is not None:
            f["max"] = high
        clause.use(*range(span[0], span[1] + 1))
        if span[1] + 1 < len(words) and words[span[1] + 1] in UNIT_WORDS | UNITS:
            clause.use(span[1] + 1)  # "between 10 and 500 dollars"
        draft.said.append((clause.phrase(*range_phrase(words, name, span)), f"field:{entity}.{name}"))


_PERIODS = frozenset(
    {"day", "week", "month", "year", "hour", "night", "season", "term", "semester", "weekend"}
)


def _count_limit(clause: Clause, draft: Draft, span: tuple[int, int], most: float) -> bool:
    """ "classes hold at most 20 members": a parent takes at most N children (a field with that default)."""
    words = clause.words
    after = span[1] + 1
    qualified = after + 1 < len(words) and words[after] in ADJECTIVES  # "at most 3 active subscriptions"
    after += qualified
    child = singular(words[after]) if after < len(words) else ""
    parent = nearest(clause, draft, span[0])
    if words[after + 1 : after + 2] == ["per"] and after + 2 < len(words):
        per = singular(words[after + 2])  # "at most 5 items per order"
        parent = per if per in draft.entities else parent
    if child not in draft.entities or parent is None or parent == child:
        return False
    period = words[after + 1 : after + 3]
    if len(period) == 2 and period[0] in ("per", "a", "an", "each", "every") and period[1] in _PERIODS:
        clause.use(*range(span[0], after + 3))
        draft.unsaid.append(
            (
                clause.phrase(max(0, span[0] - 3), after + 2),
                f"a limit {period[0]} {period[1]} needs counting by date, which the rules cannot: say it in "
                "spec.yaml or build with a model",
            )
        )
        return True
    counted = child
    shared = [c for p, c in draft.relations if p == parent and (child, c) in draft.relations]
    if (parent, child) not in draft.relations and shared:
        counted = shared[0]  # "members rent plots; a member can rent at most 2 plots": the rentals count
    elif (parent, child) not in draft.relations:
        # "staff book playgroups that hold at most 12 dogs": the dogs are counted through the bookings
        links = [
            c
            for p, c in draft.relations
            if p == parent and (c in vocab.BOOKED or c not in draft.mentioned) and c != child
        ]
        if not links or not draft.relate(child, links[0], f"'{clause.phrase(span[0], after)}'"):
            return False
        counted = links[0]
    person = parent in PERSON_NOUNS and parent not in ("room", "venue", "hotel", "store", "shop", "warehouse")
    taken = draft.field_of(parent, "capacity") is not None or person or parent in COLLECTIVE_NOUNS.values()
    name = f"max_{plural(child)}" if taken else "capacity"  # a student's max_loans, a playgroup's capacity
    draft.set_field(parent, name, type="integer", min=0, default=int(most))
    draft.rules.append({"kind": "limit", "entity": counted, "parent": parent, "field": name})
    through = f" (counted as {plural_words(counted)})" if counted != child else ""
    draft.assumptions.append(
        f"{parent}.{name} (default {int(most)}) caps the {plural_words(child)} of one {parent}{through}"
    )
    clause.use(*range(span[0], after + 1))
    if qualified:
        clause.used.discard(after - 1)  # which of them count ("active") is no rule: reported
    if words[after + 1 : after + 4] == ["at", "a", "time"] or words[after + 1 : after + 3] == ["at", "once"]:
        clause.use(*range(after + 1, min(len(words), after + 4)))
        draft.unsaid.append(
            (
                clause.phrase(span[0] + 2, min(len(words), after + 4) - 1),
                f"the limit counts every {counted.replace('_', ' ')} of {article(parent)} {parent}, ended or "
                f"not: the rules cannot count only current ones — delete a {counted.replace('_', ' ')} when it "
                "ends, or say it in spec.yaml",
            )
        )
    found = [pos for pos, name in mentions(clause, draft) if name == parent and pos < span[0]]
    start = found[-1] if found else max(0, span[0] - 2)
    start -= start > 0 and words[start - 1] in ("a", "an", "each", "every", "the", "one")  # "a member can …"
    clause.use(*range(start, span[0]))  # "a concert sells at most 2000 tickets": the verb is the rule's
    feature = f"rule:limit:{counted}"
    if counted != child:  # the dogs are booked into the playgroup: the relations are part of the rule
        feature = f"relation:{child}>{counted}, relation:{parent}>{counted}, {feature}"
    draft.said.append((clause.phrase(start, after), feature))
    return True


def qualifies(word: str, draft: Draft) -> bool:
    """ "cooking" in "a cooking time", "away" in "an away score", "nightly" in "a nightly rate": a word that
    names which measure."""
    return word in _PERIODIC or (
        word.isalpha()
        and word not in STOP
        and word not in FIELD_WORDS
        and word not in ADJECTIVES
        and singular(word) not in draft.entities
        and word not in vocab.VERBS_3RD
        and word not in vocab.MEASURE_VERBS
        and not looks_plural(word)
    )


_ARTICLES = frozenset({"a", "an", "the", "its", "their"})
_PERIODIC = frozenset({"nightly", "hourly", "daily", "weekly", "monthly", "yearly", "annual"})


def _range_target(clause: Clause, draft: Draft, start: int, end: int) -> tuple[str, str] | None:
    """(entity, field) a range at ``start..end`` bounds: the measure word or verb before it, else after."""
    words = clause.words
    before = start - 1
    if before >= 2 and words[before] in UNIT_WORDS | UNITS and words[before - 1] == "in":
        before -= 2  # "a volume in litres at least 0": the field before its unit
    named = nearest(clause, draft, before) if before >= 0 else None
    if named is not None and draft.field_of(named, words[before]) is not None:
        clause.use(*range(before, start))  # "films with title, runtime at least 1": the field just named
        return named, words[before]
    window = list(range(start - 1, max(-1, start - 6), -1)) + list(range(end + 1, min(len(words), end + 3)))
    noun = start - 2 if start >= 3 and words[start - 1] == "of" else start - 1  # "a balance of at least 0"
    if noun >= 1 and words[noun - 1] in ("a", "an", "its", "their") and qualifies(words[noun], draft):
        entity = nearest(clause, draft, noun)
        if entity is not None:  # "each desk has a floor between 1 and 20": the noun before the range
            clause.use(*range(noun, start))
            return entity, words[noun]
    for k in window:
        word = words[k]
        base = singular(word)
        if k > 0 and words[k - 1] in ("can", "cannot", "may", "must", "will", "should", "to"):
            continue  # "a member can rent at most 2": a verb, no measure named after it
        named_noun = k > 0 and words[k - 1] in _ARTICLES  # "a rate between 50 and 500": a noun, no verb
        named_noun = named_noun or (k > 1 and words[k - 2] in _ARTICLES and qualifies(words[k - 1], draft))
        if word in vocab.MEASURE_VERBS and not named_noun and not qualifies(words[k - 1] if k else "", draft):
            name = vocab.MEASURE_VERBS[word]
            clause.use(k)
            if name in draft.entities:
                return name, "score"
            entity = nearest(clause, draft, end + 1) or nearest(clause, draft, k)
            return (entity, name) if entity else None
        if (
            base in vocab.MEASURE_WORDS
            or (base in FIELD_WORDS and base not in ("name", "title", "description"))
            or (word in vocab.MEASURE_VERBS and named_noun)
        ):
            clause.use(k)
            qualifier = words[k - 1] if k > 0 else ""
            if qualifies(qualifier, draft):
                clause.use(k - 1)  # "a cooking time between 5 and 240 minutes": cooking_time
                base = f"{qualifier}_{base}"
            if base in draft.entities:
                return base, "score"
            entity = nearest(clause, draft, k) or _owner(draft, base)
            return (entity, base) if entity else None
    return None


def _owner(draft: Draft, name: str) -> str | None:
    """The entity that has a field ``name``, when the clause names none ("a rating is between 1 and 5")."""
    owners = [entity for entity, fields in draft.entities.items() if any(f["name"] == name for f in fields)]
    return owners[0] if owners else None


DATE_HEADS = ("date", "day", "time")


def read_capacity_limits(draft: Draft) -> None:
    """A parent with a capacity, booked by a child: the children of one parent are at most its capacity."""
    for parent, child in draft.relations:
        capacity = draft.field_of(parent, "capacity") or draft.field_of(parent, "seats")
        if capacity is None or (child not in vocab.BOOKED and singular(child) not in vocab.BOOKED):
            continue
        if any(r["kind"] == "limit" and r["entity"] == child for r in draft.rules):
            continue
        capacity["type"] = "integer"
        capacity.setdefault("min", 1)
        draft.rules.append({"kind": "limit", "entity": child, "parent": parent, "field": capacity["name"]})
        draft.said.append(
            (
                f"{article(parent)} {parent} takes at most its {capacity['name']} of {plural(child)}",
                f"rule:limit:{child}",
            )
        )
        draft.assumptions.append(f"{plural(child)} of one {parent} are at most its {capacity['name']}")


def plural_words(name: str) -> str:
    return plural(name).replace("_", " ")


def is_plural_noun(word: str) -> bool:
    return looks_plural(word) and word not in STOP
