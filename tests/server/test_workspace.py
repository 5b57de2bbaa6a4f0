"""Run inputs over the API reach only the workspace and allowed hosts (through a real server)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from baton.store.keys import Role
from baton.store.store import Store
from baton.workflows.season import write_sample_data

from .conftest import TEST_WORKFLOWS, RunningServer, running_server, wait_for_state

WORKFLOWS = {**TEST_WORKFLOWS, "build": "baton.workflows.builder:workflow"}
SEASON = "12 weeks from March 2nd 2026, weekly replenishment, keep 10% at the DC"
# every path input of every shipped workflow, with the inputs that make the rest of the run valid
PATH_INPUTS: list[tuple[str, str, dict[str, Any]]] = [
    ("season", "data", {"request": SEASON}),
    ("season", "out", {"request": SEASON, "data": "in"}),
    ("season", "actuals", {"request": SEASON, "data": "in"}),
    ("build", "spec_path", {"out": "svc"}),
    ("build", "out", {"idea": "a todo API"}),
]
# `..` first, in the middle, last and alone; absolute and home paths; symlinks as first, middle and last part
ESCAPES = [
    "/etc/passwd",
    "/etc",
    "~/x",
    "..",
    "../outside",
    "../outside/secret.txt",
    "in/../../outside",
    "in/../in/../../outside/secret.txt",
    "in/..",  # stays inside: the workspace itself (accepted below, never listed here as escaping)
    "in/../..",
    "link-out",
    "link-out/secret.txt",
    "in/link-out/secret.txt",
    "in/link-file",
    "link-up/outside/secret.txt",
    "in/link-missing",
]
ESCAPES.remove("in/..")


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A workspace with symlinks that leave it (to a folder, a file, a relative ../.. and a missing target)."""
    root = tmp_path_factory.mktemp("reach")
    workspace, outside = root / "workspace", root / "outside"
    (workspace / "in").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret\n")
    (workspace / "link-out").symlink_to(outside)
    (workspace / "in" / "link-out").symlink_to(outside)
    (workspace / "in" / "link-file").symlink_to(outside / "secret.txt")
    (workspace / "link-up").symlink_to("..")
    (workspace / "in" / "link-missing").symlink_to(outside / "missing.csv")
    # a season's files: POST /runs checks them (and the request against them) before a run is stored
    write_sample_data(workspace / "in", stores=4, weeks=60, seed=3)
    history = (workspace / "in" / "historical_sales.csv").read_text().splitlines()
    (workspace / "in" / "actuals.csv").write_text("\n".join(history[:3]) + "\n")
    return {"workspace": workspace, "outside": outside}


@pytest.fixture(scope="module")
def confined(layout: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('reach-db') / 'b.db'}")
    with running_server(
        store, workflows=WORKFLOWS, workspace=str(layout["workspace"]), run_worker=False
    ) as running:
        yield running
    store.close()


def _start(client: httpx.Client, workflow: str, inputs: dict[str, Any], **more: Any) -> httpx.Response:
    return client.post("/runs", json={"workflow": workflow, "inputs": inputs, **more})


@pytest.mark.parametrize("escape", ESCAPES)
@pytest.mark.parametrize(("workflow", "field", "rest"), PATH_INPUTS)
def test_a_path_input_that_leaves_the_workspace_is_refused_naming_the_field(
    confined: RunningServer,
    layout: dict[str, Path],
    workflow: str,
    field: str,
    rest: dict[str, Any],
    escape: str,
) -> None:
    with confined.client(Role.OPERATOR) as client:
        before = client.get("/runs").json()["items"]
        response = _start(client, workflow, {**rest, field: escape})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert list(error["details"]["fields"]) == [field]
        text = json.dumps(error)
        # nothing about what is (or is not) out there: no target, no content, no existence
        assert str(layout["outside"]) not in text and "top secret" not in text
        assert "exist" not in text.lower() and "not found" not in text.lower()
        assert client.get("/runs").json()["items"] == before
    assert not (layout["workspace"] / "runs").exists() or not any((layout["workspace"] / "runs").iterdir())


def test_refusals_say_the_same_whether_the_target_exists_or_not(confined: RunningServer) -> None:
    with confined.client(Role.OPERATOR) as client:
        messages = {
            _start(client, "season", {"request": SEASON, "data": target}).json()["error"]["message"]
            for target in ("../outside", "../no-such-folder", "in/link-out", "in/link-missing")
        }
    assert len(messages) == 1, messages


