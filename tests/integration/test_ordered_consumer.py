"""The ordered push consumer against a real nats-server: order, flow control, recovery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from tests.proxy import FaultProxy

import natskv
from natskv.client import Msg
from natskv.errors import APIError
from natskv.jetstream import Delivered, OrderedConsumer
from natskv.server import EmbeddedServer

# Generous: a consumer that is not stuck delivers in milliseconds.
WAIT = 15.0

# -- helpers ----------------------------------------------------------------------------


def _name() -> str:
    return f"OC_{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def stream(js: natskv.JetStream) -> AsyncIterator[str]:
    """A fresh memory stream listening on ``<name>.>``, deleted after the test."""
    name = _name()
    await js.create_stream({"name": name, "subjects": [f"{name}.>"], "storage": "memory"})
    try:
        yield name
    finally:
        with contextlib.suppress(natskv.NatsError):
            await js.delete_stream(name)


async def _bulk_publish(
    nc: natskv.Connection,
    subjects: list[str],
    payload: Callable[[int], bytes],
    *,
    window: int = 500,
) -> None:
    """Publish with acknowledgements, ``window`` requests in flight at a time."""
    for start in range(0, len(subjects), window):
        pending = [
            (s, *nc.lowlevel.request_nowait(s, payload(start + i)))
            for i, s in enumerate(subjects[start : start + window])
        ]
        for subject, token, fut in pending:
            reply = await nc.lowlevel.await_reply(token, fut, subject, 10.0)
            ack = natskv.JetStream.pub_ack(reply)
            assert ack.seq > 0


async def _collect(consumer: OrderedConsumer, count: int, timeout: float = 15.0) -> list[Delivered]:
    """Read batches until ``count`` messages arrived (fails on more than ``count``)."""
    out: list[Delivered] = []
    while len(out) < count:
        out.extend(await consumer.next_batch(timeout=timeout))
    assert len(out) == count, f"expected {count} messages, got {len(out)}"
    return out


async def _assert_quiet(consumer: OrderedConsumer) -> None:
    """Nothing more is delivered: no duplicates were queued behind the last message.

    (A flow-control request that came after it may wait in the queue for the next read.)
    """
    assert not [item for item in consumer._items if item[0] is not None]
    with pytest.raises(natskv.TimeoutError):
        await consumer.next_batch(timeout=0.3)


async def _settled(consumer: OrderedConsumer) -> None:
    """Wait for a running recovery to finish: its new consumer may deliver before it ends."""
    task = consumer._reset_task
    if task is not None:
        await asyncio.wait_for(task, WAIT)


async def _consumer_gone(js: natskv.JetStream, stream: str, name: str) -> None:
    with pytest.raises(APIError) as ei:
        await js.consumer_info(stream, name)
    assert ei.value.code == 404
    assert ei.value.err_code == 10014


# -- delivery ---------------------------------------------------------------------------


async def test_delivers_everything_in_order(js: natskv.JetStream, stream: str) -> None:
    subjects = [f"{stream}.{'abc'[i % 3]}" for i in range(300)]
    await _bulk_publish(js.nc, subjects, lambda i: f"v{i}".encode())
    consumer = js.ordered_consumer(stream)
    info = await consumer.start()
    try:
        assert info.num_pending == 300
        assert consumer.initial_pending == 300
        got = await _collect(consumer, 300)
        assert [sseq for _, sseq, _, _ in got] == list(range(1, 301))
        assert [m.data for m, *_ in got] == [f"v{i}".encode() for i in range(300)]
        assert [m.subject for m, *_ in got] == subjects
        assert [pending for *_, pending in got] == list(range(299, -1, -1))
        assert all(ts > 0 for _, _, ts, _ in got)
        assert consumer.last_stream_seq == 300

        # live messages follow the stored ones
        await js.publish(f"{stream}.a", b"live")
        (msg, sseq, _, pending), *rest = await consumer.next_batch(timeout=10)
        assert (msg.data, sseq, pending, rest) == (b"live", 301, 0, [])
        assert consumer.resets == 0
    finally:
        await consumer.stop()


async def test_start_sequence_and_last_per_subject(js: natskv.JetStream, stream: str) -> None:
    await _bulk_publish(js.nc, [f"{stream}.{s}" for s in "abab"], lambda i: f"v{i}".encode())
    from_3 = js.ordered_consumer(stream, deliver_policy="by_start_sequence", opt_start_seq=3)
    assert (await from_3.start()).num_pending == 2
    try:
        assert [s for _, s, _, _ in await _collect(from_3, 2)] == [3, 4]
    finally:
        await from_3.stop()

    last = js.ordered_consumer(
        stream, filter_subjects=[f"{stream}.>"], deliver_policy="last_per_subject"
    )
    assert (await last.start()).num_pending == 2
    try:
        got = await _collect(last, 2)
        assert [(m.subject, s) for m, s, _, _ in got] == [(f"{stream}.a", 3), (f"{stream}.b", 4)]
    finally:
        await last.stop()


async def test_headers_only(js: natskv.JetStream, stream: str) -> None:
    await js.publish(f"{stream}.a", b"x" * 100, headers={"X-Keep": "me"})
    await js.publish(f"{stream}.a", b"")
    consumer = js.ordered_consumer(stream, headers_only=True)
    await consumer.start()
    try:
        (m1, s1, _, _), (m2, s2, _, _) = await _collect(consumer, 2)
        assert (s1, s2) == (1, 2)
        assert m1.data == b"" and m2.data == b""
        assert m1.headers["Nats-Msg-Size"] == "100"
        assert m1.headers["X-Keep"] == "me"
        assert m2.headers["Nats-Msg-Size"] == "0"
    finally:
        await consumer.stop()


async def test_multiple_filter_subjects(js: natskv.JetStream, stream: str) -> None:
    subjects = [f"{stream}.{s}" for s in "abcabcabc"]
    await _bulk_publish(js.nc, subjects, lambda i: f"v{i}".encode())
    consumer = js.ordered_consumer(stream, filter_subjects=[f"{stream}.a", f"{stream}.c"])
    info = await consumer.start()
    try:
        assert info.num_pending == 6
        assert info.config["filter_subjects"] == [f"{stream}.a", f"{stream}.c"]
        got = await _collect(consumer, 6)
        assert [s for _, s, _, _ in got] == [1, 3, 4, 6, 7, 9]
        assert {m.subject for m, *_ in got} == {f"{stream}.a", f"{stream}.c"}
        await js.publish(f"{stream}.b", b"not for us")
        await js.publish(f"{stream}.c", b"for us")
        (m, s, _, _), *rest = await consumer.next_batch(timeout=10)
        assert (m.data, s, rest) == (b"for us", 11, [])
    finally:
        await consumer.stop()


async def test_single_filter_subject(js: natskv.JetStream, stream: str) -> None:
    await _bulk_publish(js.nc, [f"{stream}.{s}" for s in "abab"], lambda i: b"x")
    consumer = js.ordered_consumer(stream, filter_subjects=[f"{stream}.b"])
    info = await consumer.start()
    try:
        assert info.config["filter_subject"] == f"{stream}.b"
        assert [s for _, s, _, _ in await _collect(consumer, 2)] == [2, 4]
    finally:
        await consumer.stop()


async def test_empty_stream_then_live(js: natskv.JetStream, stream: str) -> None:
    consumer = js.ordered_consumer(stream)
    info = await consumer.start()
    try:
        assert info.num_pending == 0
        with pytest.raises(natskv.TimeoutError) as ei:
            await consumer.next_batch(timeout=0.2)
        assert stream in str(ei.value)
        await js.publish(f"{stream}.x", b"first")
        got = await _collect(consumer, 1)
        assert got[0][0].data == b"first"
        assert got[0][1] == 1
    finally:
        await consumer.stop()


# -- flow control -----------------------------------------------------------------------


async def test_flow_control_with_slow_reader(js: natskv.JetStream) -> None:
    total = 20_000
    name = _name()
    await js.create_stream(
        {"name": name, "subjects": [f"{name}.>"], "storage": "memory", "max_bytes": 64 << 20}
    )
    try:
        body = b"x" * 1024
        await _bulk_publish(
            js.nc, [f"{name}.d"] * total, lambda i: i.to_bytes(4, "big") + body[4:], window=1000
        )
        consumer = js.ordered_consumer(name)
        info = await consumer.start()
        assert info.num_pending == total
        expected = 1
        max_queued = 0
        try:
            # a reader that is late to start: the server must stop and wait for it
            await asyncio.sleep(0.3)
            while expected <= total:
                # a slow reader: give the server time to push as much as it is allowed
                await asyncio.sleep(0.005)
                max_queued = max(max_queued, len(consumer._items))
                batch = await consumer.next_batch(timeout=15)
                for msg, sseq, _, _ in batch:
                    assert sseq == expected
                    assert int.from_bytes(msg.data[:4], "big") == expected - 1
                    expected += 1
            assert expected == total + 1
            await _assert_quiet(consumer)
        finally:
            await consumer.stop()
        # the server stopped when the reader fell behind instead of flooding the queue: a
        # flood queues all 20,000; with flow control 3,400 to 6,000 were seen queued at most
        # (a quarter was too tight a bound on a loaded machine)
        assert max_queued < total // 2, max_queued
    finally:
        await js.delete_stream(name)


async def test_stalled_reader_is_not_flooded_by_heartbeats(js: natskv.JetStream) -> None:
    # A reader that stops for many heartbeat intervals: each heartbeat says the consumer is
    # stalled; answering that at once (instead of when the reader catches up) would let the
    # server push window after window into memory.
    total = 20_000
    name = _name()
    await js.create_stream({"name": name, "subjects": [f"{name}.>"], "storage": "memory"})
    try:
        body = b"x" * 1024
        await _bulk_publish(js.nc, [f"{name}.d"] * total, lambda i: body, window=1000)
        consumer = js.ordered_consumer(name, idle_heartbeat=0.1)
        await consumer.start()
        try:
            heartbeats = 0
            original = consumer._control

            def counting(msg: Msg) -> None:
                nonlocal heartbeats
                if "Nats-Consumer-Stalled" in msg.headers:
                    heartbeats += 1
                original(msg)

            consumer._control = counting  # type: ignore[method-assign]
            # the reader sleeps through several stalled heartbeats (or the queue overflows)
            while heartbeats < 5 and len(consumer._items) < total // 4:
                await asyncio.sleep(0.05)
            queued = len(consumer._items)
            assert queued < total // 4, queued
            got = 0
            expected = 1
            while got < total:
                for _, sseq, _, _ in await consumer.next_batch(timeout=WAIT):
                    assert sseq == expected
                    expected += 1
                    got += 1
            await _assert_quiet(consumer)
        finally:
            await consumer.stop()
    finally:
        await js.delete_stream(name)


# -- recovery ---------------------------------------------------------------------------


async def test_reset_mid_stream_loses_and_duplicates_nothing(
    js: natskv.JetStream, stream: str
) -> None:
    await _bulk_publish(js.nc, [f"{stream}.a"] * 200, lambda i: f"v{i}".encode())
    consumer = js.ordered_consumer(stream)
    await consumer.start()
    try:
        first = await consumer.next_batch(timeout=10)
        old_name = consumer.name
        # recreate while the server may still be pushing the backlog
        consumer._schedule_reset()
        assert consumer._reset_task is not None
        await consumer._reset_task
        assert consumer.resets == 1
        assert consumer.name != old_name
        await _bulk_publish(js.nc, [f"{stream}.a"] * 100, lambda i: f"v{200 + i}".encode())
        rest = await _collect(consumer, 300 - len(first))
        got = first + rest
        assert [s for _, s, _, _ in got] == list(range(1, 301))
        assert [m.data for m, *_ in got] == [f"v{i}".encode() for i in range(300)]
        assert consumer.resets == 1
        assert consumer.name != old_name
        await _assert_quiet(consumer)
        await _consumer_gone(js, stream, old_name)
        assert (await js.stream_info(stream)).state.consumer_count == 1
    finally:
        await consumer.stop()


async def test_gap_recovery_after_a_dropped_message(
    js: natskv.JetStream, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _bulk_publish(js.nc, [f"{stream}.a"] * 100, lambda i: f"v{i}".encode())
    consumer = js.ordered_consumer(stream)
    deliver = consumer._on_msg
    dropped: list[str] = []

    def lossy(msg: Msg) -> None:
        # lose the 40th data message of the first consumer, as if the network ate it
        if not dropped and msg.reply and msg.reply.split(".")[-3:-2] == ["40"]:
            dropped.append(consumer.name)
            return
        deliver(msg)

    monkeypatch.setattr(consumer, "_on_msg", lossy)
    await consumer.start()
    first_name = consumer.name
    try:
        got = await _collect(consumer, 100)
        assert dropped == [first_name]
        assert [s for _, s, _, _ in got] == list(range(1, 101))
        assert [m.data for m, *_ in got] == [f"v{i}".encode() for i in range(100)]
        await _settled(consumer)
        assert consumer.resets == 1
        await _assert_quiet(consumer)
        await _consumer_gone(js, stream, first_name)
        assert (await js.stream_info(stream)).state.consumer_count == 1
    finally:
        await consumer.stop()


async def test_reset_before_the_first_delivery_keeps_the_start(
    js: natskv.JetStream, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # deliver "new": messages written while the first consumer's deliveries were lost must
    # come from its replacement, not be skipped by a second "new" start
    await js.publish(f"{stream}.a", b"old")
    consumer = js.ordered_consumer(stream, deliver_policy="new")
    deliver = consumer._on_msg
    lost: list[bytes] = []
    first: list[str] = []

    def cut_off(msg: Msg) -> None:
        if msg.reply and consumer.name in first:
            lost.append(msg.data)  # the first consumer's deliveries never arrive
            return
        deliver(msg)

    monkeypatch.setattr(consumer, "_on_msg", cut_off)
    await consumer.start()
    first.append(consumer.name)
    try:
        for i in range(3):
            await js.publish(f"{stream}.a", f"during-{i}".encode())
        for _ in range(500):
            if len(lost) == 3:
                break
            await asyncio.sleep(0.01)
        assert lost == [b"during-0", b"during-1", b"during-2"]
        consumer._schedule_reset()
        got = await _collect(consumer, 3)
        assert [(m.data, s) for m, s, _, _ in got] == [
            (b"during-0", 2),
            (b"during-1", 3),
            (b"during-2", 4),
        ]
        await _settled(consumer)
        assert consumer.resets == 1
        await _assert_quiet(consumer)
    finally:
        await consumer.stop()


async def test_tail_gap_detected_by_heartbeat(
    js: natskv.JetStream, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The last message is lost: no later message reveals the gap, the heartbeat does.
    await _bulk_publish(js.nc, [f"{stream}.a"] * 10, lambda i: f"v{i}".encode())
    consumer = js.ordered_consumer(stream, idle_heartbeat=0.2)
    deliver = consumer._on_msg
    dropped: list[str] = []

    def lossy(msg: Msg) -> None:
        if not dropped and msg.reply and msg.reply.split(".")[-3:-2] == ["10"]:
            dropped.append(msg.reply)
            return
        deliver(msg)

    monkeypatch.setattr(consumer, "_on_msg", lossy)
    await consumer.start()
    first_name = consumer.name
    try:
        got = await _collect(consumer, 10)
        assert dropped
        assert [s for _, s, _, _ in got] == list(range(1, 11))
        await _settled(consumer)
        assert consumer.resets == 1
        await _consumer_gone(js, stream, first_name)
    finally:
        await consumer.stop()


async def test_stop_deletes_the_consumer(js: natskv.JetStream, stream: str) -> None:
    await js.publish(f"{stream}.a", b"x")
    consumer = js.ordered_consumer(stream)
    await consumer.start()
    name = consumer.name
    assert (await js.consumer_info(stream, name)).name == name
    await _collect(consumer, 1)
    await consumer.stop()
    await _consumer_gone(js, stream, name)
    assert (await js.stream_info(stream)).state.consumer_count == 0
    with pytest.raises(StopAsyncIteration):
        await consumer.next_batch(timeout=1)
    await consumer.stop()  # idempotent


async def test_stop_wakes_a_waiting_reader(js: natskv.JetStream, stream: str) -> None:
    consumer = js.ordered_consumer(stream)
    await consumer.start()
    reader = asyncio.ensure_future(consumer.next_batch())
    await asyncio.sleep(0)
    await consumer.stop()
    with pytest.raises(StopAsyncIteration):
        await reader


async def test_closing_the_connection_ends_a_reader(nats_url: str, stream: str) -> None:
    async with await natskv.connect(nats_url) as nc:
        js = natskv.JetStream(nc)
        for i in range(3):
            await js.publish(f"{stream}.a", f"v{i}".encode())
        consumer = js.ordered_consumer(stream)
        await consumer.start()
        for _ in range(500):
            if sum(item[0] is not None for item in consumer._items) == 3:
                break
            await asyncio.sleep(0.01)
        await nc.close()
        # what was delivered before the close is still read, then the reader learns why
        assert [s for _, s, _, _ in await consumer.next_batch(timeout=WAIT)] == [1, 2, 3]
        with pytest.raises(natskv.ConnectionClosedError):
            await consumer.next_batch(timeout=WAIT)
        await consumer.stop()


async def test_closing_the_connection_wakes_a_waiting_reader(nats_url: str, stream: str) -> None:
    async with await natskv.connect(nats_url) as nc:
        consumer = natskv.JetStream(nc).ordered_consumer(stream)
        await consumer.start()
        reader = asyncio.ensure_future(consumer.next_batch())
        await asyncio.sleep(0)
        await nc.close()
        with pytest.raises(natskv.ConnectionClosedError):
            await asyncio.wait_for(reader, WAIT)
        await consumer.stop()


async def test_consumer_on_missing_stream(js: natskv.JetStream) -> None:
    consumer = js.ordered_consumer(_name())
    with pytest.raises(natskv.StreamNotFoundError):
        await consumer.start()
    assert consumer._sub is None


async def _publish_retrying(js: natskv.JetStream, subject: str, data: bytes) -> int:
    """Publish once the restarted server's JetStream answers again."""
    for _ in range(200):
        try:
            return (await js.publish(subject, data, timeout=1.0)).seq
        except (natskv.NoRespondersError, natskv.TimeoutError, natskv.NatsConnectionError):
            await asyncio.sleep(0.05)
    raise AssertionError("JetStream did not come back after the restart")


