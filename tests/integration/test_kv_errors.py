"""Key/Value errors against a real nats-server: the typed error for each failure the server
reports (missing keys, conflicts, full buckets, undecodable values, missing buckets, no
responders), and the shape of the error tree. (Bad input refused before sending is
``test_kv_validation.py``.)"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import natskv
import natskv.kv
from natskv import KVConfig, KVStore


@dataclass
class ShopOrder:
    id: int


async def _await_nowait(store: KVStore, key: Any) -> int:
    return await store.put_nowait(key, b"v")


# -- reads ------------------------------------------------------------------------------


async def test_get_missing_key(store: KVStore) -> None:
    await store.put("other", b"x")
    with pytest.raises(natskv.KeyNotFoundError) as ei:
        await store.get("missing")
    assert not isinstance(ei.value, natskv.KeyDeletedError)
    assert ei.value.key == "missing"
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get_entry("missing", ShopOrder)


async def test_get_deleted_key(store: KVStore) -> None:
    await store.put("k", b"v")
    marker = await store.delete("k")
    with pytest.raises(natskv.KeyDeletedError) as ei:
        await store.get("k")
    err = ei.value
    assert isinstance(err, natskv.KeyNotFoundError)
    assert err.key == "k"
    assert err.revision == marker
    assert err.operation is natskv.KVOperation.DEL


async def test_get_purged_key(store: KVStore) -> None:
    await store.put("k", b"v")
    marker = await store.purge("k")
    with pytest.raises(natskv.KeyDeletedError) as ei:
        await store.get_entry("k", ShopOrder)
    assert ei.value.revision == marker
    assert ei.value.operation is natskv.KVOperation.PURGE


# -- compare-and-set --------------------------------------------------------------------


async def test_create_existing_key(store: KVStore) -> None:
    await store.put("k", b"1")
    current = await store.put("k", b"2")
    with pytest.raises(natskv.KeyExistsError) as ei:
        await store.create("k", b"3")
    assert ei.value.key == "k"
    assert ei.value.revision == current
    assert isinstance(ei.value.__cause__, natskv.WrongRevisionError | natskv.APIError)
    assert await store.get("k") == b"2"


async def test_update_with_stale_revision(store: KVStore) -> None:
    r1 = await store.put("k", b"1")
    r2 = await store.put("k", b"2")
    with pytest.raises(natskv.WrongRevisionError) as ei:
        await store.update("k", b"3", r1)
    err = ei.value
    assert err.key == "k"
    assert err.expected == r1
    assert err.actual == r2
    assert isinstance(err.__cause__, natskv.APIError)
    assert err.__cause__.err_code == 10071
    assert await store.get("k") == b"2"


async def test_update_of_missing_key(store: KVStore) -> None:
    with pytest.raises(natskv.WrongRevisionError) as ei:
        await store.update("missing", b"v", 5)
    assert ei.value.expected == 5
    assert ei.value.actual == 0


# -- limits the server enforces ---------------------------------------------------------


async def test_value_over_max_value_size_set_after_opening(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    # the store was opened before the limit existed: the server's refusal is translated
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    try:
        await kv.update_store(KVConfig(bucket=bucket_name, storage="memory", max_value_size=100))
        with pytest.raises(natskv.ValueTooLargeError) as ei:
            await store.put("k", b"x" * 500)
        assert isinstance(ei.value.__cause__, natskv.APIError)
        assert ei.value.__cause__.err_code == 10054
    finally:
        await kv.delete_store(bucket_name)


async def test_bucket_full(kv: natskv.KVContext, bucket_name: str) -> None:
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory", max_bytes=2048))
    try:
        with pytest.raises(natskv.APIError) as ei:
            for i in range(100):
                await store.put(f"k{i}", b"x" * 100)
        assert ei.value.err_code == 10077
    finally:
        await kv.delete_store(bucket_name)


# -- decoding ---------------------------------------------------------------------------


async def test_value_that_does_not_decode(store: KVStore) -> None:
    rev = await store.put("k", b"not json")
    with pytest.raises(natskv.DecodeError) as ei:
        await store.get_entry("k", ShopOrder)
    err = ei.value
    assert isinstance(err, ValueError)
    assert err.bucket == store.bucket
    assert err.key == "k"
    assert err.revision == rev
    assert err.type is ShopOrder
    assert err.raw == b"not json"
    text = str(err)
    assert store.bucket in text and "k" in text and str(rev) in text and "ShopOrder" in text

    rev2 = await store.put("k", b'{"id": "not an int"}')
    with pytest.raises(natskv.DecodeError) as ei2:
        await store.get("k", ShopOrder)
    assert ei2.value.revision == rev2
    with pytest.raises(natskv.DecodeError):
        await store.get("k", ShopOrder, consistent=True)
    with pytest.raises(natskv.DecodeError):
        await store.get("k", int)
    with pytest.raises(natskv.DecodeError):
        await store.get("k", ShopOrder, revision=rev)


async def test_invalid_utf8_as_str(store: KVStore) -> None:
    rev = await store.put("k", b"\xff\xfe")
    with pytest.raises(natskv.DecodeError) as ei:
        await store.get("k", str)
    assert (ei.value.raw, ei.value.revision, ei.value.type) == (b"\xff\xfe", rev, str)


async def test_decode_errors_in_watch_and_history(store: KVStore) -> None:
    rev = await store.put("k", b"garbage")
    with pytest.raises(natskv.DecodeError) as ei:
        async for _ in store.history("k", ShopOrder):
            pass
    assert ei.value.revision == rev
    async with store.watch(type=ShopOrder) as w:
        with pytest.raises(natskv.DecodeError) as ew:
            await w.next(timeout=10)
    assert (ew.value.key, ew.value.raw) == ("k", b"garbage")


async def test_unsupported_type_is_a_type_error(store: KVStore) -> None:
    class Plain:
        pass

    await store.put("k", b"{}")
    with pytest.raises(TypeError):
        await store.get("k", Plain)


# -- missing buckets --------------------------------------------------------------------


def _bucket_operations(
    kv: natskv.KVContext, store: KVStore
) -> Iterator[tuple[str, Callable[[], Awaitable[Any]]]]:
    """Every store and context operation that names one existing bucket."""
    name = store.bucket
    yield "put", lambda: store.put("k", b"v")
    yield "put_nowait", lambda: _await_nowait(store, "k")
    yield "put_many", lambda: store.put_many([("k", b"v"), ("j", b"w")])
    yield "get", lambda: store.get("k")
    yield "get(consistent)", lambda: store.get("k", consistent=True)
    yield "get(revision)", lambda: store.get("k", revision=1)
    yield "get_entry", lambda: store.get_entry("k")
    yield "get_entry(consistent)", lambda: store.get_entry("k", consistent=True)
    yield "get_entry(revision)", lambda: store.get_entry("k", revision=1)
    yield (
        "get_entry(revision, consistent)",
        lambda: store.get_entry("k", revision=1, consistent=True),
    )
    yield "create", lambda: store.create("k", b"v")
    yield "update", lambda: store.update("k", b"v", 1)
    yield "delete", lambda: store.delete("k")
    yield "purge", lambda: store.purge("k")
    yield "get_many", lambda: store.get_many(["k", "j"])
    yield "get_many(filter)", lambda: store.get_many(["k.*"])
    yield "get_many(up_to_revision)", lambda: store.get_many(["k"], up_to_revision=3)
    yield "purge_deletes", lambda: store.purge_deletes()
    yield "revert", lambda: store.revert("k", 1)
    yield "update_with", lambda: store.update_with("k", lambda old: b"new")
    yield "try_get_entry", lambda: store.try_get_entry("k")
    yield "try_create", lambda: store.try_create("k", b"v")
    yield "try_update", lambda: store.try_update("k", b"v", 1)
    yield "try_delete", lambda: store.try_delete("k")
    yield "status", lambda: store.status()
    yield "kv.get_store", lambda: kv.get_store(name)
    yield "kv.update_store", lambda: kv.update_store(KVConfig(bucket=name, storage="memory"))
    yield "kv.delete_store", lambda: kv.delete_store(name)


async def test_every_operation_on_a_deleted_bucket_raises_bucket_not_found(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    await store.put("k", b"v")
    await kv.delete_store(bucket_name)
    wrong: list[tuple[str, str]] = []
    for name, op in _bucket_operations(kv, store):
        try:
            await asyncio.wait_for(op(), 10)
        except natskv.BucketNotFoundError as exc:
            if exc.bucket != bucket_name:
                wrong.append((name, f"bucket={exc.bucket!r}"))
        except Exception as exc:
            wrong.append((name, repr(exc)))
        else:
            wrong.append((name, "no error"))
    assert wrong == []


async def test_bucket_not_found_keeps_the_server_answer_as_its_cause(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    await kv.delete_store(bucket_name)
    for op in (lambda: store.put("k", b"v"), lambda: store.get("k"), store.status):
        with pytest.raises(natskv.BucketNotFoundError) as ei:
            await op()
        assert isinstance(ei.value.__cause__, natskv.StreamNotFoundError)
        assert ei.value.__cause__.err_code == 10059


@dataclass
class Unheard:
    """A bucket whose stream exists but, for now, listens on other subjects: its writes
    meet no responders, as they do in a cluster while a stream leader is elected."""

    nc: natskv.Connection
    bucket: str
    config: dict[str, Any]

    def store(self, timeout: float) -> KVStore:
        """The bucket's store, with ``timeout`` for every operation."""
        js = natskv.JetStream(self.nc, timeout=timeout)
        return KVStore(js, self.bucket, stream_config=self.config, codecs=natskv.kv.DEFAULT_CODECS)

    async def listen_again(self) -> None:
        await natskv.JetStream(self.nc).update_stream(self.config)


