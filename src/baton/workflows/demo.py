"""A small workflow that shows what the engine does: fan-out over a list known only at run time,
a step that fails once and is retried, live progress, and a gather step.

    baton run baton.workflows.demo:workflow --input documents=12
"""

from __future__ import annotations

import asyncio
import hashlib

from pydantic import BaseModel, Field

from baton.core.errors import TransientError
from baton.core.workflow import RetryPolicy, TaskContext, Workflow


class DemoInputs(BaseModel):
    documents: int = Field(default=12, ge=0, le=10_000, description="How many documents to process")
    work_ms: int = Field(default=150, ge=0, le=10_000, description="Simulated work per document")


class Document(BaseModel):
    number: int
    title: str


class Summary(BaseModel):
    number: int
    digest: str
    words: int


class Report(BaseModel):
    documents: int
    words: int
    fingerprint: str
    source: str


workflow = Workflow("demo", inputs=DemoInputs, description="Fan-out, a retry and live progress")


@workflow.step(expected_duration=0.05)
def discover(inputs: DemoInputs) -> list[Document]:
    """List the documents to process (the list is only known at run time)."""
    return [Document(number=n, title=f"document {n}") for n in range(inputs.documents)]


@workflow.map(over=discover, expected_duration=0.2)
async def summarise(item: Document, inputs: DemoInputs, ctx: TaskContext) -> Summary:
    """Summarise one document, reporting progress as it goes."""
    for percent in (25, 50, 75):
        await asyncio.sleep(inputs.work_ms / 4000)
        ctx.progress(percent, f"reading {item.title}")
    digest = hashlib.sha256(item.title.encode()).hexdigest()[:12]
    return Summary(number=item.number, digest=digest, words=40 + 7 * item.number)


@workflow.step(retry=RetryPolicy(attempts=3, backoff=0.2), expected_duration=0.1)
def fetch_reference(ctx: TaskContext) -> str:
    """Fetch reference data from a flaky source: the first attempt fails, the retry succeeds."""
    if ctx.attempt == 1:
        ctx.log("reference source timed out")
        raise TransientError("reference source timed out (simulated)")
    return "reference-v1"


@workflow.step(expected_duration=0.05)
def report(summarise: list[Summary], fetch_reference: str) -> Report:
    """Gather every summary into one report."""
    fingerprint = hashlib.sha256("".join(s.digest for s in summarise).encode()).hexdigest()[:16]
    return Report(
        documents=len(summarise),
        words=sum(s.words for s in summarise),
        fingerprint=fingerprint,
        source=fetch_reference,
    )
