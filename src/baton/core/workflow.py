"""Declaring workflows: steps, their typed inputs and outputs, dependencies and policies.

A step is a function. Its parameters say what it receives, so the context it needs is declared
in one place and checked before anything runs:

- ``inputs`` — the run's validated inputs (the workflow's ``inputs`` model);
- ``ctx`` — the :class:`TaskContext` (progress, logs, attempt number);
- ``item`` — for a mapped step, the element it handles;
- any other name — the checkpointed output of the step of that name, which becomes a dependency.
  For a mapped step, dependents receive the list of all its items' outputs.

    wf = Workflow("demo", inputs=DemoInputs)

    @wf.step()
    def split(inputs: DemoInputs) -> list[int]: ...

    @wf.map(over=split, retry=RetryPolicy(attempts=5))
    async def square(item: int) -> int: ...

    @wf.step()
    def total(square: list[int]) -> int: ...

A workflow may name its **report** — the run's user-facing result summary — with a pure function whose
parameters name the steps whose checkpoints it reads (see :mod:`baton.core.report`). It is made when a
run is read, once every step it names has succeeded (until then the run has none):

    @wf.report
    def summary(total: int) -> RunReport:
        return RunReport(title="squares", headline=f"total {total}")
"""

from __future__ import annotations

import contextlib
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from baton.core.dag import critical_path, find_cycle, topological_order
from baton.core.errors import (
    CycleError,
    DuplicateStepError,
    InvalidInputError,
    ReportError,
    UnknownDependencyError,
    WorkflowDefinitionError,
)
from baton.core.events import EventType
from baton.core.report import RunReport

F = TypeVar("F", bound=Callable[..., Any])

RESERVED_PARAMETERS = frozenset({"ctx", "inputs", "item"})


class Executor(StrEnum):
    ASYNC = "async"  # a coroutine on the engine's event loop
    THREAD = "thread"  # a plain function in a worker thread
    PROCESS = "process"  # a plain, picklable function in the engine's process pool (CPU-bound work)


@dataclass(frozen=True)
class RetryPolicy:
    """How often a task is tried and how long it waits between tries.

    The delay before try ``n + 1`` is ``backoff * multiplier ** (n - 1)``, capped at ``max_backoff``,
    then spread by ±``jitter`` (a fraction) so that many failing tasks do not retry in lockstep.
    An error is retried when it is an instance of ``retry_on`` and not of ``permanent``; a
    :class:`~baton.core.errors.PermanentError` is never retried, a ``TransientError`` always is.
    """

    attempts: int = 3
    backoff: float = 0.5
    multiplier: float = 2.0
    max_backoff: float = 60.0
    jitter: float = 0.2
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    permanent: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise WorkflowDefinitionError(f"retry attempts must be at least 1, not {self.attempts}")
        if self.backoff < 0 or self.multiplier < 1 or not 0 <= self.jitter <= 1:
            raise WorkflowDefinitionError(
                "retry backoff must be >= 0, multiplier >= 1 and jitter between 0 and 1"
            )

    def delay(self, failures: int, unit_random: float) -> float:
        """Seconds to wait after the ``failures``-th failure; ``unit_random`` is uniform in [0, 1)."""
        base = min(self.backoff * self.multiplier ** max(failures - 1, 0), self.max_backoff)
        return max(0.0, base * (1 + self.jitter * (2 * unit_random - 1)))

    def is_transient(self, error: BaseException) -> bool:
        from baton.core.errors import TaskError

        if isinstance(error, TaskError):
            return error.transient
        if isinstance(error, self.permanent):
            return False
        return isinstance(error, self.retry_on)


