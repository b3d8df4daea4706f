"""Key/Value keys against a real nats-server: reads, writes, typed values, history, listing."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import pydantic
import pytest

import natskv
from natskv import KVEntry, KVOperation, KVStore


@dataclass
class ShopOrder:
    id: int


class Customer(msgspec.Struct):
    name: str
    vip: bool = False


class Address(pydantic.BaseModel):
    street: str
    number: int


def _recent(created: datetime) -> bool:
    now = datetime.now(timezone.utc)
    return now - timedelta(minutes=5) < created < now + timedelta(minutes=5)


# -- put / get --------------------------------------------------------------------------


async def test_put_get_and_entry_fields(store: KVStore) -> None:
    rev = await store.put("order-1", b"hello")
    assert rev == 1
    assert await store.get("order-1") == b"hello"
    entry = await store.get_entry("order-1")
    assert isinstance(entry, KVEntry)
    assert entry.bucket == store.bucket
    assert entry.key == "order-1"
    assert entry.value == b"hello"
    assert entry.raw == b"hello"
    assert entry.revision == 1
    assert entry.delta == 0
    assert entry.operation is KVOperation.PUT
    assert entry.created.tzinfo is not None
    assert entry.created.utcoffset() == timedelta(0)
    assert _recent(entry.created)


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


@pytest.mark.parametrize(
    ("value", "type_", "raw"),
    [
        (ShopOrder(id=1), ShopOrder, b'{"id":1}'),
        (Customer(name="ann", vip=True), Customer, b'{"name":"ann","vip":true}'),
        (Address(street="Main", number=5), Address, b'{"street":"Main","number":5}'),
        ({"a": 1, "b": [1, 2]}, dict, b'{"a":1,"b":[1,2]}'),
        ([1, "two", 3.5], list, b'[1,"two",3.5]'),
        ("héllo", str, "héllo".encode()),
        (42, int, b"42"),
        (b"\x00\xff", bytes, b"\x00\xff"),
    ],
    ids=["dataclass", "struct", "pydantic", "dict", "list", "str", "int", "bytes"],
)
async def test_typed_values(store: KVStore, value: Any, type_: Any, raw: bytes) -> None:
    await store.put("typed", value)
    entry = await store.get_entry("typed", type_)
    assert entry.value == value
    assert type(entry.value) is type(value)
    assert entry.raw == raw
    assert await store.get("typed", type_) == value
    # the default read is the raw bytes
    assert await store.get("typed") == raw


async def test_typed_read_of_raw_json(store: KVStore) -> None:
    # a value written as bytes by another client reads back as a typed value
    await store.put("order-1", b'{"id":1}')
    entry = await store.get_entry("order-1", ShopOrder)
    assert entry.value == ShopOrder(id=1)
    assert entry.raw == b'{"id":1}'


# -- revisions --------------------------------------------------------------------------


async def test_get_entry_at_exact_revision(store: KVStore) -> None:
    r1 = await store.put("k", ShopOrder(id=1))
    r_other = await store.put("other", b"x")
    r2 = await store.put("k", ShopOrder(id=2))
    old = await store.get_entry("k", ShopOrder, revision=r1)
    assert (old.value, old.revision) == (ShopOrder(id=1), r1)
    new = await store.get_entry("k", ShopOrder, revision=r2)
    assert new.value == ShopOrder(id=2)
    assert await store.get("k", revision=r1) == b'{"id":1}'

    # a revision that belongs to another key is not this key's
    with pytest.raises(natskv.KeyNotFoundError) as ei:
        await store.get_entry("k", revision=r_other)
    assert not isinstance(ei.value, natskv.KeyDeletedError)
    # a revision that does not exist at all
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get_entry("k", revision=r2 + 100)


async def test_get_entry_at_revision_consistent(store: KVStore) -> None:
    r1 = await store.put("k", b"1")
    r_other = await store.put("other", b"x")
    await store.put("k", b"2")
    assert (await store.get_entry("k", revision=r1, consistent=True)).value == b"1"
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get_entry("k", revision=r_other, consistent=True)


async def test_get_entry_at_revision_of_a_delete_marker(store: KVStore) -> None:
    await store.put("k", b"1")
    marker = await store.delete("k")
    with pytest.raises(natskv.KeyDeletedError) as ei:
        await store.get_entry("k", revision=marker)
    assert ei.value.revision == marker


async def test_consistent_read(store: KVStore) -> None:
    rev = await store.put("k", ShopOrder(id=7))
    entry = await store.get_entry("k", ShopOrder, consistent=True)
    assert (entry.value, entry.revision, entry.key) == (ShopOrder(id=7), rev, "k")
    assert entry.operation is KVOperation.PUT
    assert _recent(entry.created)
    assert entry == await store.get_entry("k", ShopOrder)
    await store.delete("k")
    with pytest.raises(natskv.KeyDeletedError):
        await store.get_entry("k", consistent=True)
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get_entry("missing", consistent=True)


# -- create / update --------------------------------------------------------------------


async def test_create(store: KVStore) -> None:
    rev = await store.create("k", b"first")
    assert await store.get("k") == b"first"
    with pytest.raises(natskv.KeyExistsError) as ei:
        await store.create("k", b"second")
    assert ei.value.revision == rev
    assert await store.get("k") == b"first"


async def test_create_after_delete(store: KVStore) -> None:
    await store.create("k", b"1")
    marker = await store.delete("k")
    rev = await store.create("k", b"2")
    assert rev > marker
    assert await store.get("k") == b"2"
    with pytest.raises(natskv.KeyExistsError):
        await store.create("k", b"3")


async def test_create_after_purge(store: KVStore) -> None:
    await store.create("k", b"1")
    await store.put("k", b"2")
    marker = await store.purge("k")
    rev = await store.create("k", b"again")
    assert rev > marker
    assert await store.get("k") == b"again"


async def test_create_typed_value(store: KVStore) -> None:
    await store.create("order", ShopOrder(id=3))
    assert await store.get("order", ShopOrder) == ShopOrder(id=3)


async def test_update(store: KVStore) -> None:
    r1 = await store.put("k", b"1")
    r2 = await store.update("k", b"2", r1)
    assert r2 > r1
    assert await store.get("k") == b"2"
    with pytest.raises(natskv.WrongRevisionError):
        await store.update("k", b"3", r1)
    assert await store.get("k") == b"2"
    r3 = await store.update("k", ShopOrder(id=3), r2)
    assert (await store.get_entry("k", ShopOrder)).revision == r3


async def test_update_with_revision_zero_creates(store: KVStore) -> None:
    rev = await store.update("fresh", b"v", 0)
    assert await store.get("fresh") == b"v"
    with pytest.raises(natskv.WrongRevisionError):
        await store.update("fresh", b"w", 0)
    assert (await store.get_entry("fresh")).revision == rev


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


async def test_delete_with_revision(store: KVStore) -> None:
    r1 = await store.put("k", b"1")
    r2 = await store.put("k", b"2")
    with pytest.raises(natskv.WrongRevisionError) as ei:
        await store.delete("k", revision=r1)
    assert ei.value.expected == r1
    assert ei.value.actual == r2
    assert await store.get("k") == b"2"
    marker = await store.delete("k", revision=r2)
    with pytest.raises(natskv.KeyDeletedError) as de:
        await store.get("k")
    assert de.value.revision == marker


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


async def test_purge_with_revision(store: KVStore) -> None:
    r1 = await store.put("k", b"1")
    r2 = await store.put("k", b"2")
    with pytest.raises(natskv.WrongRevisionError):
        await store.purge("k", revision=r1)
    assert await store.get("k") == b"2"
    await store.purge("k", revision=r2)
    with pytest.raises(natskv.KeyDeletedError):
        await store.get("k")


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


async def test_put_nowait_pipelining(store: KVStore) -> None:
    pending = [store.put_nowait(f"k{i % 10}", f"v{i}".encode()) for i in range(100)]
    revs = await asyncio.gather(*pending)
    assert list(revs) == sorted(revs)
    assert len(set(revs)) == 100
    for i in range(10):
        entry = await store.get_entry(f"k{i}")
        assert entry.value == f"v{90 + i}".encode()
        assert entry.revision == revs[90 + i]


# -- per-key TTL ------------------------------------------------------------------------


async def test_per_key_ttl_expires_into_a_marker(kv: natskv.KVContext, bucket_name: str) -> None:
    store = await kv.create_store(
        natskv.KVConfig(bucket=bucket_name, storage="memory", limit_marker_ttl=60)
    )
    try:
        async with store.watch("short") as w:
            rev = await store.create("short", b"v", ttl=1)
            created = await w.next(timeout=10)
            assert (created.revision, created.operation) == (rev, KVOperation.PUT)
            # the server removes the value and writes a limit marker in its place
            marker = await w.next(timeout=10)
        assert marker.key == "short"
        assert marker.operation is KVOperation.PURGE
        assert marker.value is None
        assert marker.revision > rev
        with pytest.raises(natskv.KeyDeletedError) as ei:
            await store.get("short")
        assert ei.value.revision == marker.revision
        assert [k async for k in store.keys()] == []
        # an expired key can be created again
        assert await store.create("short", b"again") > marker.revision
    finally:
        await kv.delete_store(bucket_name)


# -- scans that end early ---------------------------------------------------------------


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


# -- buckets without direct get ---------------------------------------------------------


async def test_bucket_without_direct_get(
    kv: natskv.KVContext, js: natskv.JetStream, bucket_name: str
) -> None:
    # buckets made by older clients: reads go through STREAM.MSG.GET
    from natskv.kv._mapping import stream_config

    cfg = stream_config(natskv.KVConfig(bucket=bucket_name, history=5, storage="memory"))
    cfg["allow_direct"] = False
    await js.create_stream(cfg)
    try:
        store = await kv.get_store(bucket_name)
        r1 = await store.put("k", ShopOrder(id=1))
        r_other = await store.put("other", b"x")
        await store.put("k", ShopOrder(id=2))
        entry = await store.get_entry("k", ShopOrder)
        assert (entry.value, entry.key, entry.operation) == (ShopOrder(id=2), "k", KVOperation.PUT)
        assert _recent(entry.created)
        assert (await store.get_entry("k", ShopOrder, revision=r1)).value == ShopOrder(id=1)
        with pytest.raises(natskv.KeyNotFoundError):
            await store.get_entry("k", revision=r_other)
        with pytest.raises(natskv.KeyNotFoundError):
            await store.get("missing")
        marker = await store.delete("k")
        with pytest.raises(natskv.KeyDeletedError) as ei:
            await store.get("k")
        assert ei.value.revision == marker
        assert await store.create("k", ShopOrder(id=3)) > marker
        assert await store.get("k", ShopOrder) == ShopOrder(id=3)
    finally:
        await js.delete_stream(f"KV_{bucket_name}")


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
