"""Running the build's steps in this process, without the engine — for tests, benchmarks and demos.

:func:`run_stages_locally` calls the steps in dependency order, running independent ones (gate and
infrastructure) side by side in threads, as the engine would. It has none of the engine's
durability: no store, no retries, no resume. Approval of a production deploy is a parameter.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from baton.core.errors import PermanentError
from baton.core.workflow import Step, TaskContext
from baton.workflows.builder.architecture import BuildInputs
from baton.workflows.builder.pipeline import workflow
from baton.workflows.builder.results import (
    ArchitectureResult,
    CodeResult,
    DeployResult,
    DocsResult,
    GateReport,
    InfrastructureReport,
    NotifyResult,
    RepositoryResult,
)

EventSink = Callable[[str, str, dict[str, Any]], None]


@dataclass
class LocalBuild:
    """The outputs of every step, by step name, and the wall-clock seconds each took."""

    outputs: dict[str, BaseModel] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    total_s: float = 0.0

    def _get(self, name: str, kind: type[Any]) -> Any:
        value = self.outputs[name]
        if not isinstance(value, kind):
            raise TypeError(f"step {name} returned {type(value).__name__}, not {kind.__name__}")
        return value

    @property
    def architecture(self) -> ArchitectureResult:
        return self._get("architecture", ArchitectureResult)  # type: ignore[no-any-return]

    @property
    def repository(self) -> RepositoryResult:
        return self._get("repository", RepositoryResult)  # type: ignore[no-any-return]

    @property
    def code(self) -> CodeResult:
        return self._get("code", CodeResult)  # type: ignore[no-any-return]

    @property
    def gate(self) -> GateReport:
        return self._get("gate", GateReport)  # type: ignore[no-any-return]

    @property
    def infrastructure(self) -> InfrastructureReport:
        return self._get("infrastructure", InfrastructureReport)  # type: ignore[no-any-return]

    @property
    def deploy(self) -> DeployResult:
        return self._get("deploy", DeployResult)  # type: ignore[no-any-return]

    @property
    def docs(self) -> DocsResult:
        return self._get("docs", DocsResult)  # type: ignore[no-any-return]

    @property
    def notify(self) -> NotifyResult:
        return self._get("notify", NotifyResult)  # type: ignore[no-any-return]


def _call(
    step: Step[Any], inputs: BuildInputs, outputs: Mapping[str, BaseModel], sink: EventSink | None
) -> tuple[BaseModel, float]:
    def emit(kind: str, data: dict[str, Any]) -> None:
        if sink is not None:
            sink(step.name, kind, data)

    ctx = TaskContext(run_id="local", task_id=0, task_name=step.name, attempt=1, emit=emit)
    arguments: dict[str, Any] = {}
    for name in step.parameters:
        arguments[name] = inputs if name == "inputs" else ctx if name == "ctx" else outputs[name]
    started = time.perf_counter()
    result = step.fn(**arguments)
    if inspect.isawaitable(result):  # an async step (the code step with its crew)
        result = asyncio.run(result)  # type: ignore[arg-type]
    if not isinstance(result, BaseModel):
        raise TypeError(f"step {step.name} returned {type(result).__name__}, not a pydantic model")
    return result, round(time.perf_counter() - started, 3)


def run_stages_locally(
    inputs: BuildInputs | Mapping[str, Any],
    *,
    approve_production: bool = False,
    on_event: EventSink | None = None,
) -> LocalBuild:
    """Run every step of the build in this process (no engine, no store); raises the first error."""
    parsed = inputs if isinstance(inputs, BuildInputs) else BuildInputs.model_validate(dict(inputs))
    started = time.perf_counter()
    wf = workflow
    wf.validate()
    steps = wf.steps
    build = LocalBuild()
    pending = set(steps)
    with ThreadPoolExecutor(max_workers=2) as pool:
        while pending:
            ready = [
                n
                for n in wf.order()
                if n in pending and all(d in build.outputs for d in steps[n].dependencies)
            ]
            for name in ready:
                if steps[name].needs_approval(parsed) and not approve_production:
                    raise PermanentError(
                        f"step {name} needs an approval", hint="pass approve_production=True"
                    )
            futures: dict[Future[tuple[BaseModel, float]], str] = {
                pool.submit(_call, steps[n], parsed, dict(build.outputs), on_event): n for n in ready
            }
            for future, name in futures.items():
                build.outputs[name], build.durations[name] = future.result()  # re-raises the step's error
                pending.discard(name)
    build.total_s = round(time.perf_counter() - started, 3)
    return build
