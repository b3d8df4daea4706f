"""A cache kept warm by a watcher: a local copy of a bucket's keys, current without reads.

``WarmCache`` loads every matching key once (the watcher's initial values) and applies
each change as it happens, so lookups are dictionary reads with no round trip and never
stale by more than the delivery of a change. After a write of your own,
``await cache.wait_for(revision)`` waits until the cache has it (read-your-writes). A value
its type cannot hold (another client wrote ``b"not json"``) leaves that key out of the
cache instead of stopping it (the watcher's ``on_decode_error``).

Runs on an embedded nats-server unless ``NATS_URL`` names a server:
``python examples/cache.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import natskv

T = TypeVar("T")


class WarmCache(Generic[T]):
    """The values of the keys ``keys`` of ``store``, decoded as ``type``, kept current."""

    def __init__(self, store: natskv.KVStore, type: type[T], keys: str = ">") -> None:
        self._watcher: natskv.KVWatcher[T] = store.watch(
            keys, type=type, on_decode_error=self._undecodable
        )
        self._values: dict[str, T] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()  # set, and replaced, at every change applied
        self.revision = 0
        """The revision of the last change applied."""
        self.undecodable: list[natskv.DecodeError] = []
        """The values left out because ``type`` cannot hold them."""

    async def start(self) -> None:
        for entry in await self._watcher.initial_values():
            self._apply(entry)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        await self._watcher.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> WarmCache[T]:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def get(self, key: str) -> T | None:
        return self._values.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    async def wait_for(self, revision: int, timeout: float = 10.0) -> None:
        """Wait until the cache has applied the change at ``revision``."""

        async def reached() -> None:
            while self.revision < revision:
                await self._changed.wait()

        await asyncio.wait_for(reached(), timeout)

    async def _follow(self) -> None:
        async for entry in self._watcher:
            self._apply(entry)

    def _apply(self, entry: natskv.KVEntry[T]) -> None:
        if entry.operation is natskv.KVOperation.PUT and entry.value is not None:
            self._values[entry.key] = entry.value
        else:  # a delete, a purge or an expiry
            self._values.pop(entry.key, None)
        self._advance(entry.revision)

    def _undecodable(self, error: natskv.DecodeError) -> None:
        # Serving the key's old value would be stale and stopping would stale them all:
        # the key is left out until a value that decodes comes.
        self._values.pop(error.key, None)
        self.undecodable.append(error)
        self._advance(error.revision)

    def _advance(self, revision: int) -> None:
        self.revision = revision
        self._changed.set()
        self._changed = asyncio.Event()


@dataclass
class Product:
    name: str
    price_cents: int


@contextlib.asynccontextmanager
async def nats_url() -> AsyncIterator[str]:
    """``NATS_URL`` when set, else an embedded server for the length of the demo."""
    url = os.environ.get("NATS_URL")
    if url:
        yield url
        return
    async with natskv.EmbeddedServer(durable=False) as server:
        yield server.url


async def main() -> None:
    async with nats_url() as url, await natskv.connect(url) as nc:
        kv = natskv.KVContext(natskv.JetStream(nc))
        store = await kv.create_store("products")
        try:
            await store.put_many(
                [
                    ("p-1", Product("teapot", 2500)),
                    ("p-2", Product("kettle", 4000)),
                    ("p-3", Product("mug", 900)),
                ]
            )
            async with WarmCache(store, Product) as cache:
                print(f"cached {len(cache)} products: {sorted(cache)}")

                sent = nc.msgs_out
                hits = sum(cache.get(f"p-{n % 3 + 1}") is not None for n in range(10_000))
                print(f"{hits} lookups, {nc.msgs_out - sent} messages sent to the server")

                # someone changes a price and withdraws a product
                await store.put("p-1", Product("teapot", 2200))
                await cache.wait_for(await store.delete("p-3"))
                print(f"p-1 is now {cache.get('p-1')}; p-3 cached: {'p-3' in cache}")
        finally:
            await kv.delete_store("products")


if __name__ == "__main__":
    asyncio.run(main())
