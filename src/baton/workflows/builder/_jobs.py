"""The stack and the scheduled jobs an idea asks for: "serverless", "a web app", "every night, clean up
expired reservations", "a nightly summary"."""

from __future__ import annotations

import re

from baton.workflows.builder._draft import Clause, Draft
from baton.workflows.builder._naming import plural
from baton.workflows.builder._reading import mentions
from baton.workflows.builder.spec import JobKind, Stack

FUNCTIONS_WORDS = frozenset(
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
FLASK_WORDS = frozenset(["website", "webapp", "site", "pages", "page", "dashboard", "flask", "form", "forms"])
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


def infer_stack(words: set[str], idea: str) -> tuple[Stack, str]:
    """The stack the words ask for, and why, naming the word: "stack functions, chosen for the word 'nightly'"."""
    timer = sorted(words & FUNCTIONS_WORDS)
    if timer:
        return (
            Stack.FUNCTIONS,
            f"stack functions, chosen for the word{'s' if len(timer) > 1 else ''} "
            + ", ".join(f"'{w}'" for w in timer),
        )
    web = sorted(words & FLASK_WORDS) + [p for p in ("web app", "small app") if p in idea]
    if web:
        return Stack.FLASK, f"stack flask, chosen for the word '{web[0]}'"
    return (
        Stack.FASTAPI,
        "stack fastapi (the default: no word of the idea asks for web pages, flask or a timer)",
    )


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


def read_jobs(clauses: list[Clause], text: str, words: set[str], draft: Draft, stack: Stack) -> None:
    cron, said = _schedule(text)
    if words & _CLEANUP_WORDS:
        clause = next(c for c in clauses if set(c.words) & _CLEANUP_WORDS)
        mentioned = [name for _, name in mentions(clause, draft)] or draft.mentioned
        target = mentioned[-1]
        dated = [f for f in draft.entities[target] if f["type"] in ("date", "datetime")]
        preferred = [f for f in dated if f["name"] in ("expires_at", "ends_at", "due_on", "expires_on")]
        if not dated:
            draft.set_field(target, "expires_at", type="datetime")
            draft.assumptions.append(f"{target} gets an expires_at field for the clean-up job")
            chosen = "expires_at"
        else:
            chosen = (preferred or dated)[0]["name"]
        name = f"cleanup_{plural(target)}"
        draft.jobs.append(
            {"name": name, "kind": JobKind.CLEANUP, "schedule": cron, "entity": target, "field": chosen}
        )
        draft.assumptions.append(f"a timer job deletes {plural(target)} whose {chosen} has passed, {said}")
        clause.use(*[k for k, w in enumerate(clause.words) if w in _CLEANUP_WORDS or w in FUNCTIONS_WORDS])
        draft.said.append((clause.text, f"job:{name}"))
    if words & {"summary", "summarise", "summarize", "summarises", "summarizes", "totals"}:
        clause = next(
            c
            for c in clauses
            if set(c.words) & {"summary", "summarise", "summarize", "summarises", "summarizes", "totals"}
        )
        draft.jobs.append({"name": "summary", "kind": JobKind.SUMMARY, "schedule": cron})
        draft.assumptions.append(f"a timer job logs how many rows each entity has, {said}")
        clause.use(*range(len(clause.words)))
        draft.said.append((clause.text, "job:summary"))
    if draft.jobs and stack is not Stack.FUNCTIONS:
        for job in draft.jobs:
            draft.said[:] = [(t, f) for t, f in draft.said if f != f"job:{job['name']}"]
            draft.unsaid.append(
                (
                    f"the {job['name']} job ({said})",
                    f"scheduled jobs need the functions stack (this build: {stack.value})",
                )
            )
        draft.jobs.clear()


def fetch_sources(clauses: list[Clause]) -> list[Clause]:
    """The fetches of the idea that name their source: "every hour fetch rates from https://…"."""
    return [c for c in clauses if c.kind == "fetch" and any(w.startswith("sourceurl") for w in c.words)]


def read_fetch_jobs(clauses: list[Clause], draft: Draft, stack: Stack, reason: str) -> None:
    """A fetch job for each fetch that names its URL and what it brings in; the source's keys are taken to be
    the field names (an assumption to correct in spec.yaml). Without a URL the fetch stays not implemented."""
    for clause in fetch_sources(clauses):
        named = [name for _, name in mentions(clause, draft)]
        target = next(iter(named), None)
        why = (
            "it names nothing the service keeps"
            if target is None
            else f"fetch jobs are rendered on the fastapi stack only (this build: {stack.value})"
            if stack is not Stack.FASTAPI
            else f"a fetched {target} could not name its parent"
            if any(c == target for _, c in draft.relations)
            else ""
        )
        if why or target is None:
            instead = (
                f"the rules made no fetch job of it ({why}): write the `kind: fetch` job in spec.yaml "
                "(source_url, mapping, key), or build with a model configured (BATON_CONFIG)"
            )
            draft.unsaid = [(t, instead if (t, r) == (clause.text, reason) else r) for t, r in draft.unsaid]
            continue
        url = draft.urls[next(w for w in clause.words if w.startswith("sourceurl"))]
        fields = draft.entities[target]
        mapping = {f["name"]: f["name"] for f in fields}
        unique = [f["name"] for f in fields if f.get("unique")]
        key = (
            unique or [f["name"] for f in fields if f["name"] in ("code", "name", "key")] or list(mapping)
        )[0]
        name = f"fetch_{plural(target)}"
        cron, said = _schedule(clause.text)
        draft.jobs.append(
            {
                "name": name,
                "kind": JobKind.FETCH,
                "schedule": cron,
                "entity": target,
                "source_url": url,
                "mapping": mapping,
                "key": key,
            }
        )
        draft.unsaid = [(t, r) for t, r in draft.unsaid if not (t == clause.text and r == reason)]
        draft.said.append((clause.text, f"job:{name}"))
        draft.assumptions.append(
            f"a fetch job GETs {url} {said} and upserts {plural(target).replace('_', ' ')} by {key}; the source's "
            f"rows are taken to use the field names as keys ({', '.join(mapping)}): correct `mapping` in spec.yaml"
        )