@pytest.fixture
async def unheard(
    nc: natskv.Connection, kv: natskv.KVContext, bucket_name: str
) -> AsyncIterator[Unheard]:
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    config = (await kv.js.stream_info(store.stream)).config
    await kv.js.update_stream({**config, "subjects": [f"elsewhere_{bucket_name}.>"]})
    try:
        yield Unheard(nc, bucket_name, config)
    finally:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(bucket_name)


async def test_no_responders_from_an_existing_stream_is_temporary_not_bucket_not_found(
    unheard: Unheard,
) -> None:
    store = unheard.store(timeout=0.5)
    writes: list[Callable[[], Awaitable[Any]]] = [
        lambda: store.put("k", b"v"),
        lambda: store.create("k", b"v"),
        lambda: store.update("k", b"v", 0),
        lambda: store.delete("k"),
        lambda: store.purge("k"),
        lambda: _await_nowait(store, "k"),
        lambda: store.put_many([("k", b"v")]),
    ]
    for write in writes:
        with pytest.raises(natskv.NoStreamResponseError) as ei:
            await asyncio.wait_for(write(), 10)
        assert not isinstance(ei.value, natskv.BucketNotFoundError)
        assert isinstance(ei.value, natskv.NoRespondersError)
        assert ei.value.stream == store.stream


