"""Codec precedence: a per-call codec beats the bucket's, which beats the context's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import natskv
from natskv.kv import CodecRegistry


@dataclass
class Point:
    x: int
    y: int


class TaggedCodec:
    """Writes Points as ``<tag>:x,y`` so the test can see which codec ran."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def can_encode(self, value: Any) -> bool:
        return isinstance(value, Point)

    def can_decode(self, type: Any) -> bool:
        return type is Point

    def encode(self, value: Any) -> bytes:
        return f"{self.tag}:{value.x},{value.y}".encode()

    def decode(self, data: bytes, type: Any) -> Any:
        tag, _, rest = data.decode().partition(":")
        assert tag == self.tag, f"{self.tag} codec got {tag} data"
        x, y = rest.split(",")
        return Point(int(x), int(y))


async def test_context_bucket_and_call_codecs_take_precedence_in_that_order(
    js: natskv.JetStream, bucket_name: str
) -> None:
    context_codecs = CodecRegistry().with_codec(TaggedCodec("ctx"))
    kv = natskv.KVContext(js, codecs=context_codecs)
    store = await kv.create_store(natskv.KVConfig(bucket=bucket_name, storage="memory"))
    try:
        await store.put("a", Point(1, 2))
        assert (await store.get_entry("a")).value == b"ctx:1,2"
        assert await store.get("a", Point) == Point(1, 2)

        bucket = await kv.get_store(
            bucket_name, codecs=CodecRegistry().with_codec(TaggedCodec("b"))
        )
        await bucket.put("b", Point(3, 4))
        assert await bucket.get("b") == b"b:3,4"

        call = TaggedCodec("call")
        await bucket.put("c", Point(5, 6), codec=call)
        assert await bucket.get("c") == b"call:5,6"
        assert await bucket.get("c", Point, codec=call) == Point(5, 6)
        await bucket.update("c", Point(7, 8), (await bucket.get_entry("c")).revision, codec=call)
        assert [e.value async for e in bucket.history("c", Point, codec=call)] == [Point(7, 8)]
        many = await bucket.get_many(["c"], Point, codec=call)
        assert many["c"].value == Point(7, 8)
        async with bucket.watch("c", Point, codec=call) as watcher:
            assert [e.value for e in await watcher.initial_values()] == [Point(7, 8)]
        # the bucket's own registry is unchanged by per-call codecs
        assert await bucket.get("b", Point) == Point(3, 4)
    finally:
        await kv.delete_store(bucket_name)


async def test_json_is_the_default_for_structured_values(store: natskv.KVStore) -> None:
    await store.put("p", Point(1, 2))
    assert await store.get("p") == b'{"x":1,"y":2}'
    assert await store.get("p", Point) == Point(1, 2)
