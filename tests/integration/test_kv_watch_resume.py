"""A watcher outlives server restarts and connection cuts: no gap, no duplicate, no orphan."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.helpers import until
from tests.proxy import FaultProxy

import natskv
from natskv import ConnectionState, KVConfig
from natskv.server import EmbeddedServer


async def _collect(watcher: natskv.KVWatcher[bytes], count: int) -> list[natskv.KVEntry[bytes]]:
    got: list[natskv.KVEntry[bytes]] = []
    while len(got) < count:
        got.append(await watcher.next(timeout=30))
    return got


@pytest.mark.user_need("watch survives reconnect")
async def test_watch_resumes_across_a_restart_of_a_persistent_server(tmp_path: Path) -> None:
    server = EmbeddedServer(data_dir=tmp_path / "data")  # durable, file storage
    await server.astart()
    try:
        nc = await natskv.connect(server.url, reconnect_time_wait=0.2, max_reconnect_attempts=-1)
        try:
            kv = natskv.KVContext(natskv.JetStream(nc))
            store = await kv.create_store(natskv.KVConfig(bucket="orders", history=10))
            for i in range(5):
                await store.put(f"k{i}", b"before-%d" % i)
            watcher = store.watch(include_history=True)
            await watcher.start()
            first = await _collect(watcher, 5)

            await server.arestart()
            for _ in range(100):
                if nc.is_connected:
                    break
                await asyncio.sleep(0.1)
            assert nc.is_connected

            for i in range(5):
                await store.put(f"k{i}", b"after-%d" % i)
            rest = await _collect(watcher, 5)

            revisions = [e.revision for e in first + rest]
            assert revisions == list(range(1, 11))  # every revision, once, in order
            assert [e.value for e in rest] == [b"after-%d" % i for i in range(5)]
            # the consumer of the old server generation is gone: only the live one remains
            info = await store.js.stream_info(store.stream)
            assert info.state.consumer_count == 1
            await watcher.stop()
            info = await store.js.stream_info(store.stream)
            assert info.state.consumer_count == 0
        finally:
            await nc.close()
    finally:
        await server.astop()


@pytest.mark.user_need("watch survives reconnect")
async def test_watch_resumes_after_the_connection_is_cut(nats_url: str) -> None:
    host, port = nats_url.rsplit("//", 1)[1].split(":")
    async with FaultProxy(host, int(port)) as proxy:
        nc = await natskv.connect(proxy.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1)
        writer = await natskv.connect(nats_url)
        try:
            kv = natskv.KVContext(natskv.JetStream(nc))
            wkv = natskv.KVContext(natskv.JetStream(writer))
            store = await kv.create_store(natskv.KVConfig(bucket="cut_watch", history=64))
            wstore = await wkv.get_store("cut_watch")
            watcher = store.watch()
            await watcher.start()
            await wstore.put("a", b"1")
            assert (await watcher.next(timeout=10)).value == b"1"

            reconnected = asyncio.Event()
            nc.add_reconnect_listener(reconnected.set)
            proxy.reset()
            # written while the watcher's connection is down
            for i in range(2, 6):
                await wstore.put("a", str(i).encode())
            await asyncio.wait_for(reconnected.wait(), 30)
            await wstore.put("a", b"6")
            got = await _collect(watcher, 5)
            assert [e.value for e in got] == [b"2", b"3", b"4", b"5", b"6"]
            assert [e.revision for e in got] == list(range(2, 7))
            await watcher.stop()
            await kv.delete_store("cut_watch")
        finally:
            await writer.close()
            await nc.close()


@pytest.mark.wire("7.3 #5")
async def test_the_watcher_recreates_its_consumer_after_a_reconnect(
    nats_url: str, bucket_name: str
) -> None:
    """After a reconnect the consumer restarts at last_sseq+1.

    (The server-restart variant is ``test_kv_watch_resume.py``.)
    """
    host, port = nats_url.rsplit("//", 1)[1].split(":")
    async with FaultProxy(host, int(port)) as proxy:
        nc = await natskv.connect(proxy.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1)
        writer = await natskv.connect(nats_url)
        try:
            kv = natskv.KVContext(natskv.JetStream(writer))
            wstore = await kv.create_store(KVConfig(bucket=bucket_name, history=10))
            store = await natskv.KVContext(natskv.JetStream(nc)).get_store(bucket_name)
            watcher = store.watch()
            await watcher.start()
            await wstore.put("a", b"1")
            assert (await watcher.next(timeout=10)).revision == 1
            consumer = watcher._consumer
            assert consumer is not None
            old = consumer.name
            reconnected = asyncio.Event()
            nc.add_reconnect_listener(reconnected.set)
            proxy.reset()
            for i in range(2, 5):
                await wstore.put("a", b"%d" % i)  # while the watcher is cut off
            await asyncio.wait_for(reconnected.wait(), 30)
            got = [await watcher.next(timeout=15) for _ in range(3)]
            assert [e.revision for e in got] == [2, 3, 4]
            # (those may come from the old consumer before the new one is in place)
            await until(lambda: consumer.resets >= 1, "the consumer re-created")
            assert consumer.name != old
            info = await kv.js.consumer_info(store.stream, consumer.name)
            # resumed right after what had been delivered when the connection came back
            assert info.config["deliver_policy"] == "by_start_sequence"
            assert 2 <= info.config["opt_start_seq"] <= 5
            await wstore.put("a", b"5")
            assert (await watcher.next(timeout=10)).revision == 5
            await watcher.stop()
            await kv.delete_store(bucket_name)
        finally:
            await writer.close()
            await nc.close()


@pytest.mark.user_need("watch survives reconnect")
async def test_watch_survives_reconnect_with_state_and_no_orphans(
    nats_url: str, bucket_name: str
) -> None:
    """Resume from the last seen revision, state seen, no orphans.

    Connection cuts only; ``test_kv_watch_resume.py`` covers a server restart.
    """
    host, port = nats_url.rsplit("//", 1)[1].split(":")
    async with FaultProxy(host, int(port)) as proxy:
        nc = await natskv.connect(proxy.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1)
        writer = await natskv.connect(nats_url)
        states: list[ConnectionState] = []
        loop = asyncio.get_running_loop()
        nc.add_disconnect_listener(lambda: loop.call_soon(lambda: states.append(nc.state)))
        reconnected = asyncio.Event()
        nc.add_reconnect_listener(reconnected.set)
        try:
            wkv = natskv.KVContext(natskv.JetStream(writer))
            wstore = await wkv.create_store(KVConfig(bucket=bucket_name, history=64))
            store = await natskv.KVContext(natskv.JetStream(nc)).get_store(bucket_name)
            await wstore.put("cfg", b"v1")
            async with store.watch() as watcher:
                assert [e.value for e in await watcher.initial_values()] == [b"v1"]
                await wstore.put("cfg", b"v2")
                assert (await watcher.next(timeout=10)).value == b"v2"
                last_seen = watcher.last_revision
                consumer = watcher._consumer
                assert consumer is not None

                for cut in range(2):
                    proxy.reset()
                    await wstore.put("cfg", b"cut%d" % cut)  # missed while disconnected
                    await asyncio.wait_for(reconnected.wait(), 30)
                    reconnected.clear()
                    entry = await watcher.next(timeout=15)
                    assert (entry.value, entry.revision) == (b"cut%d" % cut, last_seen + 1)
                    last_seen = entry.revision
                    # the reconnect re-creates the consumer (the entry may come first, from
                    # the old one): wait for that before cutting again
                    await until(lambda n=cut + 1: consumer.resets == n, "the consumer re-created")
                    assert nc.state is ConnectionState.CONNECTED

                assert states == [ConnectionState.RECONNECTING] * 2
                assert nc.reconnects == 2
                # the live consumer resumed by sequence; the old ones were deleted
                info = await wstore.js.consumer_info(store.stream, consumer.name)
                assert info.config["deliver_policy"] == "by_start_sequence"
                assert info.config["opt_start_seq"] <= last_seen + 1
                assert (await wstore.js.stream_info(store.stream)).state.consumer_count == 1
                await wstore.put("cfg", b"after")
                entry = await watcher.next(timeout=15)
                assert (entry.value, entry.revision) == (b"after", last_seen + 1)
            assert (await wstore.js.stream_info(store.stream)).state.consumer_count == 0
            await wkv.delete_store(bucket_name)
        finally:
            await writer.close()
            await nc.close()
