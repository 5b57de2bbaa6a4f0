"""Context assembly: a step declares what its agent receives; the context is built and checked before
the agent runs, so that a missing input is one clear error, not a KeyError deep inside an agent.

    spec = ContextSpec(inputs=("idea",), checkpoints=("plan",), files=("data/sales.csv",))
    context = assemble_context(spec, step="design", inputs=run_inputs, checkpoints=outputs,
                               data_dir=workdir, into=DesignInput)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

from baton.agents.errors import validation_fields
from baton.core.errors import MissingContextError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ContextSpec:
    """What an agent receives.

    ``inputs``: fields of the run's inputs; ``checkpoints``: upstream steps whose outputs it takes
    (under the step's name); ``files``: data files, relative to the data folder, given as paths under
    their stem (``data/sales.csv`` → ``sales``); ``optional``: any of those names that may be absent.
    """

    inputs: tuple[str, ...] = ()
    checkpoints: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    optional: frozenset[str] = frozenset()


@overload
def assemble_context(
    spec: ContextSpec,
    *,
    step: str,
    inputs: BaseModel | Mapping[str, Any] | None = ...,
    checkpoints: Mapping[str, Any] | None = ...,
    data_dir: Path | str | None = ...,
    into: type[M],
) -> M: ...


@overload
def assemble_context(
    spec: ContextSpec,
    *,
    step: str,
    inputs: BaseModel | Mapping[str, Any] | None = ...,
    checkpoints: Mapping[str, Any] | None = ...,
    data_dir: Path | str | None = ...,
    into: None = ...,
) -> dict[str, Any]: ...


def assemble_context(
    spec: ContextSpec,
    *,
    step: str,
    inputs: BaseModel | Mapping[str, Any] | None = None,
    checkpoints: Mapping[str, Any] | None = None,
    data_dir: Path | str | None = None,
    into: type[M] | None = None,
) -> M | dict[str, Any]:
    """The declared context of ``step``, validated into ``into`` when given.

    Raises :class:`MissingContextError` listing everything missing at once (inputs, checkpoints, files),
    or the fields that do not validate.
    """
    context, missing = _gather(
        spec,
        _as_dict(inputs),
        dict(checkpoints or {}),
        Path(data_dir) if data_dir is not None else Path.cwd(),
    )
    if missing:
        raise MissingContextError(
            f"step {step!r} cannot start: missing {', '.join(missing)}",
            hint="declare and pass those inputs, run the upstream steps, or add the files",
            details={"step": step, "missing": missing},
        )
    if into is None:
        return context
    try:
        return into.model_validate(context)
    except ValidationError as error:
        absent, invalid = validation_fields(error)
        problems = [f"{name} is missing" for name in absent] + [f"{k}: {v}" for k, v in invalid.items()]
        raise MissingContextError(
            f"step {step!r}: its context does not fit {into.__name__} ({'; '.join(problems)})",
            hint="make the step's ContextSpec declare what the agent's input model needs",
            details={"step": step, "missing": absent, "invalid": invalid},
        ) from None


def _gather(
    spec: ContextSpec, given: dict[str, Any], outputs: dict[str, Any], folder: Path
) -> tuple[dict[str, Any], list[str]]:
    context: dict[str, Any] = {}
    missing: list[str] = []
    for name in spec.inputs:
        if name in given:
            context[name] = given[name]
        elif name not in spec.optional:
            missing.append(f"input {name!r}")
    for name in spec.checkpoints:
        if name in outputs:
            context[name] = outputs[name]
        elif name not in spec.optional:
            missing.append(f"checkpoint of step {name!r}")
    for relative in spec.files:
        path = folder / relative
        key = Path(relative).stem
        if path.is_file():
            context[key] = path
        elif relative not in spec.optional and key not in spec.optional:
            missing.append(f"file {str(path)!r}")
    return context, missing


def _as_dict(inputs: BaseModel | Mapping[str, Any] | None) -> dict[str, Any]:
    if inputs is None:
        return {}
    if isinstance(inputs, BaseModel):
        return {name: getattr(inputs, name) for name in type(inputs).model_fields}
    return dict(inputs)
