"""The handshake with one server, and the authentication fields of CONNECT.

``dial -> INFO -> (TLS upgrade) -> CONNECT + PING -> PONG``. The PONG proves the server
accepted CONNECT: with ``verbose`` off, an ``-ERR`` (say ``Authorization Violation``) is
the only other answer, and it fails the attempt with that error. Every step has the
connection's ``connect_timeout``, through its :class:`Deadlines`.

Credentials files are read at every handshake, so a rotated file is picked up by the
next reconnect. The CONNECT line holds secrets: it is written to the socket and nowhere
else (never logged, never put into an exception).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from natskv._version import __version__
from natskv.client._auth import load_credentials, read_seed_file, sign_nonce
from natskv.client._deadlines import Deadlines
from natskv.client._options import ConnectOptions, ServerAddress
from natskv.client._pings import Pings
from natskv.client._tls import build_context, uses_tls
from natskv.client._transport import ConnectionProtocol, Dialer
from natskv.errors import AuthorizationError, NatsConnectionError, NatsError
from natskv.protocol import PING_CMD, encode_connect

__all__ = ["Handshake", "connect_fields"]


class Handshake:
    """One attempt to open a session with ``server`` over a new socket.

    The connection's reader feeds it while it runs: :meth:`on_info` with the first INFO,
    :meth:`on_error` with an ``-ERR``, :meth:`on_lost` when the socket goes.
    """

    __slots__ = ("_deadlines", "_options", "error", "info", "pong", "server")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        options: ConnectOptions,
        server: ServerAddress,
        deadlines: Deadlines,
    ) -> None:
        self._options = options
        self._deadlines = deadlines
        self.server = server
        self.info: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.pong: asyncio.Future[None] = loop.create_future()
        #: what the server said when it refused us (an -ERR during the handshake)
        self.error: NatsError | None = None

    def on_info(self, info: dict[str, Any]) -> bool:
        """The server's INFO; False when the handshake already had one (a later update)."""
        if self.info.done():
            return False
        self.info.set_result(info)
        return True

    def on_error(self, exc: NatsError) -> None:
        self.error = exc
        for fut in (self.info, self.pong):
            if not fut.done():
                fut.set_exception(exc)

    def on_lost(self, exc: Exception) -> None:
        for fut in (self.info, self.pong):
            if not fut.done():
                fut.set_exception(self.error or exc)

    async def run(
        self, dialer: Dialer, proto: ConnectionProtocol, pings: Pings
    ) -> tuple[asyncio.Transport, dict[str, Any]]:
        """Dial and handshake: the transport and the server's INFO, or an exception.

        On failure the socket is aborted and nothing of the attempt is left behind.
        """
        options = self._options
        server = self.server
        timeout = options.connect_timeout
        deadlines = self._deadlines
        hostname = options.tls_hostname or server.host
        first = options.tls_handshake_first
        pong = self.pong
        try:
            transport = await deadlines.run(
                dialer.connect(proto, server, _tls_context(options) if first else None, hostname),
                timeout,
                f"no connection to {server.url}",
            )
            info = await deadlines.wait(self.info, timeout, f"no INFO from {server.url}")
            tls = bool(info.get("tls_required")) or server.tls or uses_tls(options)
            if tls and not first:
                transport = await deadlines.run(
                    dialer.start_tls(transport, proto, _tls_context(options), hostname),
                    timeout,
                    f"no TLS handshake with {server.url}",
                )
                proto.transport = transport
            # built before the PING's waiter is queued: a credentials error leaves no waiter
            connect_cmd = encode_connect(connect_fields(options, server, info))
            pings.first(pong)
            transport.write(connect_cmd + PING_CMD)
            await deadlines.wait(pong, timeout, f"no PONG from {server.url}")
            if self.error is not None:
                raise self.error
        except BaseException:
            # gone with this socket (its PONG can never come): not left to pair with the
            # PONG of a later PING
            pings.forget(pong)
            if not pong.done():
                pong.cancel()
            elif not pong.cancelled():
                pong.exception()  # seen: what went wrong is raised from here
            if not self.info.done():
                self.info.cancel()
            elif not self.info.cancelled():
                self.info.exception()
            if proto.transport is not None:
                proto.transport.abort()
            if self.error is not None:
                raise self.error from None
            raise
        return transport, info


def _tls_context(options: ConnectOptions) -> ssl.SSLContext:
    try:
        return build_context(options)
    except ValueError as exc:  # a file changed since the options were made
        raise NatsConnectionError(str(exc)) from None


def connect_fields(
    options: ConnectOptions, server: ServerAddress, info: dict[str, Any]
) -> dict[str, Any]:
    """The CONNECT object for ``server`` (``None`` values are left out when encoded)."""
    fields: dict[str, Any] = {
        "verbose": False,
        "pedantic": False,
        "lang": "python3",
        "version": __version__,
        "protocol": 1,
        "headers": True,
        "no_responders": True,
        "echo": not options.no_echo,
        "name": options.name,
        "tls_required": bool(info.get("tls_required")) or None,
    }
    # credentials of the options win over those of the URL
    explicit = (
        options.user is not None
        or options.token is not None
        or options.nkeys_seed is not None
        or options.nkeys_seed_file is not None
        or options.user_credentials is not None
    )
    if options.user is not None:
        fields["user"] = options.user
        fields["pass"] = options.password
    elif options.token is not None:
        fields["auth_token"] = options.token
    elif not explicit:
        if server.user is not None:
            fields["user"] = server.user
            fields["pass"] = server.password
        elif server.token is not None:
            fields["auth_token"] = server.token
    nonce = info.get("nonce")
    if options.user_credentials is not None:
        jwt, seed = load_credentials(options.user_credentials)
        fields["jwt"] = jwt
        if nonce:
            fields["sig"], _ = sign_nonce(seed, nonce)
    elif options.nkeys_seed is not None or options.nkeys_seed_file is not None:
        if not nonce:
            raise AuthorizationError("the server sent no nonce for NKey authentication")
        given = options.nkeys_seed
        if given is not None:
            seed = given.encode() if isinstance(given, str) else given
        else:
            assert options.nkeys_seed_file is not None
            try:
                seed = read_seed_file(options.nkeys_seed_file)
            except (OSError, ValueError) as exc:
                raise NatsError(str(exc)) from None
        fields["sig"], fields["nkey"] = sign_nonce(seed, nonce)
    return fields