async def test_recovers_across_a_server_restart(tmp_path: Path) -> None:
    server = EmbeddedServer(durable=False, data_dir=tmp_path / "js-data")
    await server.astart()
    nc: natskv.Connection | None = None
    try:
        nc = await natskv.connect(
            server.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1, reconnect_jitter=0
        )
        js = natskv.JetStream(nc)
        name = _name()
        await js.create_stream({"name": name, "subjects": [f"{name}.>"], "storage": "file"})
        await _bulk_publish(nc, [f"{name}.a"] * 50, lambda i: f"v{i}".encode())
        consumer = js.ordered_consumer(name)
        await consumer.start()
        try:
            before = await _collect(consumer, 50)
            reconnected = asyncio.Event()
            nc.add_reconnect_listener(reconnected.set)

            await server.arestart()
            await asyncio.wait_for(reconnected.wait(), 30)
            for i in range(50, 100):
                assert await _publish_retrying(js, f"{name}.a", f"v{i}".encode()) == i + 1

            after = await _collect(consumer, 50, timeout=30)
            got = before + after
            assert [s for _, s, _, _ in got] == list(range(1, 101))
            assert [m.data for m, *_ in got] == [f"v{i}".encode() for i in range(100)]
            await _settled(consumer)
            assert consumer.resets >= 1
            await _assert_quiet(consumer)
        finally:
            await consumer.stop()
        assert (await js.stream_info(name)).state.consumer_count == 0
    finally:
        if nc is not None:
            await nc.close()
        await server.astop()


