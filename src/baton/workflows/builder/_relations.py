"""Relations read from the words of an idea: "each pet has one owner", "a hotel has many rooms", "Y belongs
to X", "Ys from X", "customers open tickets" (one-to-many), "members borrow books" and "an order has many
products with quantities" (many-to-many through a link entity), and the pairs usually related when the
idea is silent about them.
"""

from __future__ import annotations

import itertools
import re

from baton.workflows.builder import _vocabulary as vocab
from baton.workflows.builder._draft import Clause, Draft
from baton.workflows.builder._naming import looks_plural, plural
from baton.workflows.builder._reading import mentions

HAS = frozenset({"has", "have", "own", "owns", "contain", "contains", "hold", "holds", "include", "includes"})
_QUANTIFIERS = frozenset(
    {"many", "several", "multiple", "some", "any", "one", "a", "an", "zero", "or", "more"}
)


def _has_relation(draft: Draft, left: str, right: str, *, single: bool, why: str) -> str:
    """ "each pet has one owner" (the owner is the parent), "a hotel has many rooms", "recipes have tags"."""
    if single:
        return f"relation:{right}>{left}" if draft.relate(right, left, why) else ""
    if right in vocab.SHARED_NOUNS:
        link = draft.link(left, right, why)
        return f"relation:{left}>{link}, relation:{right}>{link}"
    return f"relation:{left}>{right}" if draft.relate(left, right, why) else ""


def _link_quantity(clause: Clause, draft: Draft, link: str, after: int) -> None:
    """ "an order has many products with quantities": the link entity carries the quantity."""
    words = clause.words
    quantity = [k for k, w in enumerate(words) if w in ("quantity", "quantities", "qty") and k > after]
    if quantity:
        draft.set_field(link, "quantity", type="integer", min=1)
        for parent in [p for p, c in draft.relations if c == link]:
            # the quantity is the link's: an ingredient has no quantity of its own
            draft.entities[parent] = [f for f in draft.entities[parent] if f["name"] != "quantity"]
        lead = [
            m for k in quantity for m in (k - 1, k - 2) if words[m] in ("with", "a", "an", "each", "their")
        ]
        clause.use(*quantity, *lead)
        draft.said.append((clause.phrase(after, quantity[-1]), f"field:{link}.quantity"))


def _verbs(between: list[str]) -> list[str]:
    verbs = [w for w in between if w not in _QUANTIFIERS and w not in ("can", "may", "will", "to", "zero")]
    if len(verbs) == 2 and verbs[1] in ("for", "in", "on", "at", "with", "into"):
        return verbs[:1]  # "attendees register for events"
    return verbs


def _has_feature(draft: Draft, words: list[str], pair: tuple[str, int, str], *, many: bool, why: str) -> str:
    """ "a hotel has many rooms"; "an order contains many plants with a quantity" (a link with the quantity)."""
    left, j, right = pair
    if many and any(w in ("quantity", "quantities", "qty") for w in words[j + 1 : j + 5]):
        link = draft.link(left, right, why)
        return f"relation:{left}>{link}, relation:{right}>{link}"
    return _has_relation(draft, left, right, single=not looks_plural(words[j]) and not many, why=why)


# "messages in threads", "items live on shelves", "boxes sit on shelves": the place is the parent
LOCATIVE = frozenset({"in", "on", "inside", "within", "under", "at", "by"})  # "books by authors" too
# "members check out books": a phrasal verb naming the entity that links the two
PHRASAL_LINKS = {("check", "out"): "loan", ("checks", "out"): "loan", ("sign", "up"): "registration"}


def _placed_or_phrasal(draft: Draft, between: list[str], pair: tuple[str, str], lemma: str, why: str) -> str:
    """ "messages in threads", "items live on shelves" (the place is the parent); "members check out books"
    (a loan links them)."""
    left, right = pair
    verbs = [w for w in between if w not in ("can", "may", "will", "must", "to", "also", "often")]
    phrasal = PHRASAL_LINKS.get((verbs[0], verbs[1])) if len(verbs) > 1 else None
    if phrasal is not None and phrasal not in (left, right):
        draft.link(left, right, why, name=phrasal)
        return f"relation:{left}>{phrasal}, relation:{right}>{phrasal}"
    located = between[-1] in LOCATIVE and (len(between) == 1 or vocab.LINKING_VERBS.get(lemma) is None)
    if located and between[0] not in HAS and between[0] != "with" and draft.relate(right, left, why):
        return f"relation:{right}>{left}"
    return ""


def _no_relation(before: list[str], verbs: list[str]) -> bool:
    if not verbs:
        return True
    if verbs == ["per"] and before in (["one"], ["per"]):
        return True  # "one review per customer per product" is a uniqueness, read later
    bounds = ("at", "most", "least", "up", "to", "no", "more", "than")
    extra = [w for w in verbs[1:] if not w.isdigit() and w not in bounds]
    return (verbs[0] in HAS or verbs[0] == "with") and bool(extra)  # "cars with a plate, customers …"


