"""Metrics (Prometheus) and structured logs (structlog JSON). Imports nothing of baton but ``core``."""

from baton.observability.logging import (
    bind_context,
    configure_logging,
    get_logger,
    might_hold_secrets,
    redact_secrets,
    redact_text,
    redact_value,
)
from baton.observability.metrics import CONTENT_TYPE, Metrics

__all__ = [
    "CONTENT_TYPE",
    "Metrics",
    "bind_context",
    "configure_logging",
    "get_logger",
    "might_hold_secrets",
    "redact_secrets",
    "redact_text",
    "redact_value",
]
