"""Watching Key/Value buckets against a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

import natskv
from natskv import KVEntry, KVOperation, KVStore, KVWatcher
from natskv.client import Msg

# Generous: a watcher that is not stuck delivers in milliseconds.
WAIT = 10.0


@dataclass
class ShopOrder:
    id: int


async def _take(w: KVWatcher[Any], n: int) -> list[KVEntry[Any]]:
    return [await w.next(timeout=WAIT) for _ in range(n)]


async def _nothing_more(w: KVWatcher[Any]) -> None:
    with pytest.raises(natskv.TimeoutError):
        await w.next(timeout=0.3)


def _summary(entries: list[KVEntry[Any]]) -> list[tuple[str, KVOperation, Any]]:
    return [(e.key, e.operation, e.value) for e in entries]


# -- changes ----------------------------------------------------------------------------


async def test_watch_receives_added_updated_deleted(store: KVStore) -> None:
    got: list[KVEntry[bytes]] = []
    async with store.watch() as w:
        assert w.caught_up
        # One change at a time: a purge rolls up earlier revisions of its key, so a put
        # not yet delivered when the purge lands is (rightly) never delivered at all.
        writes: list[Callable[[], Awaitable[int]]] = [
            lambda: store.put("order-1", b"new"),
            lambda: store.put("order-1", b"changed"),
            lambda: store.delete("order-1"),
            lambda: store.put("order-2", b"x"),
            lambda: store.purge("order-2"),
        ]
        revisions = []
        for write in writes:
            revisions.append(await write())
            got.append(await w.next(timeout=WAIT))
        await _nothing_more(w)
    assert [e.revision for e in got] == revisions
    assert _summary(got) == [
        ("order-1", KVOperation.PUT, b"new"),
        ("order-1", KVOperation.PUT, b"changed"),
        ("order-1", KVOperation.DEL, None),
        ("order-2", KVOperation.PUT, b"x"),
        ("order-2", KVOperation.PURGE, None),
    ]
    assert all(e.bucket == store.bucket for e in got)
    assert all(e.created.tzinfo is not None for e in got)
    assert [e.delta for e in got] == [0] * 5


async def test_async_for_watch(store: KVStore) -> None:
    await store.put("a", b"1")
    seen: list[KVEntry[bytes]] = []
    w = store.watch()
    try:
        async for entry in w:
            seen.append(entry)
            if entry.key == "a":
                await store.put("b", b"2")
            if entry.key == "b":
                break
    finally:
        await w.stop()
    assert _summary(seen) == [("a", KVOperation.PUT, b"1"), ("b", KVOperation.PUT, b"2")]


async def test_typed_watch_decodes_and_never_decodes_markers(store: KVStore) -> None:
    await store.put("order-1", ShopOrder(id=1))
    await store.delete("order-1")
    await store.put("order-2", ShopOrder(id=2))
    async with store.watch(type=ShopOrder) as w:
        initial = await w.initial_values()
        await store.put("order-3", ShopOrder(id=3))
        await store.purge("order-2")  # order-2's put was delivered already: not rolled up
        live = await _take(w, 2)
    assert _summary(initial) == [
        ("order-1", KVOperation.DEL, None),
        ("order-2", KVOperation.PUT, ShopOrder(id=2)),
    ]
    assert _summary(live) == [
        ("order-3", KVOperation.PUT, ShopOrder(id=3)),
        ("order-2", KVOperation.PURGE, None),
    ]


async def test_watch_stop_ends_iteration(store: KVStore) -> None:
    w = store.watch()
    await w.start()
    reader = asyncio.ensure_future(w.next())
    await asyncio.sleep(0)
    await w.stop()
    with pytest.raises(StopAsyncIteration):
        await reader
    assert [e async for e in w] == []


# -- caught up --------------------------------------------------------------------------


async def test_caught_up_on_empty_bucket_immediately(store: KVStore) -> None:
    w = store.watch()
    await w.start()
    try:
        assert w.caught_up
        assert w.initial_count == 0
        await w.wait_caught_up(timeout=WAIT)
        assert await w.initial_values() == []
    finally:
        await w.stop()


async def test_caught_up_after_initial_values(store: KVStore) -> None:
    for i in range(5):
        await store.put(f"k{i}", f"v{i}".encode())
    await store.put("k0", b"v0-new")
    async with store.watch() as w:
        assert not w.caught_up
        assert w.initial_count == 5
        first = await _take(w, 4)
        assert not w.caught_up
        last = await w.next(timeout=WAIT)
        assert w.caught_up
        await w.wait_caught_up(timeout=WAIT)
    entries = [*first, last]
    # one entry per key, the latest value, in stream order
    assert [(e.key, e.value) for e in entries] == [
        ("k1", b"v1"),
        ("k2", b"v2"),
        ("k3", b"v3"),
        ("k4", b"v4"),
        ("k0", b"v0-new"),
    ]
    assert [e.delta for e in entries] == [4, 3, 2, 1, 0]


async def test_wait_caught_up_while_another_task_reads(store: KVStore) -> None:
    for i in range(20):
        await store.put(f"k{i}", b"v")
    async with store.watch() as w:
        received: list[KVEntry[bytes]] = []

        async def read() -> None:
            async for e in w:
                received.append(e)

        reader = asyncio.ensure_future(read())
        try:
            await w.wait_caught_up(timeout=WAIT)
            assert len(received) == 20
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def test_caught_up_for_all_deleted_keys(store: KVStore) -> None:
    for key in ("a", "b", "c"):
        await store.put(key, b"v")
        await store.delete(key)
    async with store.watch() as w:
        initial = await w.initial_values()
        assert w.caught_up
    assert _summary(initial) == [
        ("a", KVOperation.DEL, None),
        ("b", KVOperation.DEL, None),
        ("c", KVOperation.DEL, None),
    ]


async def test_caught_up_with_ignore_deletes(store: KVStore) -> None:
    await store.put("a", b"1")
    await store.put("b", b"2")
    await store.delete("b")
    await store.put("c", b"3")
    await store.purge("c")
    async with store.watch(ignore_deletes=True) as w:
        initial = await w.initial_values()
        assert w.caught_up
        assert _summary(initial) == [("a", KVOperation.PUT, b"1")]
        await store.delete("a")
        await store.put("d", b"4")
        assert _summary(await _take(w, 1)) == [("d", KVOperation.PUT, b"4")]


async def test_caught_up_with_ignore_deletes_when_everything_is_deleted(store: KVStore) -> None:
    # the markers still count toward caught up, though none of them is delivered
    for key in ("a", "b"):
        await store.put(key, b"v")
        await store.delete(key)
    async with store.watch(ignore_deletes=True) as w:
        assert not w.caught_up
        initial = await asyncio.wait_for(w.initial_values(), WAIT)
        assert initial == []
        assert w.caught_up
        await store.put("c", b"new")
        assert _summary(await _take(w, 1)) == [("c", KVOperation.PUT, b"new")]


async def test_caught_up_with_ignore_deletes_seen_by_a_concurrent_waiter(store: KVStore) -> None:
    await store.put("a", b"v")
    await store.delete("a")
    async with store.watch(ignore_deletes=True) as w:
        reader = asyncio.ensure_future(w.next())
        try:
            await w.wait_caught_up(timeout=WAIT)
            assert not reader.done()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def test_updates_only(store: KVStore) -> None:
    await store.put("old", b"1")
    await store.put("old", b"2")
    async with store.watch(updates_only=True) as w:
        assert w.caught_up
        assert await w.initial_values() == []
        await store.put("new", b"3")
        await store.put("old", b"4")
        got = await _take(w, 2)
        assert _summary(got) == [("new", KVOperation.PUT, b"3"), ("old", KVOperation.PUT, b"4")]
        await _nothing_more(w)


async def test_caught_up_waits_for_preexisting_keys_despite_a_concurrent_writer(
    store: KVStore,
) -> None:
    preexisting = {f"pre.{i:04d}" for i in range(1500)}
    await store.put_many((k, b"v") for k in sorted(preexisting))
    stop = asyncio.Event()
    written = 0

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            # new keys and updates of pre-existing keys, racing with the replay
            await store.put(f"live.{written}", b"new")
            await store.put(f"pre.{written % 1500:04d}", b"updated")
            written += 1

    task = asyncio.ensure_future(writer())
    try:
        while written < 20:  # the writer is well under way before the watch starts
            await asyncio.sleep(0.001)
        async with store.watch() as w:
            seen: set[str] = set()
            while not w.caught_up:
                entry = await w.next(timeout=WAIT)
                seen.add(entry.key)
            missing = preexisting - seen
            assert not missing, f"caught up before {len(missing)} pre-existing keys arrived"
    finally:
        stop.set()
        await task


# -- options ----------------------------------------------------------------------------


async def test_include_history(store: KVStore) -> None:
    await store.put("a", b"1")
    await store.put("b", b"x")
    await store.put("a", b"2")
    await store.delete("a")
    async with store.watch("a", include_history=True) as w:
        initial = await w.initial_values()
    assert _summary(initial) == [
        ("a", KVOperation.PUT, b"1"),
        ("a", KVOperation.PUT, b"2"),
        ("a", KVOperation.DEL, None),
    ]
    assert [e.delta for e in initial] == [2, 1, 0]


async def test_meta_only(store: KVStore) -> None:
    r1 = await store.put("a", ShopOrder(id=1))
    r2 = await store.delete("b")
    async with store.watch(type=ShopOrder, meta_only=True) as w:
        initial = await w.initial_values()
        r3 = await store.put("c", ShopOrder(id=3))
        live = await _take(w, 1)
    entries = [*initial, *live]
    assert [(e.key, e.operation, e.revision) for e in entries] == [
        ("a", KVOperation.PUT, r1),
        ("b", KVOperation.DEL, r2),
        ("c", KVOperation.PUT, r3),
    ]
    assert all(e.value is None for e in entries)
    assert all(e.raw == b"" for e in entries)


async def test_resume_from_revision(store: KVStore) -> None:
    await store.put("a", b"1")
    r2 = await store.put("b", b"2")
    await store.put("a", b"3")
    await store.delete("b")
    async with store.watch(resume_from_revision=r2) as w:
        assert w.initial_count == 3
        initial = await w.initial_values()
        assert w.caught_up
        await store.put("c", b"5")
        live = await _take(w, 1)
    assert [e.revision for e in initial] == [r2, r2 + 1, r2 + 2]
    assert _summary(initial) == [
        ("b", KVOperation.PUT, b"2"),
        ("a", KVOperation.PUT, b"3"),
        ("b", KVOperation.DEL, None),
    ]
    assert _summary(live) == [("c", KVOperation.PUT, b"5")]


async def test_resume_from_future_revision_is_caught_up(store: KVStore) -> None:
    rev = await store.put("a", b"1")
    async with store.watch(resume_from_revision=rev + 1) as w:
        assert w.caught_up
        await store.put("b", b"2")
        assert _summary(await _take(w, 1)) == [("b", KVOperation.PUT, b"2")]


async def test_key_filters(store: KVStore) -> None:
    for key in ["a.1", "a.2", "a.b.c", "b", "c.1"]:
        await store.put(key, key.encode())

    async def initial_keys(keys: str | list[str]) -> list[str]:
        async with store.watch(keys) as w:
            return [e.key for e in await w.initial_values()]

    assert await initial_keys("b") == ["b"]
    assert await initial_keys("a.*") == ["a.1", "a.2"]
    assert await initial_keys("a.>") == ["a.1", "a.2", "a.b.c"]
    assert await initial_keys(["a.*", "c.1"]) == ["a.1", "a.2", "c.1"]
    assert await initial_keys(["b", "c.*"]) == ["b", "c.1"]
    assert await initial_keys("nothing.here") == []


async def test_key_filters_apply_to_live_changes(store: KVStore) -> None:
    async with store.watch(["a.*", "c"]) as w:
        await store.put("b", b"no")
        await store.put("a.1", b"yes")
        await store.put("a.1.deep", b"no")
        await store.put("c", b"yes")
        got = await _take(w, 2)
        await _nothing_more(w)
    assert [e.key for e in got] == ["a.1", "c"]


@pytest.mark.parametrize(
    "options",
    [
        {"updates_only": True, "include_history": True},
        {"resume_from_revision": 1, "updates_only": True},
        {"resume_from_revision": 1, "include_history": True},
        {"resume_from_revision": 0},
    ],
    ids=["updates+history", "resume+updates", "resume+history", "resume-zero"],
)
async def test_conflicting_options_raise_at_the_call(
    store: KVStore, nc: natskv.Connection, options: dict[str, Any]
) -> None:
    sent = nc.msgs_out
    with pytest.raises(natskv.InvalidConfigError):
        store.watch(**options)
    assert nc.msgs_out == sent


@pytest.mark.parametrize("bad", ["a b", ".a", "a.", "a..b", "", "a*", "a.>.b", "a>"])
async def test_invalid_filter_raises_at_the_call(
    store: KVStore, nc: natskv.Connection, bad: str
) -> None:
    sent = nc.msgs_out
    with pytest.raises(natskv.InvalidKeyError):
        store.watch(bad)
    with pytest.raises(natskv.InvalidKeyError):
        store.watch(["ok", bad])
    assert nc.msgs_out == sent


async def test_empty_filter_list_is_rejected(store: KVStore) -> None:
    with pytest.raises(natskv.InvalidConfigError):
        store.watch([])


async def test_watch_stop_deletes_the_consumer(store: KVStore, js: natskv.JetStream) -> None:
    await store.put("a", b"1")
    async with store.watch() as w:
        await w.initial_values()
        assert (await js.stream_info(store.stream)).state.consumer_count == 1
    assert (await js.stream_info(store.stream)).state.consumer_count == 0


async def test_iteration_starts_the_watch(store: KVStore) -> None:
    await store.put("a", b"1")
    w = store.watch()
    try:
        entry = await w.next(timeout=WAIT)
        assert entry.key == "a"
        assert w.caught_up
        assert w.last_revision == entry.revision
    finally:
        await w.stop()


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
        initial = await asyncio.wait_for(w.initial_values(), WAIT)
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
        live = await _take(w, 4)
        await _nothing_more(w)
    assert dropped == [b"live-2"]
    assert [e.value for e in live] == [b"live-1", b"live-2", b"live-3", b"live-4"]


async def test_closing_the_connection_ends_the_watch(nats_url: str, bucket_name: str) -> None:
    async with await natskv.connect(nats_url) as nc:
        kv = natskv.KVContext(natskv.JetStream(nc))
        store = await kv.create_store(natskv.KVConfig(bucket=bucket_name, storage="memory"))
        try:
            w = store.watch()
            await w.start()
            reader = asyncio.ensure_future(w.next())
            await asyncio.sleep(0)
        finally:
            await kv.delete_store(bucket_name)
        await nc.close()
        with pytest.raises(natskv.ConnectionClosedError):
            await asyncio.wait_for(reader, WAIT)
        await w.stop()
