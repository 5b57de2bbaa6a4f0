"""/metrics after real runs, and the JSON logs with request and run ids and no secrets."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from baton.observability import Metrics, configure_logging, get_logger, redact_text
from baton.store.keys import KEY_PREFIX, Role

from .conftest import RunningServer, wait_for_state


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_follow_runs_requests_and_streams(server: RunningServer) -> None:
    operator = server.client(Role.OPERATOR)
    run_id = operator.post("/runs", json={"workflow": "fanout", "inputs": {"n": 3}}).json()["id"]
    wait_for_state(operator, run_id, {"succeeded"})
    operator.get("/runs/unknown")
    text = httpx.get(server.url + "/metrics").text
    samples = _samples(text)
    assert samples[("baton_runs", (("state", "succeeded"),))] == 1
    assert samples[("baton_tasks", (("state", "succeeded"),))] == 6
    assert samples[("baton_queue_depth", ())] == 0
    assert (
        samples[
            ("baton_http_requests_total", (("method", "GET"), ("route", "/runs/{run_id}"), ("status", "404")))
        ]
        == 1
    )
    assert (
        samples[("baton_http_requests_total", (("method", "POST"), ("route", "/runs"), ("status", "201")))]
        == 1
    )
    assert any(name == "baton_http_request_duration_seconds_bucket" for name, _ in samples)
    durations = {
        labels: v for (name, labels), v in samples.items() if name == "baton_task_duration_seconds_count"
    }
    # three items and the mapped task itself, which runs to expand into them
    assert durations[(("outcome", "succeeded"), ("step", "square"), ("workflow", "fanout"))] == 4
    assert samples[("baton_runs_finished_total", (("state", "succeeded"), ("workflow", "fanout")))] == 1
    run_labels = (("state", "succeeded"), ("workflow", "fanout"))
    assert samples[("baton_run_duration_seconds_count", run_labels)] == 1
    run = operator.get(f"/runs/{run_id}").json()
    took = run["finished_at"] - run["started_at"]
    assert samples[("baton_run_duration_seconds_sum", run_labels)] == pytest.approx(took, abs=0.05)


def test_model_call_events_feed_token_and_cost_counters() -> None:
    metrics = Metrics()
    call = {
        "model": "gpt-x",
        "status": "ok",
        "cache_hit": True,
        "tokens_in": 100,
        "tokens_out": 20,
        "cost_usd": 0.5,
    }
    metrics.observe_event("model.call", call)
    metrics.observe_event("model.call", {**call, "cache_hit": False})
    metrics.observe_event(
        "task.state", {"step": "s", "from": "running", "to": "retrying"}, workflow="w", duration=0.2
    )
    samples = _samples(metrics.render().decode())
    assert samples[("baton_model_calls_total", (("cache", "hit"), ("model", "gpt-x"), ("status", "ok")))] == 1
    assert samples[("baton_model_tokens_total", (("direction", "in"), ("model", "gpt-x")))] == 200
    assert samples[("baton_model_cost_usd_total", (("model", "gpt-x"),))] == 1.0
    assert samples[("baton_task_retries_total", ())] == 1


def test_json_logs_carry_request_and_run_ids_and_never_secrets(sqlite_server: RunningServer) -> None:
    stream = io.StringIO()
    configure_logging(level="info", stream=stream)
    try:
        key = sqlite_server.keys[Role.OPERATOR]
        client = sqlite_server.client(Role.OPERATOR)
        started = client.post(
            "/runs", json={"workflow": "fanout", "inputs": {"n": 1}}, headers={"X-Request-ID": "req-1"}
        )
        run_id = started.json()["id"]
        httpx.get(
            f"{sqlite_server.url}/runs/{run_id}/events/stream",
            params={"token": key, "after": 10**9},
            timeout=0.5,
        )
    except httpx.ReadTimeout:
        pass
    finally:
        get_logger().info("probe", api_key=key, note=f"Authorization: Bearer {key}")
        configure_logging(level="info")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    started_line = next(line for line in lines if line.get("event") == "run_started")
    assert started_line["request_id"] == "req-1" and started_line["run_id"] == run_id
    access = next(line for line in lines if line.get("event") == "request" and line.get("route") == "/runs")
    assert access["request_id"] == "req-1" and access["status"] == 201
    assert key not in stream.getvalue()
    secret = key.removeprefix(KEY_PREFIX).split("_", 1)[1]  # after the key id; the secret may hold "_" itself
    assert secret not in stream.getvalue()
    probe = next(line for line in lines if line.get("event") == "probe")
    assert probe["api_key"] == "[redacted]" and "[redacted]" in probe["note"]


@pytest.mark.parametrize(
    "text",
    [
        "key baton_0123456789abcdef_s3cr3t-value here",
        "Authorization: Bearer eyJ.abc.def",
        "/ws/runs?token=abc&after=3",
    ],
)
def test_redaction_of_secret_shaped_text(text: str) -> None:
    redacted = redact_text(text)
    assert (
        "[redacted]" in redacted
        and "s3cr3t" not in redacted
        and "abc" not in redacted.replace("[redacted]", "")
    )


def test_inputs_with_secret_names_are_redacted_in_responses(
    sqlite_server: RunningServer, tmp_path: Path
) -> None:
    client = sqlite_server.client(Role.OPERATOR)
    # `fanout` takes only n: pydantic ignores nothing, so send the secret through a workflow that refuses it.
    refused = client.post("/runs", json={"workflow": "fanout", "inputs": {"n": 1, "api_token": "hunter2"}})
    body: dict[str, Any] = (
        refused.json() if refused.status_code != 201 else client.get(f"/runs/{refused.json()['id']}").json()
    )
    assert "hunter2" not in json.dumps(body)


async def test_model_calls_through_the_gateway_show_in_the_metrics(server: RunningServer) -> None:
    """Real calls: the gateway's SDKs against a real local HTTP server speaking the providers' protocols,
    recorded in the server's store; the server's event hub turns their events into samples."""
    from baton.llm import CallContext, Gateway, ModelRequest
    from llm.fakeserver import FakeModelServer, make_config

    with server.client(Role.OPERATOR) as client:
        run_id = client.post("/runs", json={"workflow": "fanout", "inputs": {"n": 1}}).json()["id"]
    models = FakeModelServer().start()
    gateway = Gateway(make_config(models), server.store)
    try:
        context = CallContext(run_id=run_id, step="draft", agent="writer")
        await gateway.complete(ModelRequest.of("hello there", model="gpt-4o-mini"), context)
        await gateway.complete(ModelRequest.of("hello again", model="claude-haiku-4-5"), context)
    finally:
        await gateway.close()
        models.stop()
    samples: dict[Any, float] = {}
    for _ in range(100):  # the hub polls the store: wait for it to have seen both calls
        samples = _samples(httpx.get(server.url + "/metrics").text)
        if sum(v for (name, _), v in samples.items() if name == "baton_model_calls_total") >= 2:
            break
        await asyncio.sleep(0.05)
    for model in ("gpt-4o-mini", "claude-haiku-4-5"):
        assert (
            samples[("baton_model_calls_total", (("cache", "miss"), ("model", model), ("status", "ok")))] == 1
        )
        assert samples[("baton_model_tokens_total", (("direction", "in"), ("model", model)))] > 0
        assert samples[("baton_model_tokens_total", (("direction", "out"), ("model", model)))] > 0
        assert samples[("baton_model_cost_usd_total", (("model", model),))] > 0
