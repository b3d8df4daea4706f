"""The asyncio NATS connection: its life cycle and its public API (made by ``connect()``,
:mod:`._connect`).

A connection is a state machine over a series of sockets::

    CONNECTING --handshake--> CONNECTED --socket lost--> RECONNECTING --handshake--> CONNECTED
         |                       |                            |
         +--all servers failed---+---close() / drain()--------+----> (DRAINING) --> CLOSED

Each job has its part, and this module wires them together: the write buffer and its
coalescing (:mod:`._writer`), the request table (:mod:`._requests`), every timeout
(:mod:`._deadlines`), PING/PONG (:mod:`._pings`), the handshake and authentication
(:mod:`._handshake`), the server pool and the order servers are tried in (:mod:`._pool`),
the subscription table (:mod:`._subscriptions`), the socket
(:mod:`._transport`), what the application is told (:mod:`._events`, with the status
streams of :mod:`._status`) and what happens to requests when a server goes or enters
lame duck mode (:mod:`._faults`).

The read path runs inside ``data_received``: the sans-IO parser turns bytes into
events, and each is dispatched right there: a reply resolves its request's future, a
message goes to its subscription, a PING is answered. No task is created per message.

Connection events go to the ``natskv.client`` logger (connected, disconnected,
reconnecting, reconnected, lame duck, closed, server errors, errors raised by callbacks; see
:mod:`._events`); nothing logged holds a credential.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from natskv.client._deadlines import Deadlines
from natskv.client._events import Events, logger
from natskv.client._faults import fail_in_flight, leave_lame_duck
from natskv.client._handshake import Handshake
from natskv.client._lowlevel import Headers, LowLevel, header_block
from natskv.client._nuid import NUID
from natskv.client._options import ConnectOptions, EventCallback, ServerAddress
from natskv.client._pings import Pings
from natskv.client._pool import ServerPool
from natskv.client._requests import ReplyWaiter, RequestMux
from natskv.client._status import DEFAULT_STATUS_QUEUE, LameDuck, StatusStream
from natskv.client._subscription import MessageHandler, Subscription
from natskv.client._subscriptions import Subscriptions
from natskv.client._transport import ConnectionProtocol, Dialer, TCPDialer
from natskv.client._writer import Writer
from natskv.errors import (
    AuthorizationError,
    ConnectionClosedError,
    ConnectionLostError,
    NatsConnectionError,
    NatsError,
    NoRespondersError,
    ProtocolError,
    TimeoutError,
    server_error_from,
)
from natskv.protocol import OK, PING, PONG, PONG_CMD, Err, Info, Msg, Parser, check_subject

__all__ = ["Connection", "ConnectionState"]

# A MSG line carries what the PUB line did plus the subscription id: room for it, so a
# message the server accepted is never refused by our own parser on delivery.
_DELIVERY_SLACK = 64
# the Future class itself (what loop.create_future() returns, on asyncio and on uvloop),
# without the Python frame of create_future on every request
_Future = asyncio.Future


class ConnectionState(Enum):
    """The life cycle of a :class:`Connection`."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DRAINING = "draining"
    CLOSED = "closed"


