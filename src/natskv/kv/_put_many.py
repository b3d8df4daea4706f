"""Pipelined writes: ``put_many``'s sliding window of acknowledgements.

One reply handler serves the whole batch, with no future or deadline per put: the acks
are filed by index straight from the connection's reader, the caller wakes once per
refill of half the window (so the server never idles), and the acks that came are
decoded together (:meth:`JetStream.pub_acks`). It is built from the JetStream context, the
bucket's description and the payloads the store has validated and encoded, never from the
store.
"""

from __future__ import annotations

import asyncio
from typing import cast

from natskv.client import Msg
from natskv.errors import ConnectionClosedError, NoRespondersError, TimeoutError
from natskv.jetstream import JetStream
from natskv.kv._bucket import Bucket
from natskv.kv._replies import ack_revision, retry_request

__all__ = ["put_many"]

_NO_RESPONDERS = b"NATS/1.0 503"


async def put_many(
    js: JetStream,
    bucket: Bucket,
    keys: list[str],
    payloads: list[bytes],
    *,
    window: int,
    timeout: float,
) -> list[int]:
    """Put ``payloads[i]`` (already encoded) under the validated ``keys[i]`` of ``bucket``,
    up to ``window`` in flight; returns the revisions in order (see :meth:`KVStore.put_many`).

    ``timeout`` bounds the wait for the next acknowledgement, and the retries of a put that
    met no responders.
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    results: list[int] = []
    n = len(keys)
    if not n:
        return results
    name = bucket.name
    nc = js.nc
    prefix = bucket.write_prefix
    subjects = [prefix + key for key in keys]
    acks = _AckWindow(n)
    reply_prefix, close = nc.lowlevel.open_reply_stream(
        acks.on_reply, many_subjects=True, on_close=acks.on_close
    )
    acks.prefix_len = len(reply_prefix)
    refill = max(1, window // 2)
    got = acks.acks
    sent = done = 0
    try:
        while done < n:
            limit = min(n, acks.received + window)
            if sent < limit:
                replies = [f"{reply_prefix}{i}" for i in range(sent, limit)]
                nc.lowlevel.publish_many(
                    zip(subjects[sent:limit], payloads[sent:limit], replies, strict=True),
                    checked=True,
                )
                sent = limit
            await acks.wait(n if sent == n else sent - refill + 1, timeout, name, done)
            try:
                end = got.index(None, done)
            except ValueError:
                end = n
            taken = cast("list[bytes]", got[done:end])
            got[done:end] = [b""] * (end - done)  # frees the replies; duplicates ignored
            decoded = JetStream.pub_acks(taken)
            if decoded is not None:
                results.extend([ack.seq for ack in decoded])
            else:
                for i, data in enumerate(taken, done):
                    reply: Msg | bytes = data
                    if not data and i in acks.no_responders:
                        # stored nowhere: retried alone (or the bucket is gone)
                        subject = subjects[i]
                        reply = await retry_request(
                            js,
                            name,
                            NoRespondersError(subject),
                            subject,
                            payloads[i],
                            None,
                            timeout,
                        )
                    results.append(ack_revision(reply, name, keys[i], None))
            done = end
    finally:
        close()
    return results


class _AckWindow:
    """The acknowledgements of one :meth:`KVStore.put_many`, filed by index as they come."""

    __slots__ = ("acks", "closed", "no_responders", "prefix_len", "received", "waiter", "want")

    def __init__(self, n: int) -> None:
        self.closed: ConnectionClosedError | None = None
        self.acks: list[bytes | None] = [None] * n
        self.no_responders: set[int] = set()
        self.prefix_len = 0
        self.received = 0
        self.want = 0
        self.waiter: asyncio.Future[None] | None = None

    def on_reply(self, msg: Msg) -> None:
        try:
            i = int(msg.subject[self.prefix_len :])
        except ValueError:
            return  # not ours
        acks = self.acks
        if not 0 <= i < len(acks) or acks[i] is not None:
            return  # not ours, or a duplicate
        data = msg.data
        if not data:
            raw = msg.raw_headers
            if raw is not None and raw.startswith(_NO_RESPONDERS):
                self.no_responders.add(i)
        acks[i] = data
        self.received += 1
        if self.received >= self.want:
            waiter = self.waiter
            if waiter is not None:
                self.waiter = None
                if not waiter.done():
                    waiter.set_result(None)

    def on_close(self, exc: ConnectionClosedError) -> None:
        self.closed = exc
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, want: int, timeout: float, bucket: str, oldest: int) -> None:
        """Wait until ``want`` acks in all have come (at most ``timeout`` without one)."""
        while self.received < want:
            if self.closed is not None:
                raise self.closed
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()
            self.want = want
            self.waiter = waiter
            before = self.received
            timer = loop.call_later(timeout, _expire, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self.waiter = None
            if self.closed is not None:
                raise self.closed
            if self.received == before:  # expired with no progress at all
                missing = next(i for i, a in enumerate(self.acks) if a is None and i >= oldest)
                raise TimeoutError(
                    f"no acknowledgement for a put to {bucket!r} within {timeout:g}s "
                    f"(put number {missing} of the batch)"
                )


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
