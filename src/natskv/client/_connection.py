"""The asyncio NATS connection.

The hot path is an :class:`asyncio.Protocol`: ``data_received`` feeds the sans-IO parser
and dispatches events right there. Replies to requests resolve their futures from
``data_received`` through one muxed inbox subscription (``_INBOX.<id>.*``); no task is
created per message.

Writes are coalesced: every publish appends its frame to a buffer and, if none is pending,
schedules one flush with ``loop.call_soon``. All frames written in the same event-loop
turn leave in one ``transport.write``; there is no fixed delay, so a request is on the wire
as soon as the requesting coroutine yields.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any, cast

from natskv._version import __version__
from natskv.client._nuid import NUID
from natskv.client._options import (
    ServerAddress,
    load_credentials,
    parse_server,
    parse_servers,
    sign_nonce,
)
from natskv.client._subscription import (
    DEFAULT_PENDING_BYTES,
    DEFAULT_PENDING_MSGS,
    MessageHandler,
    Subscription,
)
from natskv.errors import (
    AuthorizationError,
    ConnectionClosedError,
    MaxPayloadError,
    NatsConnectionError,
    NatsError,
    NoRespondersError,
    ProtocolError,
    TimeoutError,
)
from natskv.protocol import (
    CRLF,
    OK,
    PING,
    PING_CMD,
    PONG,
    PONG_CMD,
    Err,
    Info,
    Msg,
    Parser,
    check_subject,
    encode_connect,
    encode_headers,
    encode_sub,
    encode_unsub,
    hpub_head,
    pub_head,
)

__all__ = ["Connection", "ConnectionState", "connect"]


Headers = Mapping[str, str] | bytes | None
ErrorCallback = Callable[[Exception], Any]
EventCallback = Callable[[], Any]

_NO_RESPONDERS = b"NATS/1.0 503"
_TICK = 0.05  # resolution of request timeouts, in seconds
_PER_TICK = 1 / _TICK
# the Future class itself (what loop.create_future() returns, on asyncio and on uvloop),
# without the Python frame of create_future on every request
_Future = asyncio.Future
_LARGE = 64 * 1024


class ConnectionState(Enum):
    """The life cycle of a :class:`Connection`."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DRAINING = "draining"
    CLOSED = "closed"


class _Protocol(asyncio.Protocol):
    """One per socket; forwards to the connection while it is the current one."""

    __slots__ = ("_conn", "lost", "transport")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.transport: asyncio.Transport | None = None
        #: resolved once the socket is closed (for TLS: after the close_notify exchange)
        self.lost: asyncio.Future[None] = conn._loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they are duck-typed.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._conn._proto is self:
            self._conn._data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        self._conn._connection_lost(self, exc)

    def pause_writing(self) -> None:
        if self._conn._proto is self:
            self._conn._pause_writing()

    def resume_writing(self) -> None:
        if self._conn._proto is self:
            self._conn._resume_writing()

    def eof_received(self) -> bool | None:
        return None


