"""The ordered consumer's per-message path, fed by hand (no network).

Deliveries, status messages and reply-subject forms as nats-server sends them; the
server-driven behaviour (resets, flow control under load) is in
tests/integration/test_ordered_consumer.py.
"""

from __future__ import annotations

from typing import Any

from natskv.jetstream import OrderedConsumer
from natskv.protocol import Msg

SID = 7
NAME = "Cons1"
HDR = b"NATS/1.0\r\nNats-Msg-Size: 3\r\n\r\n"
FC = b"NATS/1.0 100 FlowControl Request\r\n\r\n"
HB = b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: %d\r\nNats-Last-Stream: 9\r\n\r\n"
HB_AT = b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: %d\r\nNats-Last-Stream: %d\r\n\r\n"
STALLED = (
    b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: %d\r\nNats-Last-Stream: %d\r\n"
    b"Nats-Consumer-Stalled: $JS.FC.KV_b.a.9\r\n\r\n"
)


class _Sub:
    sid = SID
    delivered = 0


class _Conn:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.lowlevel = self  # the low-level calls live on Connection.lowlevel

    def publish_nowait(self, subject: str, payload: bytes = b"", **_: Any) -> None:
        self.sent.append(subject)


class _JS:
    def __init__(self) -> None:
        self.nc = _Conn()


def _consumer() -> tuple[OrderedConsumer, list[str], list[int]]:
    js = _JS()
    c = OrderedConsumer(js, "KV_b")  # type: ignore[arg-type]
    c._sub = _Sub()  # type: ignore[assignment]
    c._name = NAME
    c._ack_prefix = f"$JS.ACK.KV_b.{NAME}."
    c._ack_prefix_len = len(c._ack_prefix)
    resets: list[int] = []
    c._schedule_reset = lambda *_: resets.append(c._expected_cseq)  # type: ignore[method-assign]
    return c, js.nc.sent, resets


def _short(sseq: int, cseq: int, pending: int, name: str = NAME) -> Msg:
    reply = f"$JS.ACK.KV_b.{name}.1.{sseq}.{cseq}.17000000{sseq:02d}.{pending}"
    return Msg(f"$KV.b.k{sseq}", SID, reply, b"val", HDR)


def _long(sseq: int, cseq: int, pending: int, name: str = NAME) -> Msg:
    # $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<n>.<sseq>.<cseq>.<ts>.<pending>.<token>
    reply = f"$JS.ACK.hub.ACCHASH.KV_b.{name}.1.{sseq}.{cseq}.17000000{sseq:02d}.{pending}.xyz"
    return Msg(f"$KV.b.k{sseq}", SID, reply, b"val", HDR)


async def test_both_reply_forms_give_sequence_timestamp_and_pending() -> None:
    c, _, resets = _consumer()
    c._on_msg(_short(4, 1, 2))
    c._on_msg(_long(5, 2, 1))
    c._on_msg(_short(9, 3, 0))
    items = list(c._items)
    assert [(m.subject, s, ts, p) for m, s, ts, p in items] == [  # type: ignore[union-attr]
        ("$KV.b.k4", 4, 1700000004, 2),
        ("$KV.b.k5", 5, 1700000005, 1),
        ("$KV.b.k9", 9, 1700000009, 0),
    ]
    assert c.last_stream_seq == 9 and c._expected_cseq == 4 and resets == []


async def test_other_consumers_other_sids_and_a_stopped_consumer_are_ignored() -> None:
    c, _, _ = _consumer()
    c._on_msg(_short(1, 1, 0, name="Other"))
    c._on_msg(_long(1, 1, 0, name="Other"))
    stray = _short(1, 1, 0)
    stray.sid = SID + 1
    c._on_msg(stray)
    c._on_msg(Msg("$KV.b.x", SID, "$JS.ACK.KV_b.Cons1.not.numbers.at.all.x", b"v", HDR))
    c._on_msg(Msg("$KV.b.x", SID, None, b"v", HDR))
    assert not c._items and c._expected_cseq == 1
    c._stopped = True
    c._sid = -1
    c._on_msg(_short(1, 1, 0))
    assert not c._items


async def test_a_gap_in_consumer_sequences_asks_for_a_reset() -> None:
    c, _, resets = _consumer()
    c._on_msg(_short(1, 1, 5))
    c._on_msg(_short(3, 3, 3))  # consumer sequence 2 never came
    assert resets == [2]
    assert [item[1] for item in c._items] == [1]


async def test_a_recreated_snapshot_skips_what_was_delivered() -> None:
    c, _, _ = _consumer()
    c._skip_upto = 5
    for cseq, sseq in enumerate((2, 5, 6, 8), start=1):
        c._on_msg(_short(sseq, cseq, 0))
    assert [item[1] for item in c._items] == [6, 8]
    assert c._expected_cseq == 5


