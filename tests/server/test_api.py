"""The REST API against a real server on SQLite and PostgreSQL: runs, tasks, events, costs, errors."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from baton.store.database import HEAD_REVISION
from baton.store.keys import Role

from .conftest import RunningServer, wait_for_state


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    return body["error"]


def test_a_run_started_over_http_runs_to_the_end(server: RunningServer) -> None:
    client = server.client(Role.OPERATOR)
    started = client.post("/runs", json={"workflow": "fanout", "inputs": {"n": 4}})
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    run = wait_for_state(client, run_id, {"succeeded", "failed"})
    assert run["state"] == "succeeded"
    assert [t["name"] for t in run["tasks"]] == ["numbers", "square", "total"]
    assert run["task_counts"]["succeeded"] == 3 + 4

    items = client.get(f"/runs/{run_id}/tasks", params={"kind": "item"}).json()["items"]
    assert sorted(t["name"] for t in items) == [f"square[{i}]" for i in range(4)]
    total = client.get(f"/runs/{run_id}/tasks/total").json()
    assert total["checkpoint"] == sum(i * i for i in range(4))
    assert [a["outcome"] for a in total["attempt_history"]] == ["succeeded"]
    assert client.get(f"/runs/{run_id}/outputs").json()["total"] == 14

    events = client.get(f"/runs/{run_id}/events", params={"type": "run.*"}).json()["items"]
    assert [e["data"].get("to") for e in events if e["type"] == "run.state"][-1] == "succeeded"
    aggregate = client.get("/events/aggregate", params={"run_id": run_id}).json()
    states = client.get(f"/runs/{run_id}/events", params={"type": "task.state", "limit": 5000}).json()[
        "items"
    ]
    assert aggregate["counts_by_type"]["task.state"] == len(states) > 7
    assert {d["step"] for d in aggregate["durations"]} == {"numbers", "square", "total"}
    # Without a run: every run's tasks (this one's among them).
    everything = client.get("/events/aggregate").json()["task_counts"]
    assert aggregate["task_counts"] and all(everything[s] >= n for s, n in aggregate["task_counts"].items())
    costs = client.get(f"/runs/{run_id}/costs").json()
    assert costs["run_id"] == run_id and costs["total"]["calls"] == 0


def test_approve_and_reject_waiting_tasks_and_illegal_transitions(server: RunningServer) -> None:
    client = server.client(Role.OPERATOR)
    approved = client.post("/runs", json={"workflow": "gated"}).json()["id"]
    rejected = client.post("/runs", json={"workflow": "gated"}).json()["id"]
    for run_id in (approved, rejected):
        assert wait_for_state(client, run_id, {"waiting"})["state"] == "waiting"
    _error(client.post(f"/runs/{approved}/tasks/announce/approve"), 409, "illegal_transition")

    reply = client.post(f"/runs/{approved}/tasks/release/approve", json={"comment": "ship it"})
    assert reply.status_code == 200, reply.text
    assert wait_for_state(client, approved, {"succeeded", "failed"})["state"] == "succeeded"
    assert client.get(f"/runs/{approved}/outputs").json()["announce"] == "RELEASED ARTIFACT"

    assert (
        client.post(f"/runs/{rejected}/tasks/release/reject", json={"reason": "not today"}).status_code == 200
    )
    assert wait_for_state(client, rejected, {"failed"})["state"] == "failed"
    _error(client.post(f"/runs/{rejected}/cancel"), 409, "illegal_transition")
    _error(client.post(f"/runs/{rejected}/resume"), 409, "illegal_transition")
    retried = client.post(f"/runs/{rejected}/tasks/release/retry")
    assert retried.status_code == 200 and retried.json()["state"] == "running"


def test_cancel_a_run(server: RunningServer) -> None:
    client = server.client(Role.OPERATOR)
    run_id = client.post("/runs", json={"workflow": "gated"}).json()["id"]
    wait_for_state(client, run_id, {"waiting"})
    assert client.post(f"/runs/{run_id}/cancel").json()["state"] == "cancelled"
    tasks = client.get(f"/runs/{run_id}").json()["tasks"]
    assert {t["name"]: t["state"] for t in tasks}["release"] == "cancelled"


def test_pagination_of_runs_and_events(sqlite_server: RunningServer) -> None:
    client = sqlite_server.client(Role.OPERATOR)
    ids = [
        client.post("/runs", json={"workflow": "fanout", "inputs": {"n": 1}}).json()["id"] for _ in range(5)
    ]
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = client.get("/runs", params={"limit": 2, "offset": offset}).json()
        assert len(page["items"]) <= 2
        seen += [r["id"] for r in page["items"]]
        offset = page["next_offset"]
    assert sorted(seen) == sorted(ids)

    after, collected = 0, []
    while True:
        page = client.get("/events", params={"after": after, "limit": 7}).json()
        if not page["items"]:
            break
        collected += [e["id"] for e in page["items"]]
        after = page["next_after"]
    assert collected == sorted(set(collected)) and len(collected) >= 5


def test_request_ids_are_echoed_or_made(sqlite_server: RunningServer) -> None:
    client = sqlite_server.client()
    assert client.get("/health", headers={"X-Request-ID": "trace-42"}).headers["X-Request-ID"] == "trace-42"
    made = client.get("/health", headers={"X-Request-ID": "not ok; <script>"}).headers["X-Request-ID"]
    assert len(made) == 32
    assert _error(client.get("/runs/nothing-here"), 404, "not_found")["details"]["run_id"] == "nothing-here"


def test_bad_input_gets_the_right_4xx_with_the_standard_body(server_with: Any, tmp_path: Path) -> None:
    running: RunningServer = server_with(tmp_path, max_body_bytes=2000, max_upload_bytes=2000)
    client = running.client(Role.OPERATOR)
    json_headers = {"Content-Type": "application/json"}
    _error(client.post("/runs", content=b"{not json", headers=json_headers), 422, "invalid_request")
    _error(client.post("/runs", json={"workflow": "demo", "colour": "red"}), 422, "invalid_request")
    _error(client.post("/runs", json={"workflow": 7}), 422, "invalid_request")
    fields = _error(
        client.post("/runs", json={"workflow": "demo", "inputs": {"documents": -1}}), 422, "invalid_input"
    )
    assert "documents" in fields["details"]["fields"]
    assert fields["details"]["hint"] == "GET /workflows/demo gives each input's type and constraints"
    _error(client.post("/runs", json={"workflow": "nope"}), 404, "workflow_not_found")
    _error(
        client.post("/runs", json={"workflow": "demo", "inputs": {"x": "y" * 5000}}), 413, "payload_too_large"
    )

    def chunks() -> Any:
        yield b'{"workflow": "demo", "inputs": {"x": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}}'

    _error(client.post("/runs", content=chunks(), headers=json_headers), 413, "payload_too_large")
    _error(client.get("/runs", params={"limit": 0}), 422, "invalid_request")
    _error(client.get("/runs", params={"state": "sleeping"}), 422, "invalid_request")
    _error(client.get("/runs/abc/tasks/nothing"), 404, "not_found")
    _error(client.get("/no/such/route"), 404, "not_found")
    _error(client.delete("/runs"), 405, "method_not_allowed")
    assert client.get("/runs").status_code == 200  # nothing above changed the store
    assert client.get("/runs").json()["items"] == []


def test_catalog_and_season_extraction(sqlite_server: RunningServer) -> None:
    client = sqlite_server.client(Role.VIEWER)
    workflows = {w["name"]: w for w in client.get("/workflows").json()["items"]}
    assert set(workflows) == {"demo", "season", "gated", "fanout", "graded"}
    assert (
        workflows["graded"]["report_from"] == ["mark", "publish"] and workflows["demo"]["report_from"] is None
    )
    assert workflows["demo"]["input_schema"]["properties"]["documents"]["type"] == "integer"
    assert [s["name"] for s in workflows["gated"]["steps"] if s["approval"]] == ["release"]
    assert client.get("/workflows/fanout").json()["steps"][1]["mapped_over"] == "numbers"
    assert client.get("/agents").json()["items"] == [] or "input" in client.get("/agents").json()["items"][0]

    extracted = client.post(
        "/workflows/season/extract",
        json={
            "text": "Plan spring 2027 for outerwear from March 1st 2027 to May 31st 2027, budget 400000, "
            "target sell-through 80%, 12 week horizon"
        },
    )
    assert extracted.status_code in (200, 422), extracted.text
    if extracted.status_code == 422:  # the extractor names what it could not read
        assert extracted.json()["error"]["details"]
    else:
        assert extracted.json()["category"]


def test_health_and_ready(server: RunningServer) -> None:
    anonymous = httpx.Client(base_url=server.url)
    assert anonymous.get("/health").json() == {"status": "ok", "schema_revision": None}
    ready = anonymous.get("/ready").json()
    assert ready == {"status": "ready", "schema_revision": HEAD_REVISION}


def test_cached_run_reads_follow_every_change_and_deletion(server: RunningServer) -> None:
    """GET /runs and /runs/{id} are answered from a cache keyed by the event log: each read after a
    change (made here or by another process) shows it, and pruned runs disappear."""
    from baton.store.retention import prune_txn

    client = server.client(Role.OPERATOR)
    run_id = client.post("/runs", json={"workflow": "gated"}).json()["id"]
    assert wait_for_state(client, run_id, {"waiting"})["state"] == "waiting"
    first = client.get(f"/runs/{run_id}").json()
    assert client.get(f"/runs/{run_id}").json() == first == client.get(f"/runs/{run_id[:8]}").json()
    listed = client.get("/runs", params={"limit": 5}).json()["items"]
    assert [r["state"] for r in listed if r["id"] == run_id] == ["waiting"]

    assert client.post(f"/runs/{run_id}/cancel").status_code == 200
    after = client.get(f"/runs/{run_id}").json()
    assert after["state"] == "cancelled" and after["task_counts"] != first["task_counts"]
    assert client.get(f"/runs/{run_id[:8]}").json() == after
    listed = client.get("/runs", params={"limit": 5}).json()["items"]
    assert [r["state"] for r in listed if r["id"] == run_id] == ["cancelled"]

    with server.store.begin() as conn:
        assert prune_txn(conn, before=time.time() + 60)["runs"] >= 1
    assert client.get(f"/runs/{run_id}").status_code == 404
    assert run_id not in [r["id"] for r in client.get("/runs", params={"limit": 5}).json()["items"]]