class Connection:
    """A connection to a NATS server (or cluster), with reconnect. Made by :func:`connect`."""

    def __init__(
        self,
        servers: str | list[str] | tuple[str, ...] | None = None,
        *,
        name: str | None = None,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        nkeys_seed: str | bytes | None = None,
        nkeys_seed_file: str | os.PathLike[str] | None = None,
        user_credentials: str | os.PathLike[str] | None = None,
        tls: ssl.SSLContext | bool | None = None,
        tls_hostname: str | None = None,
        tls_handshake_first: bool = False,
        connect_timeout: float = 2.0,
        request_timeout: float = 5.0,
        allow_reconnect: bool = True,
        max_reconnect_attempts: int = 60,
        reconnect_time_wait: float = 2.0,
        reconnect_jitter: float = 0.1,
        reconnect_buffer_size: int = 8 * 1024 * 1024,
        ping_interval: float = 120.0,
        max_outstanding_pings: int = 2,
        inbox_prefix: str = "_INBOX",
        no_echo: bool = False,
        ignore_discovered_servers: bool = False,
        pending_msgs_limit: int = DEFAULT_PENDING_MSGS,
        pending_bytes_limit: int = DEFAULT_PENDING_BYTES,
        error_cb: ErrorCallback | None = None,
        disconnected_cb: EventCallback | None = None,
        reconnected_cb: EventCallback | None = None,
        closed_cb: EventCallback | None = None,
    ) -> None:
        self._pool: list[ServerAddress] = parse_servers(servers)
        self._name = name
        self._user = user
        self._password = password
        self._token = token
        if nkeys_seed_file is not None:
            with open(nkeys_seed_file, "rb") as fh:
                nkeys_seed = fh.read().strip()
        self._nkeys_seed = nkeys_seed.encode() if isinstance(nkeys_seed, str) else nkeys_seed
        self._creds = user_credentials
        self._tls = tls
        self._tls_hostname = tls_hostname
        self._tls_first = tls_handshake_first
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self._allow_reconnect = allow_reconnect
        self._max_reconnect = max_reconnect_attempts
        self._reconnect_wait = reconnect_time_wait
        self._reconnect_jitter = reconnect_jitter
        self._reconnect_buffer_size = reconnect_buffer_size
        self._ping_interval = ping_interval
        self._max_outstanding_pings = max_outstanding_pings
        self._no_echo = no_echo
        self._ignore_discovered = ignore_discovered_servers
        self._pending_msgs_limit = pending_msgs_limit
        self._pending_bytes_limit = pending_bytes_limit
        self._error_cb = error_cb
        self._disconnected_cb = disconnected_cb
        self._reconnected_cb = reconnected_cb
        self._closed_cb = closed_cb

        self._loop = loop = asyncio.get_running_loop()
        # The request hot path reads the clock once per request: asyncio's loop.time()
        # is a Python method around time.monotonic(), so call that directly when it is
        # the same clock (uvloop's loop.time() is already native).
        self._now: Callable[[], float] = (
            time.monotonic if type(loop).time is asyncio.BaseEventLoop.time else loop.time
        )
        self._state = ConnectionState.CONNECTING
        self._proto: _Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._parser = Parser()
        self._server_info: dict[str, Any] = {}
        self._current: ServerAddress | None = None
        self._max_payload = 1024 * 1024
        self._headers_ok = True

        self._wbuf: list[bytes] = []
        self._wsize = 0
        self._flush_scheduled = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []

        self._sid = 0
        self._subs: dict[int, Subscription] = {}
        # One entry per PING in flight or queued, oldest first, since the server answers
        # PINGs in order: the waiter of a flush(), or None for a keepalive. Entries of PINGs
        # still in the write buffer (the last _pings_unsent) survive a lost connection.
        self._pongs: deque[asyncio.Future[None] | None] = deque()
        self._pings_unsent = 0
        self._handshake_pong: asyncio.Future[None] | None = None
        self._outstanding_pings = 0
        self._ping_handle: asyncio.TimerHandle | None = None

        self._nuid = NUID()
        check_subject(inbox_prefix, "inbox prefix")
        self._inbox_prefix = inbox_prefix
        self._resp_prefix = f"{inbox_prefix}.{self._nuid.next()}."
        self._resp_prefix_len = len(self._resp_prefix)
        self._resp_sid = 0
        self._resp_futs: dict[str, asyncio.Future[Msg]] = {}
        self._resp_streams: dict[str, Callable[[Msg], None]] = {}
        self._stream_closers: dict[str, Callable[[ConnectionClosedError], None]] = {}
        self._resp_token = 0
        self._deadlines: dict[int, list[tuple[str, str, float]]] = {}
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._sweep_slot = 0
        # the slot armed last and its list: most requests land in the slot of the one before
        self._last_slot = 0
        self._last_bucket: list[tuple[str, str, float]] = []

        self._info_waiter: asyncio.Future[dict[str, Any]] | None = None
        self._handshaking = False
        self._handshake_error: Exception | None = None
        self._last_error: Exception | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._reconnect_listeners: list[EventCallback] = []
        self._disconnect_listeners: list[EventCallback] = []
        self._closed_event = asyncio.Event()

        self.msgs_in = 0
        self.msgs_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.reconnects = 0

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> ConnectionState:
        """The current :class:`ConnectionState`."""
        return self._state

    @property
    def is_connected(self) -> bool:
        """True while a socket to a server is up."""
        return self._state is ConnectionState.CONNECTED

    @property
    def is_closed(self) -> bool:
        """True once :meth:`close` (or a fatal error) ended the connection."""
        return self._state is ConnectionState.CLOSED

    @property
    def is_reconnecting(self) -> bool:
        """True while the connection is trying to get back to a server."""
        return self._state is ConnectionState.RECONNECTING

    @property
    def server_info(self) -> dict[str, Any]:
        """The last ``INFO`` the server sent."""
        return self._server_info

    @property
    def max_payload(self) -> int:
        """The largest message (headers and payload) the server accepts."""
        return self._max_payload

    @property
    def connected_url(self) -> str | None:
        """The URL of the server we are connected to."""
        return self._current.url if self._current and self.is_connected else None

    @property
    def servers(self) -> list[str]:
        """The server pool (including servers discovered from the cluster)."""
        return [s.url for s in self._pool]

    @property
    def last_error(self) -> Exception | None:
        """The last asynchronous error seen (also passed to ``error_cb``)."""
        return self._last_error

    def new_inbox(self) -> str:
        """A new unique inbox subject."""
        return f"{self._inbox_prefix}.{self._nuid.next()}"

    # ------------------------------------------------------------------ connect

    async def _connect(self) -> None:
        errors: list[str] = []
        for server in list(self._pool):
            try:
                await self._connect_to(server)
            except (OSError, asyncio.TimeoutError, NatsError) as exc:
                if isinstance(exc, AuthorizationError):
                    await self._shutdown(exc)
                    raise
                errors.append(f"{server.url}: {exc or type(exc).__name__}")
                continue
            self._state = ConnectionState.CONNECTED
            self._schedule_ping()
            return
        await self._shutdown(None)
        raise NatsConnectionError("could not connect to any server: " + "; ".join(errors))

    async def _connect_to(self, server: ServerAddress) -> None:
        loop = self._loop
        self._parser.reset()
        self._handshaking = True
        self._handshake_error = None
        info_waiter: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._info_waiter = info_waiter
        proto = _Protocol(self)
        self._proto = proto
        ctx = self._tls_context(server) if (self._tls_first or server.tls) else None
        try:
            if self._tls_first and ctx is not None:
                await asyncio.wait_for(
                    loop.create_connection(
                        lambda: proto,
                        server.host,
                        server.port,
                        ssl=ctx,
                        server_hostname=self._tls_hostname or server.host,
                    ),
                    self.connect_timeout,
                )
            else:
                await asyncio.wait_for(
                    loop.create_connection(lambda: proto, server.host, server.port),
                    self.connect_timeout,
                )
            info = await asyncio.wait_for(info_waiter, self.connect_timeout)
            transport = proto.transport
            assert transport is not None
            tls_needed = (
                bool(info.get("tls_required")) or server.tls or self._tls not in (None, False)
            )
            if tls_needed and not self._tls_first:
                ctx = self._tls_context(server)
                new_transport = await asyncio.wait_for(
                    loop.start_tls(
                        transport, proto, ctx, server_hostname=self._tls_hostname or server.host
                    ),
                    self.connect_timeout,
                )
                if new_transport is None:
                    raise NatsConnectionError("TLS upgrade failed")
                transport = new_transport
                proto.transport = transport
            self._apply_info(info)
            # before the PONG future: a credentials error must not leave it unawaited
            connect_cmd = encode_connect(self._connect_options(server, info))
            pong: asyncio.Future[None] = loop.create_future()
            # The handshake PING is the first on this socket; PINGs of flush() calls made
            # while disconnected wait in the write buffer until after it, so go first.
            self._handshake_pong = pong
            self._pongs.appendleft(pong)
            transport.write(connect_cmd + PING_CMD)
            await asyncio.wait_for(pong, self.connect_timeout)
            if self._handshake_error is not None:
                raise self._handshake_error
        except BaseException:
            self._handshaking = False
            self._proto = None
            hs_pong, self._handshake_pong = self._handshake_pong, None
            if hs_pong is not None:
                # gone with this socket (its PONG can never come): not left to pair with
                # the PONG of a later PING
                with contextlib.suppress(ValueError):
                    self._pongs.remove(hs_pong)
                if not hs_pong.done():
                    hs_pong.cancel()
                elif not hs_pong.cancelled():
                    hs_pong.exception()  # seen: what went wrong is raised from here
            if proto.transport is not None:
                proto.transport.abort()
            if self._handshake_error is not None:
                raise self._handshake_error from None
            raise
        self._handshaking = False
        self._handshake_pong = None
        self._transport = transport
        self._current = server
        self._outstanding_pings = 0

    def _tls_context(self, server: ServerAddress) -> ssl.SSLContext:
        if isinstance(self._tls, ssl.SSLContext):
            return self._tls
        return ssl.create_default_context()

    def _connect_options(self, server: ServerAddress, info: dict[str, Any]) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "verbose": False,
            "pedantic": False,
            "lang": "python3",
            "version": __version__,
            "protocol": 1,
            "headers": True,
            "no_responders": True,
            "echo": not self._no_echo,
            "name": self._name,
            "tls_required": bool(info.get("tls_required")) or None,
        }
        user = self._user or server.user
        password = self._password or server.password
        token = self._token or server.token
        if user is not None:
            opts["user"] = user
            opts["pass"] = password
        if token is not None:
            opts["auth_token"] = token
        nonce = info.get("nonce")
        if self._creds is not None:
            jwt, seed = load_credentials(self._creds)
            opts["jwt"] = jwt
            if nonce:
                opts["sig"], _ = sign_nonce(seed, nonce)
        elif self._nkeys_seed is not None:
            if not nonce:
                raise AuthorizationError("the server sent no nonce for NKey authentication")
            opts["sig"], opts["nkey"] = sign_nonce(self._nkeys_seed, nonce)
        return opts

    def _apply_info(self, info: dict[str, Any]) -> None:
        self._server_info = info
        self._max_payload = int(info.get("max_payload", self._max_payload))
        self._headers_ok = bool(info.get("headers", True))
        if not self._ignore_discovered:
            known = {(s.host, s.port) for s in self._pool}
            for url in info.get("connect_urls") or ():
                try:
                    server = parse_server(url, discovered=True)
                except NatsError:
                    continue
                if (server.host, server.port) not in known:
                    self._pool.append(server)
                    known.add((server.host, server.port))

    # ------------------------------------------------------------------ reading

    def _data_received(self, data: bytes) -> None:
        try:
            events = self._parser.feed(data)
        except ProtocolError as exc:
            self._report_error(exc)
            if self._proto is not None and self._proto.transport is not None:
                self._proto.transport.abort()
            return
        self.bytes_in += len(data)
        subs = self._subs
        resp_sid = self._resp_sid
        futs = self._resp_futs
        plen = self._resp_prefix_len
        for ev in events:
            if type(ev) is Msg:
                self.msgs_in += 1
                if ev.sid == resp_sid:
                    # _route_reply inlined for the common case: a request's reply
                    fut = futs.pop(ev.subject[plen:], None)
                    if fut is None:
                        self._route_stream(ev)
                    elif not fut.done():
                        raw = ev.raw_headers
                        if raw is not None and not ev.data and raw.startswith(_NO_RESPONDERS):
                            fut.set_exception(NoRespondersError())
                        else:
                            fut.set_result(ev)
                    continue
                sub = subs.get(ev.sid)
                if sub is not None:
                    cb = sub._sync_cb
                    if cb is not None and not sub._max_msgs:
                        # Subscription._deliver inlined for the hot path (consumers)
                        sub._delivered += 1
                        try:
                            cb(ev)
                        except Exception as exc:  # a user callback must not break the reader
                            self._report_error(exc)
                    else:
                        sub._deliver(ev)
            elif ev is PING:
                self._write_now(PONG_CMD)
            elif ev is PONG:
                self._outstanding_pings = 0
                if self._pongs:
                    pong = self._pongs.popleft()  # this PONG's PING, even if nobody waits
                    if pong is not None and not pong.done():
                        pong.set_result(None)
            elif type(ev) is Info:
                waiter = self._info_waiter
                if waiter is not None and not waiter.done():
                    self._info_waiter = None
                    waiter.set_result(ev.options)
                else:
                    self._apply_info(ev.options)
            elif type(ev) is Err:
                self._server_error(ev.message)
            elif ev is OK:
                pass

    def _route_stream(self, msg: Msg) -> None:
        """A reply that no request waits for: a reply stream's, or a late one (dropped)."""
        handler = self._resp_streams.get(msg.subject[self._resp_prefix_len :])
        if handler is not None:
            handler(msg)

    def _server_error(self, message: str) -> None:
        low = message.lower()
        if "authorization" in low or "authentication" in low or "user authentication" in low:
            exc: NatsError = AuthorizationError(message)
        elif "permissions violation" in low:
            self._report_error(AuthorizationError(message))
            return
        else:
            exc = NatsError(f"server error: {message}")
        if self._handshaking:
            self._handshake_error = exc
            waiter = self._info_waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
            pong = self._handshake_pong
            if pong is not None and not pong.done():
                pong.set_exception(exc)
        self._report_error(exc)

    def _report_error(self, exc: Exception) -> None:
        self._last_error = exc
        cb = self._error_cb
        if cb is not None:
            try:
                result = cb(exc)
                if asyncio.iscoroutine(result):
                    self._loop.create_task(result)
            except Exception:
                pass  # an error callback must never break the reader

    # ------------------------------------------------------------------ writing

    def _write_now(self, data: bytes) -> None:
        transport = self._transport
        if transport is not None and self._state is not ConnectionState.RECONNECTING:
            transport.write(data)

    def _enqueue(self, data: bytes) -> None:
        self._wbuf.append(data)
        self._wsize += len(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush_writes)

    def _flush_writes(self) -> None:
        self._flush_scheduled = False
        transport = self._transport
        if not self._wbuf or transport is None or self._state is ConnectionState.RECONNECTING:
            return
        wbuf = self._wbuf
        data = wbuf[0] if len(wbuf) == 1 else b"".join(wbuf)
        wbuf.clear()
        self._pings_unsent = 0
        self.bytes_out += self._wsize
        self._wsize = 0
        transport.write(data)

    def _enqueue_ping(self, fut: asyncio.Future[None] | None) -> None:
        self._pongs.append(fut)
        self._pings_unsent += 1
        self._enqueue(PING_CMD)

    def _fail_sent_pings(self, exc: Exception) -> None:
        """The socket is gone: fail the waiters of PINGs written to it. PINGs still in the
        write buffer go out after a reconnect and keep their waiters."""
        pongs = self._pongs
        for _ in range(len(pongs) - self._pings_unsent):
            fut = pongs.popleft()
            if fut is not None and not fut.done():
                fut.set_exception(exc)

    def _check_open(self) -> None:
        state = self._state
        if state is ConnectionState.CLOSED:
            raise ConnectionClosedError("the connection is closed")
        if state is ConnectionState.RECONNECTING and self._wsize > self._reconnect_buffer_size:
            raise NatsConnectionError("disconnected and the reconnect buffer is full")

    def publish_nowait(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        reply: str | None = None,
        headers: Headers = None,
        checked: bool = False,
    ) -> None:
        """Queue a message for sending without awaiting (the write leaves this loop turn).

        ``headers`` is a mapping, or a header block already encoded. ``checked=True``
        skips the subject checks for subjects the caller built from validated parts.
        """
        if not checked:
            check_subject(subject)
            if reply is not None:
                check_subject(reply, "reply subject")
        self._write_msg(subject, payload, reply, headers)

    def _write_msg(self, subject: str, payload: bytes, reply: str | None, headers: Headers) -> None:
        """Frame and queue a message whose subjects are already checked."""
        self._check_open()
        if headers is not None:
            hdr = headers if isinstance(headers, bytes) else encode_headers(headers)
            size = len(payload)
            if len(hdr) + size > self._max_payload:
                raise MaxPayloadError(
                    f"message of {len(hdr) + size} bytes exceeds the server's max_payload "
                    f"of {self._max_payload}"
                )
            if size >= _LARGE:
                self._enqueue(hpub_head(subject, reply, len(hdr), size) + hdr)
                self._enqueue(payload)
                self._enqueue(CRLF)
            else:
                self._enqueue(hpub_head(subject, reply, len(hdr), size) + hdr + payload + CRLF)
        else:
            size = len(payload)
            if size > self._max_payload:
                raise MaxPayloadError(
                    f"message of {size} bytes exceeds the server's max_payload "
                    f"of {self._max_payload}"
                )
            if size >= _LARGE:
                self._enqueue(pub_head(subject, reply, size))
                self._enqueue(payload)
                self._enqueue(CRLF)
            else:
                self._enqueue(pub_head(subject, reply, size) + payload + CRLF)
        self.msgs_out += 1

    def publish_many(
        self, messages: Iterable[tuple[str, bytes, str | None]], *, checked: bool = False
    ) -> int:
        """Queue many ``(subject, payload, reply)`` messages at once; returns how many.

        All or nothing: every message is checked (subjects unless ``checked=True``, and
        max_payload) before any is queued. They leave in the same write, in order.
        """
        self._check_open()
        max_payload = self._max_payload
        parts: list[bytes] = []
        append = parts.append
        for subject, payload, reply in messages:
            if not checked:
                check_subject(subject)
                if reply is not None:
                    check_subject(reply, "reply subject")
            size = len(payload)
            if size > max_payload:
                raise MaxPayloadError(
                    f"message of {size} bytes exceeds the server's max_payload of {max_payload}"
                )
            append(
                (
                    f"PUB {subject} {reply} {size}\r\n" if reply else f"PUB {subject} {size}\r\n"
                ).encode()
            )
            append(payload)
            append(CRLF)
        count = len(parts) // 3
        if count:
            self._wbuf.extend(parts)
            self._wsize += sum(map(len, parts))
            self.msgs_out += count
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self._loop.call_soon(self._flush_writes)
        return count

    async def publish(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        reply: str | None = None,
        headers: Headers = None,
    ) -> None:
        """Publish a message. Returns once it is queued (waits only if the socket is full)."""
        self.publish_nowait(subject, payload, reply=reply, headers=headers)
        if self._write_paused:
            await self._wait_drained()

    def _pause_writing(self) -> None:
        self._write_paused = True

    def _resume_writing(self) -> None:
        self._write_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def _wait_drained(self) -> None:
        if not self._write_paused:
            return
        fut: asyncio.Future[None] = self._loop.create_future()
        self._drain_waiters.append(fut)
        await fut

    async def flush(self, timeout: float | None = None) -> None:
        """Send everything queued and wait until the server has processed it (PING/PONG)."""
        self._check_open()
        fut: asyncio.Future[None] = self._loop.create_future()
        self._enqueue_ping(fut)
        try:
            await asyncio.wait_for(fut, timeout if timeout is not None else self.request_timeout)
        except asyncio.TimeoutError:
            raise TimeoutError("flush timed out") from None

    # ------------------------------------------------------------------ subscriptions

    async def subscribe(
        self,
        subject: str,
        *,
        queue: str | None = None,
        cb: MessageHandler | None = None,
        max_msgs: int = 0,
        pending_msgs_limit: int | None = None,
        pending_bytes_limit: int | None = None,
    ) -> Subscription:
        """Subscribe to ``subject``. With ``cb`` messages go to the callback (a plain function
        is called inline, a coroutine function by one worker task); without, iterate the
        returned :class:`Subscription`."""
        return self.subscribe_nowait(
            subject,
            queue=queue,
            cb=cb,
            max_msgs=max_msgs,
            pending_msgs_limit=pending_msgs_limit,
            pending_bytes_limit=pending_bytes_limit,
        )

    def subscribe_nowait(
        self,
        subject: str,
        *,
        queue: str | None = None,
        cb: MessageHandler | None = None,
        max_msgs: int = 0,
        pending_msgs_limit: int | None = None,
        pending_bytes_limit: int | None = None,
    ) -> Subscription:
        """:meth:`subscribe` without awaiting (the SUB leaves in this loop turn)."""
        self._check_open()
        check_subject(subject)
        self._sid += 1
        sid = self._sid
        sub = Subscription(
            self,
            sid,
            subject,
            queue,
            cb,
            pending_msgs_limit=pending_msgs_limit or self._pending_msgs_limit,
            pending_bytes_limit=pending_bytes_limit or self._pending_bytes_limit,
        )
        self._subs[sid] = sub
        self._enqueue(encode_sub(subject, sid, queue))
        if max_msgs:
            sub._max_msgs = max_msgs
            self._enqueue(encode_unsub(sid, max_msgs))
        return sub

    def _unsubscribe(self, sub: Subscription, limit: int = 0) -> None:
        if sub.sid not in self._subs:
            sub._finish()
            return
        if limit and sub._delivered < limit:
            sub._max_msgs = limit
            if not self.is_closed:
                self._enqueue(encode_unsub(sub.sid, limit))
            return
        self._remove_subscription(sub)
        if not self.is_closed:
            self._enqueue(encode_unsub(sub.sid))
        sub._finish()

    def _remove_subscription(self, sub: Subscription) -> None:
        self._subs.pop(sub.sid, None)

    # ------------------------------------------------------------------ request / reply

    def _ensure_resp_sub(self) -> None:
        if not self._resp_sid:
            # Replies are routed by sid in _data_received before any subscription lookup.
            self._resp_sid = self.subscribe_nowait(self._resp_prefix + "*").sid

    def _next_token(self) -> str:
        self._resp_token += 1
        return str(self._resp_token)

    # Request timeouts: a timer per request (call_later + cancel) costs more than the
    # request itself at high rates, so deadlines go into 50 ms slots swept by one timer.
    # A reply that arrives pops its future, and the sweep skips it.

    def _arm_deadline(self, token: str, subject: str, timeout: float) -> None:
        self._arm_slot(int((self._now() + timeout) * _PER_TICK) + 1, token, subject, timeout)

    def _arm_slot(self, slot: int, token: str, subject: str, timeout: float) -> None:
        # A slot is never armed once swept: it is later than the time it was computed at,
        # and a sweep takes only the slots that have passed.
        self._last_slot = slot
        bucket = self._deadlines.get(slot)
        if bucket is None:
            self._deadlines[slot] = bucket = []
            if self._sweep_slot == 0 or slot < self._sweep_slot:
                if self._sweep_handle is not None:
                    self._sweep_handle.cancel()
                self._sweep_slot = slot
                self._sweep_handle = self._loop.call_at(slot * _TICK, self._sweep_deadlines)
        self._last_bucket = bucket
        bucket.append((token, subject, timeout))

    def _sweep_deadlines(self) -> None:
        self._sweep_handle = None
        self._sweep_slot = 0
        deadlines = self._deadlines
        now = int(self._now() * _PER_TICK)
        futs = self._resp_futs
        for slot in sorted(s for s in deadlines if s <= now):
            for token, subject, timeout in deadlines.pop(slot):
                fut = futs.pop(token, None)
                if fut is not None and not fut.done():
                    fut.set_exception(TimeoutError(f"no reply to {subject!r} within {timeout:g}s"))
        if deadlines:
            slot = min(deadlines)
            self._sweep_slot = slot
            self._sweep_handle = self._loop.call_at(slot * _TICK, self._sweep_deadlines)

    def _start_request(
        self,
        subject: str,
        payload: bytes,
        headers: Headers,
        timeout: float | None,
        checked: bool,
    ) -> tuple[str, asyncio.Future[Msg]]:
        """Send a request and register its reply future under a new token."""
        if not checked:
            check_subject(subject)
        if not self._resp_sid:
            self._ensure_resp_sub()
        self._resp_token += 1
        token = str(self._resp_token)
        size = len(payload)
        if (
            headers is None
            and size < _LARGE
            and size <= self._max_payload
            and self._state is ConnectionState.CONNECTED
        ):
            # _write_msg inlined for the hot path: a small request without headers
            frame = f"PUB {subject} {self._resp_prefix}{token} {size}\r\n".encode()
            self._wbuf.append(frame + payload + CRLF)
            self._wsize += len(frame) + size + 2
            self.msgs_out += 1
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self._loop.call_soon(self._flush_writes)
        else:
            self._write_msg(subject, payload, self._resp_prefix + token, headers)
        fut: asyncio.Future[Msg] = _Future(loop=self._loop)
        self._resp_futs[token] = fut
        if timeout is None:
            timeout = self.request_timeout
        slot = int((self._now() + timeout) * _PER_TICK) + 1
        if slot == self._last_slot:
            self._last_bucket.append((token, subject, timeout))
        else:
            self._arm_slot(slot, token, subject, timeout)
        return token, fut

    def request_future(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        headers: Headers = None,
        timeout: float | None = None,
        checked: bool = False,
    ) -> asyncio.Future[Msg]:
        """Send a request now and return the future of its reply (no coroutine: hot paths).

        The future fails with :class:`NoRespondersError` (without the subject) or
        :class:`natskv.TimeoutError`. A cancelled future's slot is freed when its timeout
        passes. ``checked=True`` skips the subject check for a subject the caller built
        from validated parts.
        """
        return self._start_request(subject, payload, headers, timeout, checked)[1]

    async def request(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        headers: Headers = None,
        timeout: float | None = None,
    ) -> Msg:
        """Send a request and return the first reply.

        Raises :class:`NoRespondersError` when nobody listens on ``subject`` and
        :class:`natskv.TimeoutError` when no reply comes within ``timeout`` seconds
        (default: the connection's ``request_timeout``; measured in 50 ms steps).
        """
        token, fut = self._start_request(subject, payload, headers, timeout, False)
        try:
            return await fut
        except NoRespondersError:
            raise NoRespondersError(subject) from None
        except asyncio.CancelledError:
            self._resp_futs.pop(token, None)
            raise

    def request_nowait(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        headers: Headers = None,
        timeout: float | None = None,
    ) -> tuple[str, asyncio.Future[Msg]]:
        """Send a request now and return ``(token, future)``; used for pipelining.

        The future fails with :class:`natskv.TimeoutError` after ``timeout`` (default:
        ``request_timeout``). Await it with :meth:`await_reply`, or drop it with
        :meth:`cancel_reply`.
        """
        return self._start_request(subject, payload, headers, timeout, False)

    async def await_reply(
        self, token: str, fut: asyncio.Future[Msg], subject: str, timeout: float | None = None
    ) -> Msg:
        """Wait for a reply started by :meth:`request_nowait` (``timeout`` may shorten it)."""
        if timeout is not None and not fut.done():
            self._arm_deadline(token, subject, timeout)
        try:
            return await fut
        except NoRespondersError:
            raise NoRespondersError(subject) from None
        except asyncio.CancelledError:
            self._resp_futs.pop(token, None)
            raise

    def cancel_reply(self, token: str) -> None:
        """Forget a pending reply started by :meth:`request_nowait`."""
        fut = self._resp_futs.pop(token, None)
        if fut is not None and not fut.done():
            fut.cancel()

    def open_reply_stream(
        self,
        handler: Callable[[Msg], None],
        *,
        many_subjects: bool = False,
        on_close: Callable[[ConnectionClosedError], None] | None = None,
    ) -> tuple[str, Callable[[], None]]:
        """Route every reply to a new inbox to ``handler`` (called inline from the reader).

        Returns ``(reply_subject, close)``; used for requests answered by many messages,
        such as a batch direct get. With ``many_subjects=True`` the first item is a prefix:
        replies to ``prefix + <token>`` for any single token all go to ``handler``, which
        tells them apart by ``msg.subject`` (pipelined requests that share one handler and
        no per-request future). That inbox has a subscription of its own, so its replies
        are routed by subscription id like any delivery.

        ``on_close`` is called (once, from the closing connection) if the connection
        closes while the stream is open: whoever waits on the stream stops waiting then.
        """
        token = self._next_token()
        if on_close is not None:
            self._stream_closers[token] = on_close
        if many_subjects:
            inbox = f"{self.new_inbox()}."
            sub = self.subscribe_nowait(inbox + "*", cb=handler)

            def close_sub() -> None:
                self._stream_closers.pop(token, None)
                self._unsubscribe(sub)

            return inbox, close_sub
        self._ensure_resp_sub()
        self._resp_streams[token] = handler

        def close() -> None:
            self._stream_closers.pop(token, None)
            self._resp_streams.pop(token, None)

        return self._resp_prefix + token, close

    # ------------------------------------------------------------------ listeners

    def add_reconnect_listener(self, cb: EventCallback) -> Callable[[], None]:
        """Call ``cb`` every time the connection is re-established. Returns a remover."""
        self._reconnect_listeners.append(cb)
        return lambda: _discard(self._reconnect_listeners, cb)

    def add_disconnect_listener(self, cb: EventCallback) -> Callable[[], None]:
        """Call ``cb`` every time the connection is lost. Returns a remover."""
        self._disconnect_listeners.append(cb)
        return lambda: _discard(self._disconnect_listeners, cb)

    def _notify(self, listeners: list[EventCallback], user_cb: EventCallback | None) -> None:
        for cb in list(listeners) + ([user_cb] if user_cb is not None else []):
            try:
                result = cb()
                if asyncio.iscoroutine(result):
                    self._loop.create_task(result)
            except Exception as exc:
                self._report_error(exc)

    # ------------------------------------------------------------------ keepalive

    def _schedule_ping(self) -> None:
        if self._ping_interval > 0 and self._ping_handle is None:
            self._ping_handle = self._loop.call_later(self._ping_interval, self._send_ping)

    def _send_ping(self) -> None:
        self._ping_handle = None
        if self._state is not ConnectionState.CONNECTED:
            return
        if self._outstanding_pings >= self._max_outstanding_pings:
            self._report_error(NatsConnectionError("stale connection: no PONG from the server"))
            if self._transport is not None:
                self._transport.abort()
            return
        self._outstanding_pings += 1
        self._enqueue_ping(None)
        self._schedule_ping()

    # ------------------------------------------------------------------ reconnect

    def _connection_lost(self, proto: _Protocol, exc: Exception | None) -> None:
        if proto is not self._proto:
            return
        self._proto = None
        self._transport = None
        if self._write_paused:
            self._resume_writing()
        if self._ping_handle is not None:
            self._ping_handle.cancel()
            self._ping_handle = None
        lost = NatsConnectionError(f"connection lost: {exc}" if exc else "connection lost")
        waiter = self._info_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(self._handshake_error or lost)
        self._fail_sent_pings(self._handshake_error or lost)
        if self._handshaking or self._state not in (
            ConnectionState.CONNECTED,
            ConnectionState.DRAINING,
        ):
            # A socket lost mid-handshake fails only that attempt (its waiters were failed
            # above): the connect or reconnect loop that made it decides what comes next.
            return
        self._notify(self._disconnect_listeners, self._disconnected_cb)
        if self._allow_reconnect and self._state is not ConnectionState.DRAINING:
            self._state = ConnectionState.RECONNECTING
            self._reconnect_task = self._loop.create_task(self._reconnect())
        else:
            self._loop.create_task(self._shutdown(lost))

    async def _reconnect(self) -> None:
        attempts: dict[ServerAddress, int] = {}
        current = self._current
        try:
            while self._state is ConnectionState.RECONNECTING:
                candidates = [
                    s
                    for s in self._pool
                    if self._max_reconnect < 0 or attempts.get(s, 0) < self._max_reconnect
                ]
                if not candidates:
                    await self._shutdown(NatsConnectionError("reconnect attempts exhausted"))
                    return
                if current in candidates:  # try the others first, the lost one last
                    candidates.remove(current)
                    candidates.append(current)
                for server in candidates:
                    if self._state is not ConnectionState.RECONNECTING:
                        return
                    if attempts.get(server, 0) or server is current:
                        jitter = random.uniform(0, self._reconnect_jitter)
                        await asyncio.sleep(self._reconnect_wait + jitter)
                    attempts[server] = attempts.get(server, 0) + 1
                    try:
                        await self._connect_to(server)
                    except (OSError, asyncio.TimeoutError, NatsError) as exc:
                        self._report_error(exc)
                        continue
                    self._after_reconnect()
                    return
                current = None
        except asyncio.CancelledError:
            pass

    def _after_reconnect(self) -> None:
        transport = self._transport
        assert transport is not None
        self._state = ConnectionState.CONNECTED
        self.reconnects += 1
        frames = [encode_sub(s.subject, s.sid, s.queue) for s in self._subs.values()]
        for s in self._subs.values():
            if s._max_msgs:
                frames.append(encode_unsub(s.sid, max(1, s._max_msgs - s._delivered)))
        frames.extend(self._wbuf)
        self._wbuf.clear()
        self._wsize = 0
        self._pings_unsent = 0
        if frames:
            transport.write(b"".join(frames))
        self._schedule_ping()
        self._notify(self._reconnect_listeners, self._reconnected_cb)

    # ------------------------------------------------------------------ closing

    async def drain(self, timeout: float = 30.0) -> None:
        """Unsubscribe everything, let callbacks finish what they received, then close."""
        if self.is_closed:
            return
        self._state = ConnectionState.DRAINING
        subs = [s for s in self._subs.values() if s.sid != self._resp_sid]
        try:
            await self._drain_subscriptions(subs, timeout)
            workers = [s._worker for s in subs if s._worker is not None]
            if workers:
                await asyncio.wait_for(asyncio.gather(*workers, return_exceptions=True), timeout)
        except asyncio.TimeoutError:
            self._report_error(TimeoutError("drain timed out"))
        finally:
            await self.close()

    async def _drain_subscriptions(self, subs: list[Subscription], timeout: float) -> None:
        """UNSUB, but keep delivering until the server confirms it (PING/PONG): messages it
        sent before it processed the UNSUB are still on their way and belong to the
        subscriptions. Then the subscriptions end; readers finish what they hold."""
        try:
            if self.is_closed:
                return
            for sub in subs:
                if sub.sid in self._subs:
                    self._enqueue(encode_unsub(sub.sid))
            fut: asyncio.Future[None] = self._loop.create_future()
            self._enqueue_ping(fut)
            with contextlib.suppress(NatsError):
                await asyncio.wait_for(fut, timeout)
        finally:
            for sub in subs:
                self._remove_subscription(sub)
                sub._finish()

    async def close(self) -> None:
        """Close the connection: pending writes are sent, waiters and iterators end."""
        if self._state is ConnectionState.CLOSED:
            return
        await self._shutdown(None)

    async def _shutdown(self, error: Exception | None) -> None:
        if self._state is ConnectionState.CLOSED:
            return
        # closed_cb is for connections that were established: not for a failed connect()
        was_established = self._state is not ConnectionState.CONNECTING
        self._state = ConnectionState.CLOSED
        if error is not None:
            self._last_error = error
        task = self._reconnect_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if self._ping_handle is not None:
            self._ping_handle.cancel()
            self._ping_handle = None
        transport = self._transport
        if transport is not None and self._wbuf:
            transport.write(b"".join(self._wbuf))
        self._wbuf.clear()
        self._wsize = 0
        closed = ConnectionClosedError("the connection was closed")
        for fut in list(self._resp_futs.values()):
            if not fut.done():
                fut.set_exception(closed)
        self._resp_futs.clear()
        self._resp_streams.clear()
        closers = list(self._stream_closers.values())
        self._stream_closers.clear()
        for on_close in closers:
            try:
                on_close(closed)
            except Exception as exc:  # a waiter's callback must not stop the shutdown
                self._report_error(exc)
        self._deadlines.clear()
        self._last_slot = 0
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
            self._sweep_handle = None
            self._sweep_slot = 0
        while self._pongs:
            p = self._pongs.popleft()
            if p is not None and not p.done():
                p.set_exception(closed)
        self._pings_unsent = 0
        for w in self._drain_waiters:
            if not w.done():
                w.set_exception(closed)
        self._drain_waiters.clear()
        subs = list(self._subs.values())
        self._subs.clear()
        for sub in subs:
            sub._finish()
        for sub in subs:
            await sub._stop_worker()
        proto = self._proto
        self._proto = None
        self._transport = None
        if transport is not None:
            transport.close()
            if proto is not None:
                # close() only starts closing (a TLS transport first exchanges close_notify):
                # wait until the socket is really closed, so that none outlives the loop
                await asyncio.wait((proto.lost,), timeout=self.connect_timeout)
                if not proto.lost.done():
                    transport.abort()
        self._closed_event.set()
        if was_established:
            self._notify([], self._closed_cb)

    async def wait_closed(self) -> None:
        """Wait until the connection is closed."""
        await self._closed_event.wait()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<natskv.Connection {self._state.value} {self.connected_url or ''}>"


def _discard(items: list[EventCallback], item: EventCallback) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)


async def connect(
    servers: str | list[str] | tuple[str, ...] | None = None, **options: Any
) -> Connection:
    """Connect to NATS and return the :class:`Connection`.

    ``servers`` is a URL, a comma-separated list or a list of URLs; by default the
    ``NATS_URL`` environment variable, else ``nats://127.0.0.1:4222``. Use it as
    ``async with await natskv.connect() as nc: ...`` to close on exit. Options are the
    keyword arguments of :class:`Connection`.
    """
    conn = Connection(servers, **options)
    await conn._connect()
    return conn
