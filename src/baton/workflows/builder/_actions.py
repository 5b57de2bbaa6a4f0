"""What an idea asks the service to DO, beyond keeping data: cut out of the clauses before nouns are read.

"An endpoint that adds, subtracts, multiplies and divides two numbers", "a relay that forwards requests
to Slack", "every hour fetch rates from …", "the API notifies members when loans are overdue": each is a
span of words around an action verb (or a noun naming a service by what it does, "a currency converter").
Such a span is no entity and no relation: it becomes a ``not implemented`` requirement quoting the user,
with what it needs (a model, or a `kind: fetch` job in spec.yaml), and its words are not read as things
the service keeps — except what a fetch brings in ("fetch exchange rates … and store them") and what
is sent ("users send messages to each other"), which are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from baton.workflows.builder import _vocabulary as vocab
from baton.workflows.builder._draft import Clause, Draft
from baton.workflows.builder._naming import looks_plural
from baton.workflows.builder._words import (
    ACTION_VERBS,
    AGENT_NOUNS,
    AMBIGUOUS_ACTIONS,
    FETCH_VERBS,
    OBJECT_PRONOUNS,
    SEND_VERBS,
    STOP,
)

MODEL = "build with a model configured (BATON_CONFIG) to have it written"
REASONS = {
    "compute": f"a computation, not data the service keeps: the templates cannot write it — {MODEL}",
    "convert": f"a conversion, not data the service keeps: the templates cannot write it — {MODEL}",
    "relay": f"relaying or forwarding to another service needs code the templates cannot write — {MODEL}",
    "send": f"sending e-mails or messages needs a mail or messaging service the build does not set up — {MODEL}",
    "fetch": (
        "fetching from an outside source needs its URL and a field mapping: add a `kind: fetch` job to "
        f"spec.yaml (source_url, mapping, key), or {MODEL}"
    ),
    "shorten": f"redirecting a short code to its URL needs an endpoint the templates cannot write — {MODEL}",
}

# Words before a noun: "a text", "the posts", "has an email", "with alerts" — the next word is no verb.
_NOUN_LEADS = frozenset(
    {
        "a", "an", "the", "its", "their", "his", "her", "our", "my", "your", "has", "have", "having", "with",
        "many", "several", "some", "each", "every", "of", "valid", "for", "by", "no", "any", "this", "these",
        "those", "per", "own", "new", "email", "sms", "push", "daily", "weekly", "nightly", "hourly",
    }
)  # fmt: skip
_NOUN_FOLLOWERS = frozenset(
    {"have", "has", "are", "is", "was", "were", "belong", "belongs", "can", "with", "of", "may", "must"}
)
_SCHEDULE = frozenset(
    {
        "every", "each", "once", "hour", "hourly", "day", "daily", "night", "nightly", "week", "weekly",
        "morning", "evening", "minute", "minutes", "hours", "midnight", "month", "monthly", "at", "a", "an",
        "then", "automatically",
    }
)  # fmt: skip
# A verb follows: "a service that converts", "it also sends", "can translate", "the API notifies".
_VERB_LEADS = frozenset(
    {
        "that", "which", "who", "it", "also", "then", "to", "can", "will", "should", "must", "may", "please",
        "automatically", "we", "i", "you", "they", "api", "service", "app", "endpoint", "bot", "job",
        "server", "function", "system", "backend", "script", "task", "just", "only",
    }
) | _SCHEDULE  # fmt: skip
# The words of a span's subject: "the API notifies …", "a nightly job collects …", "an endpoint that adds …".
_LEADS = frozenset(
    {
        "that", "which", "who", "it", "also", "then", "automatically", "the", "a", "an", "api", "service",
        "app", "endpoint", "endpoints", "job", "bot", "server", "function", "backend", "script", "we", "i",
        "please", "simple", "small", "rest", "http", "json", "web", "little", "tiny", "can", "should", "will",
        "must",
    }
) | _SCHEDULE  # fmt: skip
# CRUD verbs a span may open with when an action follows at once: "an endpoint that adds, subtracts …".
_CHAIN_VERBS = frozenset(
    {
        "adds", "add", "takes", "take", "accepts", "accept", "receives", "receive", "gets", "get", "reads",
        "read", "returns", "return", "gives", "give", "shows", "show", "lists", "list",
    }
)  # fmt: skip
_CONJUNCTIONS = frozenset({"and", "or", "but", "then", "so", "while"})
_SERVICE_TAILS = frozenset({"api", "service", "app", "endpoint", "tool", "bot", "server", "backend"})
_SHORTEN = frozenset({"shortener", "shorteners", "shorten", "shortens", "shortening"})
_FETCH_OBJECT_ENDS = frozenset(
    {"from", "at", "via", "using", "off", "out", "of", "into", "on", "every", "with", "for", "to", "in"}
)
_SENT_LINKS = frozenset({"of", "to", "for", "when", "about", "with", "in", "on", "if", "whenever"})
_OPERANDS = frozenset(
    {
        "two",
        "three",
        "2",
        "3",
        "numbers",
        "values",
        "integers",
        "fractions",
        "operands",
        "vectors",
        "matrices",
    }
)
_AGENT_OBJECTS = frozenset({"for", "of", "between", "from", "to", "into", "that", "which"})
# "poll the GitHub API for new issues": the source, then what is fetched from it
_SOURCES = frozenset(
    {"api", "apis", "site", "website", "websites", "feed", "feeds", "server", "endpoint", "service"}
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int  # inclusive
    kind: str


def _by_suffix(word: str) -> str | None:
    """ "verifies", "classifies", "summarizes", "anonymizes": third-person verbs by their ending."""
    if len(word) > 6 and word.endswith("ifies"):
        return "compute"
    if len(word) > 6 and word.endswith(("izes", "yzes")) and word not in ("prizes", "sizes", "seizes"):
        return "convert"
    return None


def action_at(words: list[str], i: int, *, after_action: bool = False) -> str | None:
    """The kind of action the word at ``i`` asks for ("compute", "relay", "send", …), or None."""
    word = words[i]
    kind = ACTION_VERBS.get(word) or _by_suffix(word)
    if kind is None:
        return None
    if word in ("add", "adds") and not (after_action or set(words[i + 1 : i + 4]) & _OPERANDS):
        return None  # "users add books" keeps books; "adds two numbers" computes
    if word in ("check", "checks") and i + 1 < len(words) and words[i + 1] in ("out", "in", "into"):
        return None  # "members check out books": a loan
    elsewhere = {"to", "into", "onto"} & set(words[i + 1 : i + 6])
    if kind == "relay" and word in AMBIGUOUS_ACTIONS and word not in ("caches", "cache") and not elsewhere:
        return None  # "users post messages", "upload photos" keep them; "posts them to Discord" relays
    before = words[i - 1] if i > 0 else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    if before in _NOUN_LEADS and not (after_action and before in ("and", "or")):
        return None
    if after in _NOUN_FOLLOWERS:
        return None  # "posts have many comments", "alerts are sent": a noun, the subject of a verb
    if not after and before in ("and", "or") and not after_action:
        return None  # "subscribers, newsletters and sends": the last noun of a list
    context = (
        (i == 0 and not word.endswith("s"))
        or before in _VERB_LEADS
        or after in OBJECT_PRONOUNS
        or after_action
        or (before in _CHAIN_VERBS and i > 1 and words[i - 2] in _VERB_LEADS)
    )
    if word in AMBIGUOUS_ACTIONS and i == 0 and _noun_subject(words):
        return None  # "harvest logs record the weight": a noun before a plural noun and its verb
    if word in AMBIGUOUS_ACTIONS:
        return kind if context else None  # "a source text", "channels and messages": nouns
    if word in FETCH_VERBS or (word in SEND_VERBS and after):
        return kind  # as the rules always read them: "fetch …", "send a reminder …"
    if word.endswith("s") and word != "sms":
        return kind  # "converts", "relays": a third-person verb that is never a plural noun here
    return kind if context or looks_plural(before) else None  # "users convert files"


_BASE_VERBS = frozenset(
    {w[:-2] for w in vocab.VERBS_3RD if w.endswith("es")}
    | {w[:-1] for w in vocab.VERBS_3RD}
    | set(vocab.LINKING_VERBS)
    | {"have", "are", "belong", "keep", "store", "record", "track", "log", "show", "list"}
)


def _noun_subject(words: list[str]) -> bool:
    """ "harvest logs record …", "print jobs have …": the first two words are a noun and its verb follows."""
    return len(words) > 2 and looks_plural(words[1]) and words[2] in _BASE_VERBS


def _starts_predicate(words: list[str], k: int) -> bool:
    """Whether the words from ``k`` open a new predicate: "stores them" does not, "members borrow" does."""
    if k >= len(words):
        return False
    word = words[k]
    verbs = vocab.VERBS_3RD | set(vocab.LINKING_VERBS) | {"store", "stores", "keep", "keeps", "save", "saves"}
    if word in verbs:
        return not (k + 1 < len(words) and words[k + 1] in OBJECT_PRONOUNS)
    nxt = words[k + 1 : k + 3]
    noun_then_verb = looks_plural(word) or word in ("the", "a", "an", "users", "it", "they", "we")
    return noun_then_verb and any(w in verbs or w in vocab.VERBS_3RD for w in nxt)


def _span_end(words: list[str], start: int) -> int:
    k = start + 1
    while k < len(words):
        cut = words[k] in _CONJUNCTIONS and k + 1 < len(words)
        if cut and action_at(words, k + 1, after_action=True) is None and _starts_predicate(words, k + 1):
            return k - 1
        k += 1
    return len(words) - 1


def _span_start(words: list[str], verb: int, floor: int) -> int:
    start = verb
    while start - 1 >= floor and words[start - 1] in _CHAIN_VERBS and start == verb:
        start -= 1  # "adds, subtracts …": the CRUD verb before the first action is part of it
    agent = False
    while start - 1 >= floor:
        word = words[start - 1]
        if word in _LEADS or word.isdigit() or word in AGENT_NOUNS or (agent and _modifier(word)):
            agent = agent or word in AGENT_NOUNS
            start -= 1
            continue
        break
    if start > floor and not agent:
        while start < verb and words[start] in (_SERVICE_TAILS | {"that", "which", "who"}):
            start += 1  # "a todo API that also emails me …": the span is what it does, not the API
    return start


def _modifier(word: str) -> bool:
    """A word qualifying an agent noun: "a *currency* converter", "a *password strength* checker"."""
    return word.isalpha() and word not in STOP and not looks_plural(word) and len(word) > 1


def _noun_phrase_start(words: list[str], i: int, floor: int) -> int:
    """Where the noun phrase ending at ``i`` starts: "a *password strength* checker"."""
    start = i
    while start > floor and _modifier(words[start - 1]) and i - start < 3:
        start -= 1
    while start > floor and words[start - 1] in ("a", "an", "the", "simple", "small"):
        start -= 1
    return start


def _agent_span(words: list[str], i: int, floor: int) -> Span:
    """ "a currency converter API", "a webhook relay that forwards …", "a unit converter for lengths"."""
    end = i
    while end + 1 < len(words) and (words[end + 1] in _SERVICE_TAILS or words[end + 1] == "that"):
        end += 1
    follows = end + 1 < len(words) and (
        words[end + 1] in _AGENT_OBJECTS or action_at(words, end + 1, after_action=True) is not None
    )
    if follows:  # "… that forwards requests", "a unit converter for lengths and weights"
        end = _span_end(words, end + 1)
    elif end > i and words[end] == "that":
        end -= 1
    return Span(_noun_phrase_start(words, i, floor), end, AGENT_NOUNS[words[i]])


def _span_at(words: list[str], i: int, floor: int) -> Span | None:
    word = words[i]
    if word in _SHORTEN:
        start = min(_span_start(words, i, floor), _noun_phrase_start(words, i, floor))
        return Span(start, _span_end(words, i), "shorten")
    kind = action_at(words, i)
    if kind is not None:
        return Span(_span_start(words, i, floor), _span_end(words, i), kind)
    following = words[i + 1] if i + 1 < len(words) else ""
    head = (
        not following
        or following in _SERVICE_TAILS
        or following in _AGENT_OBJECTS
        or not _modifier(following)
    )
    if word in AGENT_NOUNS and head and not looks_plural(following):
        return _agent_span(words, i, floor)  # "a currency converter API"; not "a converter shop"
    return None


def find_spans(words: list[str]) -> list[Span]:
    """The action spans of one clause's words, in order, not overlapping."""
    spans: list[Span] = []
    i = 0
    while i < len(words):
        span = _span_at(words, i, spans[-1].end + 1 if spans else 0)
        if span is None:
            i += 1
            continue
        spans.append(span)
        i = span.end + 1
    return spans


