"""Publish/subscribe against a real nats-server."""

from __future__ import annotations

import asyncio
import builtins
from typing import Any

import pytest

import natskv
from natskv.server import EmbeddedServer

# -- delivery styles ------------------------------------------------------------------


async def test_sync_callback(nc: natskv.Connection) -> None:
    got: list[natskv.Msg] = []
    done = asyncio.Event()

    def on_msg(msg: natskv.Msg) -> None:
        got.append(msg)
        if len(got) == 3:
            done.set()

    await nc.subscribe("ps.synccb", cb=on_msg)
    for i in range(3):
        await nc.publish("ps.synccb", str(i).encode())
    await asyncio.wait_for(done.wait(), 5)
    assert [m.data for m in got] == [b"0", b"1", b"2"]
    assert all(m.subject == "ps.synccb" and m.reply is None for m in got)


async def test_coroutine_callback(nc: natskv.Connection) -> None:
    got: list[bytes] = []
    done = asyncio.Event()

    async def on_msg(msg: natskv.Msg) -> None:
        await asyncio.sleep(0)
        got.append(msg.data)
        if len(got) == 3:
            done.set()

    await nc.subscribe("ps.asynccb", cb=on_msg)
    for i in range(3):
        await nc.publish("ps.asynccb", str(i).encode())
    await asyncio.wait_for(done.wait(), 5)
    assert got == [b"0", b"1", b"2"]


async def test_callback_errors_go_to_error_cb(nats_url: str) -> None:
    errors: list[Exception] = []
    async with await natskv.connect(nats_url, error_cb=errors.append) as nc:
        seen: list[bytes] = []

        def on_msg(msg: natskv.Msg) -> None:
            seen.append(msg.data)
            if msg.data == b"bad":
                raise ValueError("callback failed")

        await nc.subscribe("ps.cberr", cb=on_msg)
        for data in (b"bad", b"good"):
            await nc.publish("ps.cberr", data)
        await nc.flush()
        assert seen == [b"bad", b"good"]  # the reader survived the exception
        assert [type(e) for e in errors] == [ValueError]


async def test_async_iterator(nc: natskv.Connection) -> None:
    sub = await nc.subscribe("ps.iter")
    for i in range(5):
        await nc.publish("ps.iter", str(i).encode())
    got = []
    async for msg in sub:
        got.append(msg.data)
        if len(got) == 5:
            break
    assert got == [b"0", b"1", b"2", b"3", b"4"]


async def test_next_msg_timeout(nc: natskv.Connection) -> None:
    sub = await nc.subscribe("ps.timeout")
    with pytest.raises(natskv.TimeoutError) as info:
        await sub.next_msg(timeout=0.05)
    assert isinstance(info.value, builtins.TimeoutError)
    assert isinstance(info.value, natskv.NatsError)
    # the subscription is still usable after a timeout
    await nc.publish("ps.timeout", b"late")
    assert (await sub.next_msg(timeout=5)).data == b"late"


async def test_next_msg_on_callback_subscription_is_a_type_error(nc: natskv.Connection) -> None:
    sub = await nc.subscribe("ps.cbnext", cb=lambda m: None)
    with pytest.raises(TypeError):
        await sub.next_msg(timeout=0.01)


# -- headers ----------------------------------------------------------------------------


async def test_headers_round_trip(nc: natskv.Connection) -> None:
    sub = await nc.subscribe("ps.headers")
    headers: dict[str, Any] = {"X-One": "1", "X-Multi": ["a", "b", "c"], "Empty-Ok": ""}
    await nc.publish("ps.headers", b"body", headers=headers)
    msg = await sub.next_msg(timeout=5)
    assert msg.data == b"body"
    assert msg.headers["X-One"] == "1"
    assert msg.headers["X-Multi"] == "a"  # the first value wins in the dict view
    assert msg.header_values("X-Multi") == ["a", "b", "c"]
    assert msg.header_values("X-One") == ["1"]
    assert msg.header_values("Missing") == []
    assert msg.headers["Empty-Ok"] == ""
    assert msg.status is None


