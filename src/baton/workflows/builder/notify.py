"""The optional webhook at the end of a build: one JSON body that Slack and Teams both accept.

Slack incoming webhooks read ``text``; Teams (Office 365 connector / Workflows) read a MessageCard
(``@type``, ``summary``, ``title``, ``sections``) and also show ``text``. A failed notification is
recorded, never a reason to fail a build that succeeded.
"""

from __future__ import annotations

from typing import Any

import httpx

from baton.workflows.builder.results import NotifyResult


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


def send(url: str, payload: dict[str, Any], *, timeout: float = 10.0) -> NotifyResult:
    try:
        response = httpx.post(url, json=payload, timeout=timeout)
    except httpx.HTTPError as error:
        return NotifyResult(sent=False, url=url, error=f"{type(error).__name__}: {error}")
    ok = 200 <= response.status_code < 300
    return NotifyResult(
        sent=ok,
        url=url,
        status=response.status_code,
        error=None if ok else f"the webhook answered {response.status_code}: {response.text[:200]}",
    )
