"""``examples/cache.py``: a local copy of the bucket, current without reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.examples.helpers import load, run_example

import natskv

cache_example = load("cache")
WarmCache, Product = cache_example.WarmCache, cache_example.Product


async def test_the_example_serves_lookups_locally_and_follows_changes(
    nats_url: str, kv: natskv.KVContext, bucket_gone: Callable[[str], Awaitable[None]]
) -> None:
    await bucket_gone("products")
    out = await run_example("cache", nats_url=nats_url)
    assert out.splitlines() == [
        "cached 3 products: ['p-1', 'p-2', 'p-3']",
        "10000 lookups, 0 messages sent to the server",
        "p-1 is now Product(name='teapot', price_cents=2200); p-3 cached: False",
    ]
    assert "products" not in [name async for name in kv.store_names()]


async def test_the_cache_follows_another_clients_writes(
    kv_store: natskv.KVStore, nats_url: str
) -> None:
    await kv_store.put("eu.p-1", Product("teapot", 2500))
    await kv_store.put("us.p-1", Product("kettle", 4000))
    async with WarmCache(kv_store, Product, "eu.>") as cache:
        assert list(cache) == ["eu.p-1"]  # only the keys it covers
        async with await natskv.connect(nats_url) as other:
            writer = await natskv.KVContext(natskv.JetStream(other)).get_store(kv_store.bucket)
            await cache.wait_for(await writer.put("eu.p-2", Product("mug", 900)))
            assert cache.get("eu.p-2") == Product("mug", 900)
            await cache.wait_for(await writer.put("eu.p-1", Product("teapot", 2200)))
            assert cache.get("eu.p-1") == Product("teapot", 2200)
            await cache.wait_for(await writer.purge("eu.p-2"))
            assert "eu.p-2" not in cache and len(cache) == 1
            # a key it does not cover stays out; a delete removes the key
            await writer.put("us.p-2", Product("cup", 500))
            await cache.wait_for(await writer.delete("eu.p-1"))
            assert list(cache) == []


async def test_an_empty_bucket_makes_an_empty_cache(kv_store: natskv.KVStore) -> None:
    async with WarmCache(kv_store, Product) as cache:
        assert len(cache) == 0 and cache.revision == 0
        await cache.wait_for(await kv_store.put("p-1", Product("teapot", 1)))
        assert cache.get("p-1") == Product("teapot", 1)


async def test_an_undecodable_value_leaves_its_key_out_and_the_cache_goes_on(
    kv_store: natskv.KVStore,
) -> None:
    # one bad value used to end the cache's watcher: the cache stopped following, silently
    await kv_store.put("p-1", Product("teapot", 2500))
    await kv_store.put("p-2", b"not json")  # another client's value
    async with WarmCache(kv_store, Product) as cache:
        assert list(cache) == ["p-1"]
        assert [(e.key, e.raw) for e in cache.undecodable] == [("p-2", b"not json")]
        await cache.wait_for(await kv_store.put("p-1", b"[1, 2]"))
        assert "p-1" not in cache  # not its old value: that one is stale
        await cache.wait_for(await kv_store.put("p-2", Product("kettle", 4000)))
        assert cache.get("p-2") == Product("kettle", 4000)
        await cache.wait_for(await kv_store.put("p-1", Product("teapot", 2200)))
        assert cache.get("p-1") == Product("teapot", 2200)
        assert len(cache.undecodable) == 2
