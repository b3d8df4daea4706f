"""Watchers and scans give back their server-side consumer and subscription when abandoned.

``async for e in store.watch(): break`` drops the watcher at once (CPython frees the iterator
when the loop is left); its consumer must go with it, and its deliver subscription too, with
or without ``async with``, for watch, keys and history alike. What the server still holds is
read from the server: the stream's consumer count and the connection's subscriptions
(``/connz``), so an UNSUB that was never sent shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

import natskv
from natskv import KVConfig, KVStore
from natskv.jetstream import ConsumerInfo
from natskv.server import EmbeddedServer

# A released consumer is gone within milliseconds; the server's own clean-up of a consumer
# that lost its subscriber (the inactive threshold) takes seconds, longer than this.
WAIT = 3.0

Inboxes = Callable[[], Awaitable[list[str]]]


@pytest.fixture
def conn_name() -> str:
    return f"release-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def named(nats_url: str, conn_name: str) -> AsyncIterator[natskv.Connection]:
    """A connection with a name of its own, so that its subscriptions can be found in /connz."""
    conn = await natskv.connect(nats_url, name=conn_name)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def store(named: natskv.Connection, bucket_name: str) -> AsyncIterator[KVStore]:
    """A memory bucket with three keys of two revisions each, opened on ``named``."""
    kv = natskv.KVContext(natskv.JetStream(named))
    s = await kv.create_store(KVConfig(bucket=bucket_name, history=5, storage="memory"))
    for key in ("a", "b", "c"):
        await s.put(key, b"1")
        await s.put(key, b"2")
    try:
        yield s
    finally:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(bucket_name)


def _subjects_on_server(server: EmbeddedServer, name: str) -> list[str]:
    with urllib.request.urlopen(f"{server.monitor_url}/connz?subs=1&limit=1024", timeout=5) as r:
        connz = json.load(r)
    for conn in connz["connections"]:
        if conn.get("name") == name:
            return list(conn.get("subscriptions_list") or [])
    raise AssertionError(f"no connection named {name!r} on the server")


@pytest.fixture
def inboxes(embedded_server: EmbeddedServer, named: natskv.Connection, conn_name: str) -> Inboxes:
    """The deliver subscriptions (``_INBOX.<id>``, not the reply mux) the server has for us."""

    async def read() -> list[str]:
        await named.flush()  # every UNSUB written so far has reached the server
        subjects = await asyncio.to_thread(_subjects_on_server, embedded_server, conn_name)
        return [s for s in subjects if s.startswith("_INBOX.") and s.count(".") == 1]

    return read


async def _consumers(store: KVStore) -> int:
    return (await store.js.stream_info(store.stream)).state.consumer_count


async def _released(store: KVStore, inboxes: Inboxes) -> None:
    """Within WAIT seconds the stream has no consumer and the server no deliver subscription."""
    count, subs = -1, ["?"]
    for _ in range(int(WAIT / 0.05)):
        count, subs = await _consumers(store), await inboxes()
        if count == 0 and not subs:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"after {WAIT}s: {count} consumers on {store.stream}, subscriptions {subs}")


# -- watch ------------------------------------------------------------------------------


async def test_break_out_of_async_for_releases_the_watch(store: KVStore, inboxes: Inboxes) -> None:
    """The README's own pattern, five times: nothing stays behind on the server."""
    seen = []
    for _ in range(5):
        async for entry in store.watch():
            seen.append(entry.key)
            break
    assert seen == ["a"] * 5
    await _released(store, inboxes)


async def test_an_exception_out_of_async_for_releases_the_watch(
    store: KVStore, inboxes: Inboxes
) -> None:
    with pytest.raises(LookupError):
        async for _ in store.watch():
            raise LookupError("the reader gave up")
    await _released(store, inboxes)


async def test_a_watch_dropped_after_next_is_released(store: KVStore, inboxes: Inboxes) -> None:
    watcher = store.watch(type=bytes)
    assert (await watcher.next(timeout=WAIT)).key == "a"
    assert await _consumers(store) == 1
    del watcher
    await _released(store, inboxes)


async def test_a_watch_kept_after_break_keeps_watching(store: KVStore, inboxes: Inboxes) -> None:
    # Leaving the loop is not abandoning the watcher: whoever holds it can go on reading.
    watcher = store.watch()
    async for _ in watcher:
        break
    assert await _consumers(store) == 1
    async for entry in watcher:
        if entry.key == "c":
            break
    await store.put("d", b"live")
    assert (await watcher.next(timeout=WAIT)).key == "d"
    del watcher
    await _released(store, inboxes)


async def test_async_with_releases_on_break_and_on_error(store: KVStore, inboxes: Inboxes) -> None:
    async with store.watch() as watcher:
        async for _ in watcher:
            break
    await _released(store, inboxes)
    with pytest.raises(LookupError):
        async with store.watch() as watcher:
            await watcher.next(timeout=WAIT)
            raise LookupError("the reader gave up")
    await _released(store, inboxes)


async def test_a_cancelled_reader_releases_the_watch(store: KVStore, inboxes: Inboxes) -> None:
    async def read_forever() -> None:
        async for _ in store.watch(updates_only=True):
            pass

    task = asyncio.ensure_future(read_forever())
    for _ in range(200):
        if await _consumers(store) == 1:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    del task
    await _released(store, inboxes)


