"""Interop with nats-py (``nats.js.kv``) on a real nats-server, in both directions.

A bucket written by natskv must be a normal KV bucket for nats-py, and buckets and keys
written by nats-py must be normal for natskv: same bytes, same revisions, same
operations (PUT / DEL / PURGE), same stream configuration rules.

nats-py reports a deleted or purged key from ``get`` as ``KeyNotFoundError`` carrying the
tombstone entry and its operation (its ``KeyDeletedError`` is internal); natskv raises
``KeyDeletedError`` (a ``KeyNotFoundError``) with the marker's revision and operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import natskv

nats_errors = pytest.importorskip("nats.js.errors")

WAIT = 5.0


@dataclass
class Order:
    id: int
    item: str
    qty: int = 1


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def _keys(store: natskv.KVStore, *filters: str) -> list[str]:
    return [k async for k in store.keys(*filters)]


def _recent(created: datetime, slack: float = 60.0) -> bool:
    now = datetime.now(timezone.utc)
    return created.tzinfo is not None and abs((now - created).total_seconds()) < slack


@pytest.fixture
async def natskv_bucket(
    kv: natskv.KVContext, bucket_name: str
) -> AsyncIterator[Callable[..., Awaitable[natskv.KVStore]]]:
    """A factory creating natskv buckets, all deleted after the test."""
    created: list[str] = []

    async def make(config: natskv.KVConfig | None = None) -> natskv.KVStore:
        cfg = config or natskv.KVConfig(bucket=bucket_name)
        store = await kv.create_store(cfg)
        created.append(cfg.bucket)
        return store

    try:
        yield make
    finally:
        for name in created:
            with contextlib.suppress(natskv.NatsError):
                await kv.delete_store(name)


@pytest.fixture
async def natspy_bucket(
    natspy: Any, bucket_name: str
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """A factory creating buckets with nats-py, all deleted after the test."""
    created: list[str] = []

    async def make(bucket: str | None = None, **params: Any) -> Any:
        name = bucket or bucket_name
        pkv = await natspy.js.create_key_value(bucket=name, **params)
        created.append(name)
        return pkv

    try:
        yield make
    finally:
        for name in created:
            with contextlib.suppress(Exception):
                await natspy.js.delete_key_value(name)


# ====================================================================== natskv -> nats-py


async def test_natskv_default_bucket_binds_in_natspy(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    store = await natskv_bucket()
    pkv = await natspy.js.key_value(bucket_name)
    status = await pkv.status()
    assert status.bucket == bucket_name
    assert status.history == 1
    assert not status.ttl  # no max age
    assert status.values == 0

    rev = await store.put("greeting", b"hello")
    entry = await pkv.get("greeting")
    assert entry.key == "greeting"
    assert entry.value == b"hello"
    assert entry.revision == rev
    # by revision too
    assert (await pkv.get("greeting", revision=rev)).value == b"hello"
    assert (await pkv.status()).values == 1


async def test_natskv_configured_bucket_status_in_natspy(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    await natskv_bucket(
        natskv.KVConfig(
            bucket=bucket_name,
            history=5,
            ttl=timedelta(hours=1),
            description="interop bucket",
        )
    )
    pkv = await natspy.js.key_value(bucket_name)
    status = await pkv.status()
    assert status.history == 5
    assert status.ttl == pytest.approx(3600.0)
    assert status.stream_info.config.description == "interop bucket"
    # duplicate_window = min(2m, ttl)
    assert status.stream_info.config.duplicate_window == pytest.approx(120.0)


async def test_natskv_short_ttl_duplicate_window(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    await natskv_bucket(natskv.KVConfig(bucket=bucket_name, ttl=timedelta(seconds=30)))
    status = await (await natspy.js.key_value(bucket_name)).status()
    assert status.ttl == pytest.approx(30.0)
    assert status.stream_info.config.duplicate_window == pytest.approx(30.0)


async def test_natskv_stream_config_is_a_standard_kv_stream(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    from nats.js.api import DiscardPolicy

    await natskv_bucket(natskv.KVConfig(bucket=bucket_name, history=5))
    info = await natspy.js.stream_info(f"KV_{bucket_name}")
    cfg = info.config
    assert cfg.name == f"KV_{bucket_name}"
    assert cfg.subjects == [f"$KV.{bucket_name}.>"]
    assert cfg.allow_direct is True
    assert cfg.allow_rollup_hdrs is True
    assert cfg.deny_delete is True
    assert cfg.deny_purge is False
    assert cfg.discard == DiscardPolicy.NEW
    assert cfg.max_msgs_per_subject == 5
    # the same rules nats-py's own binding checks
    pkv = await natspy.js.key_value(bucket_name)
    assert pkv._direct is True


async def test_natskv_values_byte_exact_in_natspy(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    store = await natskv_bucket(natskv.KVConfig(bucket=bucket_name, history=5))
    pkv = await natspy.js.key_value(bucket_name)
    values = {
        "bin": bytes(range(256)),
        "a.b.c": b"dotted key",
        "path/to/x": b"slash",
        "eq=_-": "unicode \u00e9\u4e2d".encode(),
        "empty": b"",
    }
    revs = {k: await store.put(k, v) for k, v in values.items()}
    for key, value in values.items():
        entry = await pkv.get(key)
        # nats-py's Direct Get returns None (not b"") for an empty value, whoever wrote it
        assert (entry.value or b"") == value, key
        assert entry.revision == revs[key], key
    # typed natskv writes are plain JSON bytes for nats-py
    rev = await store.put("order", Order(id=7, item="book"))
    entry = await pkv.get("order")
    assert entry.revision == rev
    assert json.loads(entry.value) == {"id": 7, "item": "book", "qty": 1}
    assert sorted(await pkv.keys()) == sorted([*values, "order"])


async def test_natskv_delete_is_deleted_in_natspy(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    store = await natskv_bucket(natskv.KVConfig(bucket=bucket_name, history=5))
    pkv = await natspy.js.key_value(bucket_name)
    put_rev = await store.put("k", b"v1")
    del_rev = await store.delete("k")
    assert del_rev == put_rev + 1

    with pytest.raises(nats_errors.KeyNotFoundError) as info:
        await pkv.get("k")
    assert info.value.op == "DEL"
    assert info.value.entry.revision == del_rev

    history = await pkv.history("k")
    assert [(e.revision, e.operation) for e in history] == [(put_rev, None), (del_rev, "DEL")]
    # nats-py's keys() skips the deleted key; an otherwise empty bucket has no keys
    with pytest.raises(nats_errors.NoKeysError):
        await pkv.keys()


async def test_natskv_purge_leaves_only_marker_in_natspy(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    store = await natskv_bucket(natskv.KVConfig(bucket=bucket_name, history=5))
    pkv = await natspy.js.key_value(bucket_name)
    for i in range(3):
        await store.put("k", f"v{i}".encode())
    await store.put("other", b"stays")
    purge_rev = await store.purge("k")

    history = await pkv.history("k")
    assert len(history) == 1
    assert history[0].operation == "PURGE"
    assert history[0].revision == purge_rev
    assert history[0].value == b""

    with pytest.raises(nats_errors.KeyNotFoundError) as info:
        await pkv.get("k")
    assert info.value.op == "PURGE"
    assert (await pkv.get("other")).value == b"stays"
    assert (await pkv.status()).values == 2  # "other" + the purge marker


async def test_natskv_create_update_revisions_in_natspy(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    store = await natskv_bucket(natskv.KVConfig(bucket=bucket_name, history=5))
    pkv = await natspy.js.key_value(bucket_name)

    r1 = await store.create("k", b"one")
    assert (await pkv.get("k")).revision == r1
    r2 = await store.update("k", b"two", r1)
    entry = await pkv.get("k")
    assert (entry.value, entry.revision) == (b"two", r2)

    # nats-py CAS against the natskv revision
    with pytest.raises(nats_errors.KeyWrongLastSequenceError):
        await pkv.update("k", b"stale", last=r1)
    r3 = await pkv.update("k", b"three", last=r2)
    assert await store.get("k") == b"three"
    assert (await store.get_entry("k")).revision == r3

    # natskv update with a revision nats-py moved past
    with pytest.raises(natskv.WrongRevisionError) as info:
        await store.update("k", b"stale", r2)
    assert info.value.actual == r3

    # re-create after a natskv delete: nats-py sees the new revision
    await store.delete("k")
    r5 = await store.create("k", b"again")
    entry = await pkv.get("k")
    assert (entry.value, entry.revision) == (b"again", r5)
    assert [e.revision for e in await pkv.history("k")] == [r1, r2, r3, r5 - 1, r5]


async def test_natspy_writes_on_natskv_bucket(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    store = await natskv_bucket(natskv.KVConfig(bucket=bucket_name, history=5))
    pkv = await natspy.js.key_value(bucket_name)
    r1 = await pkv.put("k", b"from nats-py")
    entry = await store.get_entry("k")
    assert (entry.value, entry.revision, entry.operation) == (
        b"from nats-py",
        r1,
        natskv.KVOperation.PUT,
    )
    await pkv.delete("k")
    with pytest.raises(natskv.KeyDeletedError) as info:
        await store.get("k")
    assert info.value.revision == r1 + 1
    assert info.value.operation is natskv.KVOperation.DEL
    # nats-py re-creates on top of its own tombstone in a natskv bucket
    r3 = await pkv.create("k", b"recreated")
    assert r3 == r1 + 2
    assert await store.get("k") == b"recreated"


# ====================================================================== nats-py -> natskv


@pytest.mark.parametrize("direct", [False, True], ids=["msg-get", "direct-get"])
async def test_natspy_bucket_read_by_natskv(
    natspy_bucket: Callable[..., Awaitable[Any]],
    natspy: Any,
    kv: natskv.KVContext,
    bucket_name: str,
    direct: bool,
) -> None:
    pkv = await natspy_bucket(history=5, direct=direct)
    info = await natspy.js.stream_info(f"KV_{bucket_name}")
    assert bool(info.config.allow_direct) is direct

    r1 = await pkv.put("a", b"a1")
    r2 = await pkv.put("b", b"b1")
    r3 = await pkv.put("a", b"a2")
    r4 = await pkv.put("dir.x", b"x")

    store = await kv.get_store(bucket_name)
    assert await store.get("a") == b"a2"
    assert await store.get("b") == b"b1"
    assert await store.get("dir.x") == b"x"
    for consistent in (False, True):
        entry = await store.get_entry("a", consistent=consistent)
        assert entry.key == "a"
        assert entry.bucket == bucket_name
        assert entry.value == b"a2"
        assert entry.revision == r3
        assert entry.operation is natskv.KVOperation.PUT
        assert _recent(entry.created)
    # by revision, including a revision of another key
    assert await store.get("a", revision=r1) == b"a1"
    assert (await store.get_entry("a", revision=r1, consistent=True)).value == b"a1"
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("a", revision=r2)
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("missing")

    assert sorted(await _keys(store)) == ["a", "b", "dir.x"]
    assert await _keys(store, "dir.>") == ["dir.x"]
    history = [e async for e in store.history("a")]
    assert [(e.revision, e.value, e.operation) for e in history] == [
        (r1, b"a1", natskv.KVOperation.PUT),
        (r3, b"a2", natskv.KVOperation.PUT),
    ]
    assert all(_recent(e.created) for e in history)

    assert [e async for e in store.history("missing")] == []

    status = await store.status()
    assert status.bucket == bucket_name
    assert status.history == 5
    assert status.values == 4
    assert status.ttl is None
    assert status.limit_marker_ttl is None  # nats-py sets allow_msg_ttl, but no marker TTL
    assert status.config == natskv.KVConfig(bucket=bucket_name, history=5)

    # an empty value is b"" (not None)
    r_empty = await pkv.put("empty", b"")
    for consistent in (False, True):
        entry = await store.get_entry("empty", consistent=consistent)
        assert (entry.value, entry.raw, entry.revision) == (b"", b"", r_empty)
    assert await store.get("empty", str) == ""

    # natskv writes into the nats-py bucket are seen by nats-py
    r5 = await store.put("b", b"b2")
    assert r5 == r_empty + 1 == r4 + 2
    assert (await pkv.get("b")).revision == r5


@pytest.mark.parametrize("direct", [False, True], ids=["msg-get", "direct-get"])
async def test_natspy_delete_and_purge_read_by_natskv(
    natspy_bucket: Callable[..., Awaitable[Any]],
    kv: natskv.KVContext,
    bucket_name: str,
    direct: bool,
) -> None:
    pkv = await natspy_bucket(history=5, direct=direct)
    await pkv.put("d", b"1")
    await pkv.put("p", b"1")
    await pkv.put("p", b"2")
    store = await kv.get_store(bucket_name)

    await pkv.delete("d")
    del_rev = (await pkv.history("d"))[-1].revision
    for consistent in (False, True):
        with pytest.raises(natskv.KeyDeletedError) as info:
            await store.get("d", consistent=consistent)
        assert info.value.revision == del_rev
        assert info.value.operation is natskv.KVOperation.DEL
    with pytest.raises(natskv.KeyDeletedError):
        await store.get_entry("d", revision=del_rev)

    await pkv.purge("p")
    history = [e async for e in store.history("p")]
    assert len(history) == 1
    purge_rev = history[0].revision
    assert history[0].operation is natskv.KVOperation.PURGE
    for consistent in (False, True):
        with pytest.raises(natskv.KeyDeletedError) as info:
            await store.get("p", consistent=consistent)
        assert info.value.revision == purge_rev
        assert info.value.operation is natskv.KVOperation.PURGE

    assert await _keys(store) == []
    # natskv create on both tombstones
    assert await store.create("d", b"again") == purge_rev + 1
    assert await store.create("p", b"again") == purge_rev + 2
    assert (await pkv.get("p")).value == b"again"


async def test_create_conflicts_across_clients(
    natspy_bucket: Callable[..., Awaitable[Any]],
    kv: natskv.KVContext,
    bucket_name: str,
) -> None:
    pkv = await natspy_bucket(history=5)
    store = await kv.get_store(bucket_name)

    r1 = await pkv.create("k", b"py")
    with pytest.raises(natskv.KeyExistsError) as info:
        await store.create("k", b"natskv")
    assert info.value.revision == r1

    r2 = await store.create("n", b"natskv")
    with pytest.raises(nats_errors.KeyWrongLastSequenceError):
        await pkv.create("n", b"py")

    # natskv update with nats-py's revision, nats-py update with natskv's
    r3 = await store.update("k", b"natskv", r1)
    r4 = await pkv.update("n", b"py", last=r2)
    assert (await pkv.get("k")).value == b"natskv"
    assert await store.get("n") == b"py"
    assert (r3, r4) == (r2 + 1, r2 + 2)

    # nats-py create after a natskv delete (re-create on the tombstone)
    del_rev = await store.delete("k")
    r6 = await pkv.create("k", b"py again")
    assert r6 == del_rev + 1
    assert await store.get("k") == b"py again"


async def test_natspy_json_values_typed_in_natskv(
    natspy_bucket: Callable[..., Awaitable[Any]],
    kv: natskv.KVContext,
    bucket_name: str,
) -> None:
    pkv = await natspy_bucket(history=5)
    doc = {"name": "widget", "tags": ["a", "b"], "price": 9.5, "stock": None}
    await pkv.put("doc", json.dumps(doc).encode())
    await pkv.put("order", json.dumps({"id": 3, "item": "pen", "qty": 2}).encode())
    await pkv.put("text", b"plain text")
    store = await kv.get_store(bucket_name)

    assert await store.get("doc", dict) == doc
    order = await store.get("order", Order)
    assert order == Order(id=3, item="pen", qty=2)
    entry = await store.get_entry("order", Order)
    assert entry.value == order
    assert json.loads(entry.raw) == {"id": 3, "item": "pen", "qty": 2}
    assert await store.get("text", str) == "plain text"
    with pytest.raises(natskv.DecodeError):
        await store.get("text", Order)
    # typed values through history and watch as well
    assert [e.value async for e in store.history("order", Order)] == [order]
    async with store.watch("order", Order) as watcher:
        assert (await watcher.next(WAIT)).value == order


async def test_store_names_lists_buckets_of_both_clients(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy_bucket: Callable[..., Awaitable[Any]],
    natspy: Any,
    kv: natskv.KVContext,
) -> None:
    ours = _unique("ours")
    theirs = _unique("theirs")
    theirs_direct = _unique("theirs_d")
    await natskv_bucket(natskv.KVConfig(bucket=ours))
    await natspy_bucket(theirs, history=3)
    await natspy_bucket(theirs_direct, direct=True)
    # a plain stream that is not a bucket is not listed
    plain = _unique("PLAIN")
    await natspy.js.add_stream(name=plain, subjects=[f"{plain}.>"])
    try:
        names = [n async for n in kv.store_names()]
        assert {ours, theirs, theirs_direct} <= set(names)
        assert plain not in names
        statuses = {s.bucket: s async for s in kv.store_statuses()}
        assert statuses[theirs].history == 3
        assert statuses[ours].history == 1
    finally:
        await natspy.js.delete_stream(plain)


async def test_natspy_bucket_ttl_and_limits_in_natskv_status(
    natspy_bucket: Callable[..., Awaitable[Any]],
    kv: natskv.KVContext,
    bucket_name: str,
) -> None:
    await natspy_bucket(
        history=3, ttl=60, description="py bucket", max_value_size=1024, limit_marker_ttl=5
    )
    store = await kv.get_store(bucket_name)
    status = await store.status()
    assert status.history == 3
    assert status.ttl == timedelta(seconds=60)
    assert status.description == "py bucket"
    assert status.max_value_size == 1024
    assert status.limit_marker_ttl == timedelta(seconds=5)
    assert status.config.history == 3
    assert status.config.ttl == timedelta(seconds=60)
    with pytest.raises(natskv.ValueTooLargeError):
        await store.put("big", b"x" * 1025)


# nats-py always creates buckets with allow_msg_ttl=true (wire reference 3.4 #2), which the
# server refuses to turn off: natskv's updates must keep it (else error 10052).


async def test_natskv_create_store_repairs_natspy_bucket(
    natspy_bucket: Callable[..., Awaitable[Any]],
    natspy: Any,
    kv: natskv.KVContext,
    bucket_name: str,
) -> None:
    """create_store on a nats-py bucket (allow_direct false) repairs it, as nats.go does."""
    pkv = await natspy_bucket()
    await pkv.put("k", b"v")
    store = await kv.create_store(bucket_name)
    assert await store.get("k") == b"v"
    info = await natspy.js.stream_info(f"KV_{bucket_name}")
    assert info.config.allow_direct is True


async def test_natskv_update_store_on_natspy_bucket(
    natspy_bucket: Callable[..., Awaitable[Any]],
    natspy: Any,
    kv: natskv.KVContext,
    bucket_name: str,
) -> None:
    pkv = await natspy_bucket(history=2)
    await pkv.put("k", b"v")
    store = await kv.update_store(natskv.KVConfig(bucket=bucket_name, history=10))
    assert (await store.status()).history == 10
    assert (await pkv.status()).history == 10


async def test_per_key_ttl_markers_across_clients(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    """Per-key TTLs and server-placed limit markers (server >= 2.11)."""
    store = await natskv_bucket(
        natskv.KVConfig(bucket=bucket_name, history=5, limit_marker_ttl=timedelta(seconds=1))
    )
    pkv = await natspy.js.key_value(bucket_name)
    assert (await pkv.status()).marker_ttl == pytest.approx(1.0)

    watcher = await pkv.watchall()
    try:
        assert await watcher.updates(timeout=WAIT) is None
        rev_ours = await store.create("ours", b"short", ttl=1)
        rev_theirs = await pkv.create("theirs", b"short", msg_ttl=1)
        e = await watcher.updates(timeout=WAIT)
        assert (e.key, e.revision, e.operation) == ("ours", rev_ours, None)
        e = await watcher.updates(timeout=WAIT)
        assert (e.key, e.revision, e.operation) == ("theirs", rev_theirs, None)
        assert await store.get("theirs") == b"short"
        # both expire; the server writes a "MaxAge" marker that nats-py's watcher sees as PURGE
        markers = {}
        for _ in range(2):
            e = await watcher.updates(timeout=WAIT)
            markers[e.key] = e.operation
        assert markers == {"ours": "PURGE", "theirs": "PURGE"}
    finally:
        await watcher.stop()
    for key in ("ours", "theirs"):
        with pytest.raises(natskv.KeyDeletedError) as info:
            await store.get(key)
        assert info.value.operation is natskv.KVOperation.PURGE
    assert await _keys(store) == []


# ====================================================================== watch interop


async def test_natskv_watcher_sees_natspy_changes(
    natspy_bucket: Callable[..., Awaitable[Any]],
    kv: natskv.KVContext,
    bucket_name: str,
) -> None:
    pkv = await natspy_bucket(history=5)
    r1 = await pkv.put("a", b"a1")
    r2 = await pkv.put("b", b"b1")
    store = await kv.get_store(bucket_name)

    async with store.watch() as watcher:
        initial = await asyncio.wait_for(watcher.initial_values(), WAIT)
        assert [(e.key, e.value, e.revision) for e in initial] == [
            ("a", b"a1", r1),
            ("b", b"b1", r2),
        ]
        assert watcher.caught_up

        r3 = await pkv.put("a", b"a2")
        e = await watcher.next(WAIT)
        assert (e.key, e.value, e.revision, e.operation) == (
            "a",
            b"a2",
            r3,
            natskv.KVOperation.PUT,
        )
        assert _recent(e.created)

        await pkv.delete("b")
        e = await watcher.next(WAIT)
        assert (e.key, e.revision, e.operation, e.value) == (
            "b",
            r3 + 1,
            natskv.KVOperation.DEL,
            None,
        )

        await pkv.purge("a")
        e = await watcher.next(WAIT)
        assert (e.key, e.revision, e.operation, e.value) == (
            "a",
            r3 + 2,
            natskv.KVOperation.PURGE,
            None,
        )

        r6 = await pkv.create("b", b"b2")
        e = await watcher.next(WAIT)
        assert (e.key, e.value, e.revision, e.operation) == (
            "b",
            b"b2",
            r6,
            natskv.KVOperation.PUT,
        )

    # a fresh watcher shows the markers as the latest entries
    async with store.watch(include_history=True) as watcher:
        entries = await asyncio.wait_for(watcher.initial_values(), WAIT)
    assert [(e.key, e.operation) for e in entries] == [
        ("b", natskv.KVOperation.PUT),
        ("b", natskv.KVOperation.DEL),
        ("a", natskv.KVOperation.PURGE),
        ("b", natskv.KVOperation.PUT),
    ]


async def test_natskv_watcher_on_direct_natspy_bucket(
    natspy_bucket: Callable[..., Awaitable[Any]],
    kv: natskv.KVContext,
    bucket_name: str,
) -> None:
    pkv = await natspy_bucket(history=2, direct=True)
    store = await kv.get_store(bucket_name)
    async with store.watch("orders.*", Order) as watcher:
        await watcher.wait_caught_up(WAIT)
        assert watcher.initial_count == 0
        rev = await pkv.put("orders.1", json.dumps({"id": 1, "item": "cup"}).encode())
        await pkv.put("other", b"not watched")
        e = await watcher.next(WAIT)
        assert (e.key, e.value, e.revision) == ("orders.1", Order(1, "cup"), rev)
        await pkv.delete("orders.1")
        e = await watcher.next(WAIT)
        assert (e.key, e.operation, e.revision) == ("orders.1", natskv.KVOperation.DEL, rev + 2)


async def test_natspy_watcher_sees_natskv_changes(
    natskv_bucket: Callable[..., Awaitable[natskv.KVStore]],
    natspy: Any,
    bucket_name: str,
) -> None:
    store = await natskv_bucket(natskv.KVConfig(bucket=bucket_name, history=5))
    r1 = await store.put("a", b"a1")
    pkv = await natspy.js.key_value(bucket_name)

    watcher = await pkv.watchall()
    try:
        e = await watcher.updates(timeout=WAIT)
        assert (e.key, e.value, e.revision, e.operation) == ("a", b"a1", r1, None)
        assert await watcher.updates(timeout=WAIT) is None  # end of initial values

        r2 = await store.put("b", b"b1")
        e = await watcher.updates(timeout=WAIT)
        assert (e.key, e.value, e.revision, e.operation) == ("b", b"b1", r2, None)

        r3 = await store.update("a", Order(id=1, item="x"), r1)
        e = await watcher.updates(timeout=WAIT)
        assert (e.key, e.revision) == ("a", r3)
        assert json.loads(e.value) == {"id": 1, "item": "x", "qty": 1}
        # the same timestamp natskv reads
        created = (await store.get_entry("a")).created
        assert abs((e.created - created).total_seconds()) < 0.001

        r4 = await store.delete("b")
        e = await watcher.updates(timeout=WAIT)
        assert (e.key, e.revision, e.operation, e.value) == ("b", r4, "DEL", b"")

        r5 = await store.purge("a")
        e = await watcher.updates(timeout=WAIT)
        assert (e.key, e.revision, e.operation, e.value) == ("a", r5, "PURGE", b"")
    finally:
        await watcher.stop()
