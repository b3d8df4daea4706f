"""The ordered push consumer (ADR-17): the engine behind watch, keys and history.

Messages are handled inline in the connection's ``data_received`` (a plain callback, no
task per message): control messages are answered or checked, data messages are checked for
consumer-sequence gaps and queued as ``(msg, stream_seq, timestamp_ns, pending)`` tuples.
The reader takes everything queued in one :meth:`OrderedConsumer.next_batch` call.

Backpressure: flow-control requests are answered only when the reader takes the batch
that contains them, so a slow reader stops the server instead of growing memory. Control
messages are never dropped.

The initial snapshot: a consumer that does not deliver only new messages first sends what
the stream held when it was created. :attr:`OrderedConsumer.caught_up` turns true when the
reader has been handed the whole snapshot; the server's pending counts are not used for it
(a clustered server can report a stale 0, nats.py #995). The snapshot ends, for the consumer
that serves it (``N`` its ``num_pending`` when it was created, ``L`` the stream's last
sequence read right after that):

1. at once when ``N`` is 0;
2. after its delivery number ``N``: the server sends the snapshot first, in stream order, so
   that is its last message, or, when some of it vanished before it was sent, a later one;
3. after a delivery of stream sequence ``L``, or before the first one above ``L``: nothing
   of the snapshot lies beyond ``L`` (this ends a snapshot whose tail was removed while
   messages keep coming);
4. at an idle heartbeat in step with the deliveries whose ``Nats-Last-Stream`` is at least
   ``L``: the server looked past ``L`` and had nothing more (this ends a snapshot whose tail
   expired, or was purged, before it was sent; it comes one heartbeat interval later).

The subscription is made only after the consumer exists and ``L`` is read: a push consumer
sends nothing while its deliver subject has no interest, so no delivery comes before the
numbers it is measured against. The end is queued as a marker where it falls among the
deliveries, and a batch ends there.

Recovery: on a sequence gap, a missed heartbeat (two intervals of silence), a reconnect or
the server's advisory that the stream was deleted, the consumer is recreated from the last
delivered stream sequence + 1 with a new name and inbox, and the old one is deleted, so
nothing is lost, duplicated or orphaned. A reset inside a ``last_per_subject`` snapshot takes
a new snapshot instead (skipping what was delivered), since resuming by sequence would
replay older revisions of the rest; the new consumer's own ``N`` and ``L`` then decide where
the snapshot ends, so a key delivered before the reset and written since is not miscounted.
A deleted stream ends the reader with :class:`~natskv.StreamNotFoundError` within a round
trip of the advisory (after two missed heartbeats where advisories are not visible).

Releasing: :meth:`OrderedConsumer.stop` deletes the consumer and waits for the answer;
:meth:`OrderedConsumer.stop_nowait` (for finalizers) removes the subscription at once and
sends the delete without waiting, from any thread and even as the event loop shuts down. As
a last resort the server deletes a consumer whose deliver subject lost its subscriber for
a few seconds (``inactive_threshold``): a process that vanished leaves nothing for long.

Resets (with their cause), retries and failures are logged on ``natskv.jetstream``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from natskv.client import Connection, Msg, Subscription
from natskv.errors import (
    APIError,
    ConnectionClosedError,
    JetStreamError,
    NatsError,
    StreamNotFoundError,
    TimeoutError,
)
from natskv.jetstream._models import ConsumerConfig, ConsumerInfo

if TYPE_CHECKING:
    from natskv.jetstream._context import JetStream

__all__ = ["Delivered", "OrderedConsumer"]

#: ``(message, stream sequence, timestamp in ns, pending count)``
Delivered = tuple[Msg, int, int, int]

_log = logging.getLogger("natskv.jetstream")

_CONTROL = b"NATS/1.0 100"
_ACK_WAIT_NS = 22 * 3600 * 1_000_000_000
# How long the server keeps a consumer whose deliver subject has no subscriber. The client
# recreates its consumer after every disconnect anyway, so a short threshold costs nothing.
_INACTIVE_NS = 5 * 1_000_000_000
_NS = 1_000_000_000
_NEVER = 1 << 62
# The reply field of the marker queued where the snapshot ends (flow-control markers carry
# the server's reply subject there, which is never empty).
_END = ""
_STREAM_DELETED = "$JS.EVENT.ADVISORY.STREAM.DELETED."


class _StreamDeletions:
    """The server's stream-deleted advisories of one connection, passed to the consumers of
    that stream. One subscription per connection (made with its first consumer) serves all."""

    __slots__ = ("consumers",)

    def __init__(self) -> None:
        self.consumers: dict[str, set[OrderedConsumer]] = {}

    def on_msg(self, msg: Msg) -> None:
        stream = msg.subject[len(_STREAM_DELETED) :]
        for consumer in list(self.consumers.get(stream, ())):
            consumer._on_stream_deleted()


# Keyed weakly by connection; the value refers to no connection, so none is kept alive.
_deletions: weakref.WeakKeyDictionary[Connection, _StreamDeletions] = weakref.WeakKeyDictionary()


def _unsubscribe_now(sub: Subscription) -> None:
    """``sub.unsubscribe()`` without a loop turn: for a subscription with a plain callback it
    never suspends (there is no worker task to stop), and its UNSUB is written before any
    suspension anyway."""
    coro = sub.unsubscribe()
    try:
        coro.send(None)
    except StopIteration:
        return
    except NatsError:
        return
    coro.close()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class OrderedConsumer:
    """An ordered, flow-controlled, self-healing push consumer over one stream."""

    def __init__(
        self,
        js: JetStream,
        stream: str,
        *,
        filter_subjects: Sequence[str] = (),
        deliver_policy: str = "all",
        opt_start_seq: int | None = None,
        headers_only: bool = False,
        idle_heartbeat: float = 5.0,
    ) -> None:
        self._js = js
        self._nc = js.nc
        self.stream = stream
        self._filters = list(filter_subjects)
        self._policy = deliver_policy
        self._start_seq = opt_start_seq
        self._headers_only = headers_only
        self._hb = idle_heartbeat
        self._loop = asyncio.get_running_loop()

        self._items: deque[Delivered | tuple[None, str, int, int]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._current: Subscription | None = None
        # the current subscription's id: 0 with none, -1 once stopped (sids start at 1)
        self._sid = 0
        self._name = ""
        # "$JS.ACK.<stream>.<consumer>.": the reply subjects of the current consumer
        self._ack_prefix = ""
        self._ack_prefix_len = 0
        # markers (flow-control requests, the snapshot's end) queued in _items: a batch may
        # be handed over whole when there are none
        self._markers = 0
        self._expected_cseq = 1
        self._last_sseq = 0
        # The snapshot (see the module docstring): open until its end is seen, served by a
        # consumer that counted _snap_count messages when the stream's last sequence was
        # _boundary (both "never" until a consumer tells them).
        self._snapshot_open = deliver_policy != "new"
        self._snap_count = _NEVER
        self._boundary = _NEVER
        # A reset inside a last_per_subject snapshot recreates it and skips what was
        # delivered already (stream sequences up to _skip_upto).
        self._skip_upto = 0
        # The stream sequence the first consumer started after (deliver "new" starts after
        # the stream's last message): a reset before any delivery resumes from here.
        self._floor = 0
        self._seen_activity = -1
        self._hb_handle: asyncio.TimerHandle | None = None
        self._reset_task: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None
        self._stopped = False
        self._error: BaseException | None = None
        self._remove_listener: Any = None
        #: pending count reported when the consumer was (first) created
        self.initial_pending = 0
        #: how many times the consumer was recreated (gap, heartbeat, reconnect)
        self.resets = 0
        #: true once :meth:`next_batch` has handed over the whole initial snapshot (at once
        #: for deliver policy "new"); see the module docstring for where a snapshot ends
        self.caught_up = not self._snapshot_open

    # ------------------------------------------------------------------ life cycle

    @property
    def _sub(self) -> Subscription | None:
        return self._current

    @_sub.setter
    def _sub(self, sub: Subscription | None) -> None:
        self._current = sub
        if not self._stopped:
            self._sid = 0 if sub is None else sub.sid

    @property
    def last_stream_seq(self) -> int:
        """The stream sequence of the last message delivered."""
        return self._last_sseq

    @property
    def name(self) -> str:
        """The current consumer's name."""
        return self._name

    async def start(self) -> ConsumerInfo:
        """Create the consumer; returns its info (``num_pending`` is the initial backlog)."""
        info = await self._create(self._policy, self._start_seq)
        if not self.caught_up and not self._snapshot_open:
            # An empty snapshot, ended before any delivery (the subscription is only just
            # made): there is no reader to tell through the queue.
            self._items.clear()
            self._markers = 0
            self.caught_up = True
        self.initial_pending = info.num_pending
        self._floor = info.delivered.stream_seq
        self._remove_listener = self._nc.add_reconnect_listener(self._on_reconnect)
        self._watch_deletion()
        self._arm_heartbeat()
        # A closed connection delivers nothing more and tells no subscription callback:
        # without this a waiting reader would wait forever.
        self._close_task = self._loop.create_task(self._fail_when_closed())
        return info

    async def _fail_when_closed(self) -> None:
        await self._nc.wait_closed()
        if not self._stopped:
            self._fail(ConnectionClosedError("the connection was closed"))

    async def _create(self, policy: str, start_seq: int | None) -> ConsumerInfo:
        nc = self._nc
        inbox = nc.new_inbox()
        name = nc._nuid.next()
        filters = self._filters
        config = ConsumerConfig(
            name=name,
            deliver_subject=inbox,
            deliver_policy=policy,
            opt_start_seq=start_seq if policy == "by_start_sequence" else None,
            ack_policy="none",
            ack_wait=_ACK_WAIT_NS,
            max_deliver=1,
            filter_subject=filters[0] if len(filters) == 1 else None,
            filter_subjects=filters if len(filters) > 1 else None,
            replay_policy="instant",
            flow_control=True,
            idle_heartbeat=int(self._hb * _NS),
            headers_only=self._headers_only or None,
            mem_storage=True,
            num_replicas=1,
            inactive_threshold=_INACTIVE_NS,
        )
        creating = asyncio.ensure_future(self._js.create_consumer(self.stream, config))
        try:
            info = await asyncio.shield(creating)
        except BaseException:
            # Left while the server may already hold the consumer (a reader cancelled, a
            # timeout, a lost connection) and nobody else knows its name: delete it now,
            # and again once its creation is answered (the server may make it after the
            # first deletion), rather than leave it to the server's inactive threshold.
            if creating.done():
                self._delete_if_created(name, creating)
            else:
                self._delete_nowait(name)
                creating.add_done_callback(functools.partial(self._delete_if_created, name))
            raise
        try:
            if self._snapshot_open:
                # read after the consumer exists: its snapshot lies at or below this
                self._snap_count = self._boundary = _NEVER
                if info.num_pending:
                    state = (await self._js.stream_info(self.stream)).state
                    self._snap_count, self._boundary = info.num_pending, state.last_seq
                else:
                    self._end_snapshot()
        except BaseException:
            self._delete_nowait(name)  # it has no subscriber: the server would drop it too
            raise
        self._name = name
        self._ack_prefix = f"$JS.ACK.{self.stream}.{name}."
        self._ack_prefix_len = len(self._ack_prefix)
        self._expected_cseq = 1
        self._sub = nc.lowlevel.subscribe_nowait(inbox, cb=self._on_msg)
        return info

    async def stop(self) -> None:
        """Stop delivery, delete the consumer and end any reader."""
        if self._stopped:
            return
        self._halt()
        task = self._reset_task
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._drop_current()

    def stop_nowait(self) -> None:
        """Stop without waiting, from any thread, even while the event loop shuts down.

        For finalizers: the subscription is removed at once (its UNSUB written) and the
        consumer's deletion sent without waiting for the answer. In another thread this is
        passed to the consumer's loop; once that loop is closed nothing can be sent, and the
        server deletes the consumer itself when its subscriber is gone (``inactive_threshold``).
        """
        loop = self._loop
        if loop.is_closed():
            self._stopped = True
            self._sid = -1
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            with contextlib.suppress(RuntimeError):  # closed in between
                loop.call_soon_threadsafe(self.stop_nowait)
            return
        if self._stopped:
            return
        self._halt()
        sub, self._current = self._current, None
        if sub is not None:
            _unsubscribe_now(sub)
        if self._name:
            self._delete_nowait(self._name)

    def _halt(self) -> None:
        """Stop taking messages and cancel every timer, listener and background task."""
        self._stopped = True
        self._sid = -1
        self._wake()
        self._unwatch_deletion()
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        if self._hb_handle is not None:
            self._hb_handle.cancel()
        if self._close_task is not None:
            self._close_task.cancel()
        task = self._reset_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _drop_current(self) -> None:
        sub, name = self._sub, self._name
        self._sub = None
        if sub is not None:
            with contextlib.suppress(NatsError):
                await sub.unsubscribe()
        if name and self._nc.is_connected:
            with contextlib.suppress(NatsError, asyncio.TimeoutError):
                await self._js.delete_consumer(self.stream, name)

    def _delete_if_created(self, name: str, creating: asyncio.Future[ConsumerInfo]) -> None:
        """The answer to a creation its caller left: delete the consumer unless the server
        refused it (a timeout or a lost connection may hide one that was made)."""
        if creating.cancelled() or isinstance(creating.exception(), APIError):
            return
        self._delete_nowait(name)

    def _delete_nowait(self, name: str) -> None:
        """Ask the server to delete consumer ``name`` without a reply subject: JetStream
        acts on it all the same, and nothing waits for an answer."""
        if self._nc.is_connected:
            with contextlib.suppress(NatsError):
                self._nc.lowlevel.publish_nowait(
                    f"{self._js.prefix}.CONSUMER.DELETE.{self.stream}.{name}"
                )

    def _watch_deletion(self) -> None:
        deletions = _deletions.get(self._nc)
        if deletions is None:
            deletions = _StreamDeletions()
            try:
                self._nc.lowlevel.subscribe_nowait(_STREAM_DELETED + "*", cb=deletions.on_msg)
            except NatsError:
                return
            _deletions[self._nc] = deletions
        deletions.consumers.setdefault(self.stream, set()).add(self)

    def _unwatch_deletion(self) -> None:
        deletions = _deletions.get(self._nc)
        if deletions is not None:
            consumers = deletions.consumers.get(self.stream)
            if consumers is not None:
                consumers.discard(self)
                if not consumers:
                    del deletions.consumers[self.stream]

    # ------------------------------------------------------------------ delivery (inline)

    def _on_msg(self, msg: Msg) -> None:
        if msg.sid != self._sid:
            return  # a subscription replaced by a reset, or stopped
        reply = msg.reply
        try:
            if reply is not None and reply.startswith(self._ack_prefix):
                # the common form: $JS.ACK.<stream>.<consumer>.<n>.<sseq>.<cseq>.<ts>.<pending>
                _, s_b, c_b, t_b, p_b = reply[self._ack_prefix_len :].split(".")
                sseq, cseq, ts, pending = int(s_b), int(c_b), int(t_b), int(p_b)
            else:
                # a status message (flow control, heartbeat), or the long reply form
                parsed = self._other(msg)
                if parsed is None:
                    return
                sseq, cseq, ts, pending = parsed
        except ValueError:
            return
        if cseq != self._expected_cseq:
            self._schedule_reset("a gap in the consumer sequence", logging.WARNING)
            return
        self._expected_cseq = cseq + 1
        if sseq <= self._skip_upto:
            # a recreated snapshot repeats what was delivered before the reset
            if self._snapshot_open and (cseq >= self._snap_count or sseq >= self._boundary):
                self._end_snapshot()
            return
        self._last_sseq = sseq
        self._items.append((msg, sseq, ts, pending))
        if self._snapshot_open and (cseq >= self._snap_count or sseq >= self._boundary):
            if sseq > self._boundary:
                # written after the snapshot was taken: the snapshot ended before it
                item = self._items.pop()
                self._end_snapshot()
                self._items.append(item)
            else:
                self._end_snapshot()
        if self._waiter is not None:
            self._wake()

    def _other(self, msg: Msg) -> tuple[int, int, int, int] | None:
        raw = msg.raw_headers
        if raw is not None and not msg.data and raw.startswith(_CONTROL):
            self._control(msg)
            return None
        reply = msg.reply
        if reply is None:
            return None
        parts = reply.split(".")
        if len(parts) < 11 or parts[5] != self._name:
            return None
        # $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<n>.<sseq>.<cseq>.<ts>.<pending>
        # (and maybe a trailing token)
        return int(parts[7]), int(parts[8]), int(parts[9]), int(parts[10])

    def _control(self, msg: Msg) -> None:
        if msg.reply and "FlowControl" in msg.description:
            self._flow_control(msg.reply)
            return
        headers = msg.headers
        stalled = headers.get("Nats-Consumer-Stalled")
        if stalled:
            # The heartbeat repeats a flow-control request the server still waits for: it
            # is answered on the same terms, or a reader slower than the heartbeat would
            # get a new window every interval. A duplicate answer is ignored by the server.
            self._flow_control(stalled)
        last = headers.get("Nats-Last-Consumer")
        if last is None or not last.isdigit():
            return
        if int(last) != self._expected_cseq - 1:
            self._schedule_reset("a heartbeat tells of deliveries that never came", logging.WARNING)
        elif self._snapshot_open and not stalled:
            # idle and in step: the server had nothing more; past the boundary, the rest
            # of the snapshot is gone
            seen = headers.get("Nats-Last-Stream", "")
            if seen.isdigit() and int(seen) >= self._boundary:
                self._end_snapshot()

    def _flow_control(self, reply: str) -> None:
        items = self._items
        if items:
            # answered when the reader takes what came before it: backpressure
            last = items[-1]
            if last[0] is None and last[1] == reply:
                return  # a stalled heartbeat repeating the request queued last
            items.append((None, reply, 0, 0))
            self._markers += 1
        else:
            self._respond(reply)

    def _end_snapshot(self) -> None:
        self._snapshot_open = False
        self._skip_upto = 0
        self._items.append((None, _END, 0, 0))
        self._markers += 1
        self._wake()

    def _respond(self, subject: str) -> None:
        with contextlib.suppress(NatsError):
            self._nc.lowlevel.publish_nowait(subject, b"")

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # ------------------------------------------------------------------ reading

    async def next_batch(self, timeout: float | None = None) -> list[Delivered]:
        """Everything delivered so far; waits when there is nothing.

        A batch ends at a flow-control request: it is answered by the next call, once the
        reader has consumed what was delivered before it (so a slow reader holds the
        server back instead of buffering window after window). A batch also ends where the
        initial snapshot does: :attr:`caught_up` is then true on return. The list is empty
        only then, when the snapshot ended after what earlier calls returned.

        Raises :class:`StopAsyncIteration` after :meth:`stop`, the consumer's fatal error
        if it failed, and :class:`natskv.TimeoutError` after ``timeout`` with nothing.
        """
        items = self._items
        deadline = None if timeout is None else self._loop.time() + timeout
        while True:
            while not items:
                if self._error is not None:
                    raise self._error
                if self._stopped:
                    raise StopAsyncIteration
                waiter = self._loop.create_future()
                self._waiter = waiter
                if deadline is None:
                    await waiter
                    continue
                timer = self._loop.call_at(deadline, _expire, waiter)
                try:
                    await waiter
                except TimeoutError:
                    if self._waiter is waiter:
                        self._waiter = None
                    raise TimeoutError(
                        f"nothing from the consumer on stream {self.stream!r} within {timeout:g}s"
                    ) from None
                finally:
                    timer.cancel()
            if not self._markers:
                whole = cast("list[Delivered]", list(items))
                items.clear()
                return whole
            if self._markers == 1 and items[-1][1] == _END and items[-1][0] is None:
                # the snapshot's end is the only marker and the last thing queued
                items.pop()
                self._markers = 0
                self.caught_up = True
                whole = cast("list[Delivered]", list(items))
                items.clear()
                return whole
            batch: list[Delivered] = []
            append = batch.append
            while items:
                item = items[0]
                if item[0] is None:
                    if item[1] == _END:
                        items.popleft()
                        self._markers -= 1
                        self.caught_up = True
                        return batch
                    if batch:
                        break  # answered on the next call, after this batch is consumed
                    items.popleft()
                    self._markers -= 1
                    self._respond(item[1])
                else:
                    items.popleft()
                    append(item)
            if batch:
                return batch

    # ------------------------------------------------------------------ recovery

    @property
    def _activity(self) -> int:
        """Messages (heartbeats included) delivered to the current subscription."""
        sub = self._sub
        return -2 if sub is None else sub.delivered

    def _arm_heartbeat(self) -> None:
        if self._hb > 0 and not self._stopped:
            self._hb_handle = self._loop.call_later(self._hb * 2, self._check_heartbeat)

    def _check_heartbeat(self) -> None:
        if self._stopped:
            return
        if self._activity == self._seen_activity and self._nc.is_connected:
            self._schedule_reset("no heartbeat for two intervals", logging.WARNING)
        self._seen_activity = self._activity
        self._arm_heartbeat()

    def _on_reconnect(self) -> None:
        self._schedule_reset("the connection reconnected", logging.INFO)

    def _on_stream_deleted(self) -> None:
        # A reset finds out for sure: its new consumer cannot be created without the stream.
        self._schedule_reset("the server announced the stream's deletion", logging.WARNING)

    def _schedule_reset(
        self, reason: str = "a reset was asked for", level: int = logging.INFO
    ) -> None:
        if self._stopped or (self._reset_task is not None and not self._reset_task.done()):
            return
        _log.log(
            level,
            "ordered consumer %s on stream %s: %s; recreating it after stream sequence %d",
            self._name,
            self.stream,
            reason,
            self._last_sseq,
        )
        self._reset_task = self._loop.create_task(self._reset())

    async def _reset(self) -> None:
        # Stop taking messages from the old consumer first.
        old_sub, old_name = self._sub, self._name
        self._sub = None
        if old_sub is not None:
            with contextlib.suppress(NatsError):
                await old_sub.unsubscribe()
        start: int | None
        if self._snapshot_open and self._policy == "last_per_subject":
            # Inside a last_per_subject snapshot: resuming by sequence would replay older
            # revisions of the keys not delivered yet. Take a new snapshot instead.
            policy, start = self._policy, self._start_seq
            self._skip_upto = self._last_sseq
        elif self._last_sseq or self._floor or self._policy == "new":
            # Before the first delivery a "new" consumer must not start over: what was
            # written since it was created would be skipped (on an empty stream too:
            # then it resumes from the first message).
            policy, start = "by_start_sequence", max(self._last_sseq, self._floor) + 1
            self._skip_upto = 0
        else:
            policy, start = self._policy, self._start_seq
        delay = 0.05
        while not self._stopped:
            if not self._nc.is_connected:
                if self._nc.is_closed:
                    self._fail(ConnectionClosedError("the connection was closed"))
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if old_name:
                with contextlib.suppress(NatsError, asyncio.TimeoutError):
                    await self._js.delete_consumer(self.stream, old_name)
                old_name = ""
            try:
                await self._create(policy, start)
            except StreamNotFoundError as exc:
                self._fail(exc)
                return
            except (APIError, JetStreamError) as exc:
                if isinstance(exc, APIError) and exc.code in (400, 403):
                    self._fail(exc)
                    return
                failure: BaseException = exc
            except (NatsError, asyncio.TimeoutError) as exc:
                failure = exc
            else:
                self.resets += 1
                self._seen_activity = -1
                return
            _log.warning(
                "ordered consumer on stream %s: recreating it failed (%s); retrying in %.2fs",
                self.stream,
                failure or type(failure).__name__,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _fail(self, exc: BaseException) -> None:
        if not self._stopped:
            # the connection closing is the end of a consumer's life, not a failure of it
            level = logging.DEBUG if isinstance(exc, ConnectionClosedError) else logging.ERROR
            _log.log(level, "ordered consumer on stream %s failed: %s", self.stream, exc)
        self._unwatch_deletion()
        self._error = exc
        self._wake()
