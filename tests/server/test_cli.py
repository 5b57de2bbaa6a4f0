"""`baton keys create/list/revoke` through the real Typer app, with `register` wired as the lead will."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli.app import app
from baton.cli.server_commands import register
from baton.store.keys import verify_key
from baton.store.runs import list_runs
from baton.store.store import Store

if "keys" not in {group.name for group in app.registered_groups}:
    register(app)


def test_keys_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    monkeypatch.setenv("BATON_DATABASE_URL", url)
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "ci", "--role", "operator", "--expires-days", "2"])
    assert created.exit_code == 0, created.output
    secret = re.search(r"baton_[0-9a-f]{16}_\S+", created.output.replace("\n", ""))
    assert secret is not None
    key_id = secret.group(0).split("_")[1]
    store = Store.open(url)
    with store.read() as conn:
        assert verify_key(conn, secret.group(0), now=0.0) is not None
    listed = runner.invoke(app, ["keys", "list"])
    assert key_id in listed.output and "operator" in listed.output and secret.group(0) not in listed.output
    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    assert key_id not in runner.invoke(app, ["keys", "list"]).output
    assert key_id in runner.invoke(app, ["keys", "list", "--all"]).output
    with store.read() as conn:
        assert verify_key(conn, secret.group(0), now=0.0) is None
    store.close()


def test_serve_is_registered_with_its_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--no-worker", "--workflow", "--metrics-key", "--proxy-headers", "--rate-limit"):
        assert option in result.output
    assert "--workspace" in result.output and "--max-upload-bytes" in result.output


def test_unknown_workflow_inputs_are_refused_in_the_cli_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "baton", "run", "baton.workflows.demo:workflow", "--input", "documnets=2"],
        env={**os.environ, "BATON_DATABASE_URL": url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "documnets" in output and "unknown" in output and "Traceback" not in output
    store = Store.open(url)
    with store.read() as conn:
        assert list_runs(conn) == []
    store.close()


def test_serve_refuses_a_workspace_it_cannot_create_before_it_starts(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "baton", "serve", "--port", "9"],  # never bound: refused before
        env={
            **os.environ,
            "BATON_DATABASE_URL": url,
            "BATON_WORKSPACE": str(blocker / "workspace"),
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "workspace" in output and "BATON_WORKSPACE" in output and "Traceback" not in output
    assert "serving on" not in output
