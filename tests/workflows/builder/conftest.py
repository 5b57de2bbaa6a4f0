"""Builds shared by the end-to-end tests: one per stack, made once per session (the venvs are cached)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from build_ideas import FLASK_APP, LIBRARY, TIMER_JOB

from baton.workflows.builder import LocalBuild, run_stages_locally, stop_service
from llm.conftest import model_server, server  # noqa: F401  (the gateway tests' scripted model server)


def _build(tmp: pytest.TempPathFactory, idea: str, name: str) -> Iterator[LocalBuild]:
    out = tmp.mktemp(name) / "repo"
    try:
        yield run_stages_locally({"idea": idea, "out": str(out)})
    finally:
        stop_service(out)


@pytest.fixture(scope="session")
def library_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBuild]:
    yield from _build(tmp_path_factory, LIBRARY, "library")


@pytest.fixture(scope="session")
def timer_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBuild]:
    yield from _build(tmp_path_factory, TIMER_JOB, "timer")


@pytest.fixture(scope="session")
def flask_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBuild]:
    yield from _build(tmp_path_factory, FLASK_APP, "flask")