async def test_headers_without_payload_and_preencoded(nc: natskv.Connection) -> None:
    sub = await nc.subscribe("ps.headers2")
    await nc.publish("ps.headers2", headers={"K": "v"})
    await nc.publish("ps.headers2", b"p", headers=b"NATS/1.0\r\nRaw: yes\r\n\r\n")
    await nc.publish("ps.headers2", b"plain")
    first = await sub.next_msg(timeout=5)
    assert (first.data, first.headers) == (b"", {"K": "v"})
    second = await sub.next_msg(timeout=5)
    assert (second.data, second.headers) == (b"p", {"Raw": "yes"})
    third = await sub.next_msg(timeout=5)
    assert (third.data, third.raw_headers, third.headers) == (b"plain", None, {})


# -- routing ----------------------------------------------------------------------------


async def test_queue_group_delivers_each_message_once(nc: natskv.Connection) -> None:
    counts = [0, 0, 0]
    outside: list[bytes] = []

    def member(i: int) -> Any:
        def on_msg(msg: natskv.Msg) -> None:
            counts[i] += 1

        return on_msg

    for i in range(3):
        await nc.subscribe("ps.queue", queue="workers", cb=member(i))
    await nc.subscribe("ps.queue", cb=lambda m: outside.append(m.data))
    for i in range(300):
        nc.lowlevel.publish_nowait("ps.queue", str(i).encode())
    await nc.flush()
    assert sum(counts) == 300  # each message went to exactly one member of the group
    assert len(outside) == 300  # a plain subscription still sees all of them


async def test_wildcards(nc: natskv.Connection) -> None:
    star = await nc.subscribe("ps.wild.*.end")
    full = await nc.subscribe("ps.wild.>")
    for subject in ("ps.wild.a.end", "ps.wild.b.end", "ps.wild.a.b.end", "ps.wild.x"):
        await nc.publish(subject, subject.encode())
    await nc.flush()
    star_got = [(await star.next_msg(timeout=5)).subject for _ in range(star.pending_msgs)]
    full_got = [(await full.next_msg(timeout=5)).subject for _ in range(full.pending_msgs)]
    assert star_got == ["ps.wild.a.end", "ps.wild.b.end"]
    assert full_got == ["ps.wild.a.end", "ps.wild.b.end", "ps.wild.a.b.end", "ps.wild.x"]


async def test_reply_subject_is_delivered(nc: natskv.Connection) -> None:
    sub = await nc.subscribe("ps.reply")
    await nc.publish("ps.reply", b"x", reply="ps.reply.back")
    msg = await sub.next_msg(timeout=5)
    assert msg.reply == "ps.reply.back"


# -- unsubscribing ----------------------------------------------------------------------


async def test_unsubscribe_stops_delivery(nc: natskv.Connection) -> None:
    sub = await nc.subscribe("ps.unsub")
    await nc.publish("ps.unsub", b"1")
    await nc.flush()
    await sub.unsubscribe()
    assert not sub.is_active
    await nc.publish("ps.unsub", b"2")
    await nc.flush()
    assert [m.data async for m in sub] == [b"1"]  # what arrived before; then the end


async def test_unsubscribe_with_limit(nc: natskv.Connection) -> None:
    sub = await nc.subscribe("ps.autounsub")
    await sub.unsubscribe(limit=3)
    assert sub.is_active
    for i in range(10):
        nc.lowlevel.publish_nowait("ps.autounsub", str(i).encode())
    await nc.flush()
    got = [m.data async for m in sub]
    assert got == [b"0", b"1", b"2"]
    assert sub.delivered == 3
    assert not sub.is_active


async def test_unsubscribe_with_limit_after_some_messages(nc: natskv.Connection) -> None:
    got: list[bytes] = []
    sub = await nc.subscribe("ps.autounsub2", cb=lambda m: got.append(m.data))
    nc.lowlevel.publish_nowait("ps.autounsub2", b"a")
    await nc.flush()
    await sub.unsubscribe(limit=2)  # one delivered already: one more to come
    for data in (b"b", b"c", b"d"):
        nc.lowlevel.publish_nowait("ps.autounsub2", data)
    await nc.flush()
    assert got == [b"a", b"b"]
    assert not sub.is_active


