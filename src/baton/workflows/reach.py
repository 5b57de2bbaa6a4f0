"""What a run's inputs may reach: the path and URL types every workflow input uses.

A workflow types each path input as :data:`WorkspaceFile`, :data:`WorkspaceFolder` or
:data:`WorkspaceOutput` and each outbound URL as :data:`OutboundUrl`. Validated plainly (the CLI, a local
user) a path is made absolute and a URL only has to be an http(s) URL. Validated with a :class:`Reach` in the
pydantic validation context (runs started over the API) the inputs are confined:

- a path must be relative; it is resolved under the workspace root, symlinks followed, and refused when the
  result leaves the root. The refusal names the field only: it says nothing about what is (or is not) there.
- a URL's host must be on the allow-list (``BATON_ALLOWED_HOSTS``: names, ``*.suffix`` patterns, addresses or
  networks, comma-separated); every address it resolves to is checked, and loopback, link-local, private,
  reserved, multicast and unspecified addresses are refused unless an address or network entry allows them.

The JSON schema of each type says what it is (``format`` and ``x-baton-path`` / ``x-baton-url``), so the
server finds a workflow's path inputs from its schema and a test proves no path is a plain string.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, ValidationInfo, WithJsonSchema

__all__ = [
    "ALLOWED_HOSTS_ENV",
    "CONTEXT_KEY",
    "PATH_EXTENSION",
    "ROLE_EXTENSION",
    "URL_EXTENSION",
    "OutboundUrl",
    "PathKind",
    "Reach",
    "WorkspaceFile",
    "WorkspaceFolder",
    "WorkspaceOutput",
    "allowed_hosts_from_env",
    "check_outbound_url",
    "path_fields",
    "shown_path",
]

CONTEXT_KEY = "baton.reach"  # the key of the Reach in a pydantic validation context
ALLOWED_HOSTS_ENV = "BATON_ALLOWED_HOSTS"
PATH_EXTENSION = "x-baton-path"
URL_EXTENSION = "x-baton-url"
# on an input field: the least role that may set it over the API (e.g. a build's `force`)
ROLE_EXTENSION = "x-baton-role"
_IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NETWORK = ipaddress.IPv4Network | ipaddress.IPv6Network


class PathKind(StrEnum):
    FILE = "file"  # a file the run reads
    FOLDER = "folder"  # a folder the run reads
    OUTPUT = "output"  # a folder the run writes


Resolver = Callable[[str, int], list[str]]


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class Reach:
    """Where confined inputs may go: the workspace root and the outbound allow-list."""

    workspace: Path
    allowed_hosts: tuple[str, ...] = ()
    resolver: Resolver = field(default=_resolve, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "workspace", Path(os.path.realpath(self.workspace)))

    def context(self) -> dict[str, Any]:
        """The pydantic validation context that confines inputs to this reach."""
        return {CONTEXT_KEY: self}

    def inside(self, relative: str) -> Path:
        """``relative`` resolved under the workspace (symlinks followed); ValueError when it leaves it."""
        if not relative or "\x00" in relative:
            raise ValueError("give a path relative to the workspace")
        if os.path.isabs(relative) or relative.startswith("~"):
            raise ValueError("the path must be relative to the workspace (no leading / or ~)")
        resolved = Path(os.path.realpath(self.workspace / relative))
        if resolved != self.workspace and self.workspace not in resolved.parents:
            raise ValueError("the path leaves the workspace")
        return resolved


def allowed_hosts_from_env() -> tuple[str, ...]:
    raw = os.environ.get(ALLOWED_HOSTS_ENV, "")
    return tuple(entry.strip().lower() for entry in raw.split(",") if entry.strip())


def _reach_of(info: ValidationInfo) -> Reach | None:
    context = info.context
    if isinstance(context, dict):
        reach = context.get(CONTEXT_KEY)
        return reach if isinstance(reach, Reach) else None
    return None


def _path_validator(kind: PathKind) -> Callable[[str, ValidationInfo], str]:
    def validate(value: str, info: ValidationInfo) -> str:
        reach = _reach_of(info)
        if reach is None:
            if not value.strip():
                raise ValueError("give a path")
            return str(Path(value).expanduser().resolve())
        return str(reach.inside(value))

    validate.__name__ = f"workspace_{kind.value}"
    return validate


def _path_type(kind: PathKind, description: str) -> Any:
    return Annotated[
        str,
        AfterValidator(_path_validator(kind)),
        WithJsonSchema(
            {
                "type": "string",
                "format": "workspace-path",
                PATH_EXTENSION: kind.value,
                "description": description,
            }
        ),
    ]


WorkspaceFile = _path_type(PathKind.FILE, "a file, relative to the server's workspace")
WorkspaceFolder = _path_type(PathKind.FOLDER, "a folder, relative to the server's workspace")
WorkspaceOutput = _path_type(PathKind.OUTPUT, "a folder to write, relative to the server's workspace")


def _network(entry: str) -> _NETWORK | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def _public(address: _IP) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _public(address.ipv4_mapped)
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def check_outbound_url(
    url: str, allowed_hosts: Iterable[str] = (), *, resolver: Resolver = _resolve
) -> list[str]:
    """Check ``url`` may be called from here; returns the addresses its host resolves to (all checked).

    Raises ValueError saying why not. With no allow-list every public host is allowed; with one, only the
    hosts it names. Non-public addresses need an address or network entry that covers them.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("give an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a URL with credentials before the host (user@host) is refused")
    host = parts.hostname.lower()
    allowed = [entry.lower() for entry in allowed_hosts]
    networks = [n for n in (_network(e) for e in allowed) if n is not None]
    names = [e for e in allowed if _network(e) is None]
    if allowed and not any(fnmatchcase(host, pattern) for pattern in names):
        literal = _network(host)
        if literal is None or not any(literal.network_address in n for n in networks):
            raise ValueError(f"the host {host} is not on the allow-list ({ALLOWED_HOSTS_ENV})")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolver(host, port)
    except (OSError, ValueError):
        raise ValueError(f"the host {host} cannot be resolved") from None
    if not addresses:
        raise ValueError(f"the host {host} cannot be resolved")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if _public(address):
            continue
        if not any(address in n for n in networks):
            raise ValueError(
                f"the host {host} resolves to a loopback, link-local, private or reserved address; "
                f"allow it explicitly with {ALLOWED_HOSTS_ENV} (an address or network) if it is meant"
            )
    return addresses


