"""The deploy stage: a local release (folder, real process, smoke test, ``current`` switch) or an Azure plan.

Local layout, below ``<repo>/.deploy/`` (ignored by git)::

    releases/<commit>/     the committed tree of the code stage, exported with `git archive`
    releases/<commit>/service.json, service.log   the running process and its output
    shared/secrets.env     the API key (mode 0600), kept across releases
    shared/app-<schema>.db the SQLite database of one data model, kept across the releases that share it
    current -> releases/<commit>

A new release starts beside the old one on a free port; only when its smoke test passes does
``current`` switch to it and the previous release's process stop. Otherwise the new process is
stopped, ``current`` keeps pointing at the previous release, and the stage fails with the log.

baton does not migrate data: a release whose data model changed (the spec's entities and relations, or
the release's ``app/models.py``) starts on a database of its own and says so; the previous release's
database is left as it was, so a rollback finds its data.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from baton.core.errors import InvalidInputError, PermanentError
from baton.workflows.builder import _git
from baton.workflows.builder._smoke import acceptance, smoke_test
from baton.workflows.builder.results import DeployResult, DeployTarget, SmokeCheck
from baton.workflows.builder.spec import BuildSpec, Stack
from baton.workflows.builder.venvs import Venv, clean_env

DEPLOY_DIR = ".deploy"
SMOKE_TRIES = 30


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def service_command(spec: BuildSpec, venv: Venv, port: int) -> list[str]:
    python = str(venv.python)
    if spec.stack is Stack.FLASK:
        return [
            python,
            "-m",
            "flask",
            "--app",
            "app.main:create_app",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    if spec.stack is Stack.FUNCTIONS:
        return [python, "devserver.py", "--host", "127.0.0.1", "--port", str(port)]
    return [
        python,
        "-m",
        "uvicorn",
        "--factory",
        "app.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def _api_key(shared: Path) -> str:
    path = shared / "secrets.env"
    if not path.exists():
        shared.mkdir(parents=True, exist_ok=True)
        path.write_text(f"APP_API_KEY={secrets.token_urlsafe(24)}\n", encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip().split("=", 1)[1]


def _install(repo: Path, commit: str, release_dir: Path) -> None:
    if (release_dir / ".installed").exists():
        return
    shutil.rmtree(release_dir, ignore_errors=True)
    _git.export(repo, commit, release_dir)
    (release_dir / ".installed").write_text(commit, encoding="utf-8")


def service_info(release_dir: Path) -> dict[str, Any] | None:
    path = release_dir / "service.json"
    if not path.exists():
        return None
    info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return info


def owned_process(release_dir: Path) -> tuple[psutil.Process | None, str]:
    """The release's service process if it still runs, else None and why not.

    The pid in ``service.json`` is trusted only when the process there is still the one the deploy
    started: same working directory (the release's folder), and — recorded since — the same command
    line and start time. A pid the system gave to another program since is never touched."""
    info = service_info(release_dir)
    if info is None:
        return None, "no service was started for this release"
    pid = int(info["pid"])
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None, f"process {pid} has exited"
        cwd = process.cwd()
        command, started = info.get("command"), info.get("started")
        if (
            cwd != str(release_dir)
            or (command is not None and process.cmdline() != command)
            or (started is not None and abs(process.create_time() - float(started)) > 1.0)
        ):
            return None, f"pid {pid} now belongs to another program ({process.name()}): not this release's"
        return process, "running"
    except psutil.NoSuchProcess:
        return None, f"process {pid} has exited"
    except (psutil.Error, OSError) as error:
        return None, f"process {pid} cannot be inspected ({type(error).__name__}): not touched"


def _alive(release_dir: Path) -> psutil.Process | None:
    """The release's service process, if it is still running (see :func:`owned_process`)."""
    return owned_process(release_dir)[0]


def _gone(process: psutil.Process, timeout: float) -> bool:
    """Wait until the process has exited (a zombie its parent has not reaped yet counts as exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def stop_release(release_dir: Path, timeout: float = 10.0) -> bool:
    """Stop the service of one release (SIGTERM, then SIGKILL); True if one was running.

    The signal goes to the release's process group: the deploy starts each service in a session of its own."""
    process = _alive(release_dir)
    if process is None:
        return False
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return True
        if _gone(process, timeout):
            return True
    raise PermanentError(
        f"process {process.pid} of release {release_dir.name} did not stop "
        f"(SIGTERM, then SIGKILL, {timeout:.0f} s each)",
        hint=f"stop it by hand: kill -9 {process.pid}",
    )


def stop_service(repo: Path) -> bool:
    """Stop the service of the ``current`` release of a built repository; True if one was running."""
    current = Path(repo) / DEPLOY_DIR / "current"
    return current.exists() and stop_release(current.resolve())


def _switch_current(root: Path, release_dir: Path) -> None:
    link = root / "current"
    temporary = root / f".current-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(release_dir.relative_to(root))
    os.replace(temporary, link)


def _start(command: list[str], release_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = open(release_dir / "service.log", "ab")  # noqa: SIM115 -- the child keeps writing to it
    try:
        return subprocess.Popen(
            command,
            cwd=release_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()


def log_tail(release_dir: Path, lines: int = 20) -> str:
    path = release_dir / "service.log"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _already_deployed(root: Path, release_dir: Path, api_key: str, spec: BuildSpec) -> DeployResult | None:
    current = root / "current"
    info = service_info(release_dir)
    if not (current.exists() and current.resolve() == release_dir and info and _alive(release_dir)):
        return None
    checks, tries = smoke_test(str(info["url"]), api_key, spec, tries=3)
    if not all(c.passed for c in checks):
        return None
    return DeployResult(
        requirements=acceptance(str(info["url"]), api_key, spec),
        target=DeployTarget.LOCAL,
        release=release_dir.name,
        release_dir=str(release_dir),
        previous_release=info.get("previous"),
        url=str(info["url"]),
        pid=int(info["pid"]),
        port=int(info["port"]),
        api_key_file=str(root / "shared" / "secrets.env"),
        smoke=checks,
        tries=tries,
        note="already deployed and healthy",
    )


def _database(shared: Path, spec: BuildSpec, release_dir: Path) -> tuple[Path, str]:
    """The database of this release's data model, and a note when that model has no data yet."""
    digest = hashlib.sha256()
    model = {
        "entities": [e.model_dump(mode="json") for e in spec.entities],
        "relations": [r.model_dump(mode="json") for r in spec.relations],
    }
    digest.update(json.dumps(model, sort_keys=True).encode())
    models = release_dir / "app" / "models.py"
    if models.is_file():
        digest.update(models.read_bytes())
    path = shared / f"app-{digest.hexdigest()[:12]}.db"
    others = sorted(p.name for p in shared.glob("app*.db") if p != path)
    note = ""
    if others and not path.exists():
        note = (
            f"the data model changed: this release starts on a new database ({path.name}); the data of "
            f"earlier releases stays in {', '.join(others)} (baton does not migrate data)"
        )
    return path, note


@dataclass(frozen=True)
class Launched:
    """A release's service process as started, and its smoke test."""

    pid: int
    port: int
    url: str
    checks: list[SmokeCheck]
    tries: int
    database_note: str


def launch(
    spec: BuildSpec, release_dir: Path, venv: Venv, *, port: int | None = None, previous: Path | None = None
) -> Launched:
    """Start the service of an installed release on ``port`` (a free one if None), record it in
    ``service.json`` and smoke-test it. The caller stops it when the smoke test failed."""
    shared = release_dir.parents[1] / "shared"
    api_key = _api_key(shared)
    chosen = port or free_port()
    url = f"http://127.0.0.1:{chosen}"
    database, database_note = _database(shared, spec, release_dir)
    env = clean_env(
        APP_API_KEY=api_key,
        APP_DATABASE_URL=f"sqlite:///{database.resolve()}",
        APP_ENVIRONMENT=spec.environment.value,
        PYTHONUNBUFFERED="1",
    )
    command = service_command(spec, venv, chosen)
    process = _start(command, release_dir, env)
    try:
        started_at: float | None = psutil.Process(process.pid).create_time()
    except psutil.Error:
        started_at = None  # exited at once: the smoke test says so
    info = {
        "pid": process.pid,
        "port": chosen,
        "url": url,
        "previous": previous.name if previous else None,
        "command": command,
        "started": started_at,
    }
    (release_dir / "service.json").write_text(json.dumps(info), encoding="utf-8")
    checks, tries = smoke_test(url, api_key, spec, tries=SMOKE_TRIES, process=process)
    return Launched(process.pid, chosen, url, checks, tries, database_note)


def deploy_local(
    spec: BuildSpec, repo: Path, commit: str, venv: Venv, *, port: int | None = None
) -> DeployResult:
    """Install ``commit`` as a release, start it, smoke-test it, switch ``current``; roll back on failure."""
    root = repo / DEPLOY_DIR
    release_dir = (root / "releases" / commit[:12]).resolve()
    shared = root / "shared"
    api_key = _api_key(shared)
    done = _already_deployed(root, release_dir, api_key, spec)
    if done is not None:
        return done
    if port is not None and port_in_use(port):
        raise InvalidInputError(
            f"port {port} is in use",
            fields={"port": "in use"},
            hint="choose another port, or leave it out to take a free one",
        )
    previous = (root / "current").resolve() if (root / "current").exists() else None
    _install(repo, commit, release_dir)
    if previous == release_dir:
        stop_release(release_dir)
        previous = None
    started = launch(spec, release_dir, venv, port=port, previous=previous)
    checks = started.checks
    if not all(c.passed for c in checks):
        stop_release(release_dir)
        failed = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.passed)
        where = (
            f"`current` still points at release {previous.name}"
            if previous
            else "there is no previous release"
        )
        raise PermanentError(
            f"the smoke test of release {release_dir.name} failed ({failed}); rolled back: {where}",
            hint=f"see {release_dir / 'service.log'}:\n{log_tail(release_dir)}",
        )
    _switch_current(root, release_dir)
    if previous is not None and previous != release_dir:
        stop_release(previous)
    return DeployResult(
        requirements=acceptance(started.url, api_key, spec),
        target=DeployTarget.LOCAL,
        release=release_dir.name,
        release_dir=str(release_dir),
        previous_release=previous.name if previous else None,
        url=started.url,
        pid=started.pid,
        port=started.port,
        api_key_file=str(shared / "secrets.env"),
        smoke=checks,
        tries=started.tries,
        note=started.database_note,
    )


def undo_local(repo: Path, result: DeployResult) -> None:
    """Compensation: stop the deployed release and point ``current`` back at the previous one."""
    root = repo / DEPLOY_DIR
    if result.release_dir:
        stop_release(Path(result.release_dir))
    if result.previous_release:
        _switch_current(root, (root / "releases" / result.previous_release).resolve())
    else:
        (root / "current").unlink(missing_ok=True)


def azure_plan(spec: BuildSpec, bicep: str) -> str:
    """The exact `az` commands that deploy this build to Azure, as a shell script."""
    env = spec.environment.value
    group = f"rg-{spec.name[:20].rstrip('-')}-{env}"
    kind = "functionapp" if spec.stack is Stack.FUNCTIONS else "webapp"
    package = "app function_app.py host.json" if spec.stack is Stack.FUNCTIONS else "app"
    lines = [
        "#!/usr/bin/env bash",
        f"# Deploys {spec.title} to Azure ({env}). Generated by baton; needs `az login` and APP_API_KEY.",
        "set -euo pipefail",
        f"az group create --name {group} --location {spec.azure.region} --output none",
        f"app_name=$(az deployment group create --resource-group {group} --template-file infra/{bicep} "
        f'--parameters @infra/parameters/{env}.json --parameters apiKey="$APP_API_KEY" '
        "--query properties.outputs.appName.value --output tsv)",
        f"zip -qr package.zip {package} requirements.txt",
    ]
    if kind == "functionapp":
        lines.append(
            f'az functionapp deployment source config-zip --resource-group {group} --name "$app_name" '
            "--src package.zip --build-remote true"
        )
    else:
        lines.append(
            f'az webapp deploy --resource-group {group} --name "$app_name" --src-path package.zip --type zip'
        )
    return "\n".join(lines) + "\n"


def az_ready() -> bool:
    """Whether the `az` CLI is installed and logged in."""
    if shutil.which("az") is None:
        return False
    done = subprocess.run(
        ["az", "account", "show", "--output", "none"], capture_output=True, check=False, timeout=60
    )
    return done.returncode == 0


def deploy_azure(spec: BuildSpec, repo: Path, bicep: str) -> DeployResult:
    """Write the plan to ``.deploy/azure-<env>.sh``; run it only when `az` is present and logged in."""
    root = repo / DEPLOY_DIR
    root.mkdir(parents=True, exist_ok=True)
    plan = root / f"azure-{spec.environment.value}.sh"
    plan.write_text(azure_plan(spec, bicep), encoding="utf-8")
    plan.chmod(0o755)
    if not az_ready():
        return DeployResult(
            requirements=list(spec.requirements),
            target=DeployTarget.AZURE,
            plan_file=str(plan),
            executed=False,
            note="the az CLI is not installed or not logged in: the plan was written, not run",
        )
    done = subprocess.run(
        ["bash", str(plan)], cwd=repo, capture_output=True, text=True, check=False, timeout=3600
    )
    if done.returncode != 0:
        raise PermanentError(
            f"the Azure deployment failed: {done.stderr[-800:]}", hint=f"see and rerun {plan}"
        )
    return DeployResult(
        target=DeployTarget.AZURE,
        plan_file=str(plan),
        executed=True,
        note="deployed with az; the requirements' checks run against a local release only",
        requirements=list(spec.requirements),
    )
