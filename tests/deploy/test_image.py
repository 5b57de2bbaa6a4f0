"""baton's image run for real: its shape, and migrate, server and worker containers against PostgreSQL,
stopped as Docker and Kubernetes stop them (SIGTERM)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from baton.core.states import AttemptOutcome
from baton.store.keys import Role, create_key_txn
from baton.store.schema import attempts
from baton.store.store import Store
from pgserver import free_port

from .conftest import FLOWS, Docker, wait_exit, wait_http


def _name(kind: str) -> str:
    return f"baton-test-{kind}-{uuid.uuid4().hex[:8]}"


def test_the_image_is_small_non_root_and_answers_on_tini(docker: Docker, image: str) -> None:
    info = json.loads(docker.run("image", "inspect", image).stdout)[0]
    config = info["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/usr/bin/tini", "--", "baton"]
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert config["Labels"]["org.opencontainers.image.version"]
    assert "BATON_AUTO_MIGRATE=false" in config["Env"]
    size_mb = info["Size"] / 1e6
    print(f"{image}: {size_mb:.0f} MB")
    assert size_mb <= 400, f"the runtime image is {size_mb:.0f} MB"
    assert docker.run("run", "--rm", "--network", "host", image, "--help").returncode == 0
    compilers = docker.run(
        "run", "--rm", "--entrypoint", "sh", image, "-c", "command -v gcc cc g++ make || echo none"
    ).stdout
    assert compilers.strip() == "none"
    season = docker.run(
        "run", "--rm", "--network", "host", "--read-only", "--tmpfs", "/tmp", image,
        "season", "sample-data", "/tmp/s", check=False,
    )  # fmt: skip
    assert season.returncode == 2 and "baton:VERSION-full" in season.stdout, season.stdout + season.stderr


def test_a_worker_refuses_an_empty_database_until_migrate_runs(
    docker: Docker, image: str, postgres: Any
) -> None:
    url = postgres.url(postgres.create_database())
    env = [f"--env=BATON_DATABASE_URL={url}"]
    refused = docker.run("run", "--rm", "--network", "host", *env, image, "worker", check=False)
    assert refused.returncode == 5, refused.stdout + refused.stderr
    assert "baton migrate" in refused.stdout and "Traceback" not in refused.stdout + refused.stderr
    unreachable = docker.run(
        "run", "--rm", "--network", "host", f"--env=BATON_DATABASE_URL=postgresql://x:pw@127.0.0.1:{free_port()}/x",
        image, "worker", check=False,
    )  # fmt: skip
    assert unreachable.returncode == 5 and "cannot connect to the database" in unreachable.stdout
    bad = docker.run(
        "run",
        "--rm",
        "--network",
        "host",
        "--env=BATON_DATABASE_URL=mysql://db/x",
        image,
        "worker",
        check=False,
    )
    assert bad.returncode == 2 and "BATON_DATABASE_URL" in bad.stdout
    for _ in range(2):  # idempotent
        migrated = docker.run("run", "--rm", "--network", "host", *env, image, "migrate")
        assert "schema of" in migrated.stdout


def test_containers_serve_and_drain_on_sigterm_without_losing_a_task(
    docker: Docker, image: str, postgres: Any
) -> None:
    url = postgres.url(postgres.create_database())
    common = {"BATON_DATABASE_URL": url}
    migrate = docker.start(_name("migrate"), "migrate", env=common)
    assert wait_exit(docker, migrate) == 0, docker.logs(migrate)
    store = Store.open(url, migrate=False)
    with store.begin() as conn:
        secret = create_key_txn(conn, name="deploy test", role=Role.OPERATOR, now=time.time()).secret
    port, quick, patient = free_port(), free_port(), free_port()
    server = docker.start(
        _name("server"), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker",
        "--workflow", "slow=slowflow:workflow", env=common, mount=FLOWS,
    )  # fmt: skip
    # The first worker drains for 1 s only: the two 30 s tasks it runs when stopped are given back.
    first = docker.start(
        _name("worker"), "worker", "--concurrency", "2", "--poll", "100ms",
        env={**common, "BATON_WORKER_DRAIN": "1s", "BATON_WORKER_HEALTH_PORT": str(quick)}, mount=FLOWS,
    )  # fmt: skip
    second = ""
    try:
        wait_http(
            f"http://127.0.0.1:{port}/ready",
            alive=lambda: docker.running(server),
            logs=lambda: docker.logs(server),
        )
        wait_http(
            f"http://127.0.0.1:{quick}/health",
            alive=lambda: docker.running(first),
            logs=lambda: docker.logs(first),
        )
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {secret}"})
        created = api.post("/runs", json={"workflow": "slow", "inputs": {"tasks": 4, "seconds": 30}})
        assert created.status_code in (200, 201, 202), created.text
        run_id = created.json()["id"]
        held = _running_workers(store, count=2)
        assert len(held) == 1, held
        (first_id,) = held
        second = docker.start(
            _name("worker"), "worker", "--concurrency", "8", "--poll", "100ms",
            env={**common, "BATON_WORKER_HEALTH_PORT": str(patient)}, mount=FLOWS,
        )  # fmt: skip
        wait_http(
            f"http://127.0.0.1:{patient}/health",
            alive=lambda: docker.running(second),
            logs=lambda: docker.logs(second),
        )
        _running_workers(store, count=4)  # the second took the other two
        docker.run("stop", "--time", "30", first)  # SIGTERM; SIGKILL only after 30 s
        assert docker.exit_code(first) == 0, docker.logs(first)
        deadline = time.monotonic() + 120
        while api.get(f"/runs/{run_id}").json()["state"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, docker.logs(second)
            time.sleep(0.5)
        assert api.get(f"/runs/{run_id}").json()["state"] == "succeeded"
        with store.read() as conn:
            rows = conn.execute(select(attempts).order_by(attempts.c.id)).mappings().all()
        succeeded = [row["task_id"] for row in rows if row["outcome"] == AttemptOutcome.SUCCEEDED.value]
        assert len(succeeded) == len(set(succeeded)), "a task succeeded twice"
        given_back = [row for row in rows if row["worker"] == first_id and row["outcome"] != "succeeded"]
        assert len(given_back) == 2, rows
        for row in given_back:  # taken again at once by the other worker, not after the 30 s lease
            retried = [r for r in rows if r["task_id"] == row["task_id"] and r["id"] > row["id"]]
            assert retried and retried[0]["started_at"] - (row["finished_at"] or row["started_at"]) < 10, rows
        docker.run("stop", "--time", "30", server)
        assert docker.exit_code(server) == 0, docker.logs(server)
        docker.run("stop", "--time", "30", second)
        assert docker.exit_code(second) == 0, docker.logs(second)
    finally:
        store.close()
        for name in (migrate, server, first, second):
            if name:
                docker.run("rm", "-f", name, check=False)


def _running_workers(store: Store, count: int, timeout: float = 60) -> set[str]:
    """The workers of the running attempts, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.read() as conn:
            rows = conn.execute(
                select(attempts.c.worker).where(attempts.c.outcome == AttemptOutcome.RUNNING.value)
            ).all()
        if len(rows) >= count:
            return {row[0] for row in rows}
        time.sleep(0.2)
    pytest.fail("the run's tasks did not start")
