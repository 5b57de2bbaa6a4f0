"""Record and replay end to end: a run asks a real (local, scripted) model server through the CLI; with
the server gone, `baton rerun --replay` gives the same result for free — a regression test of a workflow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .fakeserver import ENV, FakeModelServer, Reply


def baton(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        **ENV,
        "PYTHONPATH": str(Path(__file__).parent),
        "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
        "BATON_CONFIG": str(tmp_path / "baton.toml"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def outputs(tmp_path: Path, run_id: str) -> dict[str, object]:
    from baton.store.runs import run_outputs
    from baton.store.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'baton.db'}")
    with store.read() as conn:
        found = run_outputs(conn, run_id)
    store.close()
    return found


@pytest.mark.slow
def test_a_recorded_run_replays_offline_with_the_same_result(tmp_path: Path) -> None:
    server = FakeModelServer().start()
    (tmp_path / "baton.toml").write_text(
        "[llm.providers.cloud]\n"
        'kind = "openai"\n'
        f'base_url = "{server.openai_url}"\n'
        'api_key_env = "TEST_OPENAI_KEY"\n'
        "local = false\n\n"
        "[[llm.models]]\n"
        'name = "gpt-4o-mini"\n'
        'provider = "cloud"\n'
        'tier = "complex"\n'
    )
    server.script("gpt-4o-mini", Reply.structured({"quantity": 3, "sku": "ZX-9"}))
    try:
        first = baton(tmp_path, "run", "replay_flows:flow", "-i", "text=three of the usual, please", "-q")
    finally:
        server.stop()
    assert first.returncode == 0, first.stdout + first.stderr
    run_id = first.stdout.split("run ", 1)[1].split()[0]
    recorded = outputs(tmp_path, run_id)["read_order"]
    assert recorded == {"order": {"quantity": 3, "sku": "ZX-9"}, "produced_by": "model:gpt-4o-mini"}

    replay = baton(tmp_path, "rerun", run_id, "--replay", "-q")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    replay_id = replay.stdout.split("run ", 1)[1].split()[0]
    assert outputs(tmp_path, replay_id)["read_order"] == recorded

    costs = baton(tmp_path, "costs", replay_id)
    assert costs.returncode == 0, costs.stdout + costs.stderr
    # A plain rerun, with the server gone, is answered by the persistent cache: same answer, a cache hit.
    live = baton(tmp_path, "rerun", run_id, "-q")
    assert live.returncode == 0, live.stdout + live.stderr
    live_id = live.stdout.split("run ", 1)[1].split()[0]
    assert outputs(tmp_path, live_id)["read_order"] == recorded
    from baton.llm import cost_report
    from baton.store.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'baton.db'}")
    assert cost_report(store, live_id).total.cache_hits == 1
    assert cost_report(store, run_id).total.cache_hits == 0
    store.close()
    assert "sk-test" not in live.stdout + live.stderr + costs.stdout
