"""The FastAPI application: routers, middleware, error handlers, the event hub and the in-process worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

import baton
from baton.engine import Worker, WorkerSettings
from baton.llm import Gateway
from baton.observability import Metrics, get_logger
from baton.server.auth import Authenticator, viewer
from baton.server.errors import install_error_handlers
from baton.server.middleware import RequestContextMiddleware
from baton.server.models import ErrorBody
from baton.server.routes import catalog, events, keys, live, runs, system
from baton.server.settings import ServerSettings
from baton.server.state import ServerState
from baton.server.store_metrics import StoreCollector
from baton.server.streams import EventHub
from baton.server.workspace import make_workspace
from baton.store.store import Store
from baton.workflows.reach import Reach

STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = "/static-docs"
_DOCS_STATIC = Path(fastapi_offline.__file__).parent / "static"
PUBLIC_PATHS = frozenset({"/health", "/ready", "/metrics"})
ROLE_EXTENSION = "x-baton-role"  # the least role an operation needs, in the OpenAPI schema
_log = get_logger("baton.server")

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "bad request",
        401: "no valid credentials",
        403: "the credentials' role is too low",
        404: "no such object",
        409: "the object is not in a state that allows this",
        413: "the body is too large",
        415: "the body is not of a media type the operation takes",
        422: "the request does not match the API",
        429: "rate limited (see Retry-After)",
        503: "the store is unavailable",
    }.items()
}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServerState = app.state.baton
    background: list[asyncio.Task[Any]] = [asyncio.create_task(state.hub.run(), name="baton-event-hub")]
    worker: Worker | None = None
    # The worker gets the model gateway as `baton run` and `baton worker` give theirs (BATON_CONFIG or
    # ./baton.toml): without it, a run started over the API would ignore the provider configuration.
    gateway = Gateway.from_config(state.store) if state.settings.run_worker else None
    if gateway is not None:
        settings = WorkerSettings(concurrency=state.settings.worker_concurrency)
        worker = Worker(state.store, settings=settings, services={"gateway": gateway})
        background.append(asyncio.create_task(worker.run(), name="baton-worker"))
    _log.info("server_started", worker=worker.id if worker else None, store=state.store.dialect)
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()
        background[0].cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if gateway is not None:
            await gateway.close()
        _log.info("server_stopped")


def _document_roles(router: APIRouter) -> None:
    """Write each operation's least role into its OpenAPI entry (the auth test walks the schema by it)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        roles = [
            dep.call.role  # type: ignore[union-attr]
            for dep in route.dependant.dependencies
            if hasattr(dep.call, "role")
        ]
        if roles:
            route.openapi_extra = {
                **(route.openapi_extra or {}),
                ROLE_EXTENSION: max(roles, key=lambda r: r.rank).value,
            }


def _add_offline_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with their scripts and styles served from this server."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_DOCS_STATIC), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="baton — API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="baton — API",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


def create_app(
    store: Store, settings: ServerSettings | None = None, *, metrics: Metrics | None = None
) -> FastAPI:
    """The API, streams and dashboard over ``store``. Serve it with uvicorn; its lifespan starts the event
    hub and (unless ``settings.run_worker`` is off) a worker that executes the runs of the store."""
    settings = settings or ServerSettings()
    metrics = metrics or Metrics()
    metrics.register_collector(StoreCollector(store))
    hub = EventHub(
        store,
        metrics,
        poll_seconds=settings.poll_seconds,
        gap_seconds=settings.gap_seconds,
        client_queue_size=settings.client_queue_size,
    )
    app = FastAPI(
        title="baton",
        version=baton.__version__,
        description=(
            "A durable orchestrator for crews of AI agents. Authenticate with `Authorization: Bearer <API key or "
            "token>`. Every error has the body `{error: {code, message, request_id, details}}`."
        ),
        lifespan=_lifespan,
        responses=_ERRORS,
        docs_url=None,  # served below from the package's own Swagger UI and ReDoc assets (no CDN)
        redoc_url=None,
    )
    reach = Reach(make_workspace(Path(settings.workspace)), tuple(settings.allowed_hosts))
    app.state.baton = ServerState(
        store=store,
        settings=settings,
        metrics=metrics,
        hub=hub,
        auth=Authenticator(store, settings),
        reach=reach,
    )
    app.state.auth = app.state.baton.auth
    install_error_handlers(app)
    for module in (runs, events, live, catalog, keys, system):
        _document_roles(module.router)
        app.include_router(module.router)
    app.add_api_route(
        "/metrics",
        system.metrics,
        methods=["GET"],
        dependencies=[] if settings.metrics_public else [Depends(viewer)],
        **system.METRICS_ROUTE,
    )
    _document_roles(app.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_offline_docs(app)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        # The page holds no data: everything it shows comes from the API with the user's key.
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(
        RequestContextMiddleware,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        larger_bodies={("POST", "/runs"): max(settings.max_upload_bytes, settings.max_body_bytes)},
    )
    return app
