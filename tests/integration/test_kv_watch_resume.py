"""A watcher outlives server restarts and connection cuts: no gap, no duplicate, no orphan."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.proxy import FaultProxy

import natskv
from natskv.server import EmbeddedServer


async def _collect(watcher: natskv.KVWatcher[bytes], count: int) -> list[natskv.KVEntry[bytes]]:
    got: list[natskv.KVEntry[bytes]] = []
    while len(got) < count:
        got.append(await watcher.next(timeout=30))
    return got


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