@pytest.mark.parametrize(("workflow", "field", "rest"), PATH_INPUTS)
def test_paths_inside_the_workspace_are_accepted_and_stored_resolved(
    confined: RunningServer, layout: dict[str, Path], workflow: str, field: str, rest: dict[str, Any]
) -> None:
    # what each input names must be there for the run to be stored (a season's data folder and actuals)
    name = {"data": "", "actuals": "actuals.csv"}.get(field, "spec.yaml")
    with confined.client(Role.OPERATOR) as client:
        response = _start(client, workflow, {**rest, field: f"in/../in/./{name}"})
        assert response.status_code == 201, response.text
        stored = response.json()["inputs"][field]
    assert stored == str((layout["workspace"].resolve() / "in" / name).resolve())


def test_each_run_writes_to_its_own_folder_unless_a_sub_folder_is_named(
    confined: RunningServer, layout: dict[str, Path]
) -> None:
    workspace = layout["workspace"].resolve()
    with confined.client(Role.OPERATOR) as client:
        first = _start(client, "season", {"request": SEASON, "data": "in"}).json()
        second = _start(client, "build", {"idea": "a todo API"}).json()
        named = _start(client, "season", {"request": SEASON, "data": "in", "out": "plans/q3"}).json()
    assert first["inputs"]["out"] == str(workspace / "runs" / first["id"] / "out")
    assert second["inputs"]["out"] == str(workspace / "runs" / second["id"] / "out")
    assert named["inputs"]["out"] == str(workspace / "plans" / "q3")


def test_force_over_the_api_needs_an_admin(confined: RunningServer) -> None:
    inputs = {"idea": "a todo API", "out": "shared-service", "force": True}
    with confined.client(Role.OPERATOR) as client:
        refused = _start(client, "build", inputs)
        assert refused.status_code == 403
        assert refused.json()["error"]["details"]["field"] == "force"
        assert _start(client, "build", {**inputs, "force": False}).status_code == 201
    with confined.client(Role.ADMIN) as client:
        assert _start(client, "build", inputs).status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",  # a name: its resolved address is what counts
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://192.168.0.1/hook",
        "http://172.16.0.1/hook",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",  # 127.0.0.1 as one number
        "http://hooks.example.com@127.0.0.1/hook",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "http://no-such-host.invalid/hook",
    ],
)
def test_outbound_urls_to_internal_hosts_are_refused(confined: RunningServer, url: str) -> None:
    with confined.client(Role.OPERATOR) as client:
        response = _start(client, "build", {"idea": "a todo API", "notify": url})
    assert response.status_code == 422, response.text
    assert list(response.json()["error"]["details"]["fields"]) == ["notify"]


def test_public_hosts_pass_and_the_allow_list_decides_when_set(
    confined: RunningServer, tmp_path: Path
) -> None:
    with confined.client(Role.OPERATOR) as client:
        assert (
            _start(client, "build", {"idea": "x", "notify": "https://93.184.216.34/hook"}).status_code == 201
        )
    store = Store.open(f"sqlite:///{tmp_path / 'allow.db'}")
    try:
        with (
            running_server(
                store, workflows=WORKFLOWS, run_worker=False, allowed_hosts=["127.0.0.1", "*.example.org"]
            ) as allowing,
            allowing.client(Role.OPERATOR) as client,
        ):
            assert _start(client, "build", {"idea": "x", "notify": "http://127.0.0.1:9/h"}).status_code == 201
            off_list = _start(client, "build", {"idea": "x", "notify": "https://93.184.216.34/hook"})
            assert off_list.status_code == 422 and "allow-list" in off_list.json()["error"]["message"]
            # a name on the list still may not resolve to a private address the list does not name
            assert _start(client, "build", {"idea": "x", "notify": "http://localhost:9/h"}).status_code == 422
    finally:
        store.close()


def test_unknown_inputs_are_refused_by_name(confined: RunningServer) -> None:
    with confined.client(Role.OPERATOR) as client:
        response = _start(client, "demo", {"documnets": 2, "work_ms": 1})
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["details"]["fields"] == {"documnets": "unknown input"}
        assert "documnets" in error["message"] and "documents" in error["message"]
        assert client.get("/runs", params={"workflow": "demo"}).json()["items"] == []


def test_files_for_an_input_that_takes_none_are_refused(confined: RunningServer) -> None:
    with confined.client(Role.OPERATOR) as client:
        both = _start(client, "season", {"request": SEASON, "data": "in"}, files={"data": {"a.csv": "x"}})
        assert both.status_code == 422 and both.json()["error"]["details"]["fields"] == {
            "data": "given twice"
        }
        for files, field in [
            ({"out": {"a.csv": "x"}}, "files.out"),  # an output folder takes no files
            ({"request": {"a.csv": "x"}}, "files.request"),
            ({"data": {"../a.csv": "x"}}, "files.data"),
            ({"data": {".hidden": "x"}}, "files.data"),
            ({"actuals": {"a.csv": "x", "b.csv": "y"}}, "files.actuals"),
        ]:
            response = _start(client, "season", {"request": SEASON}, files=files)
            assert response.status_code == 422, (files, response.text)
            assert field in response.json()["error"]["details"]["fields"]


