"""A built repository's local release after the build: is it running, stop it, start it again.

The deploy stage leaves the release it switched ``current`` to running (see :mod:`.deploy`); these are
the operations behind `baton release status|stop|start DIR`. A pid is acted on only when the process is
still the release's own (:func:`.deploy.owned_process`: its folder, command line and start time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from baton.core.errors import InvalidInputError, PermanentError
from baton.workflows.builder.deploy import (
    DEPLOY_DIR,
    launch,
    log_tail,
    owned_process,
    port_in_use,
    service_info,
    stop_release,
)
from baton.workflows.builder.spec import load_spec
from baton.workflows.builder.venvs import ensure_venv


@dataclass
class ReleaseState:
    """The ``current`` release of a repository and whether its service runs."""

    repo: Path
    release: str | None = None  # the release `current` points at; None when nothing was deployed locally
    running: bool = False
    pid: int | None = None
    url: str | None = None
    detail: str = ""  # why it is not running, when it is not
    others: list[tuple[str, int]] = field(default_factory=list)  # other releases still running: (name, pid)


def _root(repo: Path) -> Path:
    root = Path(repo).expanduser().resolve() / DEPLOY_DIR
    if not (root / "releases").is_dir():
        raise InvalidInputError(
            f"{repo} has no local release (no {DEPLOY_DIR}/releases folder)",
            fields={"dir": "no release"},
            hint="give the folder `baton build` wrote (its --out), built with --target local",
        )
    return root


def _current(root: Path) -> Path | None:
    link = root / "current"
    return link.resolve() if link.exists() else None


def release_state(repo: Path) -> ReleaseState:
    """Where the ``current`` release is and whether its own process still runs."""
    root = _root(repo)
    current = _current(root)
    state = ReleaseState(repo=root.parent, release=current.name if current else None)
    if current is None:
        state.detail = "no release is current (the last deploy was rolled back, or none succeeded)"
    else:
        process, state.detail = owned_process(current)
        info = service_info(current) or {}
        state.url = info.get("url")
        state.pid = int(info["pid"]) if "pid" in info else None
        state.running = process is not None
    for release in sorted((root / "releases").iterdir()):
        if release.is_dir() and release != current:
            process, _ = owned_process(release)
            if process is not None:
                state.others.append((release.name, process.pid))
    return state


def stop_releases(repo: Path) -> list[tuple[str, int]]:
    """Stop every running release of the repository (the current one and any left over); (name, pid) each."""
    root = _root(repo)
    stopped = []
    for release in sorted((root / "releases").iterdir()):
        process, _ = owned_process(release) if release.is_dir() else (None, "")
        if process is not None and stop_release(release):
            stopped.append((release.name, process.pid))
    return stopped


def start_release(repo: Path, *, port: int | None = None) -> ReleaseState:
    """Start the ``current`` release again (on its last port when free, else ``port`` or a free one).

    A release already running is left as it is. Raises when its smoke test fails (the process is stopped)."""
    state = release_state(repo)
    if state.running:
        return state
    root = _root(repo)
    current = _current(root)
    if current is None:
        raise InvalidInputError(
            f"{state.repo} has no current release to start",
            fields={"dir": "no current release"},
            hint="build it again: baton build --spec spec.yaml --force --out DIR",
        )
    if port is not None and port_in_use(port):
        raise InvalidInputError(
            f"port {port} is in use", fields={"port": "in use"}, hint="choose another, or leave --port out"
        )
    if port is None:
        last = (service_info(current) or {}).get("port")
        port = int(last) if isinstance(last, int) and not port_in_use(last) else None
    spec = load_spec(current / "spec.yaml")
    venv = ensure_venv(current / "requirements.txt", current / "requirements-dev.txt")
    previous = (service_info(current) or {}).get("previous")
    started = launch(
        spec, current, venv, port=port, previous=root / "releases" / previous if previous else None
    )
    if not all(c.passed for c in started.checks):
        stop_release(current)
        failed = "; ".join(f"{c.name}: {c.detail}" for c in started.checks if not c.passed)
        raise PermanentError(
            f"release {current.name} did not start: {failed}; it was stopped",
            hint=f"see {current / 'service.log'}:\n{log_tail(current)}",
        )
    return release_state(repo)