class TaskContext:
    """What a running step may use besides its declared inputs.

    ``emit`` is given by the engine: it turns progress reports and log lines into events of this
    task, written with the task's next commit. ``options`` are the run's options (``replay_of``,
    ``budget_usd``); ``services`` are what the process running the task provides to steps (the model
    gateway under ``"gateway"``), given from above since the engine may not import them.

    ``clock`` is the run's reference time (seconds since the epoch): when the run was created, or, for
    a rerun that replays another (option ``clock``), the source's. A step stamps it — not the wall
    clock — on what it makes (a commit's date), so that a replay makes the same bytes. None outside
    the engine.
    """

    def __init__(
        self,
        *,
        run_id: str,
        task_id: int,
        task_name: str,
        attempt: int,
        emit: Callable[[str, dict[str, Any]], None],
        workdir: str | None = None,
        options: Mapping[str, Any] | None = None,
        services: Mapping[str, Any] | None = None,
        clock: float | None = None,
    ) -> None:
        self.run_id = run_id
        self.task_id = task_id
        self.task_name = task_name
        self.attempt = attempt
        self.workdir = workdir
        self.options: Mapping[str, Any] = options or {}
        self.services: Mapping[str, Any] = services or {}
        self.clock = clock
        self._emit = emit

    def progress(self, percent: float, message: str = "") -> None:
        """Report progress (0–100) with an optional message; shown live by every client."""
        self._emit(
            EventType.TASK_PROGRESS, {"percent": max(0.0, min(100.0, float(percent))), "message": message}
        )

    def log(self, message: str, **fields: Any) -> None:
        """A log line of this task, stored as an event."""
        self._emit(EventType.TASK_LOG, {"message": message, **fields})

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """A custom event of this task (agents use it for their calls)."""
        self._emit(event_type, data)


OutputT = TypeVar("OutputT")


@dataclass
class Step(Generic[OutputT]):
    """One step of a workflow. Built by :meth:`Workflow.step` and :meth:`Workflow.map`."""

    name: str
    fn: Callable[..., Any]
    parameters: tuple[str, ...]
    dependencies: tuple[str, ...]
    output_type: Any
    parameter_types: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)  # parameter -> step, where the names differ
    priority: int = 0
    timeout: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    approval: bool | Callable[[Any], bool] = False
    map_over: str | None = None
    expected_duration: float | None = None
    executor: Executor = Executor.ASYNC
    description: str = ""
    compensate_fn: Callable[..., Any] | None = None

    def needs_approval(self, inputs: BaseModel | None) -> bool:
        """Whether this run's task must wait for a human: ``approval`` may depend on the run's inputs."""
        return bool(self.approval(inputs) if callable(self.approval) else self.approval)

    def compensation(self, fn: F) -> F:
        """Declare the function that undoes this step: ``fn(output)`` or ``fn(output, inputs)``."""
        self.compensate_fn = fn
        return fn

    @property
    def output_adapter(self) -> TypeAdapter[Any]:
        return _adapter(self.output_type)

    def parameter_adapter(self, name: str) -> TypeAdapter[Any]:
        return _adapter(self.parameter_types.get(name, Any))


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(tp: Any) -> TypeAdapter[Any]:
    try:
        return _ADAPTERS[tp]
    except (KeyError, TypeError):
        adapter: TypeAdapter[Any] = TypeAdapter(tp)
        with contextlib.suppress(TypeError):  # unhashable annotation: fine, just not cached
            _ADAPTERS[tp] = adapter
        return adapter


@dataclass(frozen=True)
class ReportDeclaration:
    """How a workflow makes its runs' report: ``fn`` takes the checkpoints of ``steps``, one per parameter."""

    fn: Callable[..., RunReport]
    parameters: tuple[str, ...]
    steps: tuple[str, ...]  # the step each parameter receives, in the same order
    parameter_types: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True)
class _StepOptions:
    name: str | None
    after: tuple[str | Step[Any], ...]
    uses: dict[str, str | Step[Any]]
    priority: int
    timeout: float | None
    retry: RetryPolicy | None
    approval: bool | Callable[[Any], bool]
    expected_duration: float | None
    executor: Executor | str | None


# A workflow's check of its parsed inputs against the world (see Workflow.check)
InputCheck = Callable[[Any, dict[str, Any]], Any]