def test_a_season_planned_from_uploaded_files(server_with: Any, tmp_path: Path) -> None:
    """The dashboard's way: the data goes up with the run (multipart); the plan lands in the run's folder."""
    data = tmp_path / "data"
    write_sample_data(data, stores=8, weeks=104, seed=11)
    workspace = tmp_path / "ws"
    running = server_with(tmp_path, workspace=str(workspace))
    inputs = {"request": SEASON, "today": "2026-11-22", "policy": {"backtest_sample": 3}}
    files = [("data", (p.name, p.read_bytes(), "text/csv")) for p in sorted(data.iterdir())]
    with running.client(Role.OPERATOR) as client:
        response = client.post(
            "/runs", data={"workflow": "season", "inputs": json.dumps(inputs)}, files=files
        )
        assert response.status_code == 201, response.text
        run = response.json()
        folder = workspace.resolve() / "runs" / run["id"]
        assert run["inputs"]["data"] == str(folder / "data")
        assert sorted(os.listdir(folder / "data")) == sorted(p.name for p in data.iterdir())
        finished = wait_for_state(client, run["id"], {"succeeded", "failed"}, timeout=240)
        assert finished["state"] == "succeeded", finished["error"]
        outputs = client.get(f"/runs/{run['id']}/outputs").json()
    assert (folder / "out").is_dir() and any((folder / "out").rglob("*.md"))
    _check_season_report(finished["report"], outputs)


def _check_season_report(report: dict[str, Any], outputs: dict[str, Any]) -> None:
    """The season's report says what its outputs say: a row per category, the backtest, the facts, the notes."""
    pricing = outputs["pricing"]["summary"]["categories"]
    stock = {c["category"]: c for c in outputs["inventory"]["summary"]["categories"]}
    *categories, backtest = report["rows"]
    assert [r["id"] for r in categories] == [c["category"] for c in pricing]
    for row, planned in zip(categories, pricing, strict=True):
        # the plan's own projection is a fact of the plan, not a check: only the backtest has a verdict
        assert row["outcome"] == "info"
        assert row["status"] == (
            "projected to reach target" if planned["reaches_target"] else "projected to miss target"
        )
        assert f"{planned['projected_sell_through']:.0%}" in row["reason"]
        assert row["cells"]["buy"] == f"{planned['initial_buy']:,}"
        assert row["cells"]["to stores"] == f"{stock[planned['category']]['allocated_to_stores']:,}"
    reaching = sum(1 for c in pricing if c["reaches_target"])
    assert report["headline"].startswith(f"{reaching}/{len(pricing)} categories projected to reach")
    scores = outputs["demand"]["summary"]["backtest"]
    if scores["skipped"]:
        assert backtest["outcome"] == "unchecked" and scores["skipped"] in backtest["reason"]
    else:
        beats = scores["weekly_wape"]["ensemble"] <= scores["weekly_wape"]["seasonal_naive"]
        assert backtest["outcome"] == ("met" if beats else "failed")
        assert f"{scores['weekly_wape']['ensemble']:.3f}" in backtest["reason"]
    assert report["facts"]["stores planned"] == str(outputs["context"]["stores"])
    assert report["facts"]["plan"] == outputs["report"]["plan"]
    assert outputs["demand"]["summary"]["produced_by"] in report["facts"]["forecast"]
    step_notes = [outputs[s]["notes"] for s in ("context",)] + [
        outputs[s]["summary"]["notes"] for s in ("demand", "inventory", "pricing")
    ]
    assert report["notes"] == [note for notes in step_notes for note in notes]
    # never claimed: from the rows, and the backtest's is the only verdict
    assert (
        report["verdict"]
        == {"met": "all_met", "failed": "failed", "unchecked": "incomplete"}[backtest["outcome"]]
    )


def test_json_uploads_land_in_the_run_folder(confined: RunningServer, layout: dict[str, Path]) -> None:
    with confined.client(Role.OPERATOR) as client:
        data = layout["workspace"] / "in"
        files = {name: (data / name).read_text() for name in ("stores.csv", "historical_sales.csv")}
        response = _start(client, "season", {"request": SEASON}, files={"data": files})
        assert response.status_code == 201, response.text
        run = response.json()
    folder = layout["workspace"].resolve() / "runs" / run["id"]
    assert (folder / "data" / "stores.csv").read_text() == files["stores.csv"]
    assert run["inputs"]["data"] == str(folder / "data")


