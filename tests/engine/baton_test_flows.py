"""Workflows the engine tests run. Importable as `baton_test_flows` (tests put this folder on sys.path)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from baton import (
    PermanentError,
    ReportRow,
    RetryPolicy,
    RowOutcome,
    RunReport,
    TaskContext,
    TransientError,
    Workflow,
)


class Count(BaseModel):
    n: int = 5


class Journal(BaseModel):
    """Where tasks record that they ran (the side file of the kill -9 test)."""

    path: str
    n: int = 50
    sleep_ms: float = 0.0


def record(path: str, task: str, attempt: int) -> None:
    # One write() of a short line with O_APPEND is atomic, even if the process is killed right after.
    line = json.dumps({"task": task, "attempt": attempt, "pid": os.getpid()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


# -- fan-out with a gather ---------------------------------------------------------------------------

fanout = Workflow("fanout", inputs=Count)


@fanout.step()
def numbers(inputs: Count) -> list[int]:
    return list(range(inputs.n))


@fanout.map(over=numbers)
async def square(item: int) -> int:
    return item * item


@fanout.step()
def total(square: list[int]) -> int:
    return sum(square)


# -- a durable workload for kill -9: fan-out, then a chain, each task journaling its execution ------

durable = Workflow("durable", inputs=Journal, max_concurrency=8)


@durable.step()
def plan(inputs: Journal, ctx: TaskContext) -> list[int]:
    record(inputs.path, ctx.task_name, ctx.attempt)
    return list(range(inputs.n))


@durable.map(over=plan)
async def work(item: int, inputs: Journal, ctx: TaskContext) -> dict[str, int]:
    record(inputs.path, ctx.task_name, ctx.attempt)
    await asyncio.sleep(inputs.sleep_ms / 1000)
    return {"item": item, "value": item * 7 % 13}


def _link(index: int) -> None:
    previous = "collect" if index == 0 else f"link{index - 1}"

    def link(inputs: Journal, ctx: TaskContext, previous: int) -> int:
        record(inputs.path, ctx.task_name, ctx.attempt)
        time.sleep(inputs.sleep_ms / 1000)
        return previous * 3 % 10007 + index

    durable.step(name=f"link{index}", uses={"previous": previous})(link)


@durable.step()
def collect(work: list[dict[str, int]], inputs: Journal, ctx: TaskContext) -> int:
    record(inputs.path, ctx.task_name, ctx.attempt)
    return sum(w["value"] for w in work)


for _index in range(20):
    _link(_index)


# -- failures, retries, compensation -----------------------------------------------------------------


class Trace(BaseModel):
    path: str


flaky = Workflow("flaky", inputs=Trace)


@flaky.step(retry=RetryPolicy(attempts=3, backoff=0.01))
def sometimes(ctx: TaskContext) -> str:
    if ctx.attempt < 3:
        raise TransientError(f"attempt {ctx.attempt} failed")
    return "third time lucky"


@flaky.step(retry=RetryPolicy(attempts=5, backoff=0.01))
def never(ctx: TaskContext) -> str:
    raise PermanentError("this cannot work")


def _undo(output: str, inputs: Trace) -> None:
    Path(inputs.path).write_text(Path(inputs.path).read_text() + f"undo {output}\n")


@flaky.step(compensate=_undo)
def side_effect(inputs: Trace) -> str:
    Path(inputs.path).write_text(Path(inputs.path).read_text() + "do A\n")
    return "A"


@flaky.step()
def after_never(never: str, side_effect: str) -> str:
    return never + side_effect


slow = Workflow("slow")


@slow.step(timeout=0.2, retry=RetryPolicy(attempts=2, backoff=0.01))
async def too_slow() -> int:
    await asyncio.sleep(5)
    return 1


@slow.step()
async def long_running(ctx: TaskContext) -> int:
    for i in range(600):
        ctx.progress(i / 6, "sleeping")
        await asyncio.sleep(0.05)
    return 1


# -- a rollback that a kill -9 interrupts -------------------------------------------------------------


class Rollback(BaseModel):
    """Files in ``folder``: ``journal`` (one line per compensation call), ``hold`` (while it exists, the
    compensation of ``deploy`` waits, so that a test can kill its process), ``refuse`` (compensations
    raise) and ``fixed`` (``verify`` succeeds)."""

    folder: str


def _undo(step: str, output: str, inputs: Rollback) -> None:
    folder = Path(inputs.folder)
    record(str(folder / "journal"), f"undo {step}", 0)
    deadline = time.monotonic() + 60
    while step == "deploy" and (folder / "hold").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    if (folder / "refuse").exists():
        raise RuntimeError(f"cannot undo {output}")


rollback = Workflow("rollback", inputs=Rollback)


@rollback.step(compensate=lambda output, inputs: _undo("reserve", output, inputs))
def reserve() -> str:
    return "capacity"


@rollback.step(compensate=lambda output, inputs: _undo("deploy", output, inputs))
def deploy(reserve: str) -> str:
    return f"service on {reserve}"


@rollback.step(compensate=lambda output, inputs: _undo("notify", output, inputs))
def notify(deploy: str) -> str:
    return f"told everyone about {deploy}"


@rollback.step()
def verify(notify: str, inputs: Rollback) -> str:
    if not (Path(inputs.folder) / "fixed").exists():
        raise PermanentError("the service does not answer")
    return "verified"


# -- approvals ---------------------------------------------------------------------------------------

gated = Workflow("gated")


@gated.step()
def prepare() -> str:
    return "artifact"


@gated.step(approval=True)
def release(prepare: str) -> str:
    return f"released {prepare}"


@gated.step()
def announce(release: str) -> str:
    return release.upper()


# -- ordering ----------------------------------------------------------------------------------------

ordered = Workflow("ordered", inputs=Trace, max_concurrency=1)


def _ordered_step(name: str, priority: int, duration: float) -> None:
    def fn(inputs: Trace) -> str:
        with open(inputs.path, "a") as out:
            out.write(name + "\n")
        return name

    ordered.step(name=name, priority=priority, expected_duration=duration)(fn)


_ordered_step("low", 0, 1)
_ordered_step("high", 5, 1)
_ordered_step("long_head", 0, 10)


@ordered.step(expected_duration=10)
def long_tail(long_head: str) -> str:
    return long_head


# -- a failure a human can fix, then retry ------------------------------------------------------------

fixable = Workflow("fixable", inputs=Trace)


@fixable.step()
def needs_fix(inputs: Trace) -> str:
    if not Path(inputs.path).exists():
        raise PermanentError(f"{inputs.path} is missing")
    return Path(inputs.path).read_text()


@fixable.step()
def after_fix(needs_fix: str) -> str:
    return needs_fix.upper()


# -- several mapped steps over one source, and a map over an empty map ----------------------------------

maps = Workflow("maps", inputs=Count)


@maps.step()
def source(inputs: Count) -> list[int]:
    return list(range(inputs.n))


@maps.map(over=source)
async def plus_one(item: int) -> int:
    return item + 1


@maps.map(over=source)
async def times_two(item: int) -> int:
    return item * 2


@maps.map(over=plus_one)
async def nested(item: int) -> int:
    return -item


@maps.step()
def combined(plus_one: list[int], times_two: list[int], nested: list[int]) -> list[int]:
    return [a + b + c for a, b, c in zip(plus_one, times_two, nested, strict=True)]


# -- a blocking step that hangs past its timeout ---------------------------------------------------------

hung = Workflow("hung")
RELEASE = threading.Event()


@hung.step(timeout=0.2, retry=RetryPolicy(attempts=1))
def blocks() -> int:
    RELEASE.wait(60)
    return 1


# -- a run held to one task at a time --------------------------------------------------------------------

capped = Workflow("capped", max_concurrency=1)


def _capped_step(name: str) -> None:
    async def wait_a_little() -> str:
        await asyncio.sleep(0.2)
        return name

    capped.step(name=name)(wait_a_little)


for _name in ("c1", "c2", "c3", "c4"):
    _capped_step(_name)


# -- a fleet of workers on PostgreSQL (test_many_workers) -------------------------------------------------


class Fleet(BaseModel):
    """``path``: the journal (one line per execution that returned); ``n`` items, each sleeping ``sleep_ms``;
    with ``fail_once`` each item's first attempt raises a transient error; ``gate`` (a mapped step's
    dependency) needs an approval in ``gated_fleet``."""

    path: str
    n: int = 500
    sleep_ms: float = 0.0
    fail_once: bool = True


fleet = Workflow("fleet", inputs=Fleet)


@fleet.step()
def items(inputs: Fleet) -> list[int]:
    return list(range(inputs.n))


@fleet.map(over=items, retry=RetryPolicy(attempts=3, backoff=0.05, jitter=0.5))
async def flap(item: int, inputs: Fleet, ctx: TaskContext) -> int:
    await asyncio.sleep(inputs.sleep_ms / 1000)
    if inputs.fail_once and ctx.attempt == 1:
        raise TransientError(f"item {item} fails its first attempt")
    record(inputs.path, ctx.task_name, ctx.attempt)
    return item * item % 997


@fleet.step()
def fleet_total(flap: list[int]) -> int:
    return sum(flap)


def _fleet_undo(output: int, inputs: Fleet) -> None:
    record(inputs.path, "undo", 0)
    hold = Path(inputs.path + ".hold")
    deadline = time.monotonic() + 60
    while hold.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


# The same fan-out, then a step that fails for good behind a compensated one: the rollback runs on a worker.
doomed = Workflow("doomed", inputs=Fleet)


@doomed.step(compensate=_fleet_undo)
def doomed_items(inputs: Fleet) -> list[int]:
    return list(range(inputs.n))


@doomed.map(over=doomed_items, retry=RetryPolicy(attempts=3, backoff=0.05, jitter=0.5))
async def doomed_flap(item: int, inputs: Fleet, ctx: TaskContext) -> int:
    await asyncio.sleep(inputs.sleep_ms / 1000)
    return item


@doomed.step()
def doomed_end(doomed_flap: list[int]) -> int:
    raise PermanentError("the end cannot be reached")


# The same fan-out behind a human: a release that needs an approval, then one more step.
gated_fleet = Workflow("gated_fleet", inputs=Fleet)


@gated_fleet.step()
def gated_items(inputs: Fleet) -> list[int]:
    return list(range(inputs.n))


@gated_fleet.map(over=gated_items, retry=RetryPolicy(attempts=3, backoff=0.05, jitter=0.5))
async def gated_flap(item: int, inputs: Fleet, ctx: TaskContext) -> int:
    await asyncio.sleep(inputs.sleep_ms / 1000)
    if inputs.fail_once and ctx.attempt == 1:
        raise TransientError(f"item {item} fails its first attempt")
    record(inputs.path, ctx.task_name, ctx.attempt)
    return item


@gated_fleet.step(approval=True)
def gated_release(gated_flap: list[int]) -> int:
    return sum(gated_flap)


@gated_fleet.step()
def gated_after(gated_release: int) -> int:
    return gated_release + 1


# -- a report: made from two steps' checkpoints, the second behind an approval --------------------------


class Marks(BaseModel):
    marks: dict[str, int] = {"maths": 9, "art": 4, "music": -1}  # -1: the subject was not taken
    pass_mark: int = 5
    broken: bool = False  # the report function fails (as a buggy one would)


graded = Workflow("graded", inputs=Marks)


@graded.step()
def mark(inputs: Marks) -> Marks:
    return inputs


@graded.step(approval=True)
def publish(mark: Marks) -> int:
    return len(mark.marks)


@graded.report
def grade_report(mark: Marks, publish: int) -> RunReport:
    if mark.broken:
        raise ValueError("the grade book is torn")
    rows = []
    for subject, score in mark.marks.items():
        if score < 0:
            outcome, status, reason = RowOutcome.NOT_IMPLEMENTED, "not taken", f"{subject} was not taken"
        elif score >= mark.pass_mark:
            outcome, status, reason = RowOutcome.MET, "passed", None
        else:
            outcome, status, reason = RowOutcome.FAILED, "below the pass mark", f"{score} < {mark.pass_mark}"
        rows.append(
            ReportRow(
                id=subject,
                subject=f"{subject} reaches {mark.pass_mark}",
                status=status,
                outcome=outcome,
                reason=reason,
                cells={"score": str(score)},
            )
        )
    met = sum(1 for row in rows if row.outcome is RowOutcome.MET)
    return RunReport(
        title="grades",
        headline=f"{met}/{len(rows)} subjects reach the pass mark",
        subject_label="subject",
        columns=["score"],
        rows=rows,
        facts={"published": str(publish)},
        notes=["music is optional"],
    )


# -- a long chain declared last-first: every dependency is a forward reference -----------------------
# Longer than Python's recursion limit, which a recursive walk of the graph would exhaust.

BACKWARDS_LINKS = 1_100
backwards = Workflow("backwards")


def _link(index: int) -> Any:
    def link() -> int:
        return index

    return link


for _index in reversed(range(BACKWARDS_LINKS)):
    backwards.step(name=f"link{_index}", after=[f"link{_index - 1}"] if _index else ())(_link(_index))


# -- one root released to ten dependents at once -----------------------------------------------------

SPREAD = 10
spread = Workflow("spread")


@spread.step()
def root() -> int:
    return 1


def _leaf(index: int) -> Any:
    def leaf(root: int) -> int:
        return root + index

    return leaf


for _index in range(SPREAD):
    spread.step(name=f"leaf{_index}")(_leaf(_index))
