"""How watchers and scans fail: deleted buckets, timeouts, undecodable values, logged resets."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest

import natskv
from natskv import KVConfig, KVOperation, KVStore

WAIT = 10.0


@dataclass
class ShopOrder:
    id: int


# -- a deleted bucket -------------------------------------------------------------------


async def test_scans_and_watch_of_a_deleted_bucket_raise_bucket_not_found(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    await store.put("k", b"v")
    await kv.delete_store(bucket_name)
    with pytest.raises(natskv.BucketNotFoundError) as ei:
        await store.list_keys()
    assert ei.value.bucket == bucket_name
    with pytest.raises(natskv.BucketNotFoundError):
        [k async for k in store.keys()]
    with pytest.raises(natskv.BucketNotFoundError):
        [e async for e in store.history("k")]
    with pytest.raises(natskv.BucketNotFoundError):
        await store.watch().start()
    with pytest.raises(natskv.BucketNotFoundError):
        await store.watch().next(timeout=WAIT)


async def test_a_watcher_learns_at_once_that_its_bucket_was_deleted(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    # Without a word from the server, only the missing heartbeats would tell (10-20 s).
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    await store.put("k", b"v")
    async with store.watch() as watcher:
        assert (await watcher.next(timeout=WAIT)).key == "k"
        reader = asyncio.ensure_future(watcher.next())
        await asyncio.sleep(0.05)
        await kv.delete_store(bucket_name)
        with pytest.raises(natskv.BucketNotFoundError) as ei:
            await asyncio.wait_for(reader, 3.0)
        assert ei.value.bucket == bucket_name
        assert isinstance(ei.value.__cause__, natskv.StreamNotFoundError)


# -- timeouts ---------------------------------------------------------------------------


async def test_watch_timeouts_are_natskv_timeouts(store: KVStore) -> None:
    await store.put("k", b"v")
    async with store.watch() as watcher:
        # nothing read yet, so the snapshot's one entry is not delivered: not caught up
        with pytest.raises(natskv.TimeoutError):
            await watcher.wait_caught_up(timeout=0.1)
        assert (await watcher.next(timeout=WAIT)).key == "k"
        with pytest.raises(natskv.TimeoutError) as ei:
            await watcher.next(timeout=0.1)
        assert store.bucket in str(ei.value)
        await store.put("k", b"later")  # a timeout loses nothing
        assert (await watcher.next(timeout=WAIT)).value == b"later"


# -- undecodable values -----------------------------------------------------------------


async def _two_good_one_bad(store: KVStore) -> None:
    await store.put("o1", ShopOrder(id=1))
    await store.put("bad", b"not json")
    await store.put("o2", ShopOrder(id=2))


async def test_decode_errors_raise_by_default_and_the_watch_goes_on(store: KVStore) -> None:
    await _two_good_one_bad(store)
    async with store.watch(type=ShopOrder) as watcher:
        assert (await watcher.next(timeout=WAIT)).value == ShopOrder(id=1)
        with pytest.raises(natskv.DecodeError) as ei:
            await watcher.next(timeout=WAIT)
        assert (ei.value.key, ei.value.raw) == ("bad", b"not json")
        entry = await watcher.next(timeout=WAIT)
        assert entry.value == ShopOrder(id=2)
        assert watcher.caught_up


async def test_decode_errors_skipped_and_logged(
    store: KVStore, caplog: pytest.LogCaptureFixture
) -> None:
    await _two_good_one_bad(store)
    with caplog.at_level(logging.WARNING, logger="natskv.kv"):
        async with store.watch(type=ShopOrder, on_decode_error="skip") as watcher:
            got = [e async for e in watcher.initial()]
            await store.put("bad", b"still not json")
            await store.put("o3", ShopOrder(id=3))
            live = await watcher.next(timeout=WAIT)
    assert [e.value for e in got] == [ShopOrder(id=1), ShopOrder(id=2)]
    assert live.value == ShopOrder(id=3)
    skipped = [r for r in caplog.records if r.name == "natskv.kv"]
    assert len(skipped) == 2
    assert all("bad" in r.getMessage() and r.levelno == logging.WARNING for r in skipped)


async def test_decode_errors_handed_to_a_callback(store: KVStore) -> None:
    await _two_good_one_bad(store)
    errors: list[natskv.DecodeError] = []
    async with store.watch(type=ShopOrder, on_decode_error=errors.append) as watcher:
        got = await watcher.initial_values()
    assert [e.value for e in got] == [ShopOrder(id=1), ShopOrder(id=2)]
    assert [(e.key, e.raw, e.type) for e in errors] == [("bad", b"not json", ShopOrder)]


async def test_markers_never_decode_so_never_fail(store: KVStore) -> None:
    await store.put("o1", ShopOrder(id=1))
    await store.delete("o1")
    async with store.watch(type=ShopOrder, on_decode_error="raise") as watcher:
        (entry,) = await watcher.initial_values()
    assert (entry.operation, entry.value) == (KVOperation.DEL, None)


async def test_an_unknown_decode_policy_is_rejected_at_the_call(store: KVStore) -> None:
    with pytest.raises(natskv.InvalidConfigError):
        store.watch(on_decode_error="ignore")  # type: ignore[call-overload]