# -- failures and logs ------------------------------------------------------------------


async def test_a_deleted_stream_ends_a_waiting_reader_at_once(
    js: natskv.JetStream, caplog: pytest.LogCaptureFixture
) -> None:
    # the server's stream-deleted advisory, not two missed heartbeats (10-20 s), tells
    name = _name()
    await js.create_stream({"name": name, "subjects": [f"{name}.>"], "storage": "memory"})
    consumer = js.ordered_consumer(name)
    await consumer.start()
    try:
        reader = asyncio.ensure_future(consumer.next_batch())
        await asyncio.sleep(0.05)
        with caplog.at_level(logging.INFO, logger="natskv.jetstream"):
            await js.delete_stream(name)
            with pytest.raises(natskv.StreamNotFoundError):
                await asyncio.wait_for(reader, 3.0)
        logged = [r for r in caplog.records if r.name == "natskv.jetstream"]
        assert any(r.levelno == logging.ERROR and name in r.getMessage() for r in logged)
    finally:
        await consumer.stop()


async def test_resets_are_logged_with_their_cause(
    js: natskv.JetStream,
    stream: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _bulk_publish(js.nc, [f"{stream}.a"] * 20, lambda i: f"v{i}".encode())
    consumer = js.ordered_consumer(stream)
    deliver = consumer._on_msg
    dropped: list[int] = []

    def lossy(msg: Msg) -> None:
        if not dropped and msg.reply and msg.reply.split(".")[-3:-2] == ["5"]:
            dropped.append(5)
            return
        deliver(msg)

    monkeypatch.setattr(consumer, "_on_msg", lossy)
    with caplog.at_level(logging.INFO, logger="natskv.jetstream"):
        await consumer.start()
        try:
            await _collect(consumer, 20)
            await _settled(consumer)
        finally:
            await consumer.stop()
    (record,) = [r for r in caplog.records if r.name == "natskv.jetstream"]
    assert record.levelno == logging.WARNING
    assert "gap" in record.getMessage() and stream in record.getMessage()


async def test_a_reset_after_a_reconnect_is_logged(
    nats_url: str, stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = nats_url.rsplit("//", 1)[1].split(":")
    async with FaultProxy(host, int(port)) as proxy:
        nc = await natskv.connect(proxy.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1)
        try:
            consumer = natskv.JetStream(nc).ordered_consumer(stream)
            await consumer.start()
            reconnected = asyncio.Event()
            nc.add_reconnect_listener(reconnected.set)
            with caplog.at_level(logging.INFO, logger="natskv.jetstream"):
                proxy.reset()
                await asyncio.wait_for(reconnected.wait(), WAIT)
                await asyncio.sleep(0)
                await _settled(consumer)
            assert consumer.resets == 1
            logged = [r.getMessage() for r in caplog.records if r.name == "natskv.jetstream"]
            assert any("reconnect" in m for m in logged), logged
            await consumer.stop()
        finally:
            await nc.close()
