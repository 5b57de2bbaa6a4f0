"""`baton serve`: the REST API, live streams (WebSocket and SSE), security, metrics and the dashboard."""

from baton.server.app import PUBLIC_PATHS, ROLE_EXTENSION, create_app
from baton.server.auth import Authenticator, Principal
from baton.server.errors import (
    ApiError,
    ForbiddenError,
    MalformedRequestError,
    PayloadTooLargeError,
    RateLimitedError,
    UnauthenticatedError,
)
from baton.server.runner import bootstrap_admin_key, exposure_warning, serve, uvicorn_config
from baton.server.settings import SHIPPED_WORKFLOWS, ServerSettings, SigningKey
from baton.server.streams import MESSAGE_TYPES, EventHub

__all__ = [
    "MESSAGE_TYPES",
    "PUBLIC_PATHS",
    "ROLE_EXTENSION",
    "SHIPPED_WORKFLOWS",
    "ApiError",
    "Authenticator",
    "EventHub",
    "ForbiddenError",
    "MalformedRequestError",
    "PayloadTooLargeError",
    "Principal",
    "RateLimitedError",
    "ServerSettings",
    "SigningKey",
    "UnauthenticatedError",
    "bootstrap_admin_key",
    "create_app",
    "exposure_warning",
    "serve",
    "uvicorn_config",
]
