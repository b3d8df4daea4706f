"""Live changes: a watcher on the bucket, fed to the page as server-sent events.

Server-sent events rather than a websocket: the traffic is one way, ``EventSource``
reconnects by itself, and it is plain HTTP, so the token check and the guard are the same
as for every other request (the token rides in the URL: ``EventSource`` cannot send
headers).

Each stream holds one watcher (an ordered consumer with ``deliver: new``), closed when the
page goes away: the handler is cancelled on disconnect, and a comment line every
:data:`HEARTBEAT` seconds finds connections that died without a word. At most
:data:`MAX_STREAMS` streams are open at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
from aiohttp import web

from natskv.kv import KVContext, KVWatcher
from natskv.ui._values import entry_summary

__all__ = ["HEARTBEAT", "MAX_STREAMS", "Events", "sse_event"]

HEARTBEAT = 15.0
MAX_STREAMS = 16

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",  # a reverse proxy must not hold events back
}


def sse_event(name: str, data: Any) -> bytes:
    """One event: its name and one line of JSON (msgspec escapes every newline)."""
    return b"event: " + name.encode() + b"\ndata: " + msgspec.json.encode(data) + b"\n\n"


class Events:
    """The ``/api/buckets/{bucket}/events`` stream, and ending them all at shutdown."""

    def __init__(self, kv: KVContext, *, heartbeat: float = HEARTBEAT) -> None:
        self._kv = kv
        self._heartbeat = heartbeat
        self._closing = asyncio.Event()
        self._open = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/buckets/{bucket}/events", self.stream)]

    def close(self) -> None:
        """End every open stream (at shutdown)."""
        self._closing.set()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        if self._open >= MAX_STREAMS:
            raise web.HTTPServiceUnavailable(text="too many live streams open\n")
        bucket = request.match_info["bucket"]
        # before the response starts, so an unknown bucket is a plain 404 (error_middleware)
        store = await self._kv.get_store(bucket)
        self._open += 1
        try:
            response = web.StreamResponse(headers=SSE_HEADERS)
            await response.prepare(request)
            async with store.watch(">", updates_only=True) as watcher:
                # the watch is live from here: the page shows it and may rely on it
                await response.write(sse_event("ready", {"bucket": bucket}))
                await self._serve(watcher, response)
            return response
        finally:
            self._open -= 1

    async def _serve(self, watcher: KVWatcher[Any], response: web.StreamResponse) -> None:
        tasks = [
            asyncio.ensure_future(self._pump(watcher, response)),
            asyncio.ensure_future(self._beat(response)),
            asyncio.ensure_future(self._closing.wait()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, ConnectionError):
                # the watch failed (e.g. the bucket was deleted): tell the page, then end
                with contextlib.suppress(ConnectionError):
                    await response.write(
                        sse_event("failed", {"error": str(exc) or type(exc).__name__})
                    )

    async def _pump(self, watcher: KVWatcher[Any], response: web.StreamResponse) -> None:
        async for entry in watcher:
            await response.write(sse_event("change", entry_summary(entry)))

    async def _beat(self, response: web.StreamResponse) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            await response.write(b": heartbeat\n\n")
