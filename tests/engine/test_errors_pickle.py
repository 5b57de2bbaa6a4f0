"""Every exception baton defines survives pickling: errors cross the process pool (executor="process")."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any

import baton
from baton.core.errors import BatonError, TransientError


def _all_modules() -> None:
    for module in pkgutil.walk_packages(baton.__path__, "baton."):
        if not module.name.endswith("__main__") and ".migrations" not in module.name:
            importlib.import_module(module.name)


def _subclasses(cls: type[BaseException]) -> Iterator[type[BaseException]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _samples() -> dict[str, Callable[[type[Any]], BaseException]]:
    """Errors whose constructor takes more than text, built the way baton builds them."""
    from baton.workflows.builder.results import GateReport
    from baton.workflows.season.data import DataProblem

    report = GateReport.model_construct(
        passed=False, checks=[], venv="v", venv_reused=False, failure="2 failed"
    )
    return {
        "AgentTimeoutError": lambda c: c("writer", 30.0),
        "AgentInputError": lambda c: c("writer", ["topic"], {"length": "not a number"}),
        "AllModelsFailedError": lambda c: c([("model-a", TransientError("down"))]),
        "BudgetExceededError": lambda c: c("run1", 1.0, 0.9, 0.2, "model-a"),
        "CircuitOpenError": lambda c: c("provider", 3.0),
        "ExtractionError": lambda c: c("Target", ["name"], {"age": "not a number"}, produced_by="writer"),
        "GateFailedError": lambda c: c(report),
        "HandoffContextError": lambda c: c("writer", 1, ["outline"], ["brief"]),
        "RateLimitedError": lambda c: (
            c("too many requests", retry_after=2.5)
            if c.__module__ == "baton.server.errors"
            else c("provider", "model", "slow down", status=429, retry_after=1.0)
        ),
        "SeasonDataError": lambda c: c([DataProblem("sales.csv", "no rows", "units", (2, 3))]),
        "SeasonParameterError": lambda c: c(missing=["stores"], invalid={"weeks": "must be positive"}),
    }


def _build(
    cls: type[BaseException], samples: dict[str, Callable[[type[Any]], BaseException]]
) -> BaseException:
    if cls.__name__ in samples:
        return samples[cls.__name__](cls)
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    positional = [
        "x"
        for p in parameters
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    keywords = {p.name: "x" for p in parameters if p.default is p.empty and p.kind is p.KEYWORD_ONLY}
    return cls(*positional, **keywords)


def _plain(value: Any) -> Any:
    """``value`` with the exceptions inside it as (type, text): exceptions do not compare by value."""
    if isinstance(value, BaseException):
        return (type(value), str(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def test_every_baton_exception_survives_pickling() -> None:
    _all_modules()
    classes = sorted(
        {c for c in _subclasses(BaseException) if c.__module__.startswith("baton.")},
        key=lambda c: f"{c.__module__}.{c.__qualname__}",
    )
    assert len(classes) > 40  # every module was imported
    samples = _samples()
    broken = []
    for cls in classes:
        error = _build(cls, samples)
        try:
            back = pickle.loads(pickle.dumps(error))
        except Exception as problem:
            broken.append(f"{cls.__module__}.{cls.__qualname__}: {type(problem).__name__}: {problem}")
            continue
        if (
            type(back) is not cls
            or str(back) != str(error)
            or _plain(back.__dict__) != _plain(error.__dict__)
        ):
            broken.append(f"{cls.__module__}.{cls.__qualname__}: came back as {back!r}")
    assert broken == []


def test_a_baton_error_keeps_its_hint_and_details_across_pickling() -> None:
    from baton.core.errors import IllegalTransitionError

    error = IllegalTransitionError("task", "t of run r", "running", "ready", hint="wait")
    back = pickle.loads(pickle.dumps(error))
    assert isinstance(back, BatonError)
    assert (back.message, back.hint, back.details, back.exit_code) == (
        error.message,
        error.hint,
        error.details,
        4,
    )
