"""Creating the GitHub remote of a generated repository through the REST API, and pushing to it.

Only with a token (``GITHUB_TOKEN``) and an owner (``--github OWNER``). The API base is
``$GITHUB_API_URL`` (as in GitHub Actions), else https://api.github.com. Creating a repository that
already exists reuses it, so a retried stage is harmless. The token never lands in ``.git/config``:
the push sends it as an extra HTTP header.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from baton.core.errors import InvalidInputError, PermanentError, TransientError
from baton.workflows.builder._git import git

DEFAULT_API = "https://api.github.com"


@dataclass(frozen=True)
class RemoteRepository:
    full_name: str
    clone_url: str
    html_url: str
    created: bool


def _headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "baton-build",
    }


def _check(response: httpx.Response, doing: str) -> None:
    if response.status_code in (401, 403):
        raise InvalidInputError(
            f"GitHub refused to {doing} ({response.status_code}): {response.text[:200]}",
            fields={"GITHUB_TOKEN": "not accepted"},
            hint="use a token with the `repo` scope (or contents+administration for fine-grained tokens)",
        )
    if response.status_code >= 500:
        raise TransientError(f"GitHub failed to {doing} ({response.status_code})", hint="retry later")
    if response.status_code >= 400:
        raise PermanentError(f"GitHub refused to {doing} ({response.status_code}): {response.text[:300]}")


def create_repository(
    owner: str, name: str, description: str, token: str, *, api: str | None = None
) -> RemoteRepository:
    """Create ``owner/name`` (a user's or an organisation's), or reuse it if it exists."""
    base = (api or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
    try:
        with httpx.Client(base_url=base, headers=_headers(token), timeout=30) as client:
            user = client.get("/user")
            _check(user, "identify the token's user")
            login = user.json().get("login")
            path = "/user/repos" if login == owner else f"/orgs/{owner}/repos"
            body = {"name": name, "description": description[:350], "private": True, "auto_init": False}
            created = client.post(path, json=body)
            if created.status_code == 422:
                existing = client.get(f"/repos/{owner}/{name}")
                _check(existing, f"read {owner}/{name}")
                data, was_created = existing.json(), False
            else:
                _check(created, f"create {owner}/{name}")
                data, was_created = created.json(), True
    except httpx.TransportError as error:
        raise TransientError(
            f"cannot reach the GitHub API at {base}: {error}", hint="check the network"
        ) from None
    return RemoteRepository(
        full_name=str(data["full_name"]),
        clone_url=str(data["clone_url"]),
        html_url=str(data.get("html_url", "")),
        created=was_created,
    )


def push(repo: Path, remote: RemoteRepository, token: str, branch: str = "main") -> None:
    """Set ``origin`` to the remote (without the token) and push ``branch`` to it."""
    remotes = git(repo, "remote").split()
    if "origin" in remotes:
        git(repo, "remote", "set-url", "origin", remote.clone_url)
    else:
        git(repo, "remote", "add", "origin", remote.clone_url)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    git(
        repo,
        "-c",
        f"http.extraHeader=Authorization: Basic {basic}",
        "push",
        "--quiet",
        "origin",
        f"{branch}:{branch}",
    )
