"""Plain HTTP to a running ``natskv ui``: exact headers (Host, Origin ...), no browser."""

from __future__ import annotations

import asyncio
import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

__all__ = ["Client", "Reply", "read_events"]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        # every header exactly as given: the Host header is what some tests are about
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        reply_headers = {k.lower(): v for k, v in response.getheaders()}
        return Reply(response.status, reply_headers, response.read())
    finally:
        conn.close()


class Client:
    """Requests to the UI on ``port``; with the token unless told otherwise."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token

    def url(self, path: str, params: dict[str, Any] | None = None, *, token: bool = True) -> str:
        query = dict(params or {})
        if token:
            query["token"] = self.token
        return f"{path}?{urlencode(query)}" if query else path

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        token: bool = True,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        return await asyncio.to_thread(
            _request, self.port, method, self.url(path, params, token=token), sent, body
        )

    async def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Reply:
        return await self.request("GET", path, params, **kw)

    async def post(
        self,
        path: str,
        data: Any,
        *,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> Reply:
        sent = {"Content-Type": "application/json", **(headers or {})}
        return await self.request("POST", path, headers=sent, body=json.dumps(data).encode(), **kw)


async def read_events(
    port: int, path: str, count: int, *, started: asyncio.Event | None = None
) -> list[tuple[str, Any]]:
    """The first ``count`` server-sent events of ``path`` (``started`` is set after "ready")."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream"
        writer.write(request.encode() + b"\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"text/event-stream" in head.lower(), head
        events: list[tuple[str, Any]] = []
        name = ""
        while len(events) < count:
            line = (await reader.readline()).decode()
            if not line:
                break
            line = line.rstrip("\r\n")
            # chunked transfer: size lines are hex only, and event lines never are
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: ") :])))
                if name == "ready" and started is not None:
                    started.set()
        return events
    finally:
        writer.close()
        await writer.wait_closed()
