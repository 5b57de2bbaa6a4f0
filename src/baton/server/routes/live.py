"""Live streams: WebSocket ``/ws/runs/{run_id}`` and ``/ws/runs``, and SSE ``/runs/{run_id}/events/stream``.

WebSocket frames are JSON arrays of messages (one or more, in event-id order), so that a burst of
events costs one frame per client rather than one per event. With ``?compress=deflate`` every frame
is instead a binary frame holding that array compressed in the zlib format (``zlib.decompress`` in
Python, ``DecompressionStream("deflate")`` in a browser): compressed once for all the clients at the
same place in the stream, it makes a busy run's stream about twelve times smaller. Every message has a ``type``
(``agent_status``, ``progress``, ``complete``, ``error``, ``heartbeat``) and an ``event_id``; reconnect
with ``?after=<the last event_id seen>`` to receive everything missed, once. SSE sends one event per
message with ``id:`` set, so a browser's EventSource resumes by itself (``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, WebSocket
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from baton.core.errors import BatonError
from baton.core.states import FINISHED_RUN_STATES
from baton.observability import get_logger
from baton.server.auth import Principal, client_address, presented_credentials, require_stream
from baton.server.errors import REQUEST_ID_HEADER, error_body, error_details
from baton.server.routes.runs import RunId, State
from baton.server.state import ServerState
from baton.server.streams import COMPLETE, CREDENTIALS_INVALID, ERROR, Batch, revoked_item
from baton.store.keys import Role
from baton.store.runs import find_run_id, get_run

router = APIRouter(tags=["streams"])
stream_viewer = require_stream(Role.VIEWER)

LAGGING_CLOSE_CODE = 1013  # "try again later": reconnect with ?after=<resume_after>
RESTARTING_CLOSE_CODE = (
    1012  # "service restart": the server is stopping; reconnect with ?after=<resume_after>
)
POLICY_CLOSE_CODE = 1008  # the credentials were revoked or expired while the stream was open
_log = get_logger("baton.server.streams")


def _http_credentials(request: Request) -> str | None:
    bearer = request.headers.get("authorization", "")
    token = bearer[7:] if bearer.lower().startswith("bearer ") else None
    return presented_credentials(
        None, request.headers.get("x-api-key"), token or request.query_params.get("token")
    )


def _finished(state: ServerState, run_id: str) -> bool:
    with state.store.read() as conn:
        return get_run(conn, run_id).state in FINISHED_RUN_STATES


def _resolve_run(state: ServerState, run_id: str) -> str:
    with state.store.read() as conn:
        return find_run_id(conn, run_id)


# -- WebSocket ---------------------------------------------------------------------------------------


def _socket_credentials(websocket: WebSocket) -> str | None:
    bearer = websocket.headers.get("authorization", "")
    token = bearer[7:] if bearer.lower().startswith("bearer ") else None
    return presented_credentials(
        None, websocket.headers.get("x-api-key"), token or websocket.query_params.get("token")
    )


async def _admit(websocket: WebSocket, state: ServerState, run_id: str | None) -> str | None:
    """Check the credentials (``?token=``, ``Authorization`` or ``X-API-Key``) and the run before accepting."""
    route = getattr(websocket.scope.get("route"), "path", "/ws")
    await state.auth.check(
        _socket_credentials(websocket), Role.VIEWER, route=route, client=client_address(websocket)
    )
    return await run_in_threadpool(_resolve_run, state, run_id) if run_id else None


async def guarded(
    batches: AsyncIterator[Batch], state: ServerState, presented: str, *, run_id: str | None
) -> AsyncIterator[Batch]:
    """The batches of a stream while its credentials stay valid: they are checked again every
    ``stream_recheck_seconds`` (a revoked key or an expired token ends the stream with a final
    ``credentials_invalid`` error), and a run's stream ends after its ``complete`` message."""
    every = state.settings.stream_recheck_seconds
    iterator = batches.__aiter__()
    next_check = time.monotonic() + every
    pending: asyncio.Future[Batch] = asyncio.ensure_future(anext(iterator))
    last = 0
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=max(0.0, next_check - time.monotonic()))
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + every
                if not await _still_valid(state, presented):
                    yield Batch([revoked_item(last)])
                    return
            if not done:
                continue
            try:
                batch = pending.result()
            except StopAsyncIteration:
                return
            last = batch[-1].event_id
            yield batch
            # (a run that was retried after it ended has an older `complete` in its history)
            completes = run_id is not None and any(item.type == COMPLETE for item in batch)
            if completes and await run_in_threadpool(_finished, state, str(run_id)):
                return
            pending = asyncio.ensure_future(anext(iterator))
    finally:
        pending.cancel()
        with contextlib.suppress(BaseException):
            await pending
        close = getattr(
            iterator, "aclose", None
        )  # the hub's subscription ends now, not at garbage collection
        if close is not None:
            with contextlib.suppress(BaseException):
                await close()


async def _still_valid(state: ServerState, presented: str) -> bool:
    try:
        return await state.auth.authenticate(presented) is not None
    except Exception:  # the store blinked: the stream keeps its last verdict and asks again next time
        _log.warning("stream_credentials_unchecked")
        return True


