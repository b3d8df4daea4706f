"""A watcher is an ordered consumer: flow control, heartbeats, and recovery from lost
deliveries without a gap or a stale value. (Reconnects and restarts are
``test_kv_watch_resume.py``.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.integration.helpers import nothing_more, take, until

import natskv
from natskv import KVConfig, KVStore, Msg
from natskv.jetstream import OrderedConsumer

_NS = 1_000_000_000


def _cseq(reply: str | None) -> int | None:
    """The consumer sequence of a JetStream delivery's ack subject (v1 or v2 form)."""
    if not reply:
        return None
    parts = reply.split(".")
    if len(parts) == 9:
        return int(parts[6])
    if len(parts) >= 11:
        return int(parts[8])
    return None


def _short_heartbeat(
    monkeypatch: pytest.MonkeyPatch, seconds: float, base: type[OrderedConsumer] = OrderedConsumer
) -> list[OrderedConsumer]:
    """Make KV watchers use ``seconds`` as idle heartbeat; returns the consumers made."""
    made: list[OrderedConsumer] = []

    class Consumer(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["idle_heartbeat"] = seconds
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr("natskv.kv._watch.OrderedConsumer", Consumer)
    return made


# -- flow control -----------------------------------------------------------------------


@pytest.mark.wire("7.3 #5")
async def test_flow_control_holds_the_server_until_the_reader_consumed(
    kv: natskv.KVContext,
    bucket_name: str,
    nc: natskv.Connection,
    monkeypatch: pytest.MonkeyPatch,
    cleanup: list[str],
) -> None:
    """Flow control, answered once the reader consumed what came before.

    A reader that stops leaves the server stalled (bounded queue); when it reads on, every
    large value arrives, in order, none dropped.
    """
    cleanup.append(bucket_name)
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    total, big = 400, b"v" * (64 * 1024)  # 25 MiB: several flow-control windows
    await store.put_many(((f"k{i:03d}", big) for i in range(total)), window=128)
    flow_replies: list[str] = []
    real_publish = nc.lowlevel.publish_nowait

    def publish_nowait(subject: str, payload: bytes = b"", **kw: Any) -> None:
        if subject.startswith("$JS.FC."):
            flow_replies.append(subject)
        real_publish(subject, payload, **kw)

    monkeypatch.setattr(nc.lowlevel, "publish_nowait", publish_nowait)
    watcher = store.watch()
    await watcher.start()
    await asyncio.sleep(0.5)  # a reader late to start: the server stops at one window
    stalled_at = watcher.last_revision
    assert 0 < stalled_at < total // 4
    first = await watcher.next(timeout=10)
    await asyncio.sleep(0.5)
    # one entry read, but not the batch before the flow-control request: still stalled
    assert watcher.last_revision == stalled_at
    revisions = [first.revision]
    max_buffered = 0
    while len(revisions) < total:
        consumer = watcher._consumer
        assert consumer is not None
        max_buffered = max(
            max_buffered, len(consumer._items) + len(watcher._batch) - watcher._index
        )
        entry = await watcher.next(timeout=10)
        assert entry.value == big
        revisions.append(entry.revision)
        if len(revisions) % 20 == 0:
            await asyncio.sleep(0.005)  # a slow reader
    assert revisions == list(range(1, total + 1))
    assert watcher.caught_up
    assert flow_replies  # the server asked, and was answered
    print(f"max entries buffered by the watcher: {max_buffered} of {total}")
    await watcher.stop()


@pytest.mark.wire("7.3 #5")
async def test_a_lost_flow_control_request_is_recovered_by_the_stalled_header(
    kv: natskv.KVContext,
    bucket_name: str,
    monkeypatch: pytest.MonkeyPatch,
    cleanup: list[str],
) -> None:
    """Nats-Consumer-Stalled (in heartbeats) gets its reply.

    The first flow-control request is lost on the way: only the heartbeat's stalled header
    names the reply subject, and answering it gets delivery going again, with no reset.
    """
    lost: list[str] = []
    stalled: list[str] = []

    class LosesOneFlowControl(OrderedConsumer):
        def _control(self, msg: Msg) -> None:
            if msg.reply and "FlowControl" in msg.description and not lost:
                lost.append(msg.reply)
                return
            if msg.headers.get("Nats-Consumer-Stalled"):
                stalled.append(msg.headers["Nats-Consumer-Stalled"])
            super()._control(msg)

    consumers = _short_heartbeat(monkeypatch, 0.2, LosesOneFlowControl)
    cleanup.append(bucket_name)
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    total, big = 200, b"s" * (64 * 1024)
    await store.put_many(((f"k{i:03d}", big) for i in range(total)), window=128)
    async with store.watch() as watcher:
        revisions = [(await watcher.next(timeout=10)).revision for _ in range(total)]
        assert revisions == list(range(1, total + 1))
        assert len(lost) == 1
        assert lost[0] in stalled  # the heartbeat repeated the lost request's reply subject
        assert consumers[0].resets == 0  # recovered by the reply, not by a new consumer


# -- heartbeats -------------------------------------------------------------------------


@pytest.mark.wire("7.3 #5")
async def test_heartbeats_keep_an_idle_watcher_alive(
    store: natskv.KVStore, js: natskv.JetStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Heartbeats feed the 2x watchdog: an idle watcher is not reset."""
    consumers = _short_heartbeat(monkeypatch, 0.2)
    await store.put("k", b"1")
    async with store.watch() as watcher:
        assert (await watcher.next(timeout=10)).value == b"1"
        (consumer,) = consumers
        name = consumer.name
        info = await js.consumer_info(store.stream, name)
        assert info.config["idle_heartbeat"] == int(0.2 * _NS)
        activity = consumer._activity
        await asyncio.sleep(1.2)  # 6 heartbeat intervals, 3 watchdog periods, no data
        assert consumer._activity > activity  # the heartbeats arrived ...
        assert consumer.resets == 0  # ... so the watchdog never fired
        assert consumer.name == name
        await store.put("k", b"2")
        entry = await watcher.next(timeout=10)
        assert (entry.value, entry.revision) == (b"2", 2)


@pytest.mark.wire("7.3 #5")
async def test_missing_heartbeats_recreate_the_consumer(
    store: natskv.KVStore, js: natskv.JetStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Silence for 2x the heartbeat -> a new consumer from last_sseq+1."""
    consumers = _short_heartbeat(monkeypatch, 0.2)
    await store.put("k", b"1")
    async with store.watch() as watcher:
        assert (await watcher.next(timeout=10)).revision == 1
        (consumer,) = consumers
        old = consumer.name
        # the server-side consumer vanishes: no more heartbeats reach the watcher
        await js.delete_consumer(store.stream, old)
        await until(lambda: consumer.resets >= 1, "a heartbeat-triggered reset")
        assert consumer.name != old
        await store.put("k", b"2")
        entry = await watcher.next(timeout=10)
        assert (entry.value, entry.revision) == (b"2", 2)


# -- gaps -------------------------------------------------------------------------------


@pytest.mark.wire("7.3 #5")
async def test_a_consumer_sequence_gap_recreates_the_consumer(
    store: natskv.KVStore, js: natskv.JetStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One lost delivery -> gap detected, consumer re-created, no loss."""
    dropped: list[int] = []

    class Lossy(OrderedConsumer):
        def _on_msg(self, msg: Msg) -> None:
            if not dropped and _cseq(msg.reply) == 20:
                dropped.append(20)  # as if the network ate one delivery
                return
            super()._on_msg(msg)

    monkeypatch.setattr("natskv.kv._watch.OrderedConsumer", Lossy)
    await store.put_many((f"k{i:02d}", b"%d" % i) for i in range(50))
    async with store.watch() as watcher:
        entries = await watcher.initial_values()
        consumer = watcher._consumer
        assert isinstance(consumer, Lossy)
        assert dropped == [20]
        assert [e.revision for e in entries] == list(range(1, 51))
        assert [e.value for e in entries] == [b"%d" % i for i in range(50)]
        assert consumer.resets == 1
        assert (await js.stream_info(store.stream)).state.consumer_count == 1


async def test_recovery_during_the_initial_snapshot(
    store: KVStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A consumer reset in the middle of the initial values must not replay older revisions.

    The snapshot of a(1) b(2) c(3) b(4) is a1, c3, b4. Losing c3 makes the ordered consumer
    recreate itself; resuming by sequence from 2 would replay b2 (a stale value) and let
    ``caught_up`` fire after c3, before b's current value b4 arrived.
    """
    from natskv.jetstream import OrderedConsumer

    original = OrderedConsumer._on_msg
    dropped: list[str] = []

    def lossy(self: OrderedConsumer, msg: Msg) -> None:
        if not dropped and msg.reply and msg.subject.endswith(".c"):
            dropped.append(msg.subject)
            return
        original(self, msg)

    for key, value in [("a", b"1"), ("b", b"2"), ("c", b"3"), ("b", b"4")]:
        await store.put(key, value)
    monkeypatch.setattr(OrderedConsumer, "_on_msg", lossy)
    async with store.watch() as w:
        initial = await asyncio.wait_for(w.initial_values(), 10)
    assert dropped
    assert {e.key: e.value for e in initial} == {"a": b"1", "b": b"4", "c": b"3"}
    assert [e.value for e in initial if e.key == "b"] == [b"4"]


async def test_recovery_after_the_snapshot_replays_every_revision(
    store: KVStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the initial values a reset resumes by sequence: no live revision is skipped.
    from natskv.jetstream import OrderedConsumer

    original = OrderedConsumer._on_msg
    dropped: list[bytes] = []

    def lossy(self: OrderedConsumer, msg: Msg) -> None:
        if not dropped and msg.reply and msg.data == b"live-2":
            dropped.append(msg.data)
            return
        original(self, msg)

    await store.put("k", b"initial")
    monkeypatch.setattr(OrderedConsumer, "_on_msg", lossy)
    async with store.watch() as w:
        assert [e.value for e in await w.initial_values()] == [b"initial"]
        for i in range(1, 5):
            await store.put("k", f"live-{i}".encode())
        live = await take(w, 4)
        await nothing_more(w)
    assert dropped == [b"live-2"]
    assert [e.value for e in live] == [b"live-1", b"live-2", b"live-3", b"live-4"]