def test_files_are_never_written_through_a_runs_folder_that_links_out(tmp_path: Path) -> None:
    workspace, outside = tmp_path / "ws", tmp_path / "outside"
    workspace.mkdir()
    outside.mkdir()
    (workspace / "runs").symlink_to(outside)
    store = Store.open(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        with (
            running_server(store, workspace=str(workspace), run_worker=False) as running,
            running.client(Role.OPERATOR) as client,
        ):
            response = _start(client, "season", {"request": SEASON}, files={"data": {"a.csv": "x"}})
            assert response.status_code == 422
            assert client.get("/runs").json()["items"] == []
    finally:
        store.close()
    assert list(outside.iterdir()) == []


def test_malformed_forms_get_one_clear_422_and_strangers_a_401(confined: RunningServer) -> None:
    files = [("data", ("stores.csv", b"store_id\ns1\n", "text/csv"))]
    with confined.client(Role.OPERATOR) as client:
        before = client.get("/runs").json()["items"]
        for form, problem in [
            ({"workflow": "season", "inputs": "{not json"}, "inputs"),
            ({"workflow": "season", "inputs": "{}", "colour": "red"}, "colour"),
            ({"inputs": "{}"}, "workflow"),
        ]:
            response = client.post("/runs", data=form, files=files)
            assert response.status_code == 422, response.text
            assert problem in response.json()["error"]["message"]
        wrong_type = client.post("/runs", content=b"workflow=season", headers={"Content-Type": "text/plain"})
        assert wrong_type.status_code == 415
        assert client.get("/runs").json()["items"] == before
    stranger = httpx.post(f"{confined.url}/runs", data={"workflow": "season", "inputs": "{"}, files=files)
    assert stranger.status_code == 401


def test_a_season_that_could_only_fail_is_refused_before_it_is_stored(
    confined: RunningServer, layout: dict[str, Path]
) -> None:
    """The workflow's input check (the one `baton season plan` runs): a request the rules cannot read, a
    scope the data lacks, a data folder that is not there — 422 with the CLI's message, nothing stored."""
    from baton.workflows.season import extract_parameters
    from baton.workflows.season.data import categories_in
    from baton.workflows.season.parameters import SeasonParameterError

    def cli_message(request: str) -> str:
        with pytest.raises(SeasonParameterError) as caught:
            extract_parameters(request, categories=categories_in(layout["workspace"] / "in"))
        return caught.value.message

    runs = layout["workspace"] / "runs"
    folders = set(runs.iterdir()) if runs.exists() else set()
    with confined.client(Role.OPERATOR) as client:
        before = client.get("/runs").json()["items"]
        for request in ("plan the summer", f"{SEASON}, raincoats only"):
            response = _start(client, "season", {"request": request, "data": "in"})
            assert response.status_code == 422, response.text
            assert response.json()["error"]["message"] == cli_message(request)
        response = _start(client, "season", {"request": SEASON, "data": "no-such-folder"})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["message"].startswith("the data folder no-such-folder is not there")
        assert error["details"]["fields"] == {"data": "not a folder"}
        assert str(layout["workspace"]) not in json.dumps(error)  # the caller's path, not the server's
        response = _start(client, "season", {"request": SEASON, "data": "in", "out": "in/actuals.csv"})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["message"] == "out in/actuals.csv is a file, not a folder"
        # uploaded files that cannot be planned from: refused, and the run's folder is removed again
        files = {"data": {"stores.csv": "store_id\ns1\n"}}
        response = _start(client, "season", {"request": SEASON}, files=files)
        assert response.status_code == 422 and "historical_sales.csv" in response.text
        assert client.get("/runs").json()["items"] == before
    assert (set(runs.iterdir()) if runs.exists() else set()) == folders


def test_with_a_model_configured_a_request_it_may_complete_is_stored(
    confined: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the rules left missing the run's parameters step asks the model for: the check lets it be stored
    (no model is called here: this server runs no worker). What is wrong no model can fill: still 422."""
    config = tmp_path / "baton.toml"
    config.write_text(
        '[llm.providers.lab]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nlocal = false\n'
        'api_key_env = "TEST_LAB_KEY"\n\n[[llm.models]]\nname = "gpt-4o"\nprovider = "lab"\n'
        'tier = "complex"\ninput_price_per_mtok = 2.5\noutput_price_per_mtok = 10.0\n'
    )
    monkeypatch.setenv("BATON_CONFIG", str(config))
    monkeypatch.setenv("TEST_LAB_KEY", "sk-lab")
    with confined.client(Role.OPERATOR) as client:
        stored = _start(client, "season", {"request": "plan the summer", "data": "in"})
        assert stored.status_code == 201, stored.text
        wrong = _start(client, "season", {"request": f"{SEASON}, raincoats only", "data": "in"})
        assert wrong.status_code == 422 and "'raincoats' is not a category" in wrong.text
