"""A bulk load: 20,000 prices written with ``put_many`` and read back with ``get_many``.

``put_many`` pipelines the writes (up to 4,096 in flight, acknowledgements decoded
together) instead of waiting a round trip for each. ``get_many`` reads many keys through
the server's batch Direct Get: 1024 keys per request, every request pinned to the same
stream position, so the result is the bucket at one point in time. A filter matching
more keys than one batch holds is read with a consumer instead (also one point in
time). ``up_to_revision`` reads the bucket as it was at an earlier revision: here, as
loaded, after some prices changed.

Runs on an embedded nats-server unless ``NATS_URL`` names a server:
``python examples/bulk_load.py [count]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator

import natskv


def price_list(count: int) -> list[tuple[str, int]]:
    """``(key, price in cents)`` for ``count`` products in ten categories."""
    return [(f"price.c{n % 10}.sku-{n}", 100 + (n * 37) % 9900) for n in range(count)]


async def load(store: natskv.KVStore, rows: list[tuple[str, int]]) -> int:
    """Write every row; returns the revision of the last one (the bucket as loaded)."""
    revisions = await store.put_many(rows)
    return revisions[-1]


@contextlib.asynccontextmanager
async def nats_url() -> AsyncIterator[str]:
    """``NATS_URL`` when set, else an embedded server for the length of the demo."""
    url = os.environ.get("NATS_URL")
    if url:
        yield url
        return
    async with natskv.EmbeddedServer(durable=False) as server:
        yield server.url


async def main(count: int) -> None:
    async with nats_url() as url, await natskv.connect(url) as nc:
        kv = natskv.KVContext(natskv.JetStream(nc))
        store = await kv.create_store(natskv.KVConfig("prices", history=2))
        try:
            rows = price_list(count)
            started = time.perf_counter()
            loaded_at = await load(store, rows)
            elapsed = time.perf_counter() - started
            print(f"loaded {len(rows)} prices in {elapsed:.2f} s (last revision {loaded_at})")

            sent = nc.msgs_out
            started = time.perf_counter()
            by_key = await store.get_many([key for key, _ in rows], int)
            elapsed = time.perf_counter() - started
            requests = nc.msgs_out - sent
            print(f"read {len(by_key)} prices by key in {elapsed:.2f} s, {requests} requests")

            # a filter: one batch request if it matches up to 1024 keys, else a consumer scan
            category = await store.get_many("price.c3.*", int)
            everything = await store.get_many("price.>", int)
            print(f"by filter: {len(category)} in category c3, {len(everything)} in all")

            # prices change; the load is still readable as it was
            first_key, first_price = rows[0]
            await store.put(first_key, first_price * 2)
            await store.delete(rows[1][0])
            now = await store.get_many([rows[0][0], rows[1][0]], int)
            then = await store.get_many([rows[0][0], rows[1][0]], int, up_to_revision=loaded_at)
            print(f"now: {sorted((k, e.value) for k, e in now.items())}")
            print(f"as loaded: {sorted((k, e.value) for k, e in then.items())}")
        finally:
            await kv.delete_store("prices")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
