"""Running one attempt of one task: assemble its typed context, call its step, judge the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import random
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Executor as PoolExecutor
from typing import Any

from pydantic import BaseModel, ValidationError

from baton.core.errors import MissingContextError, PermanentError, TaskTimeoutError
from baton.core.workflow import Executor, Step, TaskContext
from baton.store.outcomes import Outcome
from baton.store.rows import ClaimedTask


def assemble_arguments(
    step: Step[Any], task: ClaimedTask, inputs: BaseModel | None, ctx: TaskContext
) -> dict[str, Any]:
    """The keyword arguments of the step's function, each validated into its annotated type.

    A dependency without a checkpoint, or one that does not fit the annotation, is a
    :class:`MissingContextError` naming the step and the parameter — never a KeyError inside a step.
    """
    arguments: dict[str, Any] = {}
    for name in step.parameters:
        if name == "ctx":
            arguments[name] = ctx
        elif name == "inputs":
            arguments[name] = inputs
        elif name == "item":
            arguments[name] = _validated(step, name, task.item, "its mapped element")
        else:
            source = step.sources.get(name, name)
            arguments[name] = _validated(
                step, name, task.upstream.get(source), f"the output of step {source!r}"
            )
    return arguments


def _validated(step: Step[Any], parameter: str, raw: str | None, what: str) -> Any:
    if raw is None:
        raise MissingContextError(
            f"step {step.name!r} needs {what} as parameter {parameter!r}, but there is none",
            hint="check that the step it depends on succeeded and returned a value",
        )
    try:
        return step.parameter_adapter(parameter).validate_json(raw)
    except ValidationError as error:
        raise MissingContextError(
            f"step {step.name!r}: {what} does not fit parameter {parameter!r}: {error.errors()[0]['msg']}",
            hint="make the parameter's annotation match that step's return type",
        ) from None


async def call_step(
    step: Step[Any], arguments: dict[str, Any], process_pool: Callable[[], PoolExecutor]
) -> Any:
    """Call the step's function in its executor, enforcing its timeout."""
    fn = step.fn
    if step.executor is Executor.ASYNC:
        call = fn(**arguments)
    elif step.executor is Executor.THREAD and step.timeout is not None:
        call = _in_daemon_thread(fn, arguments)
    elif step.executor is Executor.THREAD:
        call = asyncio.to_thread(fn, **arguments)
    else:
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(process_pool(), functools.partial(fn, **arguments))
    if step.timeout is None:
        return await call
    try:
        return await asyncio.wait_for(call, step.timeout)
    except TimeoutError:
        raise TaskTimeoutError(
            f"step {step.name!r} timed out after {step.timeout:g} s",
            hint="raise its timeout or make it faster",
        ) from None


def _in_daemon_thread(fn: Callable[..., Any], arguments: dict[str, Any]) -> asyncio.Future[Any]:
    """Run a blocking step that has a timeout in a thread of its own, marked daemon.

    A thread cannot be killed: past the timeout the attempt is given up but the thread runs on. In the
    shared executor it would hold a slot, and `asyncio.run` would wait for it before the process
    could exit; a daemon thread does neither.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # timed out and given up already
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result, error = context.run(fn, **arguments), None
        except BaseException as raised:  # handed to the awaiting coroutine
            result, error = None, raised
        with contextlib.suppress(RuntimeError):  # the loop closed while the thread ran on
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name=f"baton-step-{getattr(fn, '__name__', 'step')}", daemon=True).start()
    return future


def serialise_output(step: Step[Any], result: Any) -> str:
    adapter = step.output_adapter
    try:
        return adapter.dump_json(adapter.validate_python(result)).decode()
    except (ValidationError, TypeError, ValueError) as error:
        raise PermanentError(
            f"step {step.name!r} returned {type(result).__name__}, which does not fit its return annotation: {error}",
        ) from None


def judge_failure(
    step: Step[Any], task: ClaimedTask, error: BaseException, *, debug: bool = False
) -> Outcome:
    """The outcome of a failed attempt: retried after a backoff while the policy allows, else failed."""
    message = f"{type(error).__name__}: {error}"
    if debug:
        message += "\n" + "".join(traceback.format_exception(error))
    failures = task.failures + 1
    retry_in: float | None = None
    if step.retry.is_transient(error) and failures < step.retry.attempts:
        retry_in = step.retry.delay(failures, random.random())
    return Outcome(
        task_id=task.id, run_id=task.run_id, attempt=task.attempt, error=message, retry_in=retry_in
    )


async def execute(
    step: Step[Any],
    task: ClaimedTask,
    inputs: BaseModel | None,
    ctx: TaskContext,
    process_pool: Callable[[], PoolExecutor],
) -> Outcome:
    """Run one attempt to its outcome. Never raises except on cancellation."""
    try:
        arguments = assemble_arguments(step, task, inputs, ctx)
        result = await call_step(step, arguments, process_pool)
        output = serialise_output(step, result)
    except asyncio.CancelledError:
        raise
    except Exception as error:  # a step's own failure, judged by its retry policy
        return judge_failure(step, task, error)
    return Outcome(task_id=task.id, run_id=task.run_id, attempt=task.attempt, output=output)
