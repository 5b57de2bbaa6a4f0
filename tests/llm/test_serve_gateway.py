"""`baton serve` hands its worker the model gateway, as `baton run` does: a run started over the API
calls the model configured by BATON_CONFIG (a local server speaking OpenAI's protocol), and its answer
and cost show in the run's outputs, the costs API and /metrics."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from baton.store.store import Store
from server.conftest import running_server, wait_for_state

from .fakeserver import FakeModelServer, Reply

sys.path.insert(0, str(Path(__file__).parent))


def config_file(tmp_path: Path, server: FakeModelServer) -> Path:
    path = tmp_path / "baton.toml"
    path.write_text(
        f"""
[llm.providers.lab]
kind = "openai"
base_url = "{server.openai_url}"
local = false
api_key_env = "TEST_LAB_KEY"

[[llm.models]]
name = "gpt-4o"
provider = "lab"
tier = "complex"
input_price_per_mtok = 2.5
output_price_per_mtok = 10.0
""",
        encoding="utf-8",
    )
    return path


def test_a_run_started_over_the_api_calls_the_configured_model(
    tmp_path: Path, server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_CONFIG", str(config_file(tmp_path, server)))
    monkeypatch.setenv("TEST_LAB_KEY", "sk-lab")
    server.script("gpt-4o", Reply.text("forty-two, " * 50))
    store = Store.open(f"sqlite:///{tmp_path / 'serve.db'}")
    try:
        with running_server(store, workflows={"ask": "baton_model_flows:ask"}) as running:
            client = running.client()
            started = client.post("/runs", json={"workflow": "ask", "inputs": {"question": "the answer?"}})
            assert started.status_code == 201, started.text
            run_id = started.json()["id"]
            run = wait_for_state(client, run_id, {"succeeded", "failed"})
            assert run["state"] == "succeeded", run
            output = client.get(f"/runs/{run_id}/outputs").json()["answer"]
            costs = client.get(f"/runs/{run_id}/costs").json()
            metrics = client.get("/metrics").text
    finally:
        store.close()
    assert output["text"].startswith("forty-two, forty-two")
    assert output["model"] == "gpt-4o" and output["cost_usd"] > 0
    assert [r.body["messages"][-1]["content"] for r in server.calls_for("gpt-4o")] == ["the answer?"]
    assert costs["total"]["cost_usd"] == pytest.approx(output["cost_usd"])
    [line] = [
        line for line in metrics.splitlines() if line.startswith('baton_model_cost_usd_total{model="gpt-4o"}')
    ]
    assert float(line.split()[-1]) == pytest.approx(output["cost_usd"])
