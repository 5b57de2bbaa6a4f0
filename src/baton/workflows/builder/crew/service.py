"""``call_service``: an HTTP request from the model to the service started from the working tree.

The service runs on a free loopback port with its own scratch database and API key (sent for the
model); it is restarted when the code changed since it started. The model gives a method and a path
only — never a host — so it can reach nothing but the service it is writing.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from baton.agents.tools import ToolRefused
from baton.workflows.builder._checks import run_checks as run_acceptance
from baton.workflows.builder.deploy import free_port, service_command
from baton.workflows.builder.spec import BuildSpec
from baton.workflows.builder.venvs import clean_env, ensure_venv

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
START_TIMEOUT_S = 30.0
MAX_BODY_CHARS = 3_000


class WorkingTreeService:
    def __init__(self, spec: BuildSpec, repo: Path, scratch: Path) -> None:
        self.spec = spec
        self.repo = repo
        self.scratch = scratch
        self.api_key = secrets.token_urlsafe(24)
        self._process: subprocess.Popen[bytes] | None = None
        self._url = ""
        self._started_at = 0.0

    def _changed_since_start(self) -> bool:
        for path in self.repo.rglob("*.py"):
            if {".venv", ".git", ".deploy", ".baton-build"} & set(path.relative_to(self.repo).parts):
                continue
            try:
                if path.stat().st_mtime > self._started_at:
                    return True
            except FileNotFoundError:
                continue
        return False

    def _start(self) -> None:
        self.stop()
        self.scratch.mkdir(parents=True, exist_ok=True)
        database = self.scratch / "service.db"
        database.unlink(missing_ok=True)
        venv = ensure_venv(self.repo / "requirements.txt", self.repo / "requirements-dev.txt")
        port = free_port()
        env = clean_env(
            APP_API_KEY=self.api_key,
            APP_DATABASE_URL=f"sqlite:///{database.resolve()}",
            APP_ENVIRONMENT="dev",
            PYTHONUNBUFFERED="1",
        )
        log = open(self.scratch / "service.log", "wb")  # noqa: SIM115 -- the child writes to it
        try:
            self._process = subprocess.Popen(
                service_command(self.spec, venv, port),
                cwd=self.repo,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        self._started_at = time.time()
        self._url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = (self.scratch / "service.log").read_text(errors="replace").splitlines()[-15:]
                self._process = None
                raise ToolRefused("the service did not start:\n" + "\n".join(tail))
            try:
                if httpx.get(self._url + "/health", timeout=1.0).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ToolRefused(f"the service did not answer /health within {START_TIMEOUT_S:g} s")

    def call(self, method: str, path: str, body: Any = None) -> str:
        verb = method.upper().strip()
        if verb not in METHODS:
            raise ToolRefused(f"method must be one of {', '.join(METHODS)}")
        if (
            not path.startswith("/")
            or "://" in path
            or path.startswith("//")
            or any(c in path for c in "\r\n")
        ):
            raise ToolRefused("path must be a path on the service, starting with '/', e.g. /items?limit=5")
        if self._process is None or self._process.poll() is not None or self._changed_since_start():
            self._start()
        try:
            response = httpx.request(
                verb,
                self._url + path,
                json=body if body is not None and verb != "GET" else None,
                headers={"X-API-Key": self.api_key},
                timeout=15.0,
            )
        except httpx.HTTPError as error:
            raise ToolRefused(f"the request failed: {type(error).__name__}: {error}") from None
        text = response.text
        with contextlib.suppress(ValueError):
            text = json.dumps(response.json(), indent=1)
        if len(text) > MAX_BODY_CHARS:
            text = text[:MAX_BODY_CHARS] + "\n… [body cut]"
        return f"{response.status_code} {response.reason_phrase}\n{text}"

    def run_checks(self, checks: list[dict[str, Any]]) -> None:
        """Acceptance checks (``_checks.run_checks``) against the working tree's service."""
        if self._process is None or self._process.poll() is not None or self._changed_since_start():
            self._start()
        headers = {"X-API-Key": self.api_key, "X-Actor": "baton-crew"}
        with httpx.Client(base_url=self._url, headers=headers, timeout=10, follow_redirects=False) as client:
            run_acceptance(client, checks)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
