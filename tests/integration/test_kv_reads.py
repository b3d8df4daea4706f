"""Reading keys: get and get_entry, typed values, exact revisions, consistent (leader) reads,
Direct Get and the STREAM.MSG.GET fallback, and defaults for missing keys."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import pydantic
import pytest
from tests.integration.helpers import RequestSpy

import natskv
from natskv import KVEntry, KVOperation, KVStore
from natskv.kv._mapping import parse_timestamp


@dataclass
class ShopOrder:
    id: int


class Customer(msgspec.Struct):
    name: str
    vip: bool = False


class Address(pydantic.BaseModel):
    street: str
    number: int


@dataclass
class Counter:
    n: int


def _bucket() -> str:
    return "w_" + uuid.uuid4().hex[:12]


def _recent(created: datetime) -> bool:
    now = datetime.now(timezone.utc)
    return now - timedelta(minutes=5) < created < now + timedelta(minutes=5)


# -- get --------------------------------------------------------------------------------


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


@pytest.mark.wire("7.3 #4")
async def test_get_uses_the_subject_appended_direct_get(
    store: natskv.KVStore, js: natskv.JetStream, spy: RequestSpy
) -> None:
    """Latest value = DIRECT.GET.<stream>.<subject> with an empty payload."""
    await store.put("a.b", b"v")
    spy.clear()
    entry = await store.get_entry("a.b")
    (sent,) = spy.sent
    assert sent.subject == f"$JS.API.DIRECT.GET.{store.stream}.$KV.{store.bucket}.a.b"
    assert sent.payload == b""
    # created is Nats-Time-Stamp (RFC 3339, nanoseconds truncated), as an aware UTC datetime
    raw = await js.direct_get_last(store.stream, f"$KV.{store.bucket}.a.b")
    stamp = raw.headers["Nats-Time-Stamp"]
    assert stamp.endswith("Z") and "T" in stamp
    assert entry.created == parse_timestamp(stamp)
    assert entry.created.utcoffset() == timedelta(0)
    assert entry.created.microsecond == int((stamp[20:-1] + "000000")[:6])


@pytest.mark.wire("7.3 #4")
async def test_not_found_is_key_not_found(store: natskv.KVStore) -> None:
    """A 404 status reply maps to KeyNotFoundError (not a deleted key)."""
    with pytest.raises(natskv.KeyNotFoundError) as info:
        await store.get("missing")
    assert not isinstance(info.value, natskv.KeyDeletedError)
    assert info.value.key == "missing"
    await store.put("gone", b"x")
    marker = await store.delete("gone")
    with pytest.raises(natskv.KeyDeletedError) as deleted:
        await store.get("gone")
    assert deleted.value.revision == marker


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


@pytest.mark.wire("7.3 #4")
async def test_get_by_revision_checks_the_subject(store: natskv.KVStore, spy: RequestSpy) -> None:
    """{"seq":N} then a subject check: another key's revision -> not found."""
    rev_a = await store.put("a", b"1")
    rev_b = await store.put("b", b"2")
    spy.clear()
    assert (await store.get_entry("a", revision=rev_a)).value == b"1"
    (sent,) = spy.sent
    assert sent.subject == f"$JS.API.DIRECT.GET.{store.stream}"
    assert json.loads(sent.payload) == {"seq": rev_a}
    with pytest.raises(natskv.KeyNotFoundError) as info:
        await store.get("a", revision=rev_b)  # rev_b exists, but belongs to "b"
    assert not isinstance(info.value, natskv.KeyDeletedError)
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("a", revision=rev_b + 100)  # no such revision at all


# -- consistent reads -------------------------------------------------------------------


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


