"""The architecture stage: the inputs of a build → a validated spec and a checked output directory."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from baton.core.errors import InvalidInputError
from baton.workflows.builder._naming import slug
from baton.workflows.builder.acceptance import attach_checks
from baton.workflows.builder.extractor import extract_spec
from baton.workflows.builder.results import ArchitectureResult, DeployTarget
from baton.workflows.builder.spec import BuildSpec, Environment, Stack, load_spec
from baton.workflows.reach import ROLE_EXTENSION, OutboundUrl, WorkspaceFile, WorkspaceOutput


class BuildInputs(BaseModel):
    """The inputs of ``baton build``: an idea or a spec file, and where and how to build it."""

    idea: str = ""
    spec_path: WorkspaceFile | None = Field(
        default=None, description="a spec.yaml to build instead of an idea"
    )
    out: WorkspaceOutput = Field(description="the directory of the generated repository")
    stack: Stack | None = Field(default=None, description="overrides the stack of the idea or spec")
    env: Environment | None = Field(default=None, description="overrides the spec's environment")
    force: bool = Field(
        default=False,
        description="build into an existing, non-empty directory",
        json_schema_extra={ROLE_EXTENSION: "admin"},
    )
    notify: OutboundUrl | None = Field(default=None, description="a Slack/Teams-compatible webhook URL")
    github_owner: str | None = Field(default=None, description="create the GitHub remote under this owner")
    target: DeployTarget = DeployTarget.LOCAL
    port: int | None = Field(default=None, ge=1, le=65535, description="local port; a free one if unset")

    @model_validator(mode="after")
    def _idea_or_spec(self) -> BuildInputs:
        if not self.idea.strip() and not self.spec_path:
            raise ValueError("give an idea in plain words or a spec file (--spec)")
        if self.idea.strip() and self.spec_path:
            raise ValueError("give an idea or a spec file (--spec), not both")
        return self


def check_output_dir(out: Path, *, force: bool) -> None:
    """Refuse an existing non-empty directory without ``force``, a file, or a place we cannot write."""
    if out.exists() and not out.is_dir():
        raise InvalidInputError(
            f"output path {out} is a file",
            fields={"out": "not a directory"},
            hint="choose a directory with --out",
        )
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InvalidInputError(
            f"output directory {out} already exists and is not empty",
            fields={"out": "exists"},
            hint="pass --force to rebuild into it (its git history is kept), or choose another --out",
        )
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidInputError(
            f"cannot write to {existing}: permission denied",
            fields={"out": "not writable"},
            hint="choose an --out directory you can write to",
        )


def _override(spec: BuildSpec, inputs: BuildInputs) -> BuildSpec:
    changes: dict[str, object] = {}
    if inputs.env is not None:
        changes["environment"] = inputs.env
    if inputs.stack is not None and inputs.stack is not spec.stack:
        changes["stack"] = inputs.stack
    if not changes:
        return spec
    data = spec.model_dump()
    data.update(changes)
    return BuildSpec.model_validate(data)


MODEL_HINT = (
    "or configure a model (BATON_CONFIG; see the README's section on a model for the build): its architect "
    "designs ideas the rules cannot read, such as converters, calculators and relays, and its crew writes "
    "their code"
)


class RulesRefusedError(InvalidInputError):
    """The rules extractor could not make a spec of the idea (it names nothing to keep, or its words
    contradict each other). With a model configured the architect is asked instead; without, this is
    the build's answer, and its hint says how to build such an idea."""


def rules_spec(idea: str, *, stack: Stack | None = None, env: Environment | None = None) -> BuildSpec:
    """The idea's spec by rules; :class:`RulesRefusedError` when the rules cannot read it (an empty or
    meaningless idea stays a plain :class:`InvalidInputError`: no model is asked about it either)."""
    try:
        return extract_spec(idea, stack=stack, environment=env or Environment.DEV)
    except InvalidInputError as error:
        if error.fields.get("idea") in ("empty", "meaningless"):
            raise
        raise RulesRefusedError(
            error.message, fields=error.fields, hint=f"{error.hint.rstrip('.')}; {MODEL_HINT}"
        ) from None


_FILLERS = frozenset(
    {"a", "an", "the", "to", "from", "of", "for", "and", "or", "that", "which", "with", "in", "on"}
)


def idea_slug(idea: str) -> str:
    """A directory name for an idea the rules could not read (its spec, and name, come later)."""
    words = [w for w in re.findall(r"[a-z0-9]+", idea.lower()) if w not in _FILLERS]
    return slug(" ".join(words))


def design(inputs: BuildInputs, spec: BuildSpec | None = None) -> ArchitectureResult:
    """The spec of the build — ``spec`` when given (the model's), else from the spec file or by rules —
    and the output directory, checked."""
    out = Path(inputs.out).expanduser().resolve()
    source = "idea"
    if spec is not None:
        spec = _override(spec, inputs)
    elif inputs.spec_path:
        spec = _override(load_spec(Path(inputs.spec_path).expanduser()), inputs)
        source = f"spec file {inputs.spec_path}"
    else:
        spec = rules_spec(inputs.idea, stack=inputs.stack, env=inputs.env)
    check_output_dir(out, force=inputs.force)
    spec = attach_checks(spec)
    return ArchitectureResult(spec=spec, source=source, out_dir=str(out), build_id=uuid.uuid4().hex)
