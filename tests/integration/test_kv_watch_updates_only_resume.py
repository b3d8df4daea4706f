"""An ``updates_only`` watcher that has delivered nothing yet keeps every write across a
reconnect: its new consumer starts after what the first one started after, not at "new"."""

from __future__ import annotations

import asyncio

from tests.proxy import FaultProxy

import natskv
from natskv.server import EmbeddedServer


async def test_writes_while_an_idle_updates_only_watcher_is_cut_off_are_delivered(
    nats_server: EmbeddedServer, kv_store: natskv.KVStore
) -> None:
    host, port = "127.0.0.1", nats_server.port
    async with FaultProxy(host, port) as proxy:
        nc = await natskv.connect(proxy.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1)
        try:
            store = await natskv.KVContext(natskv.JetStream(nc)).get_store(kv_store.bucket)
            async with store.watch(updates_only=True) as watcher:
                assert watcher.caught_up  # an empty bucket: nothing to deliver yet
                proxy.refuse()
                proxy.reset()  # the watcher's connection is gone and stays gone...
                for _ in range(100):
                    if not nc.is_connected:
                        break
                    await asyncio.sleep(0.02)
                rev = await kv_store.put("k", b"written while cut off")  # ...for this write
                proxy.accept()
                entry = await watcher.next(timeout=20)
                assert (entry.key, entry.revision, entry.value) == (
                    "k",
                    rev,
                    b"written while cut off",
                )
                rev2 = await kv_store.put("k", b"after")
                assert (await watcher.next(timeout=20)).revision == rev2
        finally:
            await nc.close()
