"""The architecture stage: the inputs of a build → a validated spec and a checked output directory."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from baton.core.errors import InvalidInputError
from baton.workflows.builder.acceptance import attach_checks
from baton.workflows.builder.extractor import extract_spec
from baton.workflows.builder.results import ArchitectureResult, DeployTarget
from baton.workflows.builder.spec import BuildSpec, Environment, Stack, load_spec


class BuildInputs(BaseModel):
    """The inputs of ``baton build``: an idea or a spec file, and where and how to build it."""

    idea: str = ""
    spec_path: str | None = Field(default=None, description="a spec.yaml to build instead of an idea")
    out: str = Field(description="the directory of the generated repository")
    stack: Stack | None = Field(default=None, description="overrides the stack of the idea or spec")
    env: Environment | None = Field(default=None, description="overrides the spec's environment")
    force: bool = Field(default=False, description="build into an existing, non-empty directory")
    notify: str | None = Field(default=None, description="a Slack/Teams-compatible webhook URL")
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


def design(inputs: BuildInputs) -> ArchitectureResult:
    """The spec of the build, by rules (no model configured), and the output directory, checked."""
    out = Path(inputs.out).expanduser().resolve()
    if inputs.spec_path:
        spec = _override(load_spec(Path(inputs.spec_path).expanduser()), inputs)
        source = f"spec file {inputs.spec_path}"
    else:
        spec = extract_spec(inputs.idea, stack=inputs.stack, environment=inputs.env or Environment.DEV)
        source = "idea"
    check_output_dir(out, force=inputs.force)
    spec = attach_checks(spec)
    return ArchitectureResult(spec=spec, source=source, out_dir=str(out), build_id=uuid.uuid4().hex)