async def test_flow_control_waits_for_the_reader_and_heartbeats_check_the_sequence() -> None:
    c, sent, resets = _consumer()
    c._on_msg(Msg("_INBOX.x", SID, "$JS.FC.KV_b.a.1", b"", FC))
    assert sent == ["$JS.FC.KV_b.a.1"]  # nothing queued: answered at once
    c._on_msg(_short(1, 1, 1))
    c._on_msg(Msg("_INBOX.x", SID, "$JS.FC.KV_b.a.2", b"", FC))
    c._on_msg(_short(2, 2, 0))
    assert sent == ["$JS.FC.KV_b.a.1"] and c._markers == 1
    first = await c.next_batch()
    assert [item[1] for item in first] == [1]  # a batch ends at a flow-control request
    second = await c.next_batch()
    assert sent == ["$JS.FC.KV_b.a.1", "$JS.FC.KV_b.a.2"]  # answered once 1 was taken
    assert [item[1] for item in second] == [2] and c._markers == 0
    c._on_msg(Msg("_INBOX.x", SID, None, b"", HB % 2))  # in step: nothing to do
    assert resets == [] and not c._items
    c._on_msg(Msg("_INBOX.x", SID, None, b"", HB % 5))  # the server delivered more
    assert resets == [3]


# -- where the initial snapshot ends --------------------------------------------------------


def _snapshot(count: int, boundary: int) -> tuple[OrderedConsumer, list[str], list[int]]:
    """A consumer serving a snapshot of ``count`` messages, the stream's last at ``boundary``."""
    c, sent, resets = _consumer()
    c._snap_count, c._boundary = count, boundary
    return c, sent, resets


def _taken(batch: list[Any]) -> list[int]:
    return [item[1] for item in batch]


async def test_the_snapshot_ends_after_its_last_delivery() -> None:
    c, _, _ = _snapshot(3, 10)
    for cseq, sseq in enumerate((4, 6, 7), start=1):
        c._on_msg(_short(sseq, cseq, 0))  # pending 0 early on is not trusted
        assert c.caught_up is False
    c._on_msg(_short(11, 4, 0))  # a live message after it
    assert not c._snapshot_open
    assert _taken(await c.next_batch()) == [4, 6, 7]  # the batch ends where the snapshot does
    assert c.caught_up
    assert _taken(await c.next_batch()) == [11]


async def test_a_snapshot_short_of_messages_ends_at_the_boundary_or_before_a_later_one() -> None:
    # Some of the snapshot vanished before it was sent: delivery number 3 never comes.
    c, _, _ = _snapshot(3, 9)
    c._on_msg(_short(5, 1, 1))
    c._on_msg(_short(9, 2, 0))  # the stream's last sequence when the snapshot was taken
    assert _taken(await c.next_batch()) == [5, 9] and c.caught_up
    c, _, _ = _snapshot(3, 9)
    c._on_msg(_short(5, 1, 1))
    c._on_msg(_short(12, 2, 0))  # written after: the snapshot ended before it
    assert _taken(await c.next_batch()) == [5] and c.caught_up
    assert _taken(await c.next_batch()) == [12]


async def test_an_idle_heartbeat_past_the_boundary_ends_a_snapshot_whose_rest_expired() -> None:
    c, _, resets = _snapshot(5, 9)
    c._on_msg(_short(3, 1, 4))
    c._on_msg(Msg("_INBOX.x", SID, None, b"", HB_AT % (1, 4)))  # stuck on a gone message
    c._on_msg(Msg("_INBOX.x", SID, None, b"", STALLED % (1, 9)))  # waits for the reader
    assert c._snapshot_open
    assert _taken(await c.next_batch()) == [3] and not c.caught_up
    c._on_msg(Msg("_INBOX.x", SID, None, b"", HB_AT % (1, 9)))  # looked past 9, nothing more
    assert await c.next_batch() == [] and c.caught_up  # told without a message
    assert resets == []


async def test_a_recreated_snapshot_ends_on_a_repeated_delivery_too() -> None:
    c, _, _ = _snapshot(2, 8)
    c._skip_upto = 8  # everything of the new snapshot was delivered before the reset
    c._on_msg(_short(3, 1, 1))
    assert c._snapshot_open
    c._on_msg(_short(8, 2, 0))
    assert not c._items[0][0] and await c.next_batch() == [] and c.caught_up


async def test_a_consumer_of_new_messages_is_caught_up_from_the_start() -> None:
    c = OrderedConsumer(_JS(), "KV_b", deliver_policy="new")  # type: ignore[arg-type]
    assert c.caught_up and not c._snapshot_open
