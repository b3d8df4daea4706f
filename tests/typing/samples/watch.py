"""A user program that watches and scans a bucket; an R comment names what mypy reveals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import natskv

if TYPE_CHECKING:
    from typing_extensions import reveal_type


@dataclass
class ShopOrder:
    id: int
    total: float


async def main(store: natskv.KVStore) -> None:
    async with store.watch(type=ShopOrder) as orders:
        reveal_type(orders)  # R: natskv.kv._watch.KVWatcher[watch.ShopOrder]
        async for entry in orders:
            reveal_type(entry)  # R: natskv.kv._entry.KVEntry[watch.ShopOrder]
            reveal_type(entry.value)  # R: watch.ShopOrder | None
            break
        first = await orders.next(timeout=1.0)
        reveal_type(first)  # R: natskv.kv._entry.KVEntry[watch.ShopOrder]
        initial = await orders.initial_values()
        reveal_type(initial)  # R: list[natskv.kv._entry.KVEntry[watch.ShopOrder]]

    filtered = store.watch("orders.*", ShopOrder, ignore_deletes=True)
    reveal_type(filtered)  # R: natskv.kv._watch.KVWatcher[watch.ShopOrder]
    async for entry in filtered.initial():
        reveal_type(entry)  # R: natskv.kv._entry.KVEntry[watch.ShopOrder]

    raw = store.watch()
    reveal_type(raw)  # R: natskv.kv._watch.KVWatcher[bytes]
    change = await raw.next()
    reveal_type(change.value)  # R: bytes | None
    await raw.stop()

    several = store.watch(["orders.1", "orders.2"], type=ShopOrder, include_history=True)
    reveal_type(several)  # R: natskv.kv._watch.KVWatcher[watch.ShopOrder]
    replayed = await several.initial_values()
    reveal_type(replayed)  # R: list[natskv.kv._entry.KVEntry[watch.ShopOrder]]

    errors: list[natskv.DecodeError] = []
    skipping = store.watch(type=ShopOrder, on_decode_error="skip")
    reveal_type(skipping)  # R: natskv.kv._watch.KVWatcher[watch.ShopOrder]
    collected = store.watch(type=ShopOrder, on_decode_error=errors.append)
    reveal_type(collected)  # R: natskv.kv._watch.KVWatcher[watch.ShopOrder]
    store.watch(type=ShopOrder, on_decode_error="ignore")  # E: No overload variant of "watch"

    scan = store.history("orders.1", ShopOrder)
    reveal_type(scan)  # R: natskv.kv._scan.KVScan[natskv.kv._entry.KVEntry[watch.ShopOrder]]
    async for revision in store.history("orders.1", ShopOrder):
        reveal_type(revision)  # R: natskv.kv._entry.KVEntry[watch.ShopOrder]
    async for revision in store.history("orders.1", type=ShopOrder):
        reveal_type(revision)  # R: natskv.kv._entry.KVEntry[watch.ShopOrder]
    async for stored in store.history("orders.1"):
        reveal_type(stored)  # R: natskv.kv._entry.KVEntry[bytes]

    async for key in store.keys():
        reveal_type(key)  # R: str
    reveal_type(await store.list_keys("orders.>"))  # R: list[str]
