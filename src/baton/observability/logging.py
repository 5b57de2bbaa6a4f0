"""Structured logs: one JSON object per line (structlog), carrying the request id and run id in context.

Bind per-request context with :func:`bind_context` (contextvars, so it follows the request through
``await`` and into the thread pool). Values under keys that name secrets are replaced before anything
is written: a log line never carries a key, token or password.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog

REDACTED = "[redacted]"
# Keys whose values are secrets wherever they appear (a webhook URL is a credential: anyone may post to it).
_SECRET_KEYS = re.compile(
    r"(authorization|api[_-]?key|token(?!s)|secret|password|passwd|cookie|webhook|notify|credential)",
    re.IGNORECASE,
)
# Whole keys or bearer tokens that slipped into free text (a message, a URL).
_SECRET_TEXT = re.compile(
    r"(baton_[0-9a-f]{16}_[A-Za-z0-9_\-]+|Bearer\s+[A-Za-z0-9._\-]+|token=[^&\s]+"
    # providers' key shapes: OpenAI and Anthropic (sk-…, sk-proj-…, sk-ant-…), GitHub, Slack, AWS, Google
    r"|\bsk-[A-Za-z0-9_\-]{16,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"
    r"|\bxox[abprs]-[A-Za-z0-9\-]{10,}|\bAKIA[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_\-]{35}"
    # a JWT: three base64url parts, the first a JSON header
    r"|\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
)


# Lowercase words that every match of the two patterns above contains: a plain substring search for
# them is many times faster than the patterns, and never misses what the patterns would find.
_SECRET_WORDS = (
    "authoriz", "apikey", "api_key", "api-key", "token", "secret", "passw", "cookie", "webhook", "notify",
    "credential", "baton_", "bearer", "sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox",
    "akia", "aiza", "eyj",
)  # fmt: skip


def might_hold_secrets(text: str) -> bool:
    """Whether ``text`` (JSON, say) may name a secret key or hold secret-shaped text anywhere: the cheap
    test that lets clean text skip :func:`redact_value`. A false alarm costs only the slow path."""
    lowered = text.lower()
    for word in _SECRET_WORDS:  # noqa: SIM110 -- a plain loop: twice as fast as any() over a generator
        if word in lowered:
            return True
    return False


def redact_text(text: str) -> str:
    """``text`` with anything shaped like a key (baton's, a model provider's, GitHub's…), a bearer token,
    a JWT or a ``token=`` parameter removed."""
    return _SECRET_TEXT.sub(REDACTED, text)


def redact_value(value: Any, key: str = "") -> Any:
    """``value`` (a mapping, list or string, nested) with secret-named keys and secret-shaped text replaced."""
    if key and _SECRET_KEYS.search(key):
        return REDACTED if value not in (None, "") else value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace secret values (by key name or by shape) before rendering."""
    for key in list(event_dict):
        event_dict[key] = redact_value(event_dict[key], key if key != "event" else "")
    return event_dict


def configure_logging(*, level: str = "info", json: bool = True, stream: TextIO | None = None) -> None:
    """Send structlog (and the standard library's loggers, e.g. uvicorn's) as JSON lines to ``stream``."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)


def get_logger(name: str = "baton") -> Any:
    return structlog.get_logger(name)


@contextmanager
def bind_context(**values: Any) -> Iterator[None]:
    """Add ``values`` (request_id, run_id, …) to every log line written inside the block."""
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
