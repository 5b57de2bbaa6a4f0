"""The few git operations the build needs, through the real ``git`` CLI.

Commits are idempotent: :func:`commit_all` commits only when something changed, and otherwise
returns the current HEAD, so a retried stage does not stack empty commits.

Commits are reproducible: their author and committer are baton, and their dates are the build's clock
(``date``: the run's reference time, see :class:`~baton.core.workflow.TaskContext`), not the wall
clock — so a retried stage makes the same commit, and a replayed build the same history, hash for hash.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from baton.core.errors import PermanentError

_IDENTITY = {
    "GIT_AUTHOR_NAME": "baton",
    "GIT_AUTHOR_EMAIL": "baton@localhost",
    "GIT_COMMITTER_NAME": "baton",
    "GIT_COMMITTER_EMAIL": "baton@localhost",
}


def git(
    repo: Path, *args: str, check: bool = True, input_bytes: bytes | None = None, date: int | None = None
) -> str:
    """Run ``git args`` in ``repo`` and return its stdout; a failure is a :class:`PermanentError`.

    ``date`` (seconds since the epoch, UTC) is the author and committer date of any commit it makes."""
    if shutil.which("git") is None:
        raise PermanentError("the `git` command is not installed", hint="install git and build again")
    env = {**os.environ, **_IDENTITY, "GIT_TERMINAL_PROMPT": "0"}
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{int(date)} +0000"
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, env=env, check=False, input=input_bytes, timeout=120
    )
    if check and done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or done.stdout.decode(errors="replace").strip()
        raise PermanentError(f"`git {' '.join(args)}` failed in {repo}: {message}")
    return done.stdout.decode(errors="replace").strip()


def init(repo: Path, branch: str = "main") -> None:
    if not (repo / ".git").exists():
        git(repo, "init", "--quiet", "--initial-branch", branch)


def head(repo: Path) -> str | None:
    sha = git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
    return sha or None


def commit_all(repo: Path, message: str, paths: list[str] | None = None, *, date: int | None = None) -> str:
    """Stage ``paths`` (everything if None), commit (dated ``date``) if anything changed, and return HEAD."""
    git(repo, "add", "--all", "--", *(paths or ["."]))
    staged = git(repo, "diff", "--cached", "--name-only")
    if staged or head(repo) is None:
        git(repo, "commit", "--quiet", "--allow-empty", "-m", message, date=date)
    sha = head(repo)
    if sha is None:
        raise PermanentError(f"git made no commit in {repo}")
    return sha


def export(repo: Path, commit: str, target: Path) -> None:
    """Write the tree of ``commit`` into ``target`` (like an install from a release archive)."""
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=repo, capture_output=True, check=False, timeout=120
    )
    if archive.returncode != 0:
        raise PermanentError(
            f"`git archive {commit}` failed: {archive.stderr.decode(errors='replace').strip()}"
        )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True, timeout=120)
