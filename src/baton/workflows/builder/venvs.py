"""Isolated virtual environments for generated projects, cached by a hash of their requirements.

Every project generated from the same stack pins the same requirements, so one venv serves them
all: the first build of a stack creates it (cold), later builds reuse it (warm). A venv is complete
only once its ``.baton-ready`` marker exists; creation holds a file lock, so concurrent builds wait
for one another instead of installing twice, and a half-made venv is removed and made again.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from baton.core.errors import TransientError

READY_MARKER = ".baton-ready"
INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True)
class Venv:
    path: Path
    requirements_hash: str
    reused: bool

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def cache_root() -> Path:
    """``$BATON_CACHE_DIR``, else ``$XDG_CACHE_HOME/baton``, else ``~/.cache/baton``."""
    if os.environ.get("BATON_CACHE_DIR"):
        return Path(os.environ["BATON_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "baton"


def requirements_hash(*requirement_texts: str) -> str:
    """A hash of the interpreter version and the requirement lines, ignoring order and comments."""
    lines = sorted(
        {
            line.strip()
            for text in requirement_texts
            for line in text.splitlines()
            if line.strip() and not line.strip().startswith(("#", "-r"))
        }
    )
    key = "\n".join([f"python {platform.python_version()}", *lines])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a generated project's tools: baton's venv and the APP_ settings left out."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_", "XDG_CACHE_HOME", "SSL_CERT", "REQUESTS_CA")
    env = {k: v for k, v in os.environ.items() if k.startswith(keep)}
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        env["PATH"] = os.pathsep.join(
            p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(venv)
        )
    return {**env, **extra}


def _install(path: Path, requirements: Path) -> None:
    has_pip = importlib.util.find_spec("pip") is not None
    create = [sys.executable, "-m", "venv", str(path)] + (["--without-pip"] if has_pip else [])
    pip = (
        [sys.executable, "-m", "pip", "--python", str(path / "bin" / "python")]
        if has_pip
        else [str(path / "bin" / "python"), "-m", "pip"]
    )
    for command in (
        create,
        [*pip, "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
    ):
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
                env=clean_env(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TransientError(
                f"installing the generated project's requirements took over {INSTALL_TIMEOUT_S} s",
                hint="check the package index is reachable, then retry",
            ) from None
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise TransientError(
                f"`{' '.join(command[:4])} …` failed with exit code {done.returncode}:\n{tail}",
                hint="check the package index is reachable and the pinned versions exist, then retry",
            )


def ensure_venv(*requirement_files: Path) -> Venv:
    """The cached venv holding ``requirement_files``; created on first use (which takes a while)."""
    texts = [p.read_text(encoding="utf-8") for p in requirement_files]
    digest = requirements_hash(*texts)
    lines = sorted({line.strip() for t in texts for line in t.splitlines()} - {""})
    pinned = [line for line in lines if not line.startswith(("#", "-r"))]
    root = cache_root() / "venvs"
    root.mkdir(parents=True, exist_ok=True)
    path = root / digest
    if (path / READY_MARKER).exists():
        return Venv(path, digest, reused=True)
    with open(root / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (path / READY_MARKER).exists():
            return Venv(path, digest, reused=True)
        shutil.rmtree(path, ignore_errors=True)
        combined = root / f"{digest}.requirements.txt"
        combined.write_text("\n".join(pinned) + "\n", encoding="utf-8")
        _install(path, combined)
        (path / READY_MARKER).write_text(digest, encoding="utf-8")
    return Venv(path, digest, reused=False)