async def test_a_write_that_met_no_responders_is_retried_until_the_stream_listens(
    unheard: Unheard, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = unheard.store(timeout=10.0)
    # the recovery asks STREAM.INFO once it met no responders: then the stream comes back
    asked = asyncio.Event()
    real_info = natskv.JetStream.stream_info

    async def stream_info(self: natskv.JetStream, name: str, **kw: Any) -> natskv.StreamInfo:
        info = await real_info(self, name, **kw)
        asked.set()
        return info

    monkeypatch.setattr(natskv.JetStream, "stream_info", stream_info)
    put = asyncio.ensure_future(store.put("k", b"stored after all"))
    await asyncio.wait_for(asked.wait(), 10)
    assert not put.done()
    await unheard.listen_again()
    revision = await asyncio.wait_for(put, 15)
    assert await store.get("k") == b"stored after all"
    assert (await store.get_entry("k")).revision == revision


# -- the tree ---------------------------------------------------------------------------


def test_every_error_is_a_nats_error() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(natskv.errors, inspect.isclass)
        if issubclass(obj, BaseException) and obj.__module__ == "natskv.errors"
    ]
    assert len(classes) >= 25
    for cls in classes:
        assert issubclass(cls, natskv.NatsError), cls
    for name in natskv.__all__:
        obj = getattr(natskv, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            assert issubclass(obj, natskv.NatsError), name


def test_error_tree_shape() -> None:
    assert issubclass(natskv.KeyDeletedError, natskv.KeyNotFoundError)
    kv_errors = [
        natskv.KeyNotFoundError,
        natskv.KeyExistsError,
        natskv.WrongRevisionError,
        natskv.BucketNotFoundError,
        natskv.BucketExistsError,
        natskv.BadBucketError,
        natskv.InvalidKeyError,
        natskv.InvalidBucketNameError,
        natskv.InvalidConfigError,
        natskv.TTLNotSupportedError,
        natskv.ValueTooLargeError,
        natskv.DecodeError,
    ]
    for cls in kv_errors:
        assert issubclass(cls, natskv.KeyValueError)
        assert issubclass(cls, natskv.JetStreamError)
    assert issubclass(natskv.ValueTooLargeError, natskv.MaxPayloadError)
    assert issubclass(natskv.StreamNotFoundError, natskv.APIError)
    assert issubclass(natskv.TimeoutError, asyncio.TimeoutError)
