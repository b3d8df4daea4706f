"""natskv runs on uvloop (whose transports are not asyncio.Transport subclasses)."""

from __future__ import annotations

import pytest

import natskv

uvloop = pytest.importorskip("uvloop")


def test_kv_round_trip_on_uvloop(nats_url: str) -> None:
    async def main() -> tuple[bytes, list[str], int]:
        async with await natskv.connect(nats_url) as nc:
            kv = natskv.KVContext(natskv.JetStream(nc))
            store = await kv.create_store(natskv.KVConfig(bucket="uvloop_kv", storage="memory"))
            try:
                await store.put("a", b"1")
                await store.put_many([("b", b"2"), ("c", b"3")])
                value = await store.get("a")
                keys = [k async for k in store.keys()]
                async with store.watch() as watcher:
                    seen = len(await watcher.initial_values())
                return value, keys, seen
            finally:
                await kv.delete_store("uvloop_kv")

    loop = uvloop.new_event_loop()
    try:
        value, keys, seen = loop.run_until_complete(main())
    finally:
        loop.close()
    assert value == b"1"
    assert keys == ["a", "b", "c"]
    assert seen == 3