async def _deny(websocket: WebSocket, error: BatonError) -> None:
    request_id = str(websocket.scope.get("state", {}).get("request_id", ""))
    body = error_body(error.code, error.message, request_id, error_details(error))
    response = JSONResponse(body, status_code=error.http_status, headers={REQUEST_ID_HEADER: request_id})
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=1008, reason=error.code)


def _compressed(websocket: WebSocket) -> bool:
    raw = websocket.query_params.get("compress")
    if raw not in (None, "", "deflate"):
        raise _BadQuery(
            f"compress={raw!r} is not a compression this server offers", hint="use compress=deflate"
        )
    return raw == "deflate"


def _after(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("after")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise _BadQuery(f"after={raw!r} is not an event id", hint="pass the last event_id you received")
    return int(raw)


class _BadQuery(BatonError):
    code = "invalid_request"
    http_status = 422


async def _serve_socket(websocket: WebSocket, run_id: str | None) -> None:
    state: ServerState = websocket.app.state.baton
    try:
        full = await _admit(websocket, state, run_id)
        after = _after(websocket)
        compress = _compressed(websocket)
    except BatonError as error:
        _log.warning("websocket_refused", code=error.code, status=error.http_status, path=websocket.url.path)
        await _deny(websocket, error)
        return
    presented = _socket_credentials(websocket) or ""
    if after is None and full is not None:
        after = 0  # a run's stream starts with its history unless told otherwise
    await websocket.accept()
    gauge = state.metrics.stream_connections.labels(transport="websocket")
    gauge.inc()
    tasks = [
        asyncio.create_task(_pump(websocket, state, full, after, compress, presented)),
        asyncio.create_task(_listen(websocket)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        gauge.dec()
        if websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError):
                await websocket.close()


async def _pump(
    websocket: WebSocket,
    state: ServerState,
    run_id: str | None,
    after: int | None,
    compress: bool,
    presented: str,
) -> None:
    sent = state.metrics.stream_messages.labels(transport="websocket")
    delay = state.metrics.stream_send_delay.labels(transport="websocket")
    heartbeat = state.settings.heartbeat_seconds
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        batches = state.hub.follow(run_id, after=after, heartbeat_seconds=heartbeat)
        async for batch in guarded(batches, state, presented, run_id=run_id):
            if compress:
                await websocket.send_bytes(batch.deflated())
            else:
                await websocket.send_text(batch.frame())
            sent.inc(len(batch))
            if batch.oldest is not None:
                delay.observe(max(time.time() - batch.oldest, 0.0))
            if batch[-1].type == ERROR and '"client_lagging"' in batch[-1].text:
                await websocket.close(code=LAGGING_CLOSE_CODE, reason="client_lagging")
                return
            if batch[-1].type == ERROR and '"server_restarting"' in batch[-1].text:
                await websocket.close(code=RESTARTING_CLOSE_CODE, reason="server_restarting")
                return
            if batch[-1].type == ERROR and f'"{CREDENTIALS_INVALID}"' in batch[-1].text:
                await websocket.close(code=POLICY_CLOSE_CODE, reason=CREDENTIALS_INVALID)
                return
        if run_id is not None and await run_in_threadpool(_finished, state, run_id):
            await websocket.close(code=1000, reason="complete")  # the run ended: so does its stream


async def _listen(websocket: WebSocket) -> None:
    # Clients send nothing we act on; reading is how a disconnect is noticed while the stream is idle.
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while True:
            await websocket.receive_text()


@router.websocket("/ws/runs/{run_id}")
async def run_socket(websocket: WebSocket, run_id: str) -> None:
    """One run's messages: its history (or those after ``?after=``), then live ones."""
    await _serve_socket(websocket, run_id)


@router.websocket("/ws/runs")
async def all_runs_socket(websocket: WebSocket) -> None:
    """Every run's messages from now (or after ``?after=``)."""
    await _serve_socket(websocket, None)


# -- Server-Sent Events ------------------------------------------------------------------------------


@router.get(
    "/runs/{run_id}/events/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "the run's messages as SSE"}},
    summary="A run's messages as Server-Sent Events (resume with ?after= or Last-Event-ID)",
)
async def run_event_stream(
    run_id: RunId,
    state: State,
    request: Request,
    _: Annotated[Principal, Depends(stream_viewer)],
    after: Annotated[int | None, Query(ge=0, le=2**62, description="only events after this id")] = None,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    full = await run_in_threadpool(_resolve_run, state, run_id)
    presented = _http_credentials(request) or ""
    if after is None and last_event_id and last_event_id.isdigit():
        after = int(last_event_id)
    start = 0 if after is None else after
    gauge = state.metrics.stream_connections.labels(transport="sse")
    sent = state.metrics.stream_messages.labels(transport="sse")
    delay = state.metrics.stream_send_delay.labels(transport="sse")

    async def body() -> AsyncIterator[str]:
        gauge.inc()
        try:
            yield "retry: 2000\n\n"
            batches = state.hub.follow(full, after=start, heartbeat_seconds=state.settings.heartbeat_seconds)
            async for batch in guarded(batches, state, presented, run_id=full):
                sent.inc(len(batch))
                yield batch.sse()
                if batch.oldest is not None:
                    delay.observe(max(time.time() - batch.oldest, 0.0))
        finally:
            gauge.dec()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
