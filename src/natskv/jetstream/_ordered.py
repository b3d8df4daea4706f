"""The ordered push consumer (ADR-17): the engine behind watch, keys and history.

Messages are handled inline in the connection's ``data_received`` (a plain callback, no
task per message): control messages are answered or checked, data messages are checked for
consumer-sequence gaps and queued as ``(msg, stream_seq, timestamp_ns, pending)`` tuples.
The reader takes everything queued in one :meth:`OrderedConsumer.next_batch` call.

Backpressure: flow-control requests are answered only when the reader takes the batch
that contains them, so a slow reader stops the server instead of growing memory. Control
messages are never dropped.

Recovery: on a sequence gap, a missed heartbeat (two intervals of silence) or a
reconnect, the consumer is recreated from the last delivered stream sequence + 1 with a
new name and inbox, and the old one is deleted, so nothing is lost, duplicated or orphaned.
A reset inside a ``last_per_subject`` snapshot takes a new snapshot instead (skipping what
was delivered), since resuming by sequence would replay older revisions of the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from natskv.client import Msg, Subscription
from natskv.errors import (
    APIError,
    ConnectionClosedError,
    JetStreamError,
    NatsError,
    StreamNotFoundError,
)
from natskv.jetstream._models import ConsumerConfig, ConsumerInfo

if TYPE_CHECKING:
    from natskv.jetstream._context import JetStream

__all__ = ["Delivered", "OrderedConsumer"]

#: ``(message, stream sequence, timestamp in ns, pending count)``
Delivered = tuple[Msg, int, int, int]

_CONTROL = b"NATS/1.0 100"
_ACK_WAIT_NS = 22 * 3600 * 1_000_000_000
_INACTIVE_NS = 60 * 1_000_000_000
_NS = 1_000_000_000
_UNKNOWN_SIZE = 1 << 62


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
        # flow-control requests queued in _items (a batch may be handed over whole
        # when there are none)
        self._fc_queued = 0
        self._expected_cseq = 1
        self._last_sseq = 0
        # A last_per_subject consumer first delivers a snapshot of this many messages
        # (consumer sequences 1.._snapshot_end); a reset inside it recreates the snapshot
        # and skips what was delivered already (stream sequences up to _skip_upto).
        self._snapshot_end = 0
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
        self.initial_pending = info.num_pending
        self._floor = info.delivered.stream_seq
        self._remove_listener = self._nc.add_reconnect_listener(self._on_reconnect)
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
        sub = nc.lowlevel.subscribe_nowait(inbox, cb=self._on_msg)
        self._sub = sub
        self._name = name
        self._ack_prefix = f"$JS.ACK.{self.stream}.{name}."
        self._ack_prefix_len = len(self._ack_prefix)
        self._expected_cseq = 1
        snapshot = policy == "last_per_subject"
        # until the reply tells the snapshot's size, whatever arrives belongs to it
        self._snapshot_end = _UNKNOWN_SIZE if snapshot else 0
        try:
            info = await self._js.create_consumer(self.stream, config)
            if snapshot:
                self._snapshot_end = info.num_pending
            return info
        except BaseException:
            if self._sub is sub:
                self._sub = None
            with contextlib.suppress(NatsError):
                await sub.unsubscribe()
            raise

    async def stop(self) -> None:
        """Stop delivery, delete the consumer and end any reader."""
        if self._stopped:
            return
        self._stopped = True
        self._sid = -1
        self._wake()
        if self._remove_listener is not None:
            self._remove_listener()
        if self._hb_handle is not None:
            self._hb_handle.cancel()
        if self._close_task is not None:
            self._close_task.cancel()
        task = self._reset_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._drop_current()

    async def _drop_current(self) -> None:
        sub, name = self._sub, self._name
        self._sub = None
        if sub is not None:
            with contextlib.suppress(NatsError):
                await sub.unsubscribe()
        if name and self._nc.is_connected:
            with contextlib.suppress(NatsError, asyncio.TimeoutError):
                await self._js.delete_consumer(self.stream, name)

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
            self._schedule_reset()
            return
        self._expected_cseq = cseq + 1
        if sseq <= self._skip_upto:
            return  # a recreated snapshot repeats what was delivered before the reset
        self._last_sseq = sseq
        self._items.append((msg, sseq, ts, pending))
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
        if last is not None and last.isdigit() and int(last) != self._expected_cseq - 1:
            self._schedule_reset()

    def _flow_control(self, reply: str) -> None:
        items = self._items
        if items:
            # answered when the reader takes what came before it: backpressure
            last = items[-1]
            if last[0] is None and last[1] == reply:
                return  # a stalled heartbeat repeating the request queued last
            items.append((None, reply, 0, 0))
            self._fc_queued += 1
        else:
            self._respond(reply)

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
        """Everything delivered so far (at least one message); waits when there is none.

        A batch ends at a flow-control request: it is answered by the next call, once the
        reader has consumed what was delivered before it (so a slow reader holds the
        server back instead of buffering window after window).

        Raises :class:`StopAsyncIteration` after :meth:`stop`, the consumer's fatal error
        if it failed, and :class:`asyncio.TimeoutError` after ``timeout`` with nothing.
        """
        items = self._items
        while True:
            while not items:
                if self._error is not None:
                    raise self._error
                if self._stopped:
                    raise StopAsyncIteration
                waiter = self._loop.create_future()
                self._waiter = waiter
                if timeout is None:
                    await waiter
                else:
                    await asyncio.wait_for(waiter, timeout)
            if not self._fc_queued:
                whole = cast("list[Delivered]", list(items))
                items.clear()
                return whole
            batch: list[Delivered] = []
            append = batch.append
            while items:
                item = items[0]
                if item[0] is None:
                    if batch:
                        break  # answered on the next call, after this batch is consumed
                    items.popleft()
                    self._fc_queued -= 1
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
            self._schedule_reset()
        self._seen_activity = self._activity
        self._arm_heartbeat()

    def _on_reconnect(self) -> None:
        self._schedule_reset()

    def _schedule_reset(self) -> None:
        if self._stopped or (self._reset_task is not None and not self._reset_task.done()):
            return
        self._reset_task = self._loop.create_task(self._reset())

    async def _reset(self) -> None:
        # Stop taking messages from the old consumer first.
        old_sub, old_name = self._sub, self._name
        self._sub = None
        if old_sub is not None:
            with contextlib.suppress(NatsError):
                await old_sub.unsubscribe()
        start: int | None
        if self._expected_cseq - 1 < self._snapshot_end:
            # Inside a last_per_subject snapshot: resuming by sequence would replay older
            # revisions of the keys not delivered yet. Take a new snapshot instead.
            policy, start = self._policy, self._start_seq
            self._skip_upto = self._last_sseq
        elif self._last_sseq or self._floor:
            # Before the first delivery a "new" consumer must not start over: what was
            # written since it was created would be skipped.
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
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            except (NatsError, asyncio.TimeoutError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            self.resets += 1
            self._seen_activity = -1
            return

    def _fail(self, exc: BaseException) -> None:
        self._error = exc
        self._wake()