def _between(
    draft: Draft, words: list[str], first: tuple[int, str], second: tuple[int, str]
) -> list[str] | None:
    """The words between two nouns that may relate them, or None when they cannot."""
    (i, left), (j, right) = first, second
    # "members can check out at most 5 books": the bound is the limit's (read_ranges), the verb the relation's
    unbound = re.sub(
        r"\b(?:at (?:most|least)|(?:more|less|fewer) than) -?[\d.]+\b", " ", " ".join(words[i + 1 : j])
    )
    between = [w for w in unbound.split() if w not in ("the", "a", "an", "one", "its", "their", "own")]
    if not between or "and" in between or len(between) > 4:
        return None
    if between[0] in ("each", "every"):
        return None  # "recipes with steps, each recipe has …": a new subject, not a verb
    bounded = len(unbound.split()) < j - i - 1
    if bounded and ({(left, right), (right, left)} & set(draft.relations)):
        return None  # "patients have appointments; a patient can book at most 2": the limit restates it
    return between


def _pair_relation(clause: Clause, draft: Draft, i: int, left: str, j: int, right: str) -> str:
    words = clause.words
    between = _between(draft, words, (i, left), (j, right))
    if between is None:
        return ""
    many = any(w in ("many", "several", "multiple", "more") for w in between)
    verbs = _verbs(between)
    if _no_relation(words[i - 1 : i], verbs):
        return ""
    phrase = clause.phrase(i, j)
    why = f"'{phrase}'"
    verb = verbs[0]
    lemma = verb[:-1] if verb.endswith("s") and verb[:-1] in vocab.LINKING_VERBS else verb
    feature = _placed_or_phrasal(draft, between, (left, right), lemma, why)
    if feature:
        pass
    elif verb in HAS or verb == "with":
        feature = _has_feature(draft, words, (left, j, right), many=many, why=why)
    elif (
        verbs == ["per"]
        or (verbs in (["from"], ["of"], ["for"]) and looks_plural(words[j]))
        or verb in ("belongs", "belong")
    ):
        if draft.relate(right, left, why):
            feature = f"relation:{right}>{left}"
    elif lemma in vocab.LINKING_VERBS and vocab.LINKING_VERBS[lemma] not in (left, right):
        link = vocab.LINKING_VERBS[lemma]
        draft.link(left, right, why, name=link)
        feature = f"relation:{left}>{link}, relation:{right}>{link}"
    elif len(verbs) == 1 and many:
        link = draft.link(left, right, why)
        feature = f"relation:{left}>{link}, relation:{right}>{link}"
    elif len(verbs) == 1 and draft.relate(left, right, why):
        feature = f"relation:{left}>{right}"
    if feature:
        clause.use(*range(i, j + 1))
        draft.said.append((phrase, feature))
        if len(feature.split(", ")) == 2:
            _link_quantity(clause, draft, feature.split(", ")[0].split(">")[1], j)
    return feature


# "librarians manage authors", "admins moderate posts": staff acting on things they do not own; no relation is
# guessed (a wrong parent is worse than none) and the clause is reported as not implemented
STAFF_VERBS = frozenset(
    {
        "manage", "manages", "administer", "administers", "oversee", "oversees", "supervise", "supervises",
        "moderate", "moderates", "maintain", "maintains", "curate", "curates", "handle", "handles",
        "approve", "approves", "audit", "audits",
    }
)  # fmt: skip
# "deliveries of products from suppliers": the second noun after "of" is another parent of the first
_OF_CHAIN = frozenset({"from", "by", "to", "for", "at", "in"})
_CHAIN = frozenset({"and", "many", "a", "an", "one", "several", "multiple", "some", "also", "their", "its"})


