"""The subscription table of a connection: SUB and UNSUB, ids, draining, replay.

The connection routes each delivered message by its subscription id through
:attr:`Subscriptions.by_sid`. After a reconnect :meth:`Subscriptions.replay` gives the
frames that re-establish every interest on the new server (with what is left of an
auto-unsubscribe limit), written before anything buffered while disconnected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from natskv.client._deadlines import Deadlines
from natskv.client._pings import Pings
from natskv.client._subscription import MessageHandler, Subscription
from natskv.client._writer import Writer
from natskv.errors import NatsError, TimeoutError
from natskv.protocol import check_subject, encode_sub, encode_unsub

__all__ = ["Subscriptions"]

Reporter = Callable[[Exception, bool], None]


class Subscriptions:
    """Every live subscription of one connection, by id (implements SubscriptionOwner)."""

    __slots__ = (
        "_bytes_limit",
        "_deadlines",
        "_drain_timeout",
        "_loop",
        "_msgs_limit",
        "_pings",
        "_report",
        "_sid",
        "_writer",
        "by_sid",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        writer: Writer,
        pings: Pings,
        deadlines: Deadlines,
        report: Reporter,
        *,
        pending_msgs_limit: int,
        pending_bytes_limit: int,
        drain_timeout: float,
    ) -> None:
        self._loop = loop
        self._writer = writer
        self._pings = pings
        self._deadlines = deadlines
        self._report = report
        self._msgs_limit = pending_msgs_limit
        self._bytes_limit = pending_bytes_limit
        self._drain_timeout = drain_timeout
        self._sid = 0
        #: subscription id -> subscription, read by the connection for every message
        self.by_sid: dict[int, Subscription] = {}

    def add(
        self,
        subject: str,
        queue: str | None,
        cb: MessageHandler | None,
        *,
        max_msgs: int = 0,
        pending_msgs_limit: int | None = None,
        pending_bytes_limit: int | None = None,
    ) -> Subscription:
        """Subscribe: everything is checked before the subscription exists or SUB is queued."""
        self._writer.check_open()
        check_subject(subject)
        if max_msgs < 0:
            raise ValueError(f"max_msgs must be 0 (no limit) or more, not {max_msgs}")
        sid = self._sid + 1
        writer = self._writer
        line = encode_sub(subject, sid, queue)  # checks the queue group
        writer.check_command(line, "SUB")  # the server would close the connection
        # While disconnected only the table is updated: the replay after the handshake
        # sends every subscription (and its limit) once, ahead of the buffered writes.
        online = writer.transport is not None
        if online:
            writer.enqueue(line)
        self._sid = sid
        sub = Subscription(
            self,
            sid,
            subject,
            queue,
            cb,
            pending_msgs_limit=pending_msgs_limit or self._msgs_limit,
            pending_bytes_limit=pending_bytes_limit or self._bytes_limit,
        )
        self.by_sid[sid] = sub
        if max_msgs:
            sub._max_msgs = max_msgs
            if online:
                writer.enqueue(encode_unsub(sid, max_msgs))
        return sub

    # -- SubscriptionOwner -----------------------------------------------------------------

    def report_error(self, exc: Exception, *, log: bool = True) -> None:
        self._report(exc, log)

    def unsubscribe(self, sub: Subscription, limit: int = 0) -> None:
        if sub.sid not in self.by_sid:
            sub._finish()
            return
        # offline, the replay after the handshake tells the server (or leaves sub out)
        online = self._writer.transport is not None
        if limit and sub._delivered < limit:
            sub._max_msgs = limit
            if online:
                self._writer.enqueue(encode_unsub(sub.sid, limit))
            return
        self.remove(sub)
        if online:
            self._writer.enqueue(encode_unsub(sub.sid))
        sub._finish()

    def remove(self, sub: Subscription) -> None:
        self.by_sid.pop(sub.sid, None)

    async def drain(self, subs: list[Subscription], timeout: float | None = None) -> None:
        """UNSUB, but keep delivering until the server confirms it (PING/PONG): messages it
        sent before it processed the UNSUB are still on their way and belong to the
        subscriptions. Then the subscriptions end; readers finish what they hold."""
        if timeout is None:
            timeout = self._drain_timeout
        try:
            if self._writer.closed:
                return
            if self._writer.transport is not None:
                for sub in subs:
                    if sub.sid in self.by_sid:
                        self._writer.enqueue(encode_unsub(sub.sid))
            fut: asyncio.Future[None] = self._loop.create_future()
            self._pings.ping(fut)
            try:
                await self._deadlines.wait(fut, timeout, "drain: no PONG from the server")
            except TimeoutError as exc:
                self._report(exc, True)
            except NatsError:
                pass  # the connection closed or was lost: nothing more will come anyway
        finally:
            for sub in subs:
                self.remove(sub)
                sub._finish()

    async def wait(self, fut: asyncio.Future[None], timeout: float, what: str) -> None:
        await self._deadlines.wait(fut, timeout, what)

    # -- reconnect and close -----------------------------------------------------------

    def replay(self) -> list[bytes]:
        """The frames that restore every subscription on a new server."""
        frames = [encode_sub(s.subject, s.sid, s.queue) for s in self.by_sid.values()]
        for s in self.by_sid.values():
            if s._max_msgs:
                frames.append(encode_unsub(s.sid, max(1, s._max_msgs - s._delivered)))
        return frames

    def close(self) -> list[Subscription]:
        """End every subscription (readers wake up); returns them to stop their workers."""
        subs = list(self.by_sid.values())
        self.by_sid.clear()
        for sub in subs:
            sub._finish()
        return subs
