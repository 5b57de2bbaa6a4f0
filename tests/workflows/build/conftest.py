"""Builds shared by the end-to-end tests: one per stack, made once per session (the venvs are cached)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from baton.workflows.build import LocalBuild, run_stages_locally, stop_service

LIBRARY = "A REST API for a small library: books, authors and loans; members borrow books"
TIMER_JOB = "A serverless timer job that every night cleans up expired reservations; rooms have reservations"
FLASK_APP = "A small web app for a bakery: customers place orders; products with name, price and is_vegan"


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
