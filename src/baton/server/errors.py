"""The server's errors and the one mapping of every error to the standard body.

Every error response is ``{"error": {"code", "message", "request_id", "details"}}`` with the status of
the error (see :class:`baton.core.errors.BatonError`). The server's own refusals extend the same tree:

BatonError
└── ApiError                    a request the server refuses before any engine work
    ├── UnauthenticatedError    401: no credentials, or credentials that are not (or no longer) valid
    ├── ForbiddenError          403: valid credentials whose role is too low
    ├── RateLimitedError        429: too many requests for this key and route; carries `retry_after`
    ├── LockoutError            409: revoking this key would lock its caller or every admin out
    ├── PayloadTooLargeError    413: a body over the configured limit
    └── MalformedRequestError   422: a body or parameters that do not match the schema
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from baton.core.errors import BatonError
from baton.observability import get_logger, redact_text, redact_value
from baton.store.keys import Role

REQUEST_ID_HEADER = "X-Request-ID"

_log = get_logger("baton.server")


class ApiError(BatonError):
    code = "bad_request"
    http_status = 400


class UnauthenticatedError(ApiError):
    code = "unauthenticated"
    http_status = 401


class ForbiddenError(ApiError):
    code = "forbidden"
    http_status = 403


class RateLimitedError(ApiError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, hint="wait and retry", details={"retry_after": math.ceil(retry_after)})
        self.retry_after = max(1, math.ceil(retry_after))


class LockoutError(ApiError):
    code = "lockout"
    http_status = 409


class PayloadTooLargeError(ApiError):
    code = "payload_too_large"
    http_status = 413


class MalformedRequestError(ApiError):
    code = "invalid_request"
    http_status = 422


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


def _redacted_details(value: Any) -> Any:
    """Details with secret-named values and secret-shaped text replaced, in keys too (a field's name is
    whatever the caller sent)."""
    if isinstance(value, dict):
        return {redact_text(str(k)): _redacted_details(redact_value(v, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted_details(v) for v in value]
    return redact_value(value)


def error_body(
    code: str, message: str, request_id: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The standard error body. Message and details pass through the redactor: a key never comes back in
    an error."""
    return {
        "error": {
            "code": code,
            "message": redact_text(message),
            "request_id": request_id,
            "details": _redacted_details(details or {}),
        }
    }


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    all_headers = {REQUEST_ID_HEADER: request_id, **(headers or {})}
    return JSONResponse(
        error_body(code, message, request_id, details), status_code=status, headers=all_headers
    )


def error_details(error: BatonError) -> dict[str, Any]:
    """The ``details`` of an error's body: its own, and its hint (what to do about it)."""
    details = dict(error.details)
    if error.hint:
        details.setdefault("hint", error.hint)
    return details


def _baton_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, BatonError)  # registered for BatonError only
    details = error_details(error)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimitedError) else {}
    if isinstance(error, UnauthenticatedError):
        headers["WWW-Authenticate"] = 'Bearer realm="baton"'
    if error.http_status >= 500:
        _log.error("request_failed", code=error.code, message=error.message)
    return error_response(
        error.http_status, error.code, error.message, request_id_of(request), details, headers
    )


async def _refused_caller(request: Request) -> JSONResponse | None:
    """The 401/403/429 a caller gets before anything about its request body: FastAPI reads the body
    before it runs the route's dependencies, so a stranger would otherwise learn how the API is shaped."""
    route = request.scope.get("route")
    role = (getattr(route, "openapi_extra", None) or {}).get("x-baton-role")
    auth = getattr(request.app.state, "auth", None)
    if role is None or auth is None:
        return None
    bearer = request.headers.get("authorization", "")
    presented = bearer[7:] if bearer.lower().startswith("bearer ") else None
    presented = presented or request.headers.get("x-api-key")
    try:
        await auth.check(
            presented,
            Role(role),
            route=str(getattr(route, "path", "")),
            client=request.client.host if request.client else "",
        )
    except BatonError as refusal:
        return _baton_error(request, refusal)
    return None


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    refused = await _refused_caller(request)
    if refused is not None:
        return refused
    # The offending input values are left out: they may be anything, secrets included.
    problems = [
        {
            "loc": [str(part) for part in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in error.errors()
    ]
    listed = "; ".join(f"{'.'.join(p['loc'])}: {p['msg']}" for p in problems[:5])
    return error_response(
        422,
        "invalid_request",
        f"the request does not match the API: {listed}",
        request_id_of(request),
        {"errors": problems},
    )


def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if isinstance(error.__cause__, BatonError):  # FastAPI wraps errors raised while it reads the body
        return _baton_error(request, error.__cause__)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    headers = dict(error.headers or {})
    return error_response(error.status_code, code, str(error.detail), request_id_of(request), headers=headers)


def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    _log.exception("unexpected_error", error_type=type(error).__name__)
    return error_response(
        500,
        "internal_error",
        "the server failed to handle this request; it has been logged with this request id",
        request_id_of(request),
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to the standard body: baton's errors, malformed requests, HTTP errors, the rest."""
    app.add_exception_handler(BatonError, _baton_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
