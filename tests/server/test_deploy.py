"""The Grafana dashboard and alert rules in deploy/ only use metrics that baton exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from baton.observability import Metrics
from baton.server.store_metrics import StoreCollector
from baton.store.store import Store

DEPLOY = Path(__file__).parents[2] / "deploy"


def _exported(store: Store) -> set[str]:
    metrics = Metrics()
    metrics.register_collector(StoreCollector(store))
    metrics.observe_event(
        "model.call", {"model": "m", "status": "ok", "cache_hit": False, "tokens_in": 1, "cost_usd": 0.1}
    )
    metrics.observe_event(
        "task.state", {"step": "s", "from": "running", "to": "retrying"}, workflow="w", duration=1.0
    )
    metrics.observe_event("run.state", {"from": "running", "to": "failed"}, workflow="w")
    metrics.observe_request("GET", "/runs", 200, 0.01)
    metrics.stream_connections.labels(transport="websocket").inc()
    metrics.stream_messages.labels(transport="websocket").inc()
    metrics.stream_dropped.inc()
    metrics.stream_send_delay.labels(transport="websocket").observe(0.1)
    text = metrics.render().decode()
    # families without samples (no worker registered here) still declare themselves with # TYPE
    return set(re.findall(r"^(baton_[a-z_]+)", text, re.MULTILINE)) | set(
        re.findall(r"^# TYPE (baton_[a-z_]+)", text, re.MULTILINE)
    )


def _used(text: str) -> set[str]:
    return set(re.findall(r"\b(baton_[a-z_]+)", text))


def test_deploy_files_parse_and_use_only_exported_metrics(sqlite_store: Store) -> None:
    alerts = yaml.safe_load((DEPLOY / "prometheus-alerts.yml").read_text())
    rules = alerts["groups"][0]["rules"]
    assert {r["alert"] for r in rules} >= {
        "BatonHighErrorRate",
        "BatonSlowRequests",
        "BatonModelCostOverBudget",
        "BatonWorkerSilent",
    }
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    titles = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert titles == ["System", "API", "Models and cost"]
    exported = _exported(sqlite_store)
    used = _used(json.dumps(dashboard)) | _used(json.dumps(rules))
    assert used and used <= exported, sorted(used - exported)
