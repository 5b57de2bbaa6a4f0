"""Errors of the model gateway. All derive from :class:`baton.core.errors.BatonError`.

    BatonError
    ├── GatewayConfigError          baton.toml or environment that cannot configure the gateway
    ├── UnknownModelError           a request names a model that is not configured
    └── TaskError
        ├── TransientError
        │   ├── ProviderError       a provider answered with an error (after its retries), or nonsense
        │   │   ├── ProviderTimeoutError
        │   │   ├── RateLimitedError
        │   │   └── MalformedResponseError
        │   ├── CircuitOpenError    the provider's breaker is open: not even tried
        │   └── AllModelsFailedError  every model of the fallback chain failed; lists each failure
        └── PermanentError
            ├── ProviderRejectedError  4xx other than 429 (bad request, authentication): retrying cannot help
            ├── BudgetExceededError    the run's budget would be exceeded: the call was refused
            ├── NoModelConfiguredError no model fits the request (or none is configured)
            └── ReplayMissingError     a replayed run asked for a response its source run never recorded

Messages never carry API keys: provider error bodies pass through :func:`redact` before they are shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from baton.core.errors import BatonError, PermanentError, TransientError

# Secrets registered by the configuration, plus shapes of well-known keys.
_SECRETS: set[str] = set()
_KEY_SHAPES = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|sk-ant-[A-Za-z0-9_\-]{6,}|Bearer\s+[A-Za-z0-9_\-.]{8,})")


def register_secret(value: str) -> None:
    """Remember a secret so that :func:`redact` removes it from any text shown to a user."""
    if len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret and key-shaped token replaced by ``***``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return _KEY_SHAPES.sub("***", text)


class GatewayConfigError(BatonError):
    exit_code = 2
    code = "invalid_model_config"


class UnknownModelError(BatonError):
    exit_code = 2
    code = "unknown_model"

    def __init__(self, model: str, known: Iterable[str]) -> None:
        names = sorted(known)
        super().__init__(
            f"model {model!r} is not configured (configured: {', '.join(names) or 'none'})",
            hint="add it under [[llm.models]] in baton.toml or use a configured name",
            details={"model": model, "configured": names},
        )


class ProviderError(TransientError):
    """A provider failed to answer. ``status`` is the HTTP status when there was one."""

    code = "provider_error"
    http_status = 502

    def __init__(
        self,
        provider: str,
        model: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        shown = redact(reason)
        where = f"provider {provider!r} (model {model!r})"
        super().__init__(
            f"{where} failed: {shown}" + (f" [HTTP {status}]" if status else ""),
            hint="check that the endpoint is up and the model name is right",
            details={"provider": provider, "model": model, "status": status},
        )
        self.provider = provider
        self.model = model
        self.status = status
        self.retry_after = retry_after


class ProviderTimeoutError(ProviderError):
    code = "provider_timeout"


class RateLimitedError(ProviderError):
    code = "provider_rate_limited"


class MalformedResponseError(ProviderError):
    code = "provider_malformed_response"


class ProviderRejectedError(PermanentError):
    """The provider refused the request itself (4xx other than 429): another try cannot succeed."""

    code = "provider_rejected"
    http_status = 502

    def __init__(self, provider: str, model: str, reason: str, *, status: int | None) -> None:
        super().__init__(
            f"provider {provider!r} rejected the request for model {model!r}: {redact(reason)}"
            + (f" [HTTP {status}]" if status else ""),
            hint="401/403: check the API key's environment variable; "
            "400/404/422: check the model and its parameters",
            details={"provider": provider, "model": model, "status": status},
        )
        self.provider = provider
        self.model = model
        self.status = status


class CircuitOpenError(TransientError):
    code = "circuit_open"
    http_status = 503

    def __init__(self, provider: str, retry_in: float) -> None:
        super().__init__(
            f"provider {provider!r} is failing; its circuit is open for another {retry_in:.1f} s",
            hint="wait, or configure a fallback model on another provider",
            details={"provider": provider, "retry_in": retry_in},
        )
        self.provider = provider
        self.retry_in = retry_in


class AllModelsFailedError(TransientError):
    code = "all_models_failed"
    http_status = 502

    def __init__(self, failures: Sequence[tuple[str, BatonError]]) -> None:
        listed = "; ".join(f"{model}: {error.message}" for model, error in failures)
        super().__init__(
            f"every model of the fallback chain failed ({listed})",
            hint="check the providers' health with the model.call events, or add a fallback model",
            details={"failures": {model: error.code for model, error in failures}},
        )
        self.failures = list(failures)

    @property
    def transient(self) -> bool:  # type: ignore[override]
        # Retrying the task helps only if some failure was worth retrying.
        return any(getattr(error, "transient", False) for _, error in self.failures)


class BudgetExceededError(PermanentError):
    code = "budget_exceeded"
    http_status = 402

    def __init__(self, run_id: str | None, budget: float, spent: float, estimate: float, model: str) -> None:
        super().__init__(
            f"run {run_id or '(none)'} would exceed its budget of ${budget:.4f}: "
            f"${spent:.4f} spent, the cheapest fitting model ({model}) needs about ${estimate:.4f} more",
            hint="raise the run's budget (budget_usd in baton.toml or the run's options) "
            "or configure a cheaper model",
            details={"run_id": run_id, "budget_usd": budget, "spent_usd": spent, "estimate_usd": estimate},
        )
        self.budget = budget
        self.spent = spent
        self.estimate = estimate


class NoModelConfiguredError(PermanentError):
    code = "no_model"
    http_status = 503

    def __init__(self, reason: str) -> None:
        super().__init__(
            reason,
            hint="configure models under [llm] in baton.toml, or use the agent's deterministic skills",
        )


class ReplayMissingError(PermanentError):
    code = "replay_missing"
    http_status = 409

    def __init__(self, source_run: str, step: str | None, request_key: str) -> None:
        super().__init__(
            f"replay of run {source_run!r}: step {step or '(none)'!r} made a model request that the source "
            f"run never recorded (request {request_key[:12]})",
            hint="the workflow or its inputs changed since the source run; "
            "rerun without --replay to record anew",
            details={"source_run": source_run, "step": step, "request_key": request_key},
        )
        self.source_run = source_run
        self.step = step
        self.request_key = request_key


def error_summary(error: BaseException) -> dict[str, Any]:
    """What a record or event keeps of an error: its code and redacted message, never a traceback."""
    if isinstance(error, BatonError):
        return {"code": error.code, "message": redact(error.message)}
    return {"code": type(error).__name__, "message": redact(str(error))}
