"""``caught_up`` holds exactly when the initial snapshot was delivered, whatever happens to it.

Empty snapshots, all-deleted keys, ``ignore_deletes``, concurrent writers, and the cases a
count of deliveries gets wrong: snapshot values that expire before they are sent, a consumer
recreated in the middle of the snapshot (a key delivered before comes again), and a snapshot
that ends in entries ``ignore_deletes`` hides.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from tests.integration.helpers import summary, take
from tests.proxy import FaultProxy

import natskv
from natskv import KVConfig, KVEntry, KVOperation, KVStore

# Generous: the longest path to caught up here is one idle heartbeat (5 s) of the server.
WAIT = 30.0


@pytest.fixture
async def cleanup_store(kv: natskv.KVContext, bucket_name: str) -> AsyncIterator[str]:
    try:
        yield bucket_name
    finally:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(bucket_name)


# -- empty and deleted ------------------------------------------------------------------


async def test_caught_up_on_empty_bucket_immediately(store: KVStore) -> None:
    w = store.watch()
    await w.start()
    try:
        assert w.caught_up
        assert w.initial_count == 0
        await w.wait_caught_up(timeout=10)
        assert await w.initial_values() == []
    finally:
        await w.stop()


@pytest.mark.user_need("end of initial snapshot")
async def test_end_of_initial_snapshot_for_an_empty_bucket(store: natskv.KVStore) -> None:
    """An empty bucket is caught up at once, and lists as empty."""
    async with store.watch() as watcher:
        assert watcher.caught_up  # before anything was read
        await watcher.wait_caught_up(timeout=1)
        assert await watcher.initial_values() == []
        await store.put("k", b"first")  # then the live change comes through
        assert (await watcher.next(timeout=10)).value == b"first"
    assert [k async for k in store.keys("nothing.>")] == []
    assert [e async for e in store.history("missing")] == []


@pytest.mark.wire("7.3 #5")
async def test_end_of_initial_data_for_empty_bucket_and_updates_only(
    store: natskv.KVStore,
) -> None:
    """The caught-up signal is immediate for an empty bucket / updates_only."""
    async with store.watch() as empty:
        assert empty.caught_up and empty.initial_count == 0
        assert await empty.initial_values() == []
    await store.put("k", b"old")
    async with store.watch(updates_only=True) as updates:
        assert updates.caught_up and updates.initial_count == 0
        await store.put("k", b"new")
        entry = await updates.next(timeout=10)
        assert (entry.value, entry.revision) == (b"new", 2)
    async with store.watch("nothing.matches.>") as filtered:
        assert filtered.caught_up and await filtered.initial_values() == []


async def test_caught_up_for_all_deleted_keys(store: KVStore) -> None:
    for key in ("a", "b", "c"):
        await store.put(key, b"v")
        await store.delete(key)
    async with store.watch() as w:
        initial = await w.initial_values()
        assert w.caught_up
    assert summary(initial) == [
        ("a", KVOperation.DEL, None),
        ("b", KVOperation.DEL, None),
        ("c", KVOperation.DEL, None),
    ]


@pytest.mark.user_need("end of initial snapshot")
async def test_end_of_initial_snapshot_when_every_key_is_deleted(store: natskv.KVStore) -> None:
    """All-deleted keys still end the snapshot (with or without them)."""
    for i in range(20):
        await store.put(f"k{i}", b"v")
        await (store.delete(f"k{i}") if i % 2 else store.purge(f"k{i}"))
    async with store.watch() as watcher:
        markers = await watcher.initial_values()
        assert watcher.caught_up
        assert len(markers) == 20
        assert {e.operation for e in markers} == {KVOperation.DEL, KVOperation.PURGE}
    async with store.watch(ignore_deletes=True) as quiet:
        assert await quiet.initial_values() == []
        assert quiet.caught_up and quiet.initial_count == 20
    assert [k async for k in store.keys()] == []


# -- ignore_deletes ---------------------------------------------------------------------


async def test_caught_up_with_ignore_deletes(store: KVStore) -> None:
    await store.put("a", b"1")
    await store.put("b", b"2")
    await store.delete("b")
    await store.put("c", b"3")
    await store.purge("c")
    async with store.watch(ignore_deletes=True) as w:
        initial = await w.initial_values()
        assert w.caught_up
        assert summary(initial) == [("a", KVOperation.PUT, b"1")]
        await store.delete("a")
        await store.put("d", b"4")
        assert summary(await take(w, 1)) == [("d", KVOperation.PUT, b"4")]


async def test_caught_up_with_ignore_deletes_when_everything_is_deleted(store: KVStore) -> None:
    # the markers still count toward caught up, though none of them is delivered
    for key in ("a", "b"):
        await store.put(key, b"v")
        await store.delete(key)
    async with store.watch(ignore_deletes=True) as w:
        assert not w.caught_up
        initial = await asyncio.wait_for(w.initial_values(), 10)
        assert initial == []
        assert w.caught_up
        await store.put("c", b"new")
        assert summary(await take(w, 1)) == [("c", KVOperation.PUT, b"new")]


async def test_caught_up_with_ignore_deletes_seen_by_a_concurrent_waiter(store: KVStore) -> None:
    await store.put("a", b"v")
    await store.delete("a")
    async with store.watch(ignore_deletes=True) as w:
        reader = asyncio.ensure_future(w.next())
        try:
            await w.wait_caught_up(timeout=10)
            assert not reader.done()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def test_initial_ends_where_a_snapshot_ends_in_hidden_deletes(store: KVStore) -> None:
    """With ignore_deletes an ``async for`` reader still learns where the snapshot ends."""
    await store.put("a", b"1")
    for key in ("b", "c"):
        await store.put(key, b"2")
        await store.delete(key)
    async with store.watch(ignore_deletes=True) as watcher:
        initial = [e async for e in watcher.initial()]  # ends though nothing follows "a"
        assert [(e.key, e.value) for e in initial] == [("a", b"1")]
        assert watcher.caught_up
        assert [e async for e in watcher.initial()] == []  # caught up: nothing more
        await store.delete("a")  # hidden too
        await store.put("d", b"4")
        async for entry in watcher:
            assert (entry.key, entry.value) == ("d", b"4")
            break


async def test_initial_of_an_empty_or_all_hidden_snapshot_ends_at_once(store: KVStore) -> None:
    async with store.watch() as watcher:
        assert [e async for e in watcher.initial()] == []
    await store.put("a", b"1")
    await store.delete("a")
    async with store.watch(ignore_deletes=True) as watcher:
        assert [e async for e in watcher.initial()] == []
        assert watcher.caught_up


# -- snapshots with values --------------------------------------------------------------


async def test_caught_up_after_initial_values(store: KVStore) -> None:
    for i in range(5):
        await store.put(f"k{i}", f"v{i}".encode())
    await store.put("k0", b"v0-new")
    async with store.watch() as w:
        assert not w.caught_up
        assert w.initial_count == 5
        first = await take(w, 4)
        assert not w.caught_up
        last = await w.next(timeout=10)
        assert w.caught_up
        await w.wait_caught_up(timeout=10)
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
            await w.wait_caught_up(timeout=10)
            assert len(received) == 20
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def test_initial_then_live_changes_in_one_task(store: KVStore) -> None:
    for i in range(50):
        await store.put(f"k{i:02d}", b"%d" % i)
    async with store.watch() as watcher:
        count = 0
        async for entry in watcher.initial():
            count += 1
            assert watcher.caught_up is (count == 50)
            assert entry.value == b"%d" % (count - 1)
        assert count == 50
        await store.put("k00", b"live")
        assert (await watcher.next(timeout=WAIT)).value == b"live"


# -- concurrent writers -----------------------------------------------------------------


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
                entry = await w.next(timeout=10)
                seen.add(entry.key)
            missing = preexisting - seen
            assert not missing, f"caught up before {len(missing)} pre-existing keys arrived"
    finally:
        stop.set()
        await task


@pytest.mark.user_need("end of initial snapshot")
async def test_end_of_initial_snapshot_with_concurrent_writers(store: natskv.KVStore) -> None:
    """Writers racing the watch cannot end the snapshot early."""
    before = {f"pre.{i:03d}": b"%d" % i for i in range(300)}
    await store.put_many(before.items())
    stop = asyncio.Event()
    written: dict[str, bytes] = {}

    async def writer() -> None:
        n = 0
        while not stop.is_set():
            key = f"live.{n % 50}" if n % 3 else f"pre.{n % 300:03d}"
            value = b"w%d" % n
            await store.put(key, value)
            written[key] = value
            n += 1

    task = asyncio.create_task(writer())
    try:
        while len(written) < 20:
            await asyncio.sleep(0.01)  # the writer is busy when the watch starts
        async with store.watch() as watcher:
            initial = await watcher.initial_values()
            assert watcher.caught_up
            assert watcher.initial_count >= len(before)
            assert set(before) <= {e.key for e in initial}  # nothing pre-existing missed
            stop.set()
            await task
            # afterwards the live changes bring the view up to date
            final = await store.get_many(written)
            view = {e.key: e for e in initial}
            while any(k not in view or view[k].revision < e.revision for k, e in final.items()):
                entry = await watcher.next(timeout=10)
                view[entry.key] = entry
            assert {k: view[k].value for k in final} == written
    finally:
        stop.set()
        await task


# -- what a count of deliveries gets wrong ----------------------------------------------


async def test_caught_up_when_snapshot_values_expire_before_they_are_sent(
    kv: natskv.KVContext, cleanup_store: str
) -> None:
    # 300 values of 20 KB: the server sends about 2 MB (flow control), then waits for the
    # reader; the rest expires meanwhile and is never sent.
    store = await kv.create_store(
        KVConfig(bucket=cleanup_store, storage="memory", ttl=timedelta(seconds=1))
    )
    await store.put_many((f"k{i:03d}", b"v" * 20_000) for i in range(300))
    async with store.watch() as watcher:
        assert watcher.initial_count == 300
        await asyncio.sleep(2.0)  # the reader is late: what the server still holds expires
        initial = await asyncio.wait_for(watcher.initial_values(), WAIT)
        assert watcher.caught_up
        await watcher.wait_caught_up(timeout=1)
        assert 0 < len(initial) < 300
        assert [e.key for e in initial] == [f"k{i:03d}" for i in range(len(initial))]
        # and the watch goes on with live changes
        await store.put("late", b"x")
        assert (await watcher.next(timeout=WAIT)).key == "late"


async def test_caught_up_after_a_reset_in_the_middle_of_the_snapshot(
    nats_url: str, bucket_name: str
) -> None:
    """A key delivered before the reset comes again in the new snapshot: it must not count.

    The snapshot is 400 values of 20 KB, so the server holds back after about 2 MB until
    the reader catches up; the connection is cut while the reader has taken three entries.
    Before the cut, a key already delivered and the key the snapshot ends with are both
    written again: the new snapshot delivers the rest, then both keys at their new
    revisions, and caught up comes only after the last of them.
    """
    host, port = nats_url.rsplit("//", 1)[1].split(":")
    keys = [f"k{i:03d}" for i in range(400)]
    async with FaultProxy(host, int(port)) as proxy:
        nc = await natskv.connect(proxy.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1)
        writer = await natskv.connect(nats_url)
        wkv = natskv.KVContext(natskv.JetStream(writer))
        try:
            wstore = await wkv.create_store(
                KVConfig(bucket=bucket_name, history=5, storage="memory")
            )
            await wstore.put_many((k, b"v" * 20_000) for k in keys)
            store = await natskv.KVContext(natskv.JetStream(nc)).get_store(bucket_name)
            async with store.watch() as watcher:
                first = [await watcher.next(timeout=WAIT) for _ in range(3)]
                assert [e.key for e in first] == keys[:3]
                await wstore.put(keys[1], b"again")  # delivered already
                await wstore.put(keys[-1], b"new")  # not delivered yet
                reconnected = asyncio.Event()
                nc.add_reconnect_listener(reconnected.set)
                proxy.reset()
                await asyncio.wait_for(reconnected.wait(), WAIT)
                seen: dict[str, KVEntry[bytes]] = {e.key: e for e in first}
                while not watcher.caught_up:
                    entry = await watcher.next(timeout=WAIT)
                    seen[entry.key] = entry
                assert watcher._consumer is not None and watcher._consumer.resets >= 1
                missing = [k for k in keys if k not in seen]
                assert not missing, f"caught up before {len(missing)} keys, e.g. {missing[:3]}"
                assert seen[keys[-1]].value == b"new"
        finally:
            with contextlib.suppress(natskv.NatsError):
                await wkv.delete_store(bucket_name)
            await writer.close()
            await nc.close()
