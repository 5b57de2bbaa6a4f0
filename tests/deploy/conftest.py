"""Fixtures of the deployment tests (`make test-deploy`): a private Docker engine, baton's image built
from Debian's packages, and helpers to run containers on host networking against the PostgreSQL that
tests/conftest.py starts. Nothing is pulled; everything made here is removed afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = next(
    line.split('"')[1]
    for line in (ROOT / "pyproject.toml").read_text().splitlines()
    if line.startswith("version")
)
IMAGE = f"baton:{VERSION}"
FLOWS = Path(__file__).parent / "flows"  # mounted at /workflows, as a user's workflows are


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("BATON_DEPLOY_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="deployment tests run with `make test-deploy` (BATON_DEPLOY_TESTS=1)")
    for item in items:
        if "tests/deploy/" in str(item.fspath):
            item.add_marker(skip)


@dataclass
class Docker:
    host: str

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host}

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}"
            )
        return done

    def start(
        self, name: str, *args: str, env: dict[str, str] | None = None, mount: Path | None = None
    ) -> str:
        """A detached container on the host's network, hardened as the manifests run it."""
        flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
        if mount is not None:
            flags.append(f"--volume={mount}:/workflows:ro")
        self.run(
            "run", "-d", "--name", name, "--network", "host", "--read-only", "--tmpfs", "/tmp",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges", *flags, IMAGE, *args,
        )  # fmt: skip
        return name

    def logs(self, name: str) -> str:
        done = self.run("logs", name, check=False)
        return done.stdout + done.stderr

    def exit_code(self, name: str) -> int:
        return int(self.run("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip())

    def running(self, name: str) -> bool:
        return self.run("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"


@pytest.fixture(scope="session")
def docker() -> Iterator[Docker]:
    folder = Path(tempfile.mkdtemp(prefix="baton-docker-", dir="/tmp"))
    started = subprocess.run(
        [str(ROOT / "scripts" / "dockerd.sh"), "start", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield Docker(started.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run([str(ROOT / "scripts" / "dockerd.sh"), "stop", str(folder)], timeout=120, check=False)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def image(docker: Docker) -> str:
    """baton's runtime image, built by `make image`'s script (which makes debian:bookworm-slim first)."""
    built = subprocess.run(
        [str(ROOT / "scripts" / "image.sh")],
        env={**docker.env, "TARGETS": "runtime"},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    print(built.stdout)
    return IMAGE


def wait_http(url: str, timeout: float = 90, *, alive: object = None, logs: object = None) -> None:
    """Until ``url`` answers 200; ``alive`` (a callable) is checked in between to fail early, and the
    text of ``logs`` (a callable: the container's logs) is in the failure."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as error:
            last = repr(error)
        if callable(alive) and not alive():
            said = logs() if callable(logs) else ""
            raise AssertionError(f"{url}: the container stopped ({last})\n{said}")
        time.sleep(0.3)
    said = logs() if callable(logs) else ""
    raise AssertionError(f"{url} did not answer 200 in {timeout} s: {last}\n{said}")


def wait_exit(docker: Docker, name: str, timeout: float = 120) -> int:
    done = docker.run("wait", name, timeout=timeout)
    return int(done.stdout.strip())