@pytest.mark.user_need("consistency")
async def test_consistency_read_after_write_through_the_leader(
    store: natskv.KVStore, spy: RequestSpy
) -> None:
    """Get(consistent=True) reads via STREAM.MSG.GET (the stream leader)."""
    for i in range(100):
        rev = await store.put("k", b"%d" % i)
        entry = await store.get_entry("k", consistent=True)
        assert (entry.value, entry.revision) == (b"%d" % i, rev)
    msg_get = f"$JS.API.STREAM.MSG.GET.{store.stream}"
    assert spy.subjects().count(msg_get) == 100
    assert not any(".DIRECT.GET." in s for s in spy.subjects())
    spy.clear()
    assert await store.get("k", revision=rev, consistent=True) == b"99"
    assert spy.subjects() == [msg_get]
    spy.clear()
    assert await store.get("k") == b"99"  # the default is the (replica-served) Direct Get
    assert spy.subjects() == [f"$JS.API.DIRECT.GET.{store.stream}.$KV.{store.bucket}.k"]
    await store.delete("k")
    with pytest.raises(natskv.KeyDeletedError):
        await store.get("k", consistent=True)
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("never-written", consistent=True)


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


@pytest.mark.wire("7.3 #4")
async def test_falls_back_to_stream_msg_get_without_allow_direct(
    kv: natskv.KVContext, js: natskv.JetStream, spy: RequestSpy, cleanup: list[str]
) -> None:
    """A bucket with allow_direct false is read through STREAM.MSG.GET."""
    bucket = _bucket()
    cleanup.append(bucket)
    await js.create_stream(
        {
            "name": f"KV_{bucket}",
            "subjects": [f"$KV.{bucket}.>"],
            "max_msgs_per_subject": 5,
            "discard": "new",
            "deny_delete": True,
            "allow_rollup_hdrs": True,
            "allow_direct": False,
            "storage": "memory",
        }
    )
    store = await kv.get_store(bucket)
    r1 = await store.put("k", b"1")
    await store.put("other", b"x")
    r2 = await store.put("k", b"2")
    spy.clear()
    entry = await store.get_entry("k")
    assert (entry.value, entry.revision) == (b"2", r2)
    assert entry.created.utcoffset() == timedelta(0)
    assert (await store.get_entry("k", revision=r1)).value == b"1"
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("k", revision=r1 + 1)  # the revision of "other"
    with pytest.raises(natskv.KeyNotFoundError) as missing:
        await store.get("missing")
    assert not isinstance(missing.value, natskv.KeyDeletedError)
    await store.delete("k")
    with pytest.raises(natskv.KeyDeletedError):
        await store.get("k")  # the marker's KV-Operation header is read on this path too
    subjects = set(spy.subjects()) - {f"$KV.{bucket}.k"}
    assert subjects == {f"$JS.API.STREAM.MSG.GET.KV_{bucket}"}


# -- defaults ---------------------------------------------------------------------------


async def test_get_with_a_default_for_missing_and_deleted_keys(store: natskv.KVStore) -> None:
    assert await store.get("never", default=None) is None
    assert await store.get("never", Counter, default=Counter(0)) == Counter(0)
    rev = await store.put("k", b'{"n": 1}')
    assert await store.get("k", default=None) == b'{"n": 1}'
    assert await store.get("k", Counter, default=None) == Counter(1)
    assert await store.get("k", revision=rev + 100, default=b"") == b""
    await store.delete("k")
    assert await store.get("k", default="gone") == "gone"
    assert await store.get("k", Counter, default=None, consistent=True) is None
    assert await store.get("k", revision=rev, default=None) == b'{"n": 1}'
    await store.put("p", b"v")
    await store.purge("p")
    assert await store.get("p", default=0) == 0
    # without a default they still raise
    with pytest.raises(natskv.KeyDeletedError):
        await store.get("k")
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("never")
    # and a default is for the key, not for other failures
    await store.put("bad", b"not json")
    with pytest.raises(natskv.DecodeError):
        await store.get("bad", Counter, default=None)


async def test_get_with_a_default_still_raises_for_a_deleted_bucket(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(natskv.KVConfig(bucket=bucket_name, storage="memory"))
    await kv.delete_store(bucket_name)
    with pytest.raises(natskv.BucketNotFoundError):
        await store.get("k", default=None)