class Connection:
    """A connection to a NATS server (or cluster), with reconnect. Made by :func:`connect`.

    ``lowlevel`` holds the non-awaiting entry points (``publish_nowait``,
    ``request_future``, reply streams, ...) that natskv's JetStream and Key/Value layers
    use on their hot paths. They are documented there, but are not part of the stable
    API.
    """

    def __init__(
        self,
        servers: str | list[str] | tuple[str, ...] | None = None,
        options: ConnectOptions | None = None,
    ) -> None:
        options = options if options is not None else ConnectOptions()
        self._options = options
        self._pool = ServerPool(servers, ignore_discovered=options.ignore_discovered_servers)
        self._loop = loop = asyncio.get_running_loop()
        self._dialer: Dialer = options.dialer if options.dialer is not None else TCPDialer()
        self._request_timeout = options.request_timeout
        self._state = ConnectionState.CONNECTING
        self._proto: ConnectionProtocol | None = None
        self._parser = Parser(max_control_line=options.max_control_line + _DELIVERY_SLACK)
        self._server_info: dict[str, Any] = {}
        self._current: ServerAddress | None = None
        self._handshake: Handshake | None = None

        self._events = Events(loop, options.error_cb)
        self._report_error = self._events.report_error
        self._nuid = NUID()
        self._mux = RequestMux(f"{options.inbox_prefix}.{self._nuid.next()}.")
        self._deadlines = Deadlines(loop, self._mux.futs)
        self._writer = Writer(
            loop, limit=options.reconnect_buffer_size, max_control_line=options.max_control_line
        )
        self._pings = Pings(
            loop,
            self._writer,
            interval=options.ping_interval,
            max_outstanding=options.max_outstanding_pings,
            on_stale=self._stale,
        )
        self._subs = Subscriptions(
            loop,
            self._writer,
            self._pings,
            self._deadlines,
            self._report_error,
            pending_msgs_limit=options.pending_msgs_limit,
            pending_bytes_limit=options.pending_bytes_limit,
            drain_timeout=options.request_timeout,
        )

        self._reconnect_task: asyncio.Task[None] | None = None
        self._leaving: asyncio.Task[None] | None = None
        self._left_lame_duck = False  # the socket being closed is ours to close
        self._closed_event = asyncio.Event()

        self.msgs_in = 0
        self.bytes_in = 0
        self.reconnects = 0
        #: the low-level entry points of natskv's own layers (see the class docstring)
        self.lowlevel = LowLevel(self, self._writer, self._subs, self._mux, self._deadlines)

    # ------------------------------------------------------------------ properties

    @property
    def options(self) -> ConnectOptions:
        """The options this connection was made with."""
        return self._options

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
        return self._writer.max_payload

    @property
    def connected_url(self) -> str | None:
        """The URL of the server we are connected to (without credentials)."""
        return self._current.url if self._current and self.is_connected else None

    @property
    def servers(self) -> list[str]:
        """The server pool (including servers discovered from the cluster)."""
        return self._pool.urls

    @property
    def last_error(self) -> Exception | None:
        """The last asynchronous error seen (also passed to ``error_cb``)."""
        return self._events.last_error

    @property
    def msgs_out(self) -> int:
        """Messages queued for sending so far."""
        return self._writer.msgs_out + self._writer.thread_msgs_out

    @property
    def bytes_out(self) -> int:
        """Bytes written to sockets so far."""
        return self._writer.bytes_out + self._writer.thread_bytes_out

    def new_inbox(self) -> str:
        """A new unique inbox subject."""
        return f"{self._options.inbox_prefix}.{self._nuid.next()}"

    # ------------------------------------------------------------------ publish / subscribe

    async def publish(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        reply: str | None = None,
        headers: Headers = None,
    ) -> None:
        """Publish a message. Returns once it is queued (waits only if the socket is full).

        ``headers`` is a mapping (a list value repeats the name) or an encoded header
        block. Raises :class:`MaxPayloadError` or :class:`BadSubjectError` before anything
        is sent when the server would refuse the message.
        """
        check_subject(subject)
        if reply is not None:
            check_subject(reply, "reply subject")
        writer = self._writer
        writer.publish(subject, reply, payload, None if headers is None else header_block(headers))
        if writer.paused:
            await writer.drained()

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
        returned :class:`Subscription`. ``max_msgs`` unsubscribes after that many."""
        return self._subs.add(
            subject,
            queue,
            cb,
            max_msgs=max_msgs,
            pending_msgs_limit=pending_msgs_limit,
            pending_bytes_limit=pending_bytes_limit,
        )

    async def flush(self, timeout: float | None = None) -> None:
        """Send everything queued and wait until the server has processed it (PING/PONG).

        Raises :class:`natskv.TimeoutError` after ``timeout`` (default: ``request_timeout``).
        """
        self._writer.check_open()
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pings.ping(fut)
        await self._deadlines.wait(
            fut,
            self._request_timeout if timeout is None else timeout,
            "flush: no PONG from the server",
        )

    # ------------------------------------------------------------------ request / reply

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
        except ConnectionLostError as exc:
            raise ConnectionLostError(f"request to {subject!r}: {exc}") from None
        except asyncio.CancelledError:
            self._mux.futs.pop(token, None)
            raise

    def _start_request(
        self,
        subject: str,
        payload: bytes,
        headers: Headers,
        timeout: float | None,
        checked: bool,
        waiter: ReplyWaiter | None = None,
    ) -> tuple[str, asyncio.Future[Msg]]:
        """Send a request and register its reply future under a new token.

        Every request form (``request``, ``lowlevel.request_future``, ...) goes through
        here, once per request: the hot path of request/reply. ``waiter`` takes the
        future's place for a request made from another thread (``lowlevel``'s
        ``request_threadsafe``); what is returned is then that waiter.
        """
        if not checked:
            check_subject(subject)
        mux = self._mux
        if not mux.sid:
            self._ensure_resp_sub()
        mux.token += 1
        token = str(mux.token)
        self._writer.publish(
            subject,
            mux.prefix + token,
            payload,
            None if headers is None else header_block(headers),
        )
        if waiter is None:
            fut: asyncio.Future[Msg] = _Future(loop=self._loop)
            mux.futs[token] = fut
        else:
            mux.futs[token] = waiter
            fut = waiter  # type: ignore[assignment]  # the caller knows what it passed
        self._deadlines.request(
            token, subject, self._request_timeout if timeout is None else timeout
        )
        return token, fut

    def _ensure_resp_sub(self) -> None:
        if not self._mux.sid:
            # replies are routed by this id in _data_received, before any subscription lookup
            self._mux.sid = self._subs.add(self._mux.prefix + "*", None, None).sid

    # ------------------------------------------------------------------ listeners

    def status(self, *, maxsize: int = DEFAULT_STATUS_QUEUE) -> StatusStream:
        """The status changes from now on, as typed events::

            async for event in nc.status():
                match event:
                    case natskv.client.Disconnected(url=url): ...

        Events are :class:`~natskv.client.Disconnected`, :class:`~natskv.client.Reconnected`,
        :class:`~natskv.client.LameDuck`, :class:`~natskv.client.AsyncError` and, last,
        :class:`~natskv.client.Closed`, after which the iteration ends. At most ``maxsize``
        events wait for the reader; older ones are dropped (and counted in ``dropped``).
        ``close()`` the stream (or use it with ``async with``) to stop earlier. On a closed
        connection the stream is empty.
        """
        stream = self._events.status(maxsize)
        if self._state is ConnectionState.CLOSED:
            stream.close()
        return stream

    def add_reconnect_listener(self, cb: EventCallback) -> Callable[[], None]:
        """Call ``cb`` every time the connection is re-established. Returns a remover."""
        return self._events.add_reconnect_listener(cb)

    def add_disconnect_listener(self, cb: EventCallback) -> Callable[[], None]:
        """Call ``cb`` every time the connection is lost. Returns a remover."""
        return self._events.add_disconnect_listener(cb)

    # ------------------------------------------------------------------ reading

    def _is_current(self, proto: ConnectionProtocol) -> bool:
        return proto is self._proto

    def _data_received(self, data: bytes) -> None:
        try:
            events = self._parser.feed(data)
        except ProtocolError as exc:
            self._report_error(exc)
            proto = self._proto
            if proto is not None and proto.transport is not None:
                proto.transport.abort()
            return
        self.bytes_in += len(data)
        subs = self._subs.by_sid
        mux = self._mux
        resp_sid = mux.sid
        for ev in events:
            if type(ev) is Msg:
                self.msgs_in += 1
                if ev.sid == resp_sid:
                    mux.route(ev)
                    continue
                sub = subs.get(ev.sid)
                if sub is not None:
                    sub._deliver(ev)
            elif ev is PING:
                self._writer.write_now(PONG_CMD)
            elif ev is PONG:
                self._pings.pong()
            elif type(ev) is Info:
                handshake = self._handshake
                if handshake is None or not handshake.on_info(ev.options):
                    self._apply_info(ev.options)
            elif type(ev) is Err:
                self._server_error(ev.message)
            elif ev is OK:
                pass

    def _apply_info(self, info: dict[str, Any]) -> None:
        self._server_info = info
        self._writer.max_payload = int(info.get("max_payload", self._writer.max_payload))
        self._pool.discover(info.get("connect_urls") or ())
        if info.get("ldm"):
            self._lame_duck(info)

    def _server_error(self, message: str) -> None:
        # one table (errors.server_error_from) says what an -ERR means and whether the
        # server closes the connection after it; a handshake in progress fails on those
        exc, closes = server_error_from(message)
        handshake = self._handshake
        if closes and handshake is not None:
            handshake.on_error(exc)
        self._report_error(exc)

    # ------------------------------------------------------------------ lame duck mode

    def _lame_duck(self, info: dict[str, Any]) -> None:
        """The server will close its connections soon: tell the application and, when
        the pool has another server, leave for it before the server cuts us."""
        server, proto = self._current, self._proto
        if server is None or proto is None or self._state is not ConnectionState.CONNECTED:
            return  # an INFO of a handshake (a server in lame duck mode refuses those)
        if self._leaving is not None:
            return  # already on the way out
        moving = bool(self._pool.others(server)) and self._options.allow_reconnect
        server_id = str(info.get("server_id") or "?")
        logger.warning(
            "server %s (%s) is in lame duck mode: %s",
            server.url,
            server_id,
            "moving to another server" if moving else "no other server to move to",
        )
        self._events.lame_duck(self._options.lame_duck_cb, LameDuck(server.url, server_id, moving))
        if moving:
            self._leaving = self._loop.create_task(self._leave(proto))

    async def _leave(self, proto: ConnectionProtocol) -> None:
        def staying() -> bool:
            return self._proto is proto and self._state is ConnectionState.CONNECTED

        try:
            if await leave_lame_duck(
                self._writer,
                self._pings,
                self._mux,
                request_timeout=self._request_timeout,
                staying=staying,
            ):
                url = self._current.url if self._current else "?"
                logger.info("leaving %s (lame duck mode)", url)
                self._left_lame_duck = True
                if proto.transport is not None:
                    proto.transport.close()
        finally:
            self._leaving = None

    # ------------------------------------------------------------------ connecting

    async def _connect(self) -> None:
        errors: list[str] = []
        for server in list(self._pool):
            try:
                transport = await self._connect_to(server)
            except (OSError, asyncio.TimeoutError, NatsError) as exc:
                if isinstance(exc, AuthorizationError):
                    await self._shutdown(exc)
                    raise
                logger.warning("could not connect to %s: %s", server.url, exc)
                errors.append(f"{server.url}: {exc or type(exc).__name__}")
                continue
            self._state = ConnectionState.CONNECTED
            self._writer.attach(transport, [])
            self._pings.start()
            logger.info("connected to %s%s", server.url, _describe(self._server_info))
            return
        await self._shutdown(None)
        raise NatsConnectionError("could not connect to any server: " + "; ".join(errors))

    async def _connect_to(self, server: ServerAddress) -> asyncio.Transport:
        """One handshake with ``server``; on success it is the current server."""
        self._parser.reset()
        handshake = Handshake(self._loop, self._options, server, self._deadlines)
        proto = ConnectionProtocol(self, self._loop)
        self._handshake = handshake
        self._proto = proto
        try:
            transport, info = await handshake.run(self._dialer, proto, self._pings)
        except BaseException:
            if self._proto is proto:
                self._proto = None
            raise
        finally:
            self._handshake = None
        self._apply_info(info)
        self._current = server
        return transport

    def _stale(self) -> None:
        self._report_error(NatsConnectionError("stale connection: no PONG from the server"))
        proto = self._proto
        if proto is not None and proto.transport is not None:
            proto.transport.abort()

    # ------------------------------------------------------------------ reconnecting

    def _pause_writing(self) -> None:
        self._writer.pause()

    def _resume_writing(self) -> None:
        self._writer.resume()

    def _connection_lost(self, proto: ConnectionProtocol, exc: Exception | None) -> None:
        if proto is not self._proto:
            return
        self._proto = None
        self._writer.detach()
        self._pings.stop()
        lost = NatsConnectionError(f"connection lost: {exc}" if exc else "connection lost")
        handshake = self._handshake
        if handshake is not None:
            handshake.on_lost(lost)
        self._pings.fail_sent(handshake.error if handshake and handshake.error else lost)
        if handshake is not None or self._state not in (
            ConnectionState.CONNECTED,
            ConnectionState.DRAINING,
        ):
            # A socket lost mid-handshake fails only that attempt (its waiters were failed
            # above): the connect or reconnect loop that made it decides what comes next.
            return
        url = self._current.url if self._current else "?"
        if self._left_lame_duck:
            self._left_lame_duck = False
            logger.info("disconnected from %s: left it in lame duck mode", url)
        else:
            logger.warning("disconnected from %s: %s", url, exc or "the server closed the socket")
        fail_in_flight(self._mux, self._writer, url)
        self._events.disconnected(self._options.disconnected_cb, url, exc)
        if self._options.allow_reconnect and self._state is not ConnectionState.DRAINING:
            self._state = ConnectionState.RECONNECTING
            logger.info("reconnecting (%d servers in the pool)", len(self._pool))
            self._reconnect_task = self._loop.create_task(self._reconnect())
        else:
            self._events.spawn(self._shutdown(lost))

    async def _reconnect(self) -> None:
        options = self._options
        limit = options.max_reconnect_attempts
        attempts: dict[ServerAddress, int] = {}
        current = self._current
        try:
            while self._state is ConnectionState.RECONNECTING:
                # the others first, the lost one last
                candidates = self._pool.reconnect_order(attempts, limit, current)
                if not candidates:
                    logger.error("reconnect attempts exhausted: closing")
                    await self._shutdown(NatsConnectionError("reconnect attempts exhausted"))
                    return
                for server in candidates:
                    if self._state is not ConnectionState.RECONNECTING:
                        return
                    if attempts.get(server, 0) or server is current:
                        jitter = random.uniform(0, options.reconnect_jitter)
                        await asyncio.sleep(options.reconnect_time_wait + jitter)
                    attempts[server] = attempts.get(server, 0) + 1
                    logger.debug("reconnect attempt %d to %s", attempts[server], server.url)
                    try:
                        transport = await self._connect_to(server)
                    except (OSError, asyncio.TimeoutError, NatsError) as exc:
                        logger.warning("reconnect to %s failed: %s", server.url, exc)
                        self._report_error(exc, log=False)
                        continue
                    self._after_reconnect(transport)
                    return
                current = None
        except asyncio.CancelledError:
            pass

    def _after_reconnect(self, transport: asyncio.Transport) -> None:
        self._state = ConnectionState.CONNECTED
        self.reconnects += 1
        # subscriptions first, then what was buffered while disconnected, in one write
        self._writer.attach(transport, self._subs.replay())
        self._pings.start()
        url = self._current.url if self._current else "?"
        logger.info("reconnected to %s%s", url, _describe(self._server_info))
        self._events.reconnected(self._options.reconnected_cb, url)

    # ------------------------------------------------------------------ closing

    async def drain(self, timeout: float = 30.0) -> None:
        """Unsubscribe everything, let callbacks finish what they received, then close."""
        if self.is_closed:
            return
        self._state = ConnectionState.DRAINING
        subs = [s for s in self._subs.by_sid.values() if s.sid != self._mux.sid]
        try:
            await self._subs.drain(subs, timeout)
            workers = [s._worker for s in subs if s._worker is not None]
            if workers:
                await self._deadlines.run(
                    asyncio.gather(*workers, return_exceptions=True),
                    timeout,
                    "drain: callbacks still busy",
                )
        except TimeoutError as exc:
            self._report_error(exc)
        finally:
            await self.close()

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
            self._events.last_error = error
        for task in (self._reconnect_task, self._leaving):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self._pings.stop()
        proto = self._proto
        if (
            self._writer.transport is None
            and self._handshake is None
            and proto is not None
            and proto.transport is not None
        ):
            # closed in the middle of a move off a lame duck: the old socket is still the
            # one, so what waits in the buffer goes out on it, and it is closed below
            self._writer.attach(proto.transport, [])
        transport = self._writer.transport
        self._writer.close()  # what is queued still goes out
        self._mux.close(self._report_error)
        self._deadlines.clear()
        self._pings.fail_all(ConnectionClosedError("the connection was closed"))
        subs = self._subs.close()
        for sub in subs:
            await sub._stop_worker()
        proto = self._proto
        self._proto = None
        if transport is not None:
            transport.close()
            if proto is not None:
                # close() only starts closing (a TLS transport first exchanges close_notify):
                # wait until the socket is really closed, so that none outlives the loop
                try:
                    await self._deadlines.wait(
                        proto.lost, self._options.connect_timeout, "closing: the socket stays open"
                    )
                except TimeoutError:
                    transport.abort()
        self._deadlines.clear()
        self._closed_event.set()
        url = self._current.url if self._current else None
        if was_established:
            logger.info("closed the connection to %s%s", url, f": {error}" if error else "")
            self._events.closed(self._options.closed_cb, error)
        else:
            self._events.end_streams()

    async def wait_closed(self) -> None:
        """Wait until the connection is closed."""
        await self._closed_event.wait()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<natskv.Connection {self._state.value} {self.connected_url or ''}>"


def _describe(info: Mapping[str, Any]) -> str:
    name = info.get("server_name") or info.get("server_id")
    version = info.get("version")
    return f" (server {name}, version {version})" if name else ""