class Workflow:
    """A named graph of steps with typed inputs. See the module docstring for how steps declare context."""

    def __init__(
        self,
        name: str,
        *,
        inputs: type[BaseModel] | None = None,
        max_concurrency: int | None = None,
        description: str = "",
    ) -> None:
        self.name = name
        self.inputs_model = inputs
        self.max_concurrency = max_concurrency
        self.description = description
        self._steps: dict[str, Step[Any]] = {}
        self._duplicates: list[str] = []
        self._report: ReportDeclaration | None = None
        self._input_check: InputCheck | None = None

    # -- declaring -------------------------------------------------------------------------------

    def step(
        self,
        *,
        name: str | None = None,
        after: Iterable[str | Step[Any]] = (),
        uses: Mapping[str, str | Step[Any]] | None = None,
        priority: int = 0,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        approval: bool | Callable[[Any], bool] = False,
        expected_duration: float | None = None,
        executor: Executor | str | None = None,
        compensate: Callable[..., Any] | None = None,
    ) -> Callable[[Callable[..., Any]], Step[Any]]:
        """Decorator that adds a step.

        ``after`` adds dependencies whose output the step does not take; ``uses`` maps a parameter to
        the step whose output it receives when the names differ (``uses={"previous": "link3"}``);
        ``approval`` (a bool, or a function of the run's inputs) makes its task wait for a human.
        """
        options = _StepOptions(
            name,
            tuple(after),
            dict(uses or {}),
            priority,
            timeout,
            retry,
            approval,
            expected_duration,
            executor,
        )
        return lambda fn: self._add(fn, options, map_over=None, compensate=compensate)

    def map(
        self,
        over: str | Step[Any],
        *,
        name: str | None = None,
        uses: Mapping[str, str | Step[Any]] | None = None,
        priority: int = 0,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        expected_duration: float | None = None,
        executor: Executor | str | None = None,
    ) -> Callable[[Callable[..., Any]], Step[Any]]:
        """Decorator that adds a step run once per element of ``over``'s output (a list known at run time).

        The function takes the element as ``item``; dependents receive the list of all outputs, in order.
        """
        source = over.name if isinstance(over, Step) else over
        options = _StepOptions(
            name, (), dict(uses or {}), priority, timeout, retry, False, expected_duration, executor
        )
        return lambda fn: self._add(fn, options, map_over=source, compensate=None)

    def _add(
        self,
        fn: Callable[..., Any],
        options: _StepOptions,
        *,
        map_over: str | None,
        compensate: Callable[..., Any] | None,
    ) -> Step[Any]:
        step_name = options.name or fn.__name__
        if step_name in self._steps:
            self._duplicates.append(step_name)
        parameters = tuple(inspect.signature(fn).parameters)
        try:
            hints = typing.get_type_hints(fn)
        except NameError as error:
            raise WorkflowDefinitionError(
                f"step {step_name!r}: cannot resolve its type hints ({error})",
                hint="define the types it uses at module level",
            ) from error
        if options.timeout is not None and options.timeout <= 0:
            raise WorkflowDefinitionError(
                f"step {step_name!r}: timeout must be positive, not {options.timeout}"
            )
        sources = {p: (s.name if isinstance(s, Step) else s) for p, s in options.uses.items()}
        dependencies = [sources.get(p, p) for p in parameters if p not in RESERVED_PARAMETERS]
        if map_over is not None and map_over not in dependencies:
            dependencies.insert(0, map_over)
        for extra in options.after:
            dependency = extra.name if isinstance(extra, Step) else extra
            if dependency not in dependencies:
                dependencies.append(dependency)
        chosen = (
            Executor(options.executor)
            if options.executor
            else (Executor.ASYNC if inspect.iscoroutinefunction(fn) else Executor.THREAD)
        )
        if chosen is Executor.ASYNC and not inspect.iscoroutinefunction(fn):
            raise WorkflowDefinitionError(
                f"step {step_name!r}: executor 'async' needs an `async def` function"
            )
        if chosen is Executor.PROCESS and "ctx" in parameters:
            raise WorkflowDefinitionError(
                f"step {step_name!r}: a step in the process pool cannot take `ctx`",
                hint="use executor='thread'",
            )
        step: Step[Any] = Step(
            name=step_name,
            fn=fn,
            parameters=parameters,
            dependencies=tuple(dependencies),
            output_type=hints.get("return", Any),
            parameter_types={p: t for p, t in hints.items() if p != "return"},
            sources=sources,
            priority=options.priority,
            timeout=options.timeout,
            retry=options.retry or RetryPolicy(),
            approval=options.approval,
            map_over=map_over,
            expected_duration=options.expected_duration,
            executor=chosen,
            description=(inspect.getdoc(fn) or "").split("\n", 1)[0],
            compensate_fn=compensate,
        )
        self._steps[step_name] = step
        return step

    def report(
        self,
        fn: Callable[..., RunReport] | None = None,
        *,
        uses: Mapping[str, str | Step[Any]] | None = None,
    ) -> Any:
        """Decorator that names the run's report: a pure, quick function of some steps' checkpoints.

        Its parameters name the steps it reads, like a step's (``uses`` maps a parameter to a step of
        another name); it takes no ``inputs``, ``ctx`` or ``item``, and must return a
        :class:`~baton.core.report.RunReport`. It runs whenever a run is read (API, CLI, dashboard), not
        as a task: it must do no I/O. A workflow has at most one report.
        """

        def declare(function: Callable[..., RunReport]) -> Callable[..., RunReport]:
            if self._report is not None:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r} names its report twice", hint="keep one @workflow.report"
                )
            parameters = tuple(inspect.signature(function).parameters)
            reserved = sorted(RESERVED_PARAMETERS & set(parameters))
            if reserved:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r}: its report takes {', '.join(reserved)}, but a report is made "
                    "from checkpoints only",
                    hint="take what you need from a step's output",
                )
            if not parameters:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r}: its report reads no step",
                    hint="name the steps it is made from as its parameters",
                )
            try:
                hints = typing.get_type_hints(function)
            except NameError as error:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r}: cannot resolve the type hints of its report ({error})",
                    hint="define the types it uses at module level",
                ) from error
            sources = {p: (s.name if isinstance(s, Step) else s) for p, s in (uses or {}).items()}
            self._report = ReportDeclaration(
                fn=function,
                parameters=parameters,
                steps=tuple(sources.get(p, p) for p in parameters),
                parameter_types={p: t for p, t in hints.items() if p != "return"},
                description=(inspect.getdoc(function) or "").split("\n", 1)[0],
            )
            return function

        return declare(fn) if fn is not None else declare

    def check(self, fn: InputCheck) -> InputCheck:
        """Decorator that names the check of a run's inputs against the world: files that must be there,
        a request that must be readable from them — what the inputs model cannot see without I/O.

        ``fn(inputs, context)`` takes the parsed inputs and the caller's validation context (a server
        passes its workspace's, so a message may name a path as the caller wrote it) and raises
        :class:`~baton.core.errors.InvalidInputError` to refuse the run; what it returns is the front
        end's to use (the season returns the parameters it read). Every front end calls
        :meth:`check_inputs` before it stores a run (``POST /runs``, a workflow's own CLI command), so a
        run that could only fail in its first step is refused with the same message everywhere. A
        workflow has at most one check; the steps must not rely on it having run.
        """
        if self._input_check is not None:
            raise WorkflowDefinitionError(
                f"workflow {self.name!r} names its input check twice", hint="keep one @workflow.check"
            )
        self._input_check = fn
        return fn

    def check_inputs(self, inputs: BaseModel | None, *, context: Mapping[str, Any] | None = None) -> Any:
        """Run the workflow's input check (see :meth:`check`) on parsed inputs; None when it has none."""
        if self._input_check is None or inputs is None:
            return None
        return self._input_check(inputs, dict(context or {}))

    # -- reading ---------------------------------------------------------------------------------

    @property
    def report_declaration(self) -> ReportDeclaration | None:
        """How this workflow's runs are reported, or None if it names no report."""
        return self._report

    def report_of(self, checkpoints: Mapping[str, str | bytes | None]) -> RunReport | None:
        """The report made from the checkpoints (JSON, by step name) of the steps it reads.

        None when the workflow names no report or one of those steps has no checkpoint yet. A report
        function that fails, or returns anything but a :class:`RunReport`, is a :class:`ReportError`.
        """
        declared = self._report
        if declared is None:
            return None
        raw = [checkpoints.get(step) for step in declared.steps]
        if any(value is None for value in raw):
            return None
        try:
            arguments = {
                parameter: _adapter(declared.parameter_types.get(parameter, Any)).validate_json(value)  # type: ignore[arg-type]
                for parameter, value in zip(declared.parameters, raw, strict=True)
            }
            report = declared.fn(**arguments)
        except Exception as error:  # a bug of the workflow's, or an older checkpoint's shape
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ReportError(
                f"workflow {self.name!r}: its report could not be made from the checkpoints of "
                f"{', '.join(declared.steps)}: {type(error).__name__}: {first}",
                hint="the run's outputs are intact (GET /runs/{id}/outputs); fix the workflow's report function",
            ) from error
        if not isinstance(report, RunReport):
            raise ReportError(
                f"workflow {self.name!r}: its report function returned {type(report).__name__}, not a RunReport"
            )
        return report.model_copy(update={"source": list(declared.steps)})

    @property
    def steps(self) -> Mapping[str, Step[Any]]:
        # A read-only view, not a copy: the worker looks a step up for every task it starts.
        return MappingProxyType(self._steps)

    def dependencies(self) -> dict[str, tuple[str, ...]]:
        return {name: step.dependencies for name, step in self._steps.items()}

    def validate(self) -> None:
        """Check the graph before anything runs: duplicates, unknown dependencies, cycles."""
        if self._duplicates:
            raise DuplicateStepError(self.name, self._duplicates[0])
        if not self._steps:
            raise WorkflowDefinitionError(f"workflow {self.name!r} has no steps", hint="add a step")
        for step in self._steps.values():
            for dep in step.dependencies:
                if dep not in self._steps:
                    raise UnknownDependencyError(self.name, step.name, dep)
            if "inputs" in step.parameters and self.inputs_model is None:
                raise WorkflowDefinitionError(
                    f"step {step.name!r} takes `inputs` but workflow {self.name!r} declares no inputs model"
                )
            if "item" in step.parameters and step.map_over is None:
                raise WorkflowDefinitionError(
                    f"step {step.name!r} takes `item` but is not a mapped step",
                    hint="declare it with @workflow.map(over=...)",
                )
        if self._report is not None:
            for step_name in self._report.steps:
                if step_name not in self._steps:
                    raise WorkflowDefinitionError(
                        f"workflow {self.name!r}: its report reads {step_name!r}, which is not a step",
                        hint="declare that step or fix the report's parameter name",
                        details={"report": self._report.fn.__name__, "dependency": step_name},
                    )
        cycle = find_cycle(self.dependencies())
        if cycle:
            raise CycleError(self.name, cycle)

    def order(self) -> list[str]:
        return topological_order(self.dependencies())

    def critical_path(self, durations: Mapping[str, float] | None = None) -> tuple[list[str], float]:
        """The longest chain of steps by observed durations, else declared ones, else one unit each."""
        known = {
            name: (durations or {}).get(name) or step.expected_duration or 1.0
            for name, step in self._steps.items()
        }
        return critical_path(self.dependencies(), known)

    def parse_inputs(
        self, raw: Mapping[str, Any], *, context: Mapping[str, Any] | None = None
    ) -> BaseModel | None:
        """Validate raw inputs against the inputs model; the error names every bad field, unknown ones too
        (a misspelt input never falls back to its default). ``context`` is pydantic's validation context."""
        if self.inputs_model is None:
            if raw:
                raise InvalidInputError(
                    f"workflow {self.name!r} takes no inputs, got {', '.join(sorted(map(str, raw)))}",
                    fields={str(k): "unexpected" for k in raw},
                )
            return None
        known = {
            name
            for key, spec in self.inputs_model.model_fields.items()
            for name in (key, spec.alias, spec.validation_alias)
            if isinstance(name, str)
        }
        open_model = self.inputs_model.model_config.get("extra") == "allow"
        unknown = [] if open_model else sorted(str(k) for k in raw if k not in known)
        if unknown:
            raise InvalidInputError(
                f"unknown inputs for workflow {self.name!r}: {', '.join(unknown)} "
                f"(it takes: {', '.join(sorted(self.inputs_model.model_fields))})",
                fields={name: "unknown input" for name in unknown},
                hint="check the spelling; the workflow's schema lists its inputs",
            )
        try:
            return self.inputs_model.model_validate(dict(raw), context=dict(context or {}))
        except ValidationError as error:
            fields = {".".join(str(p) for p in e["loc"]) or "inputs": e["msg"] for e in error.errors()}
            listed = "; ".join(f"{k}: {v}" for k, v in fields.items())
            raise InvalidInputError(
                f"invalid inputs for workflow {self.name!r}: {listed}",
                fields=fields,
                hint="pass them with --input NAME=VALUE or --input-file FILE",
            ) from None
