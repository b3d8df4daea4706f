"""Writing keys: put, delete and purge markers, purge_deletes, and pipelined puts
(put_many, put_nowait)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta

import pytest

import natskv
from natskv import KVOperation, KVStore


@dataclass
class ShopOrder:
    id: int


# -- put --------------------------------------------------------------------------------


async def test_put_overwrites_and_revisions_grow(store: KVStore) -> None:
    r1 = await store.put("k", b"1")
    r_other = await store.put("other", b"x")
    r2 = await store.put("k", b"2")
    assert r1 < r_other < r2
    entry = await store.get_entry("k")
    assert (entry.value, entry.revision) == (b"2", r2)


async def test_keys_with_every_allowed_character(store: KVStore) -> None:
    key = "a-b_c/d=e.F0.9"
    await store.put(key, b"v")
    assert await store.get(key) == b"v"
    assert [k async for k in store.keys()] == [key]


async def test_empty_value(store: KVStore) -> None:
    await store.put("empty", b"")
    entry = await store.get_entry("empty")
    assert entry.value == b""
    assert entry.operation is KVOperation.PUT


# -- delete / purge ---------------------------------------------------------------------


async def test_delete(store: KVStore) -> None:
    r1 = await store.put("k", b"1")
    marker = await store.delete("k")
    assert marker > r1
    with pytest.raises(natskv.KeyDeletedError) as ei:
        await store.get("k")
    assert ei.value.revision == marker
    assert ei.value.operation is KVOperation.DEL
    # history is kept
    ops = [(e.operation, e.revision) async for e in store.history("k")]
    assert ops == [(KVOperation.PUT, r1), (KVOperation.DEL, marker)]
    assert (await store.get_entry("k", revision=r1)).value == b"1"


async def test_delete_of_missing_key_writes_a_marker(store: KVStore) -> None:
    marker = await store.delete("never-was")
    with pytest.raises(natskv.KeyDeletedError) as ei:
        await store.get("never-was")
    assert ei.value.revision == marker


async def test_purge(store: KVStore) -> None:
    for i in range(4):
        await store.put("k", f"v{i}".encode())
    await store.put("other", b"stays")
    marker = await store.purge("k")
    with pytest.raises(natskv.KeyDeletedError) as ei:
        await store.get("k")
    assert ei.value.revision == marker
    assert ei.value.operation is KVOperation.PURGE
    history = [e async for e in store.history("k")]
    assert [(e.operation, e.revision, e.value) for e in history] == [
        (KVOperation.PURGE, marker, None)
    ]
    assert await store.get("other") == b"stays"
    status = await store.status()
    assert status.values == 2  # the marker and "other"


# -- purge_deletes ----------------------------------------------------------------------


async def test_purge_deletes_only_touches_keys_whose_latest_entry_is_a_marker(
    store: natskv.KVStore,
) -> None:
    await store.put("gone", b"1")
    await store.delete("gone")
    await store.put("back", b"1")
    await store.delete("back")
    await store.put("back", b"2")  # deleted, then written again: keeps its value
    await store.put("live", b"1")
    purged = await store.purge_deletes(older_than=timedelta(0))
    assert purged == 1
    assert [e async for e in store.history("gone")] == []
    assert await store.get("back") == b"2"
    assert len([e async for e in store.history("back")]) == 3
    assert await store.get("live") == b"1"


async def test_purge_deletes_keeps_recent_markers(store: natskv.KVStore) -> None:
    await store.put("k", b"1")
    await store.put("k", b"2")
    marker = await store.delete("k")
    await store.purge_deletes()  # default: markers younger than 30 minutes stay
    history = [e async for e in store.history("k")]
    assert [e.revision for e in history] == [marker]
    assert history[0].operation is natskv.KVOperation.DEL


# -- pipelining -------------------------------------------------------------------------


async def test_put_many(store: KVStore) -> None:
    items = [(f"k{i}", ShopOrder(id=i)) for i in range(500)]
    revs = await store.put_many(items, window=64)
    assert len(revs) == 500
    assert revs == sorted(revs)
    assert len(set(revs)) == 500
    for i in (0, 250, 499):
        entry = await store.get_entry(f"k{i}", ShopOrder)
        assert (entry.value, entry.revision) == (ShopOrder(id=i), revs[i])
    assert (await store.status()).values == 500


async def test_put_many_validates_before_sending(store: KVStore, nc: natskv.Connection) -> None:
    sent = nc.msgs_out
    with pytest.raises(natskv.InvalidKeyError):
        await store.put_many([("ok", b"1"), ("bad key", b"2")])
    assert nc.msgs_out == sent
    assert [k async for k in store.keys()] == []


async def test_put_many_with_a_window_smaller_than_the_batch(
    store: KVStore, nc: natskv.Connection
) -> None:
    # every window size, including 1 and one larger than the batch, keeps the order
    for window in (1, 2, 7, 4096):
        items = [(f"w{window}.k{i}", f"{window}:{i}".encode()) for i in range(300)]
        revs = await store.put_many(items, window=window)
        assert len(revs) == 300
        assert revs == sorted(revs) and len(set(revs)) == 300
        entry = await store.get_entry(f"w{window}.k299")
        assert (entry.value, entry.revision) == (f"{window}:299".encode(), revs[-1])
    assert await store.put_many([]) == []
    with pytest.raises(ValueError):
        await store.put_many([("k", b"v")], window=0)


async def test_put_many_raises_the_first_failed_put_in_order(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(
        natskv.KVConfig(bucket=bucket_name, storage="memory", max_bytes=4000)
    )
    try:
        # the bucket fills up part way: the first refused put raises, in order
        items = [(f"k{i:03d}", b"x" * 100) for i in range(200)]
        with pytest.raises(natskv.APIError) as ei:
            await store.put_many(items, window=16)
        assert ei.value.err_code == 10077  # maximum bytes exceeded (discard new)
        stored = await store.list_keys()
        assert stored == [f"k{i:03d}" for i in range(len(stored))]
        assert 0 < len(stored) < 200
    finally:
        await kv.delete_store(bucket_name)


async def test_put_many_to_a_deleted_bucket(kv: natskv.KVContext, bucket_name: str) -> None:
    store = await kv.create_store(natskv.KVConfig(bucket=bucket_name, storage="memory"))
    await kv.delete_store(bucket_name)
    with pytest.raises(natskv.BucketNotFoundError):
        await store.put_many([(f"k{i}", b"v") for i in range(50)])


async def test_put_many_times_out_without_acks(nats_url: str, bucket_name: str) -> None:
    # A subscriber that swallows the puts: the subject has a listener, so no 503 comes,
    # and no ack either.
    async with await natskv.connect(nats_url, request_timeout=0.3) as nc:
        js = natskv.JetStream(nc, timeout=0.3)
        kvc = natskv.KVContext(js)
        store = await kvc.create_store(natskv.KVConfig(bucket=bucket_name, storage="memory"))
        try:
            await kvc.delete_store(bucket_name)
            await nc.subscribe(f"$KV.{bucket_name}.>", cb=lambda m: None)
            await nc.flush()
            with pytest.raises(natskv.TimeoutError, match="put number 0"):
                await store.put_many([(f"k{i}", b"v") for i in range(10)])
        finally:
            with contextlib.suppress(natskv.NatsError):
                await kvc.delete_store(bucket_name)


async def test_put_many_fails_at_once_when_the_connection_closes(
    nats_url: str, bucket_name: str
) -> None:
    # Puts swallowed by a subscriber never get an ack; closing the connection must end
    # the wait with ConnectionClosedError, not after the timeout.
    nc = await natskv.connect(nats_url)
    kvc = natskv.KVContext(natskv.JetStream(nc, timeout=30))
    store = await kvc.create_store(natskv.KVConfig(bucket=bucket_name, storage="memory"))
    await kvc.delete_store(bucket_name)
    await nc.subscribe(f"$KV.{bucket_name}.>", cb=lambda m: None)
    await nc.flush()
    task = asyncio.create_task(store.put_many([(f"k{i}", b"v") for i in range(10)]))
    await asyncio.sleep(0.1)
    assert not task.done()
    await nc.close()
    # within 5 s, while its timeout is 30 s: the close ended the wait
    with pytest.raises(natskv.ConnectionClosedError):
        await asyncio.wait_for(task, 5)


async def test_put_nowait_pipelining(store: KVStore) -> None:
    pending = [store.put_nowait(f"k{i % 10}", f"v{i}".encode()) for i in range(100)]
    revs = await asyncio.gather(*pending)
    assert list(revs) == sorted(revs)
    assert len(set(revs)) == 100
    for i in range(10):
        entry = await store.get_entry(f"k{i}")
        assert entry.value == f"v{90 + i}".encode()
        assert entry.revision == revs[90 + i]
