"""The repository stage: a local git repository with the project skeleton, and optionally its GitHub remote."""

from __future__ import annotations

import os
from pathlib import Path

from baton.core.errors import InvalidInputError
from baton.workflows.builder import _git, github
from baton.workflows.builder.codegen import render_project_files, write_files
from baton.workflows.builder.results import RepositoryResult
from baton.workflows.builder.spec import BuildSpec, dump_spec


def create_repository(
    spec: BuildSpec, out: Path, *, github_owner: str | None = None, date: int | None = None
) -> RepositoryResult:
    """Write README, .gitignore, LICENSE, pyproject and spec.yaml; commit (dated ``date``); create and
    push the remote."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidInputError(
            f"cannot create {out}: {error.strerror}",
            fields={"out": "not writable"},
            hint="choose an --out directory you can write to",
        ) from None
    _git.init(out)
    artifacts = write_files(out, render_project_files(spec, dump_spec(spec), date), "template")
    for artifact in artifacts:
        if artifact.path == "spec.yaml":
            artifact.produced_by = "rules"
    commit = _git.commit_all(
        out, f"Start {spec.name} from its spec (baton)", [a.path for a in artifacts], date=date
    )
    result = RepositoryResult(path=str(out), commit=commit, artifacts=artifacts)
    if github_owner:
        token = os.environ.get("GITHUB_TOKEN")
        if not token:
            raise InvalidInputError(
                "--github needs a token in GITHUB_TOKEN",
                fields={"GITHUB_TOKEN": "missing"},
                hint="export GITHUB_TOKEN=<a token with repo scope>, or leave out --github",
            )
        remote = github.create_repository(github_owner, spec.name, spec.description or spec.title, token)
        github.push(out, remote, token)
        result.remote_url = remote.html_url or remote.clone_url
        result.pushed = True
    return result
