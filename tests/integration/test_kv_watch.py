"""Watching Key/Value buckets against a real nats-server: changes, options, filters, stop.
(Caught up is ``test_kv_watch_caught_up.py``; recovery ``test_kv_watch_recovery.py``.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from tests.integration.helpers import nothing_more, summary, take

import natskv
from natskv import KVEntry, KVOperation, KVStore

# Generous: a watcher that is not stuck delivers in milliseconds.
WAIT = 10.0


@dataclass
class ShopOrder:
    id: int


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
        await nothing_more(w)
    assert [e.revision for e in got] == revisions
    assert summary(got) == [
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
    assert summary(seen) == [("a", KVOperation.PUT, b"1"), ("b", KVOperation.PUT, b"2")]


async def test_typed_watch_decodes_and_never_decodes_markers(store: KVStore) -> None:
    await store.put("order-1", ShopOrder(id=1))
    await store.delete("order-1")
    await store.put("order-2", ShopOrder(id=2))
    async with store.watch(type=ShopOrder) as w:
        initial = await w.initial_values()
        await store.put("order-3", ShopOrder(id=3))
        await store.purge("order-2")  # order-2's put was delivered already: not rolled up
        live = await take(w, 2)
    assert summary(initial) == [
        ("order-1", KVOperation.DEL, None),
        ("order-2", KVOperation.PUT, ShopOrder(id=2)),
    ]
    assert summary(live) == [
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


# -- options ----------------------------------------------------------------------------


async def test_updates_only(store: KVStore) -> None:
    await store.put("old", b"1")
    await store.put("old", b"2")
    async with store.watch(updates_only=True) as w:
        assert w.caught_up
        assert await w.initial_values() == []
        await store.put("new", b"3")
        await store.put("old", b"4")
        got = await take(w, 2)
        assert summary(got) == [("new", KVOperation.PUT, b"3"), ("old", KVOperation.PUT, b"4")]
        await nothing_more(w)


async def test_include_history(store: KVStore) -> None:
    await store.put("a", b"1")
    await store.put("b", b"x")
    await store.put("a", b"2")
    await store.delete("a")
    async with store.watch("a", include_history=True) as w:
        initial = await w.initial_values()
    assert summary(initial) == [
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
        live = await take(w, 1)
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
        live = await take(w, 1)
    assert [e.revision for e in initial] == [r2, r2 + 1, r2 + 2]
    assert summary(initial) == [
        ("b", KVOperation.PUT, b"2"),
        ("a", KVOperation.PUT, b"3"),
        ("b", KVOperation.DEL, None),
    ]
    assert summary(live) == [("c", KVOperation.PUT, b"5")]


async def test_resume_from_future_revision_is_caught_up(store: KVStore) -> None:
    rev = await store.put("a", b"1")
    async with store.watch(resume_from_revision=rev + 1) as w:
        assert w.caught_up
        await store.put("b", b"2")
        assert summary(await take(w, 1)) == [("b", KVOperation.PUT, b"2")]


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


# -- key filters ------------------------------------------------------------------------


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
        got = await take(w, 2)
        await nothing_more(w)
    assert [e.key for e in got] == ["a.1", "c"]


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


@pytest.mark.parametrize(
    "filters",
    [["a.*", "a.1"], ["a.>", "a.b.c"], ["x", "x"], [">", "anything"], ["a.*.c", "a.b.*"]],
)
async def test_overlapping_watch_filters_are_rejected_at_the_call(
    nc: natskv.Connection, store: natskv.KVStore, filters: list[str]
) -> None:
    before = nc.msgs_out
    with pytest.raises(natskv.InvalidConfigError, match="overlap"):
        store.watch(filters)
    assert nc.msgs_out == before


async def test_disjoint_watch_filters_are_accepted(store: natskv.KVStore) -> None:
    await store.put("a.1", b"1")
    await store.put("b.2", b"2")
    await store.put("c", b"3")
    async with store.watch(["a.*", "b.>"]) as watcher:
        got = await watcher.initial_values()
    assert sorted(e.key for e in got) == ["a.1", "b.2"]


# -- start and stop ---------------------------------------------------------------------


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
