"""When a server goes, or is about to: which requests fail, and leaving a lame duck.

A request written to a socket that is lost may or may not have reached the server, and
its reply could only have come on that socket. Waiting out its timeout (5 s by default)
helps nobody, so it fails at once with :class:`ConnectionLostError`, for the caller to
retry if the request is safe to repeat. A request still in the client's write buffer
never left it: it stays pending and goes out after the reconnect, so nothing is ever
sent twice by the client itself. Which requests those are is read from the buffer at
the loss (:meth:`Writer.unsent_replies`), so the hot path does no bookkeeping for it.

Lame duck mode (nats-server ADR 5): on SIGUSR2 a server stops accepting connections,
tells its clients with an INFO that has ``"ldm": true``, waits a grace period (10 s by
default) and then closes its connections, spread over ``lame_duck_duration``. nats.go
only calls a handler then. natskv moves by itself when the pool has another server:
after a random pause (clients of one server do not all arrive at the next at once), new
writes wait in the buffer, the requests already on the old socket get their replies, the
socket is closed, and the reconnect tries the other servers first and sends the buffer
there. No request fails for the move, and no subscription is lost (they are replayed);
messages published to the subscriptions during the switch are missed, as core NATS
delivery is at most once (KV watchers and ordered consumers recover by sequence).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from natskv.client._pings import Pings
from natskv.client._requests import RequestMux
from natskv.client._writer import Writer
from natskv.errors import ConnectionLostError

__all__ = ["fail_in_flight", "in_flight", "leave_lame_duck"]

# the random pause before a move, at most; short against the server's grace period
LAME_DUCK_SPREAD = 0.5
# the longest wait for replies on the old socket (the request timeout if shorter)
LEAVE_WAIT = 5.0
_LEAVE_POLL = 0.01


def in_flight(mux: RequestMux, writer: Writer) -> list[str]:
    """The tokens of the pending requests that were written to the socket."""
    if not mux.futs:
        return []
    unsent = writer.unsent_replies(mux.prefix)
    return [token for token in mux.futs if token not in unsent]


def fail_in_flight(mux: RequestMux, writer: Writer, url: str) -> None:
    """The socket to ``url`` is gone: the requests written to it fail now."""
    futs = mux.futs
    for token in in_flight(mux, writer):
        fut = futs.pop(token)
        if not fut.done():
            fut.set_exception(
                ConnectionLostError(
                    f"the connection to {url} was lost before the reply came; the request"
                    " may have reached the server (retry once reconnected if it is safe)"
                )
            )


async def leave_lame_duck(
    writer: Writer,
    pings: Pings,
    mux: RequestMux,
    *,
    request_timeout: float,
    staying: Callable[[], bool],
) -> bool:
    """Get a socket ready to be closed for a move: True when the caller should close it.

    ``staying`` says whether the socket is still the connection's current one (the
    server may close it first, or the application the connection).
    """
    await asyncio.sleep(random.uniform(0, LAME_DUCK_SPREAD))
    if not staying():
        return False
    writer.flush()  # what this socket was given goes out on it
    writer.detach()  # and from now on, writes wait for the next socket
    pings.stop()
    futs = mux.futs
    pending = in_flight(mux, writer)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(request_timeout, LEAVE_WAIT)
    while staying() and any(token in futs for token in pending) and loop.time() < deadline:
        await asyncio.sleep(_LEAVE_POLL)
    return staying()
