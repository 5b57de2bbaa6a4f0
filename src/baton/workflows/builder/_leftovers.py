"""What no rule read: the words naming the service are dropped, every other word is reported.

A clause with words no rule used becomes a ``not implemented`` requirement quoting it, so nothing in the
idea is silently dropped.
"""

from __future__ import annotations

from baton.workflows.builder import _vocabulary as vocab
from baton.workflows.builder._draft import Clause, Draft
from baton.workflows.builder._naming import looks_plural, singular
from baton.workflows.builder._reading import NUMBER, mentions
from baton.workflows.builder._words import ADJECTIVES, STOP

SERVICE_WORDS = frozenset(
    {"api", "app", "service", "system", "platform", "website", "backend", "tool", "site"}
)


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
                clause.use(*range(i, min(len(words), k + 2)))
    titled = words[-1:] and words[-1] in (*SERVICE_WORDS, "shop", "store")
    if words and words[0] in ("a", "an") and len(words) <= 4 and (titled or not mentions(clause, draft)):
        clause.use(*range(len(words)))  # "A plant nursery shop": the title
    lead = [
        k for k, w in enumerate(words[:4]) if w not in STOP and not looks_plural(w) and w not in ADJECTIVES
    ]
    follows = ("where", "that", "which", "with", "for", "to", "in", "api", "app", "service")
    opening = lead and (lead[0] == 0 or (lead[0] == 1 and words[0] in ("a", "an", "the")))
    if opening and lead[0] + 1 < len(words) and words[lead[0] + 1] in follows:
        clause.use(lead[0])  # "A shop where …", "Library with books …": what the service is for


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
        draft.unsaid.append(
            (
                clause.text,
                f"the rules did not understand {unknown!r}: say it in spec.yaml "
                "(fields, rules, queries, jobs) or build with a model",
            )
        )
