"""A worker's health endpoint (``baton worker --health-port``): for Docker's HEALTHCHECK and Kubernetes' probes.

It is served by the worker's own event loop, so an answer proves that loop is turning: a worker whose loop
is stuck stops answering and is restarted by its orchestrator. ``GET /health`` answers 200 while the worker
runs (503 once it is draining); anything else is 404.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable


@contextlib.asynccontextmanager
async def health_endpoint(port: int | None, draining: Callable[[], bool]) -> AsyncIterator[None]:
    if port is None:
        yield
        return

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                request = await reader.readline()
                while (await reader.readline()).strip():  # the headers, unread
                    pass
            parts = request.decode("latin-1").split()
            if len(parts) >= 2 and parts[0] in ("GET", "HEAD") and parts[1].split("?")[0] == "/health":
                status, body = (
                    ("503 Service Unavailable", b"draining\n") if draining() else ("200 OK", b"ok\n")
                )
            else:
                status, body = "404 Not Found", b"not found\n"
            head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            writer.write(
                (head + "Connection: close\r\n\r\n").encode() + (body if parts[:1] != ["HEAD"] else b"")
            )
            await writer.drain()
        except (TimeoutError, OSError, UnicodeError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host="0.0.0.0", port=port)  # probes come from outside
    try:
        yield
    finally:
        server.close()
