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
    c._schedule_reset = lambda: resets.append(c._expected_cseq)  # type: ignore[method-assign]
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
    assert sent == ["$JS.FC.KV_b.a.1"] and c._fc_queued == 1
    first = await c.next_batch()
    assert [item[1] for item in first] == [1]  # a batch ends at a flow-control request
    second = await c.next_batch()
    assert sent == ["$JS.FC.KV_b.a.1", "$JS.FC.KV_b.a.2"]  # answered once 1 was taken
    assert [item[1] for item in second] == [2] and c._fc_queued == 0
    c._on_msg(Msg("_INBOX.x", SID, None, b"", HB % 2))  # in step: nothing to do
    assert resets == [] and not c._items
    c._on_msg(Msg("_INBOX.x", SID, None, b"", HB % 5))  # the server delivered more
    assert resets == [3]
