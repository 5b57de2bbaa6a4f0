"""The middleware every request passes: a request id, a body size limit, metrics and one access log line.

Plain ASGI (no BaseHTTPMiddleware) so that streaming responses and WebSockets pass through untouched
and the hot path stays cheap.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton.observability import Metrics, bind_context, get_logger
from baton.server.errors import REQUEST_ID_HEADER, PayloadTooLargeError, error_body

_VALID_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

# What a browser may do with each kind of response. The dashboard runs only its own script and style;
# Swagger UI and ReDoc start from one inline script (their pages are static, the API holds no HTML).
_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
_DOCS_PATHS = ("/docs", "/redoc", "/static-docs/")


def _security_headers(path: str) -> list[tuple[bytes, bytes]]:
    if path == "/" or path.startswith("/static/"):
        policy = _PAGE_CSP
    elif path.startswith(_DOCS_PATHS):
        policy = _DOCS_CSP
    else:
        policy = _API_CSP
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]


_log = get_logger("baton.server.access")


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = str(value.decode("latin-1"))
            if _VALID_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def route_label(scope: Scope) -> str:
    """The route template (``/runs/{run_id}``), never the raw path: metric labels stay a bounded set."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "<unmatched>"


class RequestContextMiddleware:
    """Gives each request an id (the caller's ``X-Request-ID`` if well-formed), binds it to the log
    context, returns it as a header, refuses bodies over ``max_body_bytes`` and records the request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        larger_bodies: dict[tuple[str, str], int] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        # (method, path) → its own limit: the routes that take files
        self.larger_bodies = dict(larger_bodies or {})

    def _limit(self, scope: Scope) -> int:
        return self.larger_bodies.get((scope.get("method", ""), scope.get("path", "")), self.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())
        added = [header, *_security_headers(str(scope.get("path", "")))]
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *(h for h in added if h[0] not in present)]
            await send(message)

        with bind_context(request_id=request_id):
            limit = self._limit(scope)
            if scope["type"] == "http" and self._declared_too_large(scope, limit):
                await self._refuse_too_large(send, request_id, limit)
                status = 413
            else:
                # A WebSocket's frames pass straight through: there is no header to add to them.
                outgoing = send_with_id if scope["type"] == "http" else send
                await self.app(scope, self._limited(receive, limit), outgoing)
            if scope["type"] == "http":
                self._record(scope, status, time.perf_counter() - started)

    def _declared_too_large(self, scope: Scope, limit: int) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    return int(value) > limit
                except ValueError:
                    return False
        return False

    def _limited(self, receive: Receive, limit: int) -> Receive:
        """A receive that counts a chunked body and stops it at the limit."""
        seen = 0

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLargeError(
                        f"the request body is over the limit of {limit} bytes",
                        hint="send less, or raise --max-body-bytes",
                        details={"limit": limit},
                    )
            return message

        return receive_limited

    async def _refuse_too_large(self, send: Send, request_id: str, limit: int) -> None:
        import json

        body = json.dumps(
            error_body(
                "payload_too_large",
                f"the request body is over the limit of {limit} bytes",
                request_id,
                {"limit": limit, "hint": "send less, or raise --max-body-bytes / --max-upload-bytes"},
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_label(scope)
        method: str = scope.get("method", "")
        self.metrics.observe_request(method, route, status or 500, seconds)
        fields: dict[str, Any] = {
            "method": method,
            "route": route,
            "path": scope.get("path", ""),  # the query string is left out: it may carry a token
            "status": status or 500,
            "ms": round(seconds * 1000, 2),
        }
        run_id = scope.get("path_params", {}).get("run_id")
        if run_id:
            fields["run_id"] = run_id
        _log.info("request", **fields)
