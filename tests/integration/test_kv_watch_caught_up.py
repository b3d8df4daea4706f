"""``caught_up`` holds exactly when the initial snapshot was delivered, whatever happens to it.

The cases a count of deliveries gets wrong: snapshot values that expire before they are
sent, a consumer recreated in the middle of the snapshot (a key delivered before comes
again), and a snapshot that ends in entries ``ignore_deletes`` hides. (Empty snapshots,
``updates_only`` and filters are in ``test_kv_watch.py``.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from tests.proxy import FaultProxy

import natskv
from natskv import KVConfig, KVEntry, KVStore

# Generous: the longest path to caught up here is one idle heartbeat (5 s) of the server.
WAIT = 30.0


@pytest.fixture
async def cleanup_store(kv: natskv.KVContext, bucket_name: str) -> AsyncIterator[str]:
    try:
        yield bucket_name
    finally:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(bucket_name)


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