async def test_subscribe_max_msgs(nc: natskv.Connection) -> None:
    sub = await nc.subscribe("ps.maxmsgs", max_msgs=2)
    for i in range(5):
        nc.lowlevel.publish_nowait("ps.maxmsgs", str(i).encode())
    await nc.flush()
    assert [m.data async for m in sub] == [b"0", b"1"]


async def test_unsubscribe_coroutine_callback_stops_worker(nc: natskv.Connection) -> None:
    got: list[bytes] = []

    async def on_msg(msg: natskv.Msg) -> None:
        got.append(msg.data)

    sub = await nc.subscribe("ps.unsubcb", cb=on_msg)
    await nc.publish("ps.unsubcb", b"1")
    await nc.flush()
    while not got:
        await asyncio.sleep(0.01)
    await sub.unsubscribe()
    await nc.publish("ps.unsubcb", b"2")
    await nc.flush()
    assert got == [b"1"]


# -- volume and size --------------------------------------------------------------------


async def test_publishes_in_one_loop_turn_are_coalesced_and_ordered(
    nc: natskv.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 10_000
    got: list[bytes] = []
    await nc.subscribe("ps.many", cb=lambda m: got.append(m.data))
    await nc.flush()

    transport = nc._writer.transport
    assert transport is not None
    writes: list[int] = []
    real_write = transport.write

    def counting_write(data: Any) -> None:
        if b"PUB ps.many" in bytes(data[:64]):
            writes.append(len(data))
        real_write(data)

    monkeypatch.setattr(transport, "write", counting_write)
    for i in range(n):
        nc.lowlevel.publish_nowait("ps.many", str(i).encode())
    await nc.flush(timeout=30)
    assert len(writes) == 1  # every PUB of that loop turn left in one write
    assert got == [str(i).encode() for i in range(n)]
    assert nc.msgs_out >= n


async def test_awaited_publishes_arrive_in_order(nc: natskv.Connection) -> None:
    n = 2_000
    sub = await nc.subscribe("ps.ordered")
    for i in range(n):
        await nc.publish("ps.ordered", i.to_bytes(4, "big"))
    got = [int.from_bytes((await sub.next_msg(timeout=5)).data, "big") for _ in range(n)]
    assert got == list(range(n))


async def test_one_mebibyte_payload(nc: natskv.Connection) -> None:
    payload = bytes(range(256)) * 4096
    assert len(payload) == 1024 * 1024 == nc.max_payload
    sub = await nc.subscribe("ps.big")
    await nc.publish("ps.big", payload)
    msg = await sub.next_msg(timeout=10)
    assert msg.data == payload
    # and with headers, just under the limit
    hdr = {"Big": "yes"}
    await nc.publish("ps.big", payload[: 512 * 1024], headers=hdr)
    msg = await sub.next_msg(timeout=10)
    assert msg.data == payload[: 512 * 1024]
    assert msg.headers == hdr


async def test_payload_over_max_payload_is_rejected_before_sending() -> None:
    async with EmbeddedServer(durable=False, max_payload=1024) as srv:
        errors: list[Exception] = []
        async with await natskv.connect(srv.url, error_cb=errors.append) as nc:
            assert nc.max_payload == 1024
            sub = await nc.subscribe("ps.max")
            with pytest.raises(natskv.MaxPayloadError) as info:
                await nc.publish("ps.max", b"x" * 1025)
            assert isinstance(info.value, ValueError)
            with pytest.raises(natskv.MaxPayloadError):
                await nc.publish("ps.max", b"x" * 1000, headers={"Pad": "y" * 100})
            with pytest.raises(natskv.MaxPayloadError):
                await nc.request("ps.max", b"x" * 2000, timeout=1)
            assert nc._mux.futs == {}
            # nothing was sent: the connection is fine and the next message arrives first
            await nc.publish("ps.max", b"x" * 1024)
            msg = await sub.next_msg(timeout=5)
            assert len(msg.data) == 1024
            assert nc.is_connected
            assert errors == []


async def test_invalid_subjects(nc: natskv.Connection) -> None:
    for bad in ("", "a b", "a\tb", "a\r\nPUB x 1", "a\nb"):
        with pytest.raises(natskv.BadSubjectError):
            await nc.publish(bad, b"x")
        with pytest.raises(natskv.BadSubjectError):
            await nc.subscribe(bad)
        with pytest.raises(natskv.BadSubjectError):
            await nc.request(bad, b"x", timeout=1)
    with pytest.raises(natskv.BadSubjectError):
        await nc.publish("ok", b"x", reply="bad reply")
    with pytest.raises(natskv.BadSubjectError):
        await nc.subscribe("ok", queue="bad queue")
    with pytest.raises(ValueError):  # BadSubjectError is also a ValueError
        await nc.publish(" ", b"")
    assert nc._mux.futs == {}
    # the connection is unharmed
    sub = await nc.subscribe("ps.after.bad")
    await nc.publish("ps.after.bad", b"fine")
    assert (await sub.next_msg(timeout=5)).data == b"fine"
    assert nc.is_connected


async def test_a_subject_too_long_for_the_control_line_is_refused_and_the_connection_stays(
    nats_url: str,
) -> None:
    """A control line the server would refuse (it answers 'maximum control line exceeded'
    and drops the connection, resetting every subscription on it) is never sent."""
    errors: list[Exception] = []
    disconnected: list[bool] = []
    async with await natskv.connect(
        nats_url, error_cb=errors.append, disconnected_cb=lambda: disconnected.append(True)
    ) as nc:
        live = await nc.subscribe("ps.mcl.live")
        await nc.flush()
        long = "ps.mcl." + "a" * 5000
        with pytest.raises(natskv.BadSubjectError, match="max_control_line"):
            await nc.publish(long, b"v")
        with pytest.raises(natskv.BadSubjectError, match="max_control_line"):
            await nc.request(long, b"v", timeout=5)
        with pytest.raises(natskv.BadSubjectError, match="max_control_line"):
            await nc.publish("ps.mcl.live", b"v", reply=long)
        with pytest.raises(natskv.BadSubjectError, match="max_control_line"):
            await nc.subscribe(long)
        await nc.flush()
        await nc.publish("ps.mcl.live", b"still here")
        assert (await live.next_msg(timeout=5)).data == b"still here"
        assert nc.is_connected and nc.reconnects == 0
        assert disconnected == [] and errors == []


async def test_the_longest_subject_the_server_takes_is_sent_and_delivered(
    nc: natskv.Connection,
) -> None:
    # "PUB <subject> <size>" and "SUB <subject> <sid>": 4096 bytes of arguments at most
    subject = "ps.mcl." + "b" * (4096 - len("ps.mcl.") - len(" 1"))
    sub = await nc.subscribe("ps.mcl.>")  # a short SUB; the long subject comes back in MSG
    await nc.publish(subject, b"1")
    msg = await sub.next_msg(timeout=5)
    assert msg.subject == subject and msg.data == b"1"
    assert nc.is_connected and nc.reconnects == 0


# -- slow consumers ---------------------------------------------------------------------


async def test_slow_consumer_drops_and_reports(nats_url: str) -> None:
    errors: list[Exception] = []
    async with await natskv.connect(nats_url, error_cb=errors.append) as nc:
        sub = await nc.subscribe("ps.slow", pending_msgs_limit=10)
        for i in range(100):
            nc.lowlevel.publish_nowait("ps.slow", str(i).encode())
        await nc.flush()
        assert sub.pending_msgs == 10
        assert sub.dropped == 90
        slow = [e for e in errors if isinstance(e, natskv.SlowConsumerError)]
        assert len(slow) == 90
        assert "ps.slow" in str(slow[0])
        assert nc.last_error is slow[-1]
        # the oldest messages were kept, and the subscription keeps working once read
        assert [(await sub.next_msg(timeout=1)).data for _ in range(10)] == [
            str(i).encode() for i in range(10)
        ]
        await nc.publish("ps.slow", b"after")
        assert (await sub.next_msg(timeout=5)).data == b"after"
        assert nc.is_connected


async def test_slow_consumer_pending_bytes_limit(nats_url: str) -> None:
    errors: list[Exception] = []
    async with await natskv.connect(nats_url, error_cb=errors.append) as nc:
        sub = await nc.subscribe("ps.slowbytes", pending_bytes_limit=1000)
        for _ in range(20):
            nc.lowlevel.publish_nowait("ps.slowbytes", b"x" * 100)
        await nc.flush()
        assert sub.pending_msgs == 10
        assert sub.dropped == 10
        assert all(isinstance(e, natskv.SlowConsumerError) for e in errors)
        assert len(errors) == 10


async def test_slow_consumer_with_coroutine_callback(nats_url: str) -> None:
    errors: list[Exception] = []
    async with await natskv.connect(nats_url, error_cb=errors.append) as nc:
        release = asyncio.Event()
        got: list[bytes] = []

        async def on_msg(msg: natskv.Msg) -> None:
            await release.wait()
            got.append(msg.data)

        sub = await nc.subscribe("ps.slowcb", cb=on_msg, pending_msgs_limit=5)
        for i in range(50):
            nc.lowlevel.publish_nowait("ps.slowcb", str(i).encode())
        await nc.flush()
        release.set()
        await sub.drain()
        assert sub.dropped > 0
        assert len(got) + sub.dropped == 50
        assert got == sorted(got, key=int)
        assert any(isinstance(e, natskv.SlowConsumerError) for e in errors)


# -- drain and close --------------------------------------------------------------------


async def test_drain_lets_async_callback_finish(nats_url: str) -> None:
    closed = asyncio.Event()
    nc = await natskv.connect(nats_url, closed_cb=closed.set)
    got: list[bytes] = []
    first = asyncio.Event()

    async def slow(msg: natskv.Msg) -> None:
        first.set()
        await asyncio.sleep(0.005)
        got.append(msg.data)

    await nc.subscribe("ps.drain", cb=slow)
    for i in range(50):
        nc.lowlevel.publish_nowait("ps.drain", str(i).encode())
    await nc.flush()
    await first.wait()  # the callback is busy and the rest is queued
    assert len(got) < 50
    await nc.drain()
    assert got == [str(i).encode() for i in range(50)]
    assert nc.is_closed
    assert closed.is_set()
    with pytest.raises(natskv.ConnectionClosedError):
        await nc.publish("ps.drain", b"late")


async def test_drain_delivers_messages_in_flight(nats_url: str) -> None:
    # Published in the same loop turn as the drain: the server sends them back before it
    # sees the UNSUB, so they belong to the subscription and must reach the callback.
    nc = await natskv.connect(nats_url)
    got: list[bytes] = []

    async def on_msg(msg: natskv.Msg) -> None:
        await asyncio.sleep(0)
        got.append(msg.data)

    await nc.subscribe("ps.drain.inflight", cb=on_msg)
    await nc.flush()
    for i in range(50):
        nc.lowlevel.publish_nowait("ps.drain.inflight", str(i).encode())
    await nc.drain()
    assert got == [str(i).encode() for i in range(50)]
    assert nc.is_closed


async def test_subscription_drain_delivers_messages_in_flight(nc: natskv.Connection) -> None:
    sub = await nc.subscribe("ps.subdrain.inflight")
    await nc.flush()
    for i in range(20):
        nc.lowlevel.publish_nowait("ps.subdrain.inflight", str(i).encode())
    await sub.drain()
    assert not sub.is_active
    assert [m.data async for m in sub] == [str(i).encode() for i in range(20)]
    await nc.publish("ps.subdrain.inflight", b"after")
    await nc.flush()
    assert sub.pending_msgs == 0


async def test_subscription_drain(nc: natskv.Connection) -> None:
    got: list[bytes] = []

    async def slow(msg: natskv.Msg) -> None:
        await asyncio.sleep(0)
        got.append(msg.data)

    sub = await nc.subscribe("ps.subdrain", cb=slow)
    for i in range(20):
        nc.lowlevel.publish_nowait("ps.subdrain", str(i).encode())
    await nc.flush()
    await sub.drain()
    assert len(got) == 20
    assert not sub.is_active
    assert nc.is_connected
    await nc.publish("ps.subdrain", b"after")
    await nc.flush()
    assert len(got) == 20


async def test_close_ends_iterators_and_blocks_publish(nats_url: str) -> None:
    nc = await natskv.connect(nats_url)
    sub = await nc.subscribe("ps.close")
    waiting = await nc.subscribe("ps.close.idle")

    async def collect(s: natskv.Subscription) -> list[bytes]:
        return [m.data async for m in s]

    idle_task = asyncio.create_task(collect(waiting))
    await nc.publish("ps.close", b"1")
    await nc.flush()
    await asyncio.sleep(0)  # let the idle reader block in next_msg
    await nc.close()
    assert await asyncio.wait_for(idle_task, 5) == []
    assert [m.data async for m in sub] == [b"1"]  # buffered messages are still readable
    with pytest.raises(StopAsyncIteration):
        await sub.next_msg(timeout=1)
    with pytest.raises(natskv.ConnectionClosedError):
        await nc.publish("ps.close", b"2")
    with pytest.raises(natskv.ConnectionClosedError):
        nc.lowlevel.publish_nowait("ps.close", b"2")
    with pytest.raises(natskv.ConnectionClosedError):
        await nc.subscribe("ps.close")
    with pytest.raises(natskv.ConnectionClosedError):
        await nc.request("ps.close", b"", timeout=1)
    with pytest.raises(natskv.ConnectionClosedError):
        await nc.flush()
    assert not sub.is_active


async def test_close_stops_coroutine_callback_worker(nats_url: str) -> None:
    nc = await natskv.connect(nats_url)
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def stuck(msg: natskv.Msg) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    await nc.subscribe("ps.closecb", cb=stuck)
    await nc.publish("ps.closecb", b"x")
    await started.wait()
    await nc.close()
    assert cancelled.is_set()


async def test_publish_flushes_on_close(nats_url: str) -> None:
    async with await natskv.connect(nats_url) as reader:
        sub = await reader.subscribe("ps.closeflush")
        await reader.flush()
        writer = await natskv.connect(nats_url)
        for i in range(100):
            writer.lowlevel.publish_nowait("ps.closeflush", str(i).encode())
        await writer.close()  # queued in this turn: must still be written
        got = [(await sub.next_msg(timeout=5)).data for _ in range(100)]
        assert got == [str(i).encode() for i in range(100)]


async def test_publish_many_is_one_write_in_order_and_all_or_nothing(
    nc: natskv.Connection,
) -> None:
    sub = await nc.subscribe("ps.batch.>")
    await nc.flush()
    sent = nc.msgs_out
    count = nc.lowlevel.publish_many(
        [("ps.batch.a", b"1", None), ("ps.batch.b", b"", "ps.reply.x"), ("ps.batch.a", b"3", None)]
    )
    assert count == 3 and nc.msgs_out == sent + 3
    got = [await sub.next_msg(timeout=5) for _ in range(3)]
    assert [(m.subject, m.data, m.reply) for m in got] == [
        ("ps.batch.a", b"1", None),
        ("ps.batch.b", b"", "ps.reply.x"),
        ("ps.batch.a", b"3", None),
    ]
    # a bad subject or an oversized payload anywhere: nothing of the batch is queued
    with pytest.raises(natskv.BadSubjectError):
        nc.lowlevel.publish_many([("ps.batch.a", b"ok", None), ("bad subject", b"x", None)])
    with pytest.raises(natskv.MaxPayloadError):
        nc.lowlevel.publish_many(
            [("ps.batch.a", b"ok", None), ("ps.batch.a", b"x" * (nc.max_payload + 1), None)]
        )
    assert nc.msgs_out == sent + 3
    await nc.flush()
    with pytest.raises(natskv.TimeoutError):  # on 3.10 not an asyncio.TimeoutError
        await sub.next_msg(timeout=0.2)
    assert nc.lowlevel.publish_many([]) == 0
