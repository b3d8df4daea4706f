"""A minimal raw asyncio NATS client: the Python floor for the KV hot paths.

Neither natskv nor nats-py: one ``asyncio.Protocol`` written for the benchmark. It shows
what a plain asyncio loop allows on this machine for a put (a publish with a reply
subject, answered by a JetStream pub-ack) and a get (a Direct Get request, answered by
an HMSG), so the client libraries can be read against it.

What it does, and nothing more:

- connects, reads ``INFO``, sends ``CONNECT {...}`` + ``PING``, waits for ``PONG``;
- subscribes once to the reply wildcard ``_INBOX.raw.*`` (one raw connection at a time
  per server: the inbox is not unique per connection);
- a request is ``PUB <subject> _INBOX.raw.<n> <size>`` + payload; the reply resolves the
  request's future straight from ``data_received``, by the token ``<n>`` of its subject;
- a tiny parser for ``MSG`` / ``HMSG`` / ``PING`` / ``PONG`` / ``INFO`` / ``+OK`` /
  ``-ERR``, with payloads split across reads; ``PING`` is answered with ``PONG``;
- writes are coalesced: frames queued in one event-loop turn leave in one
  ``transport.write``, scheduled with ``loop.call_soon``.

For the listing rows it also reads a push consumer the way an ordered consumer does
(``RawBucket.scan``): a ``SUB`` and one ``CONSUMER.CREATE`` request, then the messages
delivered to that subject, flow-control requests answered at once, done after ``num_pending``
messages. Keys come from the subjects and the operation from a header test, values are
kept as bytes; no entry objects, no gap detection, no reset.

No reconnect, TLS, authentication or timeouts: the suite bounds each run with its own
time limit, and the embedded server needs none of the rest.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

CONNECT = (
    b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,'
    b'"protocol":1}\r\nPING\r\n'
)
INBOX_PREFIX = "_INBOX.raw."
_INBOX_PREFIX_LEN = len(INBOX_PREFIX)
_SUB = b"SUB _INBOX.raw.* 1\r\nPING\r\n"
_PONG = b"PONG\r\n"
_CRLF = b"\r\n"
_SEQ = b'"seq"'
_STATUS_100 = b"NATS/1.0 100"
_KV_OPERATION = b"KV-Operation"


class RawError(Exception):
    """The raw client got an error or an unexpected reply."""


class RawClient(asyncio.Protocol):
    """One connection; :meth:`request` returns a future of the reply's payload."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._buf = b""
        # (reply token or None, header length, total length) of a message whose payload
        # has not fully arrived yet
        self._msg: tuple[int | None, int, int, bytes, bytes | None, int] | None = None
        self._wbuf: list[bytes] = []
        self._flush_scheduled = False
        self._futs: dict[int, asyncio.Future[bytes]] = {}
        # subscription id -> handler(subject, reply, header block, payload)
        self.deliveries: dict[int, Callable[[bytes, bytes | None, bytes, bytes], None]] = {}
        self._next = 0
        self._pongs: deque[asyncio.Future[None]] = deque()
        self._info: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._lost: asyncio.Future[None] = loop.create_future()
        self.info: dict[str, Any] = {}
        self.error: str | None = None
        self.scans = 0

    # ------------------------------------------------------------------ connection

    @classmethod
    async def connect(cls, url: str, timeout: float = 5.0) -> RawClient:
        parts = urlsplit(url if "://" in url else f"nats://{url}")
        host, port = parts.hostname or "127.0.0.1", parts.port or 4222
        loop = asyncio.get_running_loop()
        _transport, client = await asyncio.wait_for(
            loop.create_connection(lambda: cls(loop), host, port), timeout
        )
        try:
            info = await asyncio.wait_for(client._info, timeout)
            if info.get("tls_required") or info.get("auth_required"):
                raise RawError("the raw client supports neither TLS nor authentication")
            await asyncio.wait_for(client._ping(CONNECT), timeout)
            await asyncio.wait_for(client._ping(_SUB), timeout)
        except BaseException:
            await client.close()
            raise
        return client

    def _ping(self, frames: bytes) -> asyncio.Future[None]:
        """Send ``frames`` (ending with a PING); the future resolves at the PONG."""
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pongs.append(fut)
        self._send(frames)
        return fut

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            await self._lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail(RawError(self.error or f"connection lost ({exc})"))
        if not self._lost.done():
            self._lost.set_result(None)

    def _fail(self, exc: Exception) -> None:
        waiters: list[asyncio.Future[Any]] = [*self._futs.values(), *self._pongs, self._info]
        self._futs.clear()
        self._pongs.clear()
        for fut in waiters:
            if not fut.done():
                fut.set_exception(exc)

    # ------------------------------------------------------------------ writing

    def _send(self, frame: bytes) -> None:
        self._wbuf.append(frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._wbuf and self._transport is not None:
            data = b"".join(self._wbuf)
            self._wbuf.clear()
            self._transport.write(data)

    def request(self, subject: str, payload: bytes) -> asyncio.Future[bytes]:
        """Publish ``payload`` to ``subject`` with a fresh reply subject; the future
        resolves with the reply's payload (after its headers, if any)."""
        self._next += 1
        token = self._next
        fut: asyncio.Future[bytes] = self._loop.create_future()
        self._futs[token] = fut
        self._send(
            f"PUB {subject} {INBOX_PREFIX}{token} {len(payload)}\r\n".encode() + payload + _CRLF
        )
        return fut

    # ------------------------------------------------------------------ reading

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        pos = 0
        size = len(buf)
        while True:
            msg = self._msg
            if msg is not None:
                token, hdr_len, total, subject, reply, sid = msg
                end = pos + total
                if size < end + 2:
                    break
                self._msg = None
                if token is not None:
                    fut = self._futs.pop(token, None)
                    if fut is not None and not fut.done():
                        fut.set_result(buf[pos + hdr_len : end])
                else:
                    handler = self.deliveries.get(sid)
                    if handler is not None:
                        handler(subject, reply, buf[pos : pos + hdr_len], buf[pos + hdr_len : end])
                pos = end + 2
                continue
            eol = buf.find(_CRLF, pos)
            if eol < 0:
                break
            line = buf[pos:eol]
            pos = eol + 2
            if line.startswith(b"HMSG ") or line.startswith(b"MSG "):
                self._msg = self._parse_msg(line)
            elif line == b"PING":
                self._send(_PONG)
            elif line == b"PONG":
                if self._pongs:
                    fut_pong = self._pongs.popleft()
                    if not fut_pong.done():
                        fut_pong.set_result(None)
            elif line.startswith(b"INFO "):
                self.info = json.loads(line[5:])
                if not self._info.done():
                    self._info.set_result(self.info)
            elif line.startswith(b"-ERR"):
                self.error = line[4:].strip().decode(errors="replace")
                self._fail(RawError(f"server error: {self.error}"))
            # +OK (verbose is off, so it does not come) and anything else: ignored
        self._buf = buf[pos:] if pos < size else b""

    @staticmethod
    def _parse_msg(line: bytes) -> tuple[int | None, int, int, bytes, bytes | None, int]:
        """``MSG <subject> <sid> [reply] <size>`` or
        ``HMSG <subject> <sid> [reply] <header size> <total size>``."""
        parts = line.split()
        total = int(parts[-1])
        hmsg = parts[0] == b"HMSG"
        hdr_len = int(parts[-2]) if hmsg else 0
        subject = parts[1]
        reply = parts[3] if len(parts) == (6 if hmsg else 5) else None
        token: int | None = None
        if subject.startswith(b"_INBOX.raw."):
            tail = subject[_INBOX_PREFIX_LEN:]
            if tail.isdigit():
                token = int(tail)
        return token, hdr_len, total, subject, reply, int(parts[2])


class RawBucket:
    """KV put / get of one bucket through a :class:`RawClient` (plain subjects, no API)."""

    def __init__(self, client: RawClient, bucket: str, value_size: int) -> None:
        self._client = client
        self._stream = f"KV_{bucket}"
        self._put_prefix = f"$KV.{bucket}."
        self._get_prefix = f"$JS.API.DIRECT.GET.KV_{bucket}.$KV.{bucket}."
        self._value_size = value_size

    async def put(self, key: str, value: bytes) -> None:
        ack = await self._client.request(self._put_prefix + key, value)
        if _SEQ not in ack:
            raise RawError(f"put {key}: no pub-ack: {ack[:200]!r}")

    async def get(self, key: str) -> bytes:
        data = await self._client.request(self._get_prefix + key, b"")
        if len(data) != self._value_size:
            raise RawError(f"get {key}: {len(data)} bytes, expected {self._value_size}")
        return data

    async def put_pipelined(self, keys: list[str], value: bytes, max_pending: int) -> int:
        """Put every key with at most ``max_pending`` acks outstanding (a sliding window)."""
        request = self._client.request
        prefix = self._put_prefix
        pending: deque[asyncio.Future[bytes]] = deque()
        acked = 0
        for key in keys:
            if len(pending) >= max_pending:
                if _SEQ not in await pending.popleft():
                    raise RawError("pipelined put: no pub-ack")
                acked += 1
            pending.append(request(prefix + key, value))
        while pending:
            if _SEQ not in await pending.popleft():
                raise RawError("pipelined put: no pub-ack")
            acked += 1
        return acked

    async def scan(self, *, headers_only: bool) -> list[tuple[bytes, bytes, bytes]]:
        """Every key's latest message through a push consumer: ``(subject, header block,
        payload)`` each, in delivery order."""
        client = self._client
        loop = asyncio.get_running_loop()
        client.scans += 1
        sid = 1 + client.scans
        deliver = f"_INBOX.rawscan.{client.scans}".encode()
        out: list[tuple[bytes, bytes, bytes]] = []
        append = out.append
        done: asyncio.Future[None] = loop.create_future()
        want = -1

        def on_msg(subject: bytes, reply: bytes | None, hdr: bytes, data: bytes) -> None:
            if not data and hdr.startswith(_STATUS_100):
                if reply:  # flow control: answered at once
                    client._send(b"PUB " + reply + b" 0\r\n\r\n")
                return  # (or an idle heartbeat)
            append((subject, hdr, data))
            if len(out) == want and not done.done():
                done.set_result(None)

        client.deliveries[sid] = on_msg
        client._send(b"SUB " + deliver + f" {sid}\r\n".encode())
        try:
            config = {
                "stream_name": self._stream,
                "config": {
                    "deliver_subject": deliver.decode(),
                    "deliver_policy": "last_per_subject",
                    "filter_subject": self._put_prefix + ">",
                    "ack_policy": "none",
                    "max_deliver": 1,
                    "replay_policy": "instant",
                    "flow_control": True,
                    "idle_heartbeat": 5_000_000_000,
                    "headers_only": headers_only,
                    "mem_storage": True,
                    "num_replicas": 1,
                    "inactive_threshold": 5_000_000_000,
                },
            }
            reply = await client.request(
                f"$JS.API.CONSUMER.CREATE.{self._stream}", json.dumps(config).encode()
            )
            info = json.loads(reply)
            if "error" in info:
                raise RawError(f"consumer create: {info['error']}")
            want = int(info["num_pending"])
            if len(out) >= want and not done.done():
                done.set_result(None)
            await done
        finally:
            client._send(f"UNSUB {sid}\r\n".encode())
            del client.deliveries[sid]
        return out[:want]

    async def list_keys(self) -> list[str]:
        plen = len(self._put_prefix)
        return [
            subject[plen:].decode()
            for subject, hdr, _ in await self.scan(headers_only=True)
            if _KV_OPERATION not in hdr
        ]

    async def watch_initial(self) -> list[tuple[str, bytes]]:
        plen = len(self._put_prefix)
        return [
            (subject[plen:].decode(), data)
            for subject, hdr, data in await self.scan(headers_only=False)
            if _KV_OPERATION not in hdr
        ]
