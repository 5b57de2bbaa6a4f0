"""Small seeded sample data shared by the season tests (the benchmark uses the full 50-store sample)."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.workflows.season import write_sample_data


@pytest.fixture(scope="session")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 stores, 104 weeks ending the week before 2026-03-02, 3 categories."""
    directory = tmp_path_factory.mktemp("season-data")
    write_sample_data(directory, stores=8, weeks=104, seed=11)
    return directory