def _verb_entities(clause: Clause, draft: Draft, found: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """ "mechanics repair bikes; each repair has a cost": a verb that is also an entity links the two."""
    words = clause.words
    kept = list(found)
    for (i, left), (k, middle), (j, right) in zip(found, found[1:], found[2:], strict=False):
        if k != i + 1 or j != k + 1 or looks_plural(words[k]) or not looks_plural(words[i]):
            continue
        if middle in (left, right):
            continue
        phrase = clause.phrase(i, j)
        draft.link(left, right, f"'{phrase}'", name=middle)
        clause.use(i, k, j)
        draft.said.append((phrase, f"relation:{left}>{middle}, relation:{right}>{middle}"))
        kept = [m for m in kept if m[0] not in (i, k, j)]
    return kept


def _subject_chain(
    clause: Clause, draft: Draft, subject: tuple[int, str], pair: tuple[int, int, str], belongs: bool
) -> None:
    """ "each pet has an owner and many visits": the subject has the next noun as well."""
    i, j, right = pair
    between = clause.words[i + 1 : j]
    many = any(w in ("many", "several", "multiple", "some") for w in between)
    single = not looks_plural(clause.words[j]) and not many
    why = f"'{clause.phrase(subject[0], j)}'"
    if belongs:
        feature = f"relation:{right}>{subject[1]}" if draft.relate(right, subject[1], why) else ""
    else:
        feature = _has_relation(draft, subject[1], right, single=single, why=why)
    if feature:
        clause.use(*range(i, j + 1))
        plural_subject = looks_plural(clause.words[subject[0]])
        verb = "belongs to" if belongs else "have" if plural_subject else "has"
        said = " ".join([clause.words[subject[0]], verb, *between[1:], clause.words[j]])
        draft.said.append((said.replace("_", " "), feature))


def _relate_said(clause: Clause, draft: Draft, parent: str, child: str, span: tuple[int, int]) -> None:
    phrase = clause.phrase(*span)
    if draft.relate(parent, child, f"'{phrase}'"):
        clause.use(*range(span[0], span[1] + 1))
        draft.said.append((phrase, f"relation:{parent}>{child}"))


def _staff_verb(clause: Clause, draft: Draft, i: int, j: int) -> bool:
    """ "librarians manage authors": no owner is guessed (a wrong parent is worse than none); the words are
    reported as not implemented, not dropped."""
    acts = [w for w in clause.words[i + 1 : j] if w not in ("can", "may", "will", "must", "also", "to")]
    if not acts or acts[0] not in STAFF_VERBS or len(acts) > 2:
        return False
    clause.use(*range(i, j + 1))
    draft.partial.add(clause.text)
    draft.unsaid.append(
        (
            clause.phrase(i, j),
            f"'{acts[0]}' does not say who owns what, so no relation was made: "
            "say it in spec.yaml (a relation, or a role) or build with a model",
        )
    )
    return True


def scan_relations(clauses: list[Clause], draft: Draft) -> None:
    for clause in clauses:
        if not clause.role:
            draft.said.current = clause.text
            _scan_clause(clause, draft)
    draft.said.current = ""


def _scan_clause(clause: Clause, draft: Draft) -> None:
    found = _verb_entities(clause, draft, mentions(clause, draft))
    subject: tuple[int, str] | None = None
    belongs = False
    listed: list[str] = []
    of_child: str | None = None
    for (i, left), (j, right) in itertools.pairwise(found):
        between = clause.words[i + 1 : j]
        if of_child is not None and len(between) == 1 and between[0] in _OF_CHAIN:
            # "deliveries of products from suppliers": the delivery has both a product and a supplier
            if of_child != right:
                _relate_said(clause, draft, right, of_child, (i - 2, j))
            of_child = None
            continue
        of_child = None
        if between in (["and", "their"], ["and", "its"]):
            # "members and their workouts", "vehicles and their drivers": the possessive names the parent
            _relate_said(clause, draft, left, right, (i, j))
            subject = None
            continue
        if subject is not None and between and set(between) <= _CHAIN and "and" in between:
            _subject_chain(clause, draft, subject, (i, j, right), belongs)
            continue
        has = [w for w in between if w in HAS]
        belongs = "belongs" in between or "belong" in between
        # "recipes with ingredients and steps": the steps are the recipe's too
        subject = (i, left) if has or belongs or between == ["with"] else None
        if between and set(between) <= {"and", "or"}:
            listed.append(left)  # "wolves and calves live in enclosures": both live there
            continue
        if _staff_verb(clause, draft, i, j):
            listed = []
            continue
        feature = _pair_relation(clause, draft, i, left, j, right)
        if feature == f"relation:{right}>{left}" and between == ["of"] and looks_plural(clause.words[j]):
            of_child = left
        if feature == f"relation:{right}>{left}" and between not in (["of"], ["from"], ["for"]):
            # "wolves and calves live in enclosures" (not "suppliers, and deliveries of products")
            for other in listed:
                if other != right and draft.relate(right, other, f"'{clause.phrase(i, j)}'"):
                    draft.said.append((f"{clause.phrase(i, j)} ({other})", f"relation:{right}>{other}"))
        listed = []


def known_relations(draft: Draft) -> None:
    for parent, child in vocab.KNOWN_RELATIONS:
        linked = {c for p, c in draft.relations if p == parent} & {
            c for p, c in draft.relations if p == child
        }
        if (
            parent in draft.entities
            and child in draft.entities
            and not any(child == c for p, c in draft.relations if p == parent)
            and not linked
        ):
            draft.relate(parent, child, f"{plural(parent)} and {plural(child)} are usually related")
