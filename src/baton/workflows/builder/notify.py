"""The optional webhook at the end of a build: one JSON body that Slack and Teams both accept.

Slack incoming webhooks read ``text``; Teams (Office 365 connector / Workflows) read a MessageCard
(``@type``, ``summary``, ``title``, ``sections``) and also show ``text``. A failed notification is
recorded, never a reason to fail a build that succeeded.

A run started over the API (its options name a workspace) is confined: the URL was checked against
``BATON_ALLOWED_HOSTS`` when the run started, and is checked again here, when it is sent — a name that
was re-pointed at a private address since (DNS rebinding) is refused — and the request goes to the very
address that was checked, with the URL's host in ``Host`` and in TLS's server name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from baton.workflows.builder.results import NotifyResult
from baton.workflows.reach import allowed_hosts_from_env, check_outbound_url


def confined(options: Mapping[str, Any]) -> bool:
    """Whether a run's outbound calls are confined: it was started over the API (in a workspace)."""
    return bool(options.get("workspace"))


def message(title: str, facts: dict[str, str], *, succeeded: bool) -> dict[str, Any]:
    status = "succeeded" if succeeded else "FAILED"
    lines = [f"baton build of *{title}* {status}"] + [f"• {k}: {v}" for k, v in facts.items()]
    return {
        "text": "\n".join(lines),
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": f"baton build {status}: {title}",
        "themeColor": "2EB886" if succeeded else "D63333",
        "title": f"baton build {status}: {title}",
        "sections": [{"facts": [{"name": k, "value": v} for k, v in facts.items()]}],
    }


def _pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL with its host replaced by the checked ``address``; the Host header and the TLS server
    name keep the original host, so virtual hosting and certificate checks work as before."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, extensions


def send(url: str, payload: dict[str, Any], *, timeout: float = 10.0, confine: bool = False) -> NotifyResult:
    """POST ``payload`` to the webhook; ``confine`` checks the URL again and pins the checked addresses."""
    attempts: list[tuple[str, dict[str, str], dict[str, Any]]] = [(url, {}, {})]
    if confine:
        try:
            addresses = check_outbound_url(url, allowed_hosts_from_env())
        except ValueError as error:
            return NotifyResult(sent=False, url=url, error=f"not sent: {error}")
        attempts = [_pinned(url, address) for address in addresses]
    failure = "no address to send to"
    with httpx.Client(timeout=timeout) as client:
        for target, headers, extensions in attempts:
            request = client.build_request(
                "POST", target, json=payload, headers=headers, extensions=extensions
            )
            try:
                response = client.send(request)
            except httpx.ConnectError as error:
                failure = f"{type(error).__name__}: {error}"
                continue  # the next checked address, as a resolver would
            except httpx.HTTPError as error:
                return NotifyResult(sent=False, url=url, error=f"{type(error).__name__}: {error}")
            ok = 200 <= response.status_code < 300
            return NotifyResult(
                sent=ok,
                url=url,
                status=response.status_code,
                error=None if ok else f"the webhook answered {response.status_code}: {response.text[:200]}",
            )
    return NotifyResult(sent=False, url=url, error=failure)
