"""Stages on their own: rebuilding an edited spec, rolling back a bad release, a failing gate,
the GitHub remote (against a local fake speaking the REST protocol), the webhook, the declaration."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import yaml
from build_ideas import LIBRARY

from baton.core.errors import InvalidInputError, PermanentError
from baton.core.workflow import TaskContext
from baton.workflows.builder import (
    BuildInputs,
    Environment,
    GateFailedError,
    LocalBuild,
    needs_approval,
    run_stages_locally,
    stop_service,
    workflow,
)
from baton.workflows.builder import pipeline as workflow_module
from baton.workflows.builder._git import commit_all, git, init
from baton.workflows.builder.deploy import deploy_local
from baton.workflows.builder.github import create_repository, push
from baton.workflows.builder.notify import message, send
from baton.workflows.builder.venvs import ensure_venv

pytestmark = pytest.mark.slow


def _ctx() -> TaskContext:
    return TaskContext(run_id="test", task_id=0, task_name="test", attempt=1, emit=lambda kind, data: None)


def test_the_workflow_is_declared_as_the_design_says() -> None:
    workflow.validate()
    steps = workflow.steps
    assert list(steps) == [
        "architecture",
        "repository",
        "code",
        "gate",
        "infrastructure",
        "deploy",
        "docs",
        "notify",
    ]
    assert set(steps["gate"].dependencies) == {"architecture", "code"}
    assert set(steps["infrastructure"].dependencies) == {"architecture", "code"}
    assert {"gate", "infrastructure"} <= set(steps["deploy"].dependencies)
    assert steps["deploy"].compensate_fn is workflow_module.undo_deploy
    assert needs_approval(BuildInputs(idea="books", out="x", env=Environment.PROD))
    assert not needs_approval(BuildInputs(idea="books", out="x"))
    assert steps["deploy"].needs_approval(BuildInputs(idea="books", out="x", env=Environment.PROD))


def test_a_production_build_waits_for_an_approval(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "p-api",
                "title": "P",
                "environment": "prod",
                "entities": [{"name": "widget", "fields": [{"name": "label"}]}],
            }
        )
    )
    assert needs_approval(BuildInputs(spec_path=str(spec), out="x"))


def test_a_build_refuses_a_non_empty_directory_without_force(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(InvalidInputError, match="--force"):
        run_stages_locally({"idea": LIBRARY, "out": str(tmp_path)})
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalBuild, LocalBuild]]:
    out = tmp_path_factory.mktemp("rebuild") / "repo"
    try:
        first = run_stages_locally({"idea": "An API for a zoo: keepers have animals", "out": str(out)})
        spec = yaml.safe_load((out / "spec.yaml").read_text())
        spec["entities"][1]["fields"].append({"name": "weight_kg", "type": "float", "required": False})
        edited = out / "spec.yaml"
        edited.write_text(yaml.safe_dump(spec, sort_keys=False))
        second = run_stages_locally({"spec_path": str(edited), "out": str(out), "force": True})
        yield first, second
    finally:
        stop_service(out)


def test_an_edited_spec_rebuilds_and_replaces_the_release(rebuilt: tuple[LocalBuild, LocalBuild]) -> None:
    first, second = rebuilt
    assert second.gate.passed
    assert second.deploy.release != first.deploy.release
    assert second.deploy.previous_release == first.deploy.release
    assert first.deploy.pid != second.deploy.pid
    assert first.deploy.pid is not None
    assert not psutil.pid_exists(first.deploy.pid) or psutil.Process(first.deploy.pid).status() == "zombie"
    key = Path(str(second.deploy.api_key_file)).read_text().strip().split("=", 1)[1]
    entity = second.architecture.spec.entities[1]
    schema = httpx.get(f"{second.deploy.url}/openapi.json", headers={"X-API-Key": key}).json()
    assert "weight_kg" in schema["components"]["schemas"][f"{entity.class_name}Create"]["properties"]
    # The data model changed: the new release has a database of its own (a table of the old model has no
    # weight_kg column, and every write to it answered 500), and says so; the old one's stays for a rollback.
    assert "the data model changed" in second.deploy.note
    assert [r.id for r in second.deploy.requirements if r.status == "failed"] == []
    assert len(list((Path(second.repository.path) / ".deploy" / "shared").glob("app-*.db"))) == 2
    # spec, code and docs changed; the infrastructure did not, so it made no new commit
    log = git(Path(second.repository.path), "log", "--format=%s").splitlines()
    assert len(log) == 7
    assert log.count("Add infrastructure and CI/CD (baton)") == 1


def test_a_release_that_fails_its_smoke_test_is_rolled_back(rebuilt: tuple[LocalBuild, LocalBuild]) -> None:
    _, good = rebuilt
    repo = Path(good.repository.path)
    main = repo / "app" / "main.py"
    original = main.read_text()
    main.write_text(original + "\nraise RuntimeError('broken on purpose')\n")
    broken = commit_all(repo, "Break the service on purpose")
    try:
        venv = ensure_venv(repo / "requirements.txt", repo / "requirements-dev.txt")
        with pytest.raises(PermanentError, match="rolled back") as caught:
            deploy_local(good.architecture.spec, repo, broken, venv)
        assert "broken on purpose" in caught.value.hint
        assert (repo / ".deploy" / "current").resolve().name == good.deploy.release
        assert httpx.get(f"{good.deploy.url}/health").status_code == 200
    finally:
        main.write_text(original)
        commit_all(repo, "Repair the service")


def test_a_failing_generated_test_fails_the_gate_and_says_so(timer_build: LocalBuild, tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(timer_build.repository.path, copy, ignore=shutil.ignore_patterns(".deploy"))
    (copy / "tests" / "test_broken.py").write_text("def test_broken() -> None:\n    assert 1 == 2\n")
    architecture = timer_build.architecture.model_copy(update={"out_dir": str(copy)})
    with pytest.raises(GateFailedError, match="pytest failed") as caught:
        workflow_module.gate(architecture, timer_build.code, _ctx())
    assert caught.value.report.tests_failed == 1
    build_md = (copy / "BUILD.md").read_text()
    assert "The build FAILED at the gate stage" in build_md
    assert "| pytest | FAILED |" in build_md
    assert "| architecture | succeeded |" in build_md  # it ran before the repository held a ledger
    assert json.loads((copy / ".baton-build" / "gate.json").read_text())["passed"] is False


class _FakeGitHub(BaseHTTPRequestHandler):
    """The few GitHub REST endpoints the repository stage calls; repos are local bare repositories."""

    root: Path
    seen: list[tuple[str, str, str]] = []
    repos: dict[str, dict[str, Any]] = {}

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path, self.headers.get("Authorization", "")))
        if self.path == "/user":
            self._reply(200, {"login": "octo"})
        elif self.path.removeprefix("/repos/") in self.repos:
            self._reply(200, self.repos[self.path.removeprefix("/repos/")])
        else:
            self._reply(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(("POST", self.path, self.headers.get("Authorization", "")))
        owner = "octo" if self.path == "/user/repos" else self.path.split("/")[2]
        full = f"{owner}/{body['name']}"
        if full in self.repos:
            self._reply(
                422,
                {"message": "Repository creation failed.", "errors": [{"message": "name already exists"}]},
            )
            return
        bare = self.root / f"{body['name']}.git"
        git(self.root, "init", "--quiet", "--bare", str(bare))
        self.repos[full] = {
            "full_name": full,
            "clone_url": str(bare),
            "html_url": f"https://github.test/{full}",
        }
        self._reply(201, self.repos[full])

    def log_message(self, *args: Any) -> None:
        pass


def test_the_github_remote_is_created_through_the_api_and_pushed(tmp_path: Path) -> None:
    _FakeGitHub.root = tmp_path
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeGitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        repo = tmp_path / "work"
        repo.mkdir()
        init(repo)
        (repo / "README.md").write_text("hello\n")
        sha = commit_all(repo, "first")
        remote = create_repository("octo", "zoo-api", "A zoo", "t0ken", api=api)
        assert remote.created
        push(repo, remote, "t0ken")
        assert git(Path(remote.clone_url), "rev-parse", "main") == sha
        assert "t0ken" not in (repo / ".git" / "config").read_text()
        again = create_repository("octo", "zoo-api", "A zoo", "t0ken", api=api)
        assert not again.created
        assert again.clone_url == remote.clone_url
        assert all(auth == "Bearer t0ken" for _, _, auth in _FakeGitHub.seen)
    finally:
        server.shutdown()


class _Hook(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []
    hosts: list[str] = []

    def do_POST(self) -> None:
        self.hosts.append(self.headers["Host"])
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def test_the_webhook_gets_a_slack_and_teams_compatible_body() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        result = send(url, message("Zoo API", {"tests": "40 passed"}, succeeded=True))
        assert result.sent and result.status == 200
        body = _Hook.bodies[-1]
        assert "Zoo API" in body["text"] and "40 passed" in body["text"]
        assert body["@type"] == "MessageCard"
        assert body["sections"][0]["facts"] == [{"name": "tests", "value": "40 passed"}]
    finally:
        server.shutdown()
    unreachable = send("http://127.0.0.1:9/hook", message("Zoo API", {}, succeeded=False), timeout=2)
    assert not unreachable.sent and unreachable.error


def test_a_confined_webhook_is_checked_again_when_sent_and_goes_to_the_checked_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        # A run started over the API: loopback is refused at send time unless the allow-list names it.
        monkeypatch.delenv("BATON_ALLOWED_HOSTS", raising=False)
        received = len(_Hook.hosts)
        refused = send(f"http://localhost:{port}/hook", message("Zoo API", {}, succeeded=True), confine=True)
        assert not refused.sent and refused.error is not None and "loopback" in refused.error
        assert len(_Hook.hosts) == received  # nothing was sent
        monkeypatch.setenv("BATON_ALLOWED_HOSTS", "localhost,127.0.0.0/8,::1")
        sent = send(f"http://localhost:{port}/hook", message("Zoo API", {}, succeeded=True), confine=True)
        assert sent.sent and sent.status == 200
        assert _Hook.hosts[-1] == f"localhost:{port}"  # the pinned request keeps the URL's host
    finally:
        server.shutdown()