def _part(clause: Clause, offsets: list[tuple[int, int]], start: int, end: int, role: str) -> Clause | None:
    while start <= end and clause.words[start] in _CONJUNCTIONS:
        start += 1
    while end >= start and clause.words[end] in _CONJUNCTIONS:
        end -= 1
    if start > end:
        return None
    text = clause.text[offsets[start][0] : offsets[end][1]]
    return Clause(text=text, words=clause.words[start : end + 1], role=role)


def _fetch_object(words: list[str], span: Span) -> tuple[int, int] | None:
    """ "fetch exchange rates from …": the words of what is fetched (and kept)."""
    verb = next(k for k in range(span.start, span.end + 1) if ACTION_VERBS.get(words[k]) == "fetch")
    end = verb
    while end + 1 <= span.end and words[end + 1] not in _FETCH_OBJECT_ENDS | _CONJUNCTIONS:
        end += 1
    if end + 1 <= span.end and words[end + 1] == "for" and set(words[verb + 1 : end + 1]) & _SOURCES:
        verb = end + 1
        end = verb
        while end + 1 <= span.end and words[end + 1] not in _FETCH_OBJECT_ENDS | _CONJUNCTIONS:
            end += 1
    return (verb + 1, end) if end > verb else None


def _kept_objects(clause: Clause, offsets: list[tuple[int, int]], span: Span) -> list[Clause]:
    """What an action brings in or names that the service keeps: what a fetch fetches ("fetch exchange
    rates … and store them"), what is sent ("users send messages to each other", as the rules always did)."""
    if span.kind == "send":
        words = clause.words
        verb = next((k for k in range(span.start, span.end + 1) if words[k] in ACTION_VERBS), span.start)
        linked = next((k for k in range(verb + 1, span.end + 1) if words[k] in _SENT_LINKS), span.end + 1)
        if not any(looks_plural(w) for w in words[verb + 1 : linked]):
            verb = linked - 1  # "sends a weekly report of new signups": the report is sent, not kept
        kept = _part(clause, offsets, verb + 1, span.end, "object")
        return [kept] if kept is not None else []
    if span.kind == "fetch":
        found = _fetch_object(clause.words, span)
        kept = _part(clause, offsets, found[0], found[1], "object") if found is not None else None
        return [kept] if kept is not None else []
    return []


def split_actions(clauses: list[Clause], word_pattern: re.Pattern[str], draft: Draft) -> list[Clause]:
    """The clauses with each action span cut out as a clause of its own (``role="action"``), its
    requirement recorded as not implemented; what a fetch or a send names kept as a clause to read
    entities from (``role="object"``)."""
    result: list[Clause] = []
    for clause in clauses:
        spans = find_spans(clause.words)
        if not spans:
            result.append(clause)
            continue
        offsets = [m.span() for m in word_pattern.finditer(clause.text)]
        cursor = 0
        for span in spans:
            before = _part(clause, offsets, cursor, span.start - 1, "")
            if before is not None:
                result.append(before)
            action = _part(clause, offsets, span.start, span.end, "action")
            if action is None:
                continue
            action.kind = span.kind
            result.append(action)
            result.extend(_kept_objects(clause, offsets, span))
            if span.kind in REASONS:
                draft.unsaid.append((action.text, REASONS[span.kind]))
            cursor = span.end + 1
        after = _part(clause, offsets, cursor, len(clause.words) - 1, "")
        if after is not None:
            after.headless = True  # "… and records the response times": the subject was before the cut
            result.append(after)
    return result
