"""Key/Value errors against a real nats-server: the right typed error, and nothing sent when
the input is invalid."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import natskv
import natskv.errors
import natskv.kv
from natskv import KVConfig, KVStore
from natskv.client import Msg
from natskv.server import EmbeddedServer


@dataclass
class ShopOrder:
    id: int


class Silence:
    """Proves that nothing was sent: no message counted, none seen on ``$KV.<bucket>.>``."""

    def __init__(self, nc: natskv.Connection, store: KVStore) -> None:
        self.nc = nc
        self.store = store
        self.seen: list[Msg] = []
        self.sub: natskv.Subscription | None = None
        self.before = 0

    async def __aenter__(self) -> Silence:
        self.sub = await self.nc.subscribe(f"$KV.{self.store.bucket}.>", cb=self.seen.append)
        await self.nc.flush()
        self.before = self.nc.msgs_out
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.nc.msgs_out == self.before, "a message was sent"
        # a round trip: anything published before it would have come back by now
        await self.nc.flush()
        assert self.sub is not None
        await self.sub.unsubscribe()
        assert self.seen == [], f"the bucket received {self.seen!r}"


@pytest.fixture
def silence(nc: natskv.Connection, store: KVStore) -> Callable[[], Silence]:
    return lambda: Silence(nc, store)


INVALID_KEYS = ["a b", ".a", "a.", "a..b", "", "a*", ">", "a.*", "a.>", "tab\tkey", "ünï"]


def _key_operations(store: KVStore, key: Any) -> Iterator[tuple[str, Callable[[], Awaitable[Any]]]]:
    """Every key-taking operation, ready to call."""

    async def drain(it: AsyncIterator[Any]) -> list[Any]:
        return [x async for x in it]

    yield "put", lambda: store.put(key, b"v")
    yield "put_nowait", lambda: _await_nowait(store, key)
    yield "put_many", lambda: store.put_many([("fine", b"v"), (key, b"v")])
    yield "get", lambda: store.get(key)
    yield "get_entry", lambda: store.get_entry(key)
    yield "get_entry(revision)", lambda: store.get_entry(key, revision=1)
    yield "create", lambda: store.create(key, b"v")
    yield "update", lambda: store.update(key, b"v", 1)
    yield "delete", lambda: store.delete(key)
    yield "purge", lambda: store.purge(key)
    yield "history", lambda: drain(store.history(key))
    yield "revert", lambda: store.revert(key, 1)
    yield "update_with", lambda: store.update_with(key, lambda old: b"v")
    yield "try_get_entry", lambda: store.try_get_entry(key)
    yield "try_create", lambda: store.try_create(key, b"v")
    yield "try_update", lambda: store.try_update(key, b"v", 1)
    yield "try_delete", lambda: store.try_delete(key)


async def _await_nowait(store: KVStore, key: Any) -> int:
    return await store.put_nowait(key, b"v")


async def _wrong_outcomes(
    store: KVStore, key: Any, skip: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """The operations that did not raise InvalidKeyError for ``key``, and what they did."""
    wrong: list[tuple[str, str]] = []
    for name, op in _key_operations(store, key):
        if name in skip:
            continue
        try:
            await op()
        except natskv.InvalidKeyError:
            continue
        except Exception as exc:
            wrong.append((name, repr(exc)))
        else:
            wrong.append((name, "no error"))
    return wrong


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


# -- revisions ----------------------------------------------------------------------------

BAD_READ_REVISIONS = [0, -3, 2**64, True, 1.5, "3"]
BAD_EXPECTED_REVISIONS = [-1, 2**64, False, 1.5, "1"]


async def test_invalid_revisions_are_refused_before_sending(
    store: KVStore, silence: Callable[[], Silence]
) -> None:
    # sent, revision 0 gave the server's "Empty Request", -3 "Malformed Request", and
    # update(k, v, -1) was written with that header
    rev = await store.put("k", b"v")
    reads: list[Callable[[Any], Awaitable[Any]]] = [
        lambda r: store.get_entry("k", revision=r),
        lambda r: store.get_entry("k", revision=r, consistent=True),
        lambda r: store.get("k", revision=r),
        lambda r: store.try_get_entry("k", revision=r),
        lambda r: store.revert("k", r),
        lambda r: store.get_many(["k"], up_to_revision=r),
    ]
    writes: list[Callable[[Any], Awaitable[Any]]] = [
        lambda r: store.update("k", b"w", r),
        lambda r: store.try_update("k", b"w", r),
        lambda r: store.delete("k", revision=r),
        lambda r: store.try_delete("k", revision=r),
        lambda r: store.purge("k", revision=r),
    ]
    wrong = []
    async with silence():
        for ops, bad in ((reads, BAD_READ_REVISIONS), (writes, BAD_EXPECTED_REVISIONS)):
            for i, op in enumerate(ops):
                for revision in bad:
                    try:
                        await op(revision)
                    except natskv.InvalidRevisionError as exc:
                        assert isinstance(exc, ValueError)
                        assert exc.revision is revision
                    except Exception as exc:
                        wrong.append((i, revision, repr(exc)))
                    else:
                        wrong.append((i, revision, "no error"))
        with pytest.raises(natskv.InvalidRevisionError):
            await store.revert("k", None)  # type: ignore[arg-type]
    assert wrong == []
    assert (await store.get_entry("k")).revision == rev


async def test_revision_zero_is_a_valid_expectation_for_writes(store: KVStore) -> None:
    # 0 expects the key to have no message at all
    assert await store.update("new", b"v", 0) >= 1
    with pytest.raises(natskv.WrongRevisionError):
        await store.delete("new", revision=0)


# -- invalid input: nothing is sent -----------------------------------------------------


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_invalid_keys_send_nothing(
    store: KVStore, silence: Callable[[], Silence], key: str
) -> None:
    async with silence():
        assert await _wrong_outcomes(store, key) == []


async def test_a_key_too_long_for_a_control_line_is_refused_before_sending(
    nc: natskv.Connection, store: KVStore, silence: Callable[[], Silence]
) -> None:
    # sent, "a" * 5000 made the server answer "maximum control line exceeded" and drop
    # the connection
    async with silence():
        assert await _wrong_outcomes(store, "a" * 5000) == []
        for keys in (["fine", "a" * 5000], ["a." * 2500 + ">"]):
            with pytest.raises(natskv.InvalidKeyError, match="4096"):
                await store.get_many(keys)
    assert nc.is_connected
    await store.put("after", b"still connected")


async def test_the_longest_key_fits_every_line_and_one_more_character_is_refused(
    nc: natskv.Connection, store: KVStore, silence: Callable[[], Silence]
) -> None:
    limit = store.max_key_length
    # what the lines hold besides the key: prefixes, a reply inbox, sizes, an ack subject
    assert 3000 < limit < 4096 - len(f"$KV.{store.bucket}.")
    longest = "k" * limit
    rev = await store.put(longest, b"1")
    assert await store.get(longest) == b"1"
    assert (await store.get_entry(longest, revision=rev)).value == b"1"
    rev = await store.update(longest, b"2", rev)
    assert (await store.get_many([longest]))[longest].value == b"2"
    # a watcher receives the key in its delivery line (HMSG subject sid ack-reply sizes)
    assert await store.list_keys() == [longest]
    assert [e.revision async for e in store.history(longest)] == [1, rev]
    await store.delete(longest)
    assert await store.create(longest, b"3") > rev
    await store.purge(longest)
    async with silence():
        # (history checks the 4096-byte line; the bucket's own limit is for it to adopt)
        assert await _wrong_outcomes(store, "k" * (limit + 1), skip=("history",)) == []
        with pytest.raises(natskv.InvalidKeyError):
            await store.get_many(["k" * (limit + 1)])
    assert nc.is_connected


async def test_get_many_of_long_keys_splits_requests_that_would_exceed_max_payload(
    store: KVStore,
) -> None:
    # 300 keys of 3,500 characters: one multi_last request would be over 1 MiB
    keys = [f"{i:04}" + "x" * 3496 for i in range(300)]
    await store.put_many([(k, k[:4].encode()) for k in keys])
    got = await store.get_many(keys)
    assert sorted(got) == keys
    assert got[keys[-1]].value == b"0299"


@pytest.mark.parametrize("key_filter", ["a b", ".a", "a.", "a..b", "", "a*", "a>", "a.>.b"])
async def test_invalid_key_filters_send_nothing(
    store: KVStore, silence: Callable[[], Silence], key_filter: str
) -> None:
    async with silence():
        with pytest.raises(natskv.InvalidKeyError):
            [k async for k in store.keys("ok", key_filter)]
        with pytest.raises(natskv.InvalidKeyError):
            store.watch(key_filter)


@pytest.mark.parametrize("key", [None, 1, b"key", ["a"]])
async def test_non_str_keys_send_nothing(
    store: KVStore, silence: Callable[[], Silence], key: Any
) -> None:
    async with silence():
        assert await _wrong_outcomes(store, key) == []


async def test_invalid_key_error_is_a_value_error(store: KVStore) -> None:
    with pytest.raises(ValueError):
        await store.put("a b", b"v")


@pytest.mark.parametrize("name", ["a.b", "a b", "x" * 253, "x" * 5000, "", "a*", "a>", "ü"])
async def test_invalid_bucket_names(kv: natskv.KVContext, nc: natskv.Connection, name: str) -> None:
    sent = nc.msgs_out
    with pytest.raises(natskv.InvalidBucketNameError):
        await kv.create_store(name)
    with pytest.raises(natskv.InvalidBucketNameError):
        KVConfig(bucket=name)
    with pytest.raises(natskv.InvalidBucketNameError):
        await kv.get_store(name)
    with pytest.raises(natskv.InvalidBucketNameError):
        await kv.delete_store(name)
    assert nc.msgs_out == sent


async def test_longest_bucket_name_works(kv: natskv.KVContext) -> None:
    name = "x" * 252
    store = await kv.create_store(KVConfig(bucket=name, storage="memory"))
    try:
        await store.put("k", b"v")
        assert await store.get("k") == b"v"
    finally:
        await kv.delete_store(name)


async def test_unencodable_value_sends_nothing(
    store: KVStore, silence: Callable[[], Silence]
) -> None:
    class Opaque:
        pass

    async with silence():
        for value in (object(), Opaque(), {1, object()}):
            with pytest.raises(TypeError):
                await store.put("k", value)
            with pytest.raises(TypeError):
                await store.create("k", value)
            with pytest.raises(TypeError):
                await store.update("k", value, 1)
            with pytest.raises(TypeError):
                await store.put_nowait("k", value)
            with pytest.raises(TypeError):
                await store.put_many([("ok", b"v"), ("k", value)])


async def test_ttl_on_bucket_without_limit_markers_sends_nothing(
    store: KVStore, silence: Callable[[], Silence]
) -> None:
    await store.put("k", b"v")
    async with silence():
        with pytest.raises(natskv.TTLNotSupportedError):
            await store.create("new", b"v", ttl=60)
        with pytest.raises(natskv.TTLNotSupportedError):
            await store.purge("k", ttl=60)
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("new")
    assert await store.get("k") == b"v"


async def test_invalid_ttl_on_limit_marker_bucket_sends_nothing(
    kv: natskv.KVContext, nc: natskv.Connection, bucket_name: str
) -> None:
    store = await kv.create_store(
        KVConfig(bucket=bucket_name, storage="memory", limit_marker_ttl=5)
    )
    try:
        async with Silence(nc, store):
            for ttl in (0, 0.5, 1.5, -1, "soon"):
                with pytest.raises(natskv.InvalidConfigError):
                    await store.create("k", b"v", ttl=ttl)
        rev = await store.create("k", b"v", ttl=60)
        msg = await store.js.direct_get(store.stream, seq=rev)
        assert msg.headers["Nats-TTL"] == "60s"
    finally:
        await kv.delete_store(bucket_name)


# -- sizes ------------------------------------------------------------------------------


@pytest.fixture
async def small_server() -> AsyncIterator[EmbeddedServer]:
    server = EmbeddedServer(durable=False, max_payload=1024)
    await server.astart()
    try:
        yield server
    finally:
        await server.astop()


async def test_value_over_max_payload_sends_nothing(small_server: EmbeddedServer) -> None:
    async with await natskv.connect(small_server.url) as nc:
        assert nc.max_payload == 1024
        kv = natskv.KVContext(natskv.JetStream(nc))
        store = await kv.create_store(KVConfig(bucket="small", storage="memory"))
        async with Silence(nc, store):
            for value in (b"x" * 1025, "y" * 2000):
                for op in (
                    lambda v: store.put("k", v),
                    lambda v: store.create("k", v),
                    lambda v: store.update("k", v, 0),
                    lambda v: store.put_nowait("k", v),
                    lambda v: store.put_many([("k", v)]),
                ):
                    with pytest.raises(natskv.ValueTooLargeError) as ei:
                        await op(value)
                    assert isinstance(ei.value, natskv.MaxPayloadError)
                    assert isinstance(ei.value, ValueError)
        # what fits is stored
        await store.put("k", b"x" * 900)
        assert len(await store.get("k")) == 900


async def test_value_that_fits_max_payload_but_not_with_headers(
    small_server: EmbeddedServer,
) -> None:
    # create/update add an expectation header: the whole message must fit
    async with await natskv.connect(small_server.url) as nc:
        kv = natskv.KVContext(natskv.JetStream(nc))
        store = await kv.create_store(KVConfig(bucket="edge", storage="memory"))
        value = b"x" * 1020
        async with Silence(nc, store):
            with pytest.raises(natskv.ValueTooLargeError):
                await store.create("k", value)
            with pytest.raises(natskv.ValueTooLargeError):
                await store.update("k", value, 1)


async def test_value_over_bucket_max_value_size(
    kv: natskv.KVContext, nc: natskv.Connection, bucket_name: str
) -> None:
    store = await kv.create_store(
        KVConfig(bucket=bucket_name, storage="memory", max_value_size=100)
    )
    try:
        async with Silence(nc, store):
            with pytest.raises(natskv.ValueTooLargeError):
                await store.put("k", b"x" * 101)
            with pytest.raises(natskv.ValueTooLargeError):
                await store.create("k", ShopOrder(id=10**120))
            with pytest.raises(natskv.ValueTooLargeError):
                await store.put_many([("a", b"ok"), ("b", b"x" * 101)])
        assert await store.put("k", b"x" * 100) == 1
    finally:
        await kv.delete_store(bucket_name)


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
