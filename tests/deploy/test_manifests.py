"""The compose stack and the Kubernetes manifests, checked by their tools and then run for real: the
compose services against a PostgreSQL started here, and every container the overlays render with its
command, arguments, environment and security settings, in baton's image, answering its probes."""

from __future__ import annotations

import functools
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from pgserver import free_port

from .conftest import ROOT, Docker, wait_exit, wait_http

OVERLAYS = ["dev", "prod"]
VENV_BIN = Path(ROOT / ".venv" / "bin")


def _tool(name: str) -> str:
    found = shutil.which(name) or (str(VENV_BIN / name) if (VENV_BIN / name).exists() else None)
    assert found, f"{name} is missing (make test-deploy installs it)"
    return found


def _check(*command: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=600, check=False)
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


# -- static checks ---------------------------------------------------------------------------------


def test_prometheus_configuration_and_alert_rules_pass_promtool(tmp_path: Path) -> None:
    out = _check(_tool("promtool"), "check", "config", str(ROOT / "deploy" / "prometheus.yml"))
    assert "SUCCESS" in out
    out = _check(_tool("promtool"), "check", "rules", str(ROOT / "deploy" / "prometheus-alerts.yml"))
    assert "SUCCESS" in out


def _render(overlay: str) -> str:
    return _check("kubectl", "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / overlay))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_overlay_renders_validates_strictly_and_passes_checkov(overlay: str, tmp_path: Path) -> None:
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(_render(overlay))
    documents = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
    kinds = {d["kind"] for d in documents}
    assert {"Job", "Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
    assert "HorizontalPodAutoscaler" in kinds and "Secret" not in kinds  # a reference, never values
    validated = subprocess.run(
        [_tool("kubernetes-validate"), "--strict", "-k", "1.30.0", str(rendered)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    # Every object but the operator's custom resource is checked against Kubernetes' schema.
    unchecked = [line for line in validated.stdout.splitlines() if line.startswith("WARN")]
    assert all("postgresql.cnpg.io/v1" in line for line in unchecked), unchecked
    assert validated.stdout.count("passed for resource") == len(documents) - len(unchecked)
    scanned = subprocess.run(
        [_tool("checkov"), "-f", str(rendered), "--framework", "kubernetes", "--compact", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert scanned.returncode == 0, scanned.stdout
    for document in documents:  # every skip carries its reason
        for key, value in (document["metadata"].get("annotations") or {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert check.startswith("CKV") and len(reason) > 20, (key, value)
    for document in documents:
        spec = _pod_spec(document)
        if spec is None:
            continue
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for container in spec.get("initContainers", []) + spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True and security["capabilities"]["drop"] == ["ALL"]
        if document["kind"] == "Deployment":
            drain = _config_map(documents)["BATON_WORKER_DRAIN"]
            assert spec["terminationGracePeriodSeconds"] > int(drain.rstrip("s"))


def test_the_dockerfile_passes_checkov() -> None:
    out = _check(
        _tool("checkov"), "-f", str(ROOT / "Dockerfile"), "--framework", "dockerfile", "--compact", "--quiet"
    )
    assert "Failed checks: 0," in out, out  # (and checkov exited 0)


def test_compose_files_pass_docker_compose_config(tmp_path: Path) -> None:
    folder = _compose_folder(tmp_path)
    for profile in ([], ["--profile", "observability"]):
        out = _check(_tool("docker-compose"), "-f", "compose.yaml", *profile, "config", cwd=folder)
        services = set(yaml.safe_load(out)["services"])
        assert {"migrate", "server", "worker"} <= services
        if profile:
            assert {"prometheus", "grafana"} <= services
    config = yaml.safe_load(_check(_tool("docker-compose"), "-f", "compose.yaml", "config", cwd=folder))
    for name in ("server", "worker"):
        assert (
            config["services"][name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        )


# -- run for real ----------------------------------------------------------------------------------


def _compose_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", folder, ignore=shutil.ignore_patterns("k8s"))
    env = (folder / ".env.example").read_text()
    env = env.replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=not-used-here\n")
    env = env.replace("GRAFANA_ADMIN_PASSWORD=\n", "GRAFANA_ADMIN_PASSWORD=not-used-here\n")
    (folder / ".env").write_text(env)
    return folder


def test_the_compose_services_migrate_serve_and_stop_cleanly(
    docker: Docker, image: str, postgres: Any, tmp_path: Path
) -> None:
    folder = _compose_folder(tmp_path)
    url = postgres.url(postgres.create_database())
    port, health = free_port(), free_port()
    # The test's PostgreSQL is on the host's loopback: the services join the host's network.
    override = {
        "services": {
            "migrate": {"network_mode": "host", "environment": {"BATON_DATABASE_URL": url}},
            "server": {
                "network_mode": "host",
                "environment": {"BATON_DATABASE_URL": url},
                "command": ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
                "healthcheck": {"test": ["CMD", "true"]},
            },
            "worker": {
                "network_mode": "host",
                "environment": {
                    "BATON_DATABASE_URL": url,
                    "BATON_WORKER_HEALTH_PORT": str(health),
                    "BATON_HEALTH_URL": f"http://127.0.0.1:{health}/health",
                },
            },
        }
    }
    (folder / "test.override.yaml").write_text(yaml.safe_dump(override))
    merged = yaml.safe_load(
        _check(
            _tool("docker-compose"), "-f", "compose.yaml", "-f", "test.override.yaml", "config", cwd=folder
        )
    )
    # Published ports cannot go with the host's network, and compose 1.29 cannot drop a list in an override.
    del merged["services"]["server"]["ports"]
    (folder / "test.compose.yaml").write_text(yaml.safe_dump(merged))
    compose = [_tool("docker-compose"), "-p", f"batontest{uuid.uuid4().hex[:8]}", "-f", "test.compose.yaml"]
    try:
        _check(*compose, "up", "-d", "--no-build", "server", "worker", cwd=folder, env=docker.env)
        containers = {
            service: _check(*compose, "ps", "-q", service, cwd=folder, env=docker.env).strip()
            for service in ("migrate", "server", "worker")
        }
        assert all(containers.values()), containers
        assert docker.exit_code(containers["migrate"]) == 0, docker.logs(containers["migrate"])
        wait_http(
            f"http://127.0.0.1:{port}/ready",
            alive=lambda: docker.running(containers["server"]),
            logs=lambda: docker.logs(containers["server"]),
        )
        wait_http(
            f"http://127.0.0.1:{health}/health",
            alive=lambda: docker.running(containers["worker"]),
            logs=lambda: docker.logs(containers["worker"]),
        )
        _check(*compose, "stop", "-t", "30", cwd=folder, env=docker.env)
        for service in ("server", "worker"):
            assert docker.exit_code(containers[service]) == 0, docker.logs(containers[service])
    finally:
        subprocess.run([*compose, "down", "-v"], cwd=folder, env=docker.env, capture_output=True, timeout=120)


def _pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    if document["kind"] in ("Deployment", "Job"):
        spec: dict[str, Any] = document["spec"]["template"]["spec"]
        return spec
    return None


def _config_map(documents: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = [d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "baton"]
    data: dict[str, str] = config["data"]
    return data


def _docker_flags(container: dict[str, Any], spec: dict[str, Any], env: dict[str, str]) -> list[str]:
    """The container's settings as `docker run` flags (host network; its ports moved to free ones)."""
    security = {**spec.get("securityContext", {}), **container.get("securityContext", {})}
    flags = ["--network", "host", "--security-opt", "no-new-privileges"]
    flags += ["--user", f"{security['runAsUser']}:{security.get('runAsGroup', security['runAsUser'])}"]
    if security.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    flags += [f"--cap-drop={cap}" for cap in security["capabilities"]["drop"]]
    # each emptyDir as a fresh anonymous volume: writable by the pod's user, like the emptyDir (a --tmpfs
    # over a path the image declares a VOLUME is root's, and its mode option is not applied)
    flags += [f"--mount=type=volume,destination={m['mountPath']}" for m in container.get("volumeMounts", [])]
    flags += [f"--env={key}={value}" for key, value in env.items()]
    return flags


def _environment(container: dict[str, Any], documents: list[dict[str, Any]], url: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(_config_map(documents))
        else:
            assert source["secretRef"].get("optional") is True  # model keys; none needed here
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            assert variable["name"] == "BATON_DATABASE_URL", variable
            env["BATON_DATABASE_URL"] = url
    return env


def _moved(
    container: dict[str, Any], env: dict[str, str]
) -> tuple[list[str], dict[str, str], dict[str, int]]:
    """Arguments and environment with each declared container port replaced by a free host port."""
    ports = {str(p["containerPort"]): free_port() for p in container.get("ports", [])}
    names = {p["name"]: ports[str(p["containerPort"])] for p in container.get("ports", []) if "name" in p}
    args = [str(ports.get(a, a)) for a in container["args"]]
    moved = {}
    for key, value in env.items():
        for old, new in ports.items():
            value = (
                value.replace(f":{old}/", f":{new}/")
                if ":" in value
                else (str(new) if value == old else value)
            )
        moved[key] = value
    return args, moved, {**names, **{old: new for old, new in ports.items()}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_container_starts_in_the_image_and_answers_its_probes(
    overlay: str, docker: Docker, image: str, postgres: Any
) -> None:
    documents = [d for d in yaml.safe_load_all(_render(overlay)) if d]
    url = postgres.url(postgres.create_database())
    workloads = sorted(
        (d for d in documents if _pod_spec(d) is not None), key=lambda d: d["kind"] != "Job"
    )  # the migrate Job first, as on a cluster the others wait for it
    started: list[str] = []
    try:
        for document in workloads:
            spec = _pod_spec(document)
            assert spec is not None
            for container in spec.get("initContainers", []) + spec["containers"]:
                assert container["image"].split("/")[-1].startswith("baton:")
                env = _environment(container, documents, url)
                args, env, ports = _moved(container, env)
                name = f"baton-k8s-{container['name']}-{uuid.uuid4().hex[:6]}"
                flags = _docker_flags(container, spec, env)
                docker.run("run", "-d", "--name", name, *flags, image, *args)
                started.append(name)
                probes = [container[k] for k in ("readinessProbe", "livenessProbe") if k in container]
                if not probes:  # the Job and the init containers run to their end
                    assert wait_exit(docker, name, timeout=180) == 0, docker.logs(name)
                    continue
                for probe in probes:
                    port = ports[str(probe["httpGet"]["port"])]
                    wait_http(
                        f"http://127.0.0.1:{port}{probe['httpGet']['path']}",
                        alive=functools.partial(docker.running, name),
                        logs=functools.partial(docker.logs, name),
                    )
                docker.run("stop", "--time", str(spec["terminationGracePeriodSeconds"]), name)
                assert docker.exit_code(name) == 0, docker.logs(name)
    finally:
        for name in started:
            docker.run("rm", "-f", name, check=False)
