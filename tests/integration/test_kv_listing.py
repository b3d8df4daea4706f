"""Listing: keys() and list_keys() (filtered on the server, streamed, in bounded memory),
history(), and the consumers behind them."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

import natskv
from natskv import KVConfig, KVOperation, KVStore
from natskv.jetstream import ConsumerConfig, ConsumerInfo


@dataclass
class ShopOrder:
    id: int


def _recent(created: datetime) -> bool:
    now = datetime.now(timezone.utc)
    return now - timedelta(minutes=5) < created < now + timedelta(minutes=5)


@pytest.fixture
async def memory_store(kv: natskv.KVContext, bucket_name: str) -> AsyncIterator[natskv.KVStore]:
    """A history-1 memory bucket, for the large listings."""
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    try:
        yield store
    finally:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(bucket_name)


# -- keys -------------------------------------------------------------------------------


async def test_keys(store: KVStore) -> None:
    for key in ["a.1", "a.2", "a.b.c", "b", "c"]:
        await store.put(key, b"v")
    await store.put("a.1", b"again")
    await store.delete("c")
    await store.put("d", b"v")
    await store.purge("d")
    keys = [k async for k in store.keys()]
    assert sorted(keys) == ["a.1", "a.2", "a.b.c", "b"]
    assert len(keys) == len(set(keys))


async def test_keys_with_filters(store: KVStore) -> None:
    for key in ["a.1", "a.2", "a.b.c", "b", "ab"]:
        await store.put(key, b"v")
    assert sorted([k async for k in store.keys("a.*")]) == ["a.1", "a.2"]
    assert sorted([k async for k in store.keys("a.>")]) == ["a.1", "a.2", "a.b.c"]
    assert sorted([k async for k in store.keys("a.1", "b")]) == ["a.1", "b"]
    assert [k async for k in store.keys("zzz.>")] == []


async def test_keys_of_an_empty_bucket(store: KVStore) -> None:
    assert [k async for k in store.keys()] == []


async def test_keys_many(store: KVStore) -> None:
    names = [f"key.{i:05d}" for i in range(3000)]
    await store.put_many((n, b"x") for n in names)
    keys = [k async for k in store.keys()]
    assert keys == names  # stream order


async def test_list_keys_is_keys_as_a_list(store: KVStore) -> None:
    names = [f"key.{i:05d}" for i in range(2000)]
    await store.put_many((n, b"x") for n in names)
    await store.delete("key.00007")
    await store.purge("key.00008")
    # a put whose own headers are unrelated is still a put
    await store.js.publish(f"$KV.{store.bucket}.key.00009", b"y", headers={"X-Trace": "1"})
    expected = [n for n in names if n not in ("key.00007", "key.00008", "key.00009")]
    expected.append("key.00009")
    listed = await store.list_keys()
    assert listed == expected == [k async for k in store.keys()]
    await store.put_many([("grp.a", b"1"), ("grp.b", b"2"), ("grp.c.d", b"3")])
    assert await store.list_keys("grp.*", "key.01999") == ["key.01999", "grp.a", "grp.b"]
    assert await store.list_keys("none.>") == []
    with pytest.raises(natskv.InvalidKeyError):
        await store.list_keys("bad key")


async def test_breaking_out_of_keys_cleans_up(store: KVStore, js: natskv.JetStream) -> None:
    await store.put_many((f"k{i}", b"v") for i in range(50))
    async for _ in store.keys():
        break
    async for _ in store.history("k1"):
        break
    # the abandoned scans' consumers are removed once the generators are finalised
    for _ in range(500):
        if (await js.stream_info(store.stream)).state.consumer_count == 0:
            break
        await asyncio.sleep(0.01)
    assert (await js.stream_info(store.stream)).state.consumer_count == 0


# -- keys at scale ----------------------------------------------------------------------


@pytest.mark.user_need("scalable key listing")
async def test_scalable_key_listing_filters_on_the_server(
    memory_store: natskv.KVStore, consumers: list[tuple[ConsumerConfig, ConsumerInfo]]
) -> None:
    """A filter over 50,000 keys is applied by the server."""
    store = memory_store
    matches = [f"a.{i}" for i in range(500)]
    others = [f"b.{i}" for i in range(49_000)] + [f"a.deep.{i}" for i in range(500)]
    keys = matches + others
    assert len(keys) == 50_000
    await store.put_many((k, b"") for k in keys)
    listed = [k async for k in store.keys("a.*")]
    assert listed == matches  # stream order, only whole-token matches
    ((cfg, info),) = consumers
    assert cfg.filter_subject == f"$KV.{store.bucket}.a.*"
    assert info.num_pending == len(matches)  # the server sends only the matches


@pytest.mark.user_need("scalable key listing")
async def test_scalable_key_listing_of_an_empty_bucket_is_an_empty_list(
    store: natskv.KVStore,
) -> None:
    """An empty bucket lists as [], never an error."""
    assert [k async for k in store.keys()] == []
    assert [k async for k in store.keys("a.*", "b.>")] == []
    assert await store.get_many(["x", "y"]) == {}


@pytest.mark.user_need("scalable key listing")
async def test_scalable_key_listing_streams_and_cleans_up(
    store: natskv.KVStore, js: natskv.JetStream
) -> None:
    """Keys() is a streaming iterator; leaving early deletes its consumer."""
    await store.put_many((f"k{i}", b"v") for i in range(2000))
    keys = store.keys()
    assert isinstance(keys, AsyncIterator)
    assert await keys.__anext__() == "k0"
    assert (await js.stream_info(store.stream)).state.consumer_count == 1
    await keys.aclose()  # type: ignore[attr-defined]
    assert (await js.stream_info(store.stream)).state.consumer_count == 0


@pytest.mark.user_need("scalable key listing")
async def test_scalable_key_listing_in_bounded_memory(memory_store: natskv.KVStore) -> None:
    """Listing 100,000 keys never holds them all in memory."""
    store = memory_store
    total = 100_000
    names = [f"tenant-{i % 97:04d}.user.{i:08d}.profile" for i in range(total)]
    await store.put_many((k, b"") for k in names)
    # what holding the key names alone would take (a list of str), a floor for buffering
    buffered = sys.getsizeof(names) + sum(sys.getsizeof(k) for k in names)
    del names
    count = 0
    tracemalloc.start()
    try:
        async for _ in store.keys():
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(
        f"keys() over {total} keys: peak {peak / 1e6:.2f} MB traced; "
        f"buffering the names would take {buffered / 1e6:.2f} MB"
    )
    assert count == total
    assert peak < buffered / 2


# -- history ----------------------------------------------------------------------------


async def test_history(store: KVStore) -> None:
    revs = [await store.put("k", ShopOrder(id=i)) for i in range(3)]
    await store.put("other", b"x")
    marker = await store.delete("k")
    entries = [e async for e in store.history("k", ShopOrder)]
    assert [e.revision for e in entries] == [*revs, marker]
    assert [e.value for e in entries] == [ShopOrder(id=0), ShopOrder(id=1), ShopOrder(id=2), None]
    assert [e.operation for e in entries] == [KVOperation.PUT] * 3 + [KVOperation.DEL]
    assert all(e.key == "k" and e.bucket == store.bucket for e in entries)
    assert all(_recent(e.created) for e in entries)


async def test_history_is_limited_by_the_bucket_history(store: KVStore) -> None:
    # the store fixture keeps 5 revisions per key
    for i in range(8):
        await store.put("k", str(i))
    values = [e.value async for e in store.history("k", str)]
    assert values == ["3", "4", "5", "6", "7"]


async def test_history_of_missing_key_is_empty(store: KVStore) -> None:
    await store.put("other", b"x")
    assert [e async for e in store.history("missing")] == []


# -- the consumers behind them ----------------------------------------------------------


@pytest.mark.wire("7.3 #6")
async def test_keys_and_purge_deletes_use_last_per_subject_headers_only(
    store: natskv.KVStore, consumers: list[tuple[ConsumerConfig, ConsumerInfo]]
) -> None:
    """Keys() and purge_deletes() use last_per_subject + headers_only."""
    await store.put("a", b"1")
    await store.put("b", b"2")
    await store.delete("b")
    assert [k async for k in store.keys()] == ["a"]
    assert await store.purge_deletes(older_than=timedelta(seconds=-1)) == 1
    assert [k async for k in store.keys("a", "z.>")] == ["a"]
    (keys_cfg, keys_info), (purge_cfg, _), (filtered_cfg, _) = consumers
    for cfg in (keys_cfg, purge_cfg, filtered_cfg):
        assert cfg.deliver_policy == "last_per_subject"
        assert cfg.headers_only is True
    assert keys_cfg.filter_subject == purge_cfg.filter_subject == f"$KV.{store.bucket}.>"
    assert keys_info.num_pending == 2  # last per subject: one message per key
    assert filtered_cfg.filter_subjects == [f"$KV.{store.bucket}.a", f"$KV.{store.bucket}.z.>"]


@pytest.mark.wire("7.3 #6")
async def test_history_uses_deliver_all(
    store: natskv.KVStore, consumers: list[tuple[ConsumerConfig, ConsumerInfo]]
) -> None:
    """History() delivers every kept revision of the one key (values too)."""
    for i in range(3):
        await store.put("k", b"%d" % i)
    await store.put("other", b"x")
    await store.delete("k")
    history = [e async for e in store.history("k")]
    assert [e.operation for e in history] == [natskv.KVOperation.PUT] * 3 + [natskv.KVOperation.DEL]
    assert [e.value for e in history[:3]] == [b"0", b"1", b"2"]
    ((cfg, info),) = consumers
    assert cfg.deliver_policy == "all"
    assert not cfg.headers_only
    assert cfg.filter_subject == f"$KV.{store.bucket}.k"
    assert info.num_pending == 4
