"""Probes and scrapes: /health (liveness), /ready (store reachable, schema current), /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from baton.core.errors import StoreError
from baton.observability import CONTENT_TYPE
from baton.server.models import ErrorBody, Status
from baton.server.routes.runs import State
from baton.store.database import HEAD_REVISION, schema_revision

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Status, summary="Liveness: the process answers")
def health() -> Status:
    return Status(status="ok")


@router.get(
    "/ready",
    response_model=Status,
    responses={503: {"model": ErrorBody, "description": "store unreachable or schema not current"}},
    summary="Readiness: the store answers and its schema is this baton's",
)
def ready(state: State) -> Status:
    try:
        with state.store.read() as conn:
            revision = schema_revision(conn)
    except StoreError:
        raise
    except Exception as error:
        raise StoreError(
            f"the store does not answer: {type(error).__name__}",
            hint="check the database and BATON_DATABASE_URL",
        ) from None
    if revision != HEAD_REVISION:
        raise StoreError(
            f"the store's schema is {revision!r}, this baton needs {HEAD_REVISION!r}",
            hint="restart baton so that it migrates the store",
            details={"schema_revision": revision, "expected": HEAD_REVISION},
        )
    return Status(status="ready", schema_revision=str(revision))


METRICS_ROUTE: dict[str, Any] = {
    "response_class": Response,
    "responses": {200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
    "summary": "Metrics in Prometheus' text format (open unless the server is told otherwise)",
    "tags": ["system"],
}


def metrics(state: State) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