async def test_a_reader_cancelled_while_its_consumer_is_created_releases_it(
    store: KVStore, inboxes: Inboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server has made the consumer but the client has not yet read the answer when
    the reader is cancelled: the consumer is deleted once the answer comes, not left to
    the server's inactive threshold (5 s). The answer is held back by a delay after the
    real request, so the cancellation always lands in that window."""
    created = asyncio.Event()
    real_create = store.js.create_consumer

    async def slow_create(*args: object, **kwargs: object) -> object:
        info = await real_create(*args, **kwargs)  # type: ignore[arg-type]
        created.set()
        await asyncio.sleep(0.3)  # the answer is read late
        return info

    monkeypatch.setattr(store.js, "create_consumer", slow_create)

    async def read_forever() -> None:
        async for _ in store.watch(updates_only=True):
            pass

    task = asyncio.ensure_future(read_forever())
    await asyncio.wait_for(created.wait(), WAIT)
    assert await _consumers(store) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    del task
    await _released(store, inboxes)


@pytest.mark.parametrize("how", ["cancelled", "timed out"])
async def test_a_watch_or_scan_left_while_its_consumer_is_created_is_released(
    store: KVStore, inboxes: Inboxes, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # The server has made the consumer but its answer has not arrived when the reader
    # gives up (cancelled, or the request timed out): the consumer is the client's to
    # delete, or it stays until the server's inactive threshold.
    created = asyncio.Event()
    real_create = natskv.JetStream.create_consumer

    async def create_consumer(self: natskv.JetStream, *args: Any, **kw: Any) -> ConsumerInfo:
        info = await real_create(self, *args, **kw)
        created.set()
        if how == "timed out":
            raise natskv.TimeoutError("the answer came too late")
        await asyncio.Event().wait()  # the answer is late; the reader does not wait for it
        return info

    monkeypatch.setattr(natskv.JetStream, "create_consumer", create_consumer)
    starts: list[Callable[[], Awaitable[object]]] = [
        lambda: store.watch().start(),
        lambda: store.keys().__anext__(),
        lambda: store.history("a").__anext__(),
    ]
    for start in starts:
        created.clear()
        task = asyncio.ensure_future(start())
        await asyncio.wait_for(created.wait(), WAIT)
        if how == "cancelled":
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            with pytest.raises(natskv.TimeoutError):
                await task
        del task
        await _released(store, inboxes)


# -- scans ------------------------------------------------------------------------------


async def test_break_out_of_keys_releases_the_scan(store: KVStore, inboxes: Inboxes) -> None:
    for _ in range(3):
        async for key in store.keys():
            assert key == "a"
            break
    await _released(store, inboxes)


async def test_break_out_of_history_releases_the_scan(store: KVStore, inboxes: Inboxes) -> None:
    for _ in range(3):
        async for entry in store.history("b"):
            assert entry.value == b"1"
            break
    await _released(store, inboxes)


async def test_a_scan_dropped_after_one_step_is_released(store: KVStore, inboxes: Inboxes) -> None:
    keys = store.keys()
    assert await keys.__anext__() == "a"
    del keys
    history = store.history("a")
    assert (await history.__anext__()).value == b"1"
    del history
    await _released(store, inboxes)


async def test_a_scan_read_to_its_end_and_aclose_release(store: KVStore, inboxes: Inboxes) -> None:
    assert [k async for k in store.keys()] == ["a", "b", "c"]
    assert [e.value async for e in store.history("c")] == [b"1", b"2"]
    assert await store.list_keys() == ["a", "b", "c"]
    keys = store.keys()
    assert await keys.__anext__() == "a"
    await keys.aclose()
    await keys.aclose()  # idempotent
    assert [k async for k in keys] == []
    await _released(store, inboxes)


# -- the event loop closing -------------------------------------------------------------


def _abandon_in_a_loop_of_its_own(url: str, bucket: str) -> None:
    """A program that ends while a watcher and a scan are still running."""

    async def main() -> None:
        async with await natskv.connect(url) as nc:
            store = await natskv.KVContext(natskv.JetStream(nc)).get_store(bucket)
            watcher = store.watch()
            await watcher.next(timeout=WAIT)
            keys = store.keys()
            await keys.__anext__()

            async def reader() -> None:
                with contextlib.suppress(natskv.ConnectionClosedError):
                    async for _ in store.watch(updates_only=True):
                        pass

            tasks = [asyncio.ensure_future(reader())]
            await asyncio.sleep(0.1)
            assert not tasks[0].done()
            # main returns with all three still open: asyncio.run cancels the reader and
            # closes the loop while the connection closes

    asyncio.run(main())


async def test_nothing_is_left_when_the_event_loop_closes(
    store: KVStore, nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        await asyncio.to_thread(_abandon_in_a_loop_of_its_own, nats_url, store.bucket)
    assert not [r for r in caplog.records if r.name == "asyncio"], caplog.text
    count = -1
    for _ in range(int(4 * WAIT / 0.05)):
        count = await _consumers(store)
        if count == 0:
            break
        await asyncio.sleep(0.05)
    assert count == 0, f"{count} consumers left by a program that has ended"
