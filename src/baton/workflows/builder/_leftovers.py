"""What no rule read: the words naming the service are dropped, every other word is reported.

A clause with words no rule used becomes a ``not implemented`` requirement quoting it, so nothing in the
idea is silently dropped.
"""

from __future__ import annotations

import re

from baton.workflows.builder import _vocabulary as vocab
from baton.workflows.builder._draft import Clause, Draft
from baton.workflows.builder._naming import looks_plural, singular
from baton.workflows.builder._reading import NUMBER, mentions
from baton.workflows.builder._words import ADJECTIVES, STOP

SERVICE_WORDS = frozenset(
    {"api", "app", "service", "system", "platform", "website", "backend", "tool", "site"}
)


def _domain_word(word: str, draft: Draft) -> bool:
    """A word of the service's name: a singular noun that is no entity, no verb and no function word."""
    return (
        word.isalpha()
        and word not in STOP
        and not looks_plural(word)
        and singular(word) not in draft.entities
        and word not in vocab.VERBS_3RD
    )


def _read_title(clause: Clause, draft: Draft) -> None:
    """ "An inventory of tools …", "Warehouse!!! -- items …", "A plant nursery shop": the service's name."""
    words = clause.words
    if len(words) > 2 and words[0] in ("a", "an", "the") and words[1] in _COLLECTIONS and words[2] == "of":
        clause.use(0, 1, 2)  # what the service keeps is named after it
    alone = len(words) <= 2 and clause.first and not mentions(clause, draft)
    if alone and all(_domain_word(w, draft) for w in words):
        clause.use(*range(len(words)))
    titled = words[-1:] and words[-1] in (*SERVICE_WORDS, "shop", "store")
    if words and words[0] in ("a", "an") and len(words) <= 4 and (titled or not mentions(clause, draft)):
        clause.use(*range(len(words)))


def read_domain(clause: Clause, draft: Draft) -> None:
    """ "A REST API for a small clinic", "a book club API": the words naming the service are no requirement."""
    words = clause.words
    for i, word in enumerate(words):
        if word in SERVICE_WORDS:
            clause.use(*range(max(0, i - 3), i + 1))
        if word == "for" and i + 1 < len(words):
            k = i + 1
            while k < len(words) and (words[k] in STOP or words[k] in ADJECTIVES):
                k += 1
            if k < len(words) and not looks_plural(words[k]):
                m = k + 1
                while m < len(words) and m - k < 4 and _domain_word(words[m], draft):
                    m += 1  # "for a community garden association where …": the whole name
                clause.use(*range(i, min(len(words), max(m, k + 2))))
    _read_title(clause, draft)
    lead = [
        k for k, w in enumerate(words[:4]) if w not in STOP and not looks_plural(w) and w not in ADJECTIVES
    ]
    follows = ("where", "that", "which", "with", "for", "to", "in", "api", "app", "service")
    opening = lead and (lead[0] == 0 or (lead[0] == 1 and words[0] in ("a", "an", "the")))
    end = lead[0] + 1 if lead else 0
    while opening and end < len(words) and end - lead[0] < 3 and _domain_word(words[end], draft):
        end += 1  # "A tool library where …": a name of two or three words
    if lead and end > lead[0] + 1 and end < len(words) and words[end] in ("that", "which"):
        end = lead[0] + 1  # "a webhook receiver that stores …": what it does says what it is, reported
    if opening and end < len(words) and words[end] in follows:
        clause.use(*range(lead[0], end))  # "A shop where …", "Library with books …": what the service is for


_COLLECTIONS = frozenset(
    {
        "inventory",
        "catalog",
        "catalogue",
        "collection",
        "register",
        "registry",
        "directory",
        "database",
        "list",
        "log",
    }
)
# "a sensor API that records readings": the verb says the readings are kept, which the entity does
_KEEPING_VERBS = frozenset(
    {"records", "receives", "accepts", "saves", "logs", "stores", "keeps", "tracks", "collects", "holds"}
)


def leftovers(clause: Clause, draft: Draft) -> None:
    """Words no rule used: the clause is reported as a requirement not implemented, quoting it."""
    read_domain(clause, draft)
    content = [
        (k, w)
        for k, w in enumerate(clause.words)
        if k not in clause.used
        and w not in STOP
        and not NUMBER.match(w)
        and len(w) > 2
        and singular(w) not in draft.entities
        and not (w in vocab.LINKING_VERBS and k + 1 < len(clause.words))  # "attendees register" is said
        and w not in _KEEPING_VERBS
    ]
    if content:
        unknown = ", ".join(dict.fromkeys(w for _, w in content))
        draft.partial.add(clause.text)
        draft.unsaid.append(
            (
                _unread_part(clause, {w for _, w in content}),
                f"the rules did not understand {unknown!r}: say it in spec.yaml "
                "(fields, rules, queries, jobs) or build with a model",
            )
        )


def _unread_part(clause: Clause, unknown: set[str]) -> str:
    """The parts of a clause (between commas and "and") holding words no rule read: the whole clause when no
    rule read any of it, else only those parts, so what was understood is not reported as well."""
    if not clause.used:
        return clause.text
    cuts = r",|;|\band\b|\bbut\b|(?=\b(?:of what|which|that|who|whose|where|when)\b)"
    parts = [p.strip() for p in re.split(cuts, clause.text) if p.strip()]
    unread = [p for p in parts if set(re.findall(r"[\w']+", p)) & unknown]
    if unread != [clause.text]:
        return ", ".join(unread) if unread else clause.text
    words = clause.words  # one part: the unread words and the word either side ("3 active subscriptions")
    at = [k for k, w in enumerate(words) if w in unknown and k not in clause.used]
    return clause.phrase(max(0, at[0] - 1), min(len(words) - 1, at[-1] + 1)) if at else clause.text