def _url_validator(value: str, info: ValidationInfo) -> str:
    reach = _reach_of(info)
    if reach is None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("give an http:// or https:// URL with a host")
        return value
    check_outbound_url(value, reach.allowed_hosts, resolver=reach.resolver)
    return value


OutboundUrl = Annotated[
    str,
    AfterValidator(_url_validator),
    WithJsonSchema(
        {
            "type": "string",
            "format": "uri",
            URL_EXTENSION: "outbound",
            "description": "an http(s) URL the run calls; checked against the server's allow-list",
        }
    ),
]


def path_fields(schema: dict[str, Any]) -> dict[str, PathKind]:
    """The top-level path inputs of an inputs model's JSON schema, by field name."""
    found: dict[str, PathKind] = {}
    for name, prop in schema.get("properties", {}).items():
        for candidate in [prop, *prop.get("anyOf", [])]:
            kind = candidate.get(PATH_EXTENSION) if isinstance(candidate, dict) else None
            if kind:
                found[name] = PathKind(kind)
    return found


def shown_path(path: str, context: Mapping[str, Any] | None) -> str:
    """``path`` as its caller wrote it: relative to the workspace when ``context`` confines inputs to one
    (a message to an API caller never shows the server's own folders), else as it is."""
    reach = (context or {}).get(CONTEXT_KEY)
    if isinstance(reach, Reach):
        try:
            return Path(path).relative_to(reach.workspace).as_posix()
        except ValueError:
            return Path(path).name
    return path
