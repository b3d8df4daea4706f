"""Bad input is refused with a typed error before anything is sent: keys, key filters,
revisions, bucket names and values."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.integration.helpers import Silence

import natskv
from natskv import KVConfig, KVStore
from natskv.server import EmbeddedServer


@dataclass
class ShopOrder:
    id: int


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


# -- revisions --------------------------------------------------------------------------


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


# -- keys and key filters ---------------------------------------------------------------


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_invalid_keys_send_nothing(
    store: KVStore, silence: Callable[[], Silence], key: str
) -> None:
    async with silence():
        assert await _wrong_outcomes(store, key) == []


_BAD_KEYS = ["", ".a", "a.", "a..b", "a b", "a*", "a.>", "ä", "a\tb", "a,b", "$KV"]


@pytest.mark.wire("7.3 #9")
async def test_key_validation_sends_nothing(store: natskv.KVStore, nc: natskv.Connection) -> None:
    """The nats.go key rules, '..' included, checked before any send."""
    before = nc.msgs_out
    for key in _BAD_KEYS:
        calls: list[Awaitable[Any]] = [
            store.put(key, b"v"),
            store.get(key),
            store.create(key, b"v"),
            store.update(key, b"v", 1),
            store.delete(key),
            store.purge(key),
        ]
        for call in calls:
            with pytest.raises(natskv.InvalidKeyError):
                await call
        with pytest.raises(natskv.InvalidKeyError):
            [e async for e in store.history(key)]
    assert nc.msgs_out == before
    good = ["a", "A-z_0/9=x", "a.b.c", "_kv.x", "=", "-.-"]
    for key in good:
        await store.put(key, key.encode())
    assert {k async for k in store.keys()} == set(good)


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


@pytest.mark.parametrize("key_filter", ["a b", ".a", "a.", "a..b", "", "a*", "a>", "a.>.b"])
async def test_invalid_key_filters_send_nothing(
    store: KVStore, silence: Callable[[], Silence], key_filter: str
) -> None:
    async with silence():
        with pytest.raises(natskv.InvalidKeyError):
            [k async for k in store.keys("ok", key_filter)]
        with pytest.raises(natskv.InvalidKeyError):
            store.watch(key_filter)


async def test_a_key_filter_too_long_for_a_control_line_is_refused_before_sending(
    nc: natskv.Connection, store: KVStore, silence: Callable[[], Silence]
) -> None:
    # a filter becomes a consumer's filter subject and the subject of its deliveries
    one_more = "k" * (store.max_key_length + 1)
    async with silence():
        for too_long in ("a" * 5000, "a." * 2500 + ">", one_more):
            with pytest.raises(natskv.InvalidKeyError):
                store.watch(too_long)
            with pytest.raises(natskv.InvalidKeyError):
                store.watch(["ok", too_long])
            with pytest.raises(natskv.InvalidKeyError):
                store.keys(too_long)
            with pytest.raises(natskv.InvalidKeyError):
                await store.list_keys("ok", too_long)
    assert nc.is_connected
    longest = "k" * store.max_key_length
    await store.put(longest, b"v")
    assert await store.list_keys(longest) == [longest]
    async with store.watch(longest) as watcher:
        assert (await watcher.next(timeout=10)).key == longest


@pytest.mark.parametrize("key", [None, 1, b"key", ["a"]])
async def test_non_str_keys_send_nothing(
    store: KVStore, silence: Callable[[], Silence], key: Any
) -> None:
    async with silence():
        assert await _wrong_outcomes(store, key) == []


async def test_invalid_key_error_is_a_value_error(store: KVStore) -> None:
    with pytest.raises(ValueError):
        await store.put("a b", b"v")


# -- bucket names -----------------------------------------------------------------------


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


@pytest.mark.wire("7.3 #9")
async def test_bucket_names_up_to_252_characters(
    kv: natskv.KVContext, js: natskv.JetStream, nc: natskv.Connection, cleanup: list[str]
) -> None:
    """253 characters are refused unsent; 252 make a 255-char stream."""
    too_long = "b" * 253
    before = nc.msgs_out
    with pytest.raises(natskv.InvalidBucketNameError):
        await kv.create_store(too_long)
    with pytest.raises(natskv.InvalidBucketNameError):
        await kv.get_store(too_long)
    with pytest.raises(natskv.InvalidBucketNameError):
        await kv.delete_store(too_long)
    for bad in ("", "a.b", "a b", "a*", "a>", "ä"):
        with pytest.raises(natskv.InvalidBucketNameError):
            await kv.create_store(bad)
    assert nc.msgs_out == before
    longest = uuid.uuid4().hex + "x" * 220
    assert len(longest) == 252
    cleanup.append(longest)
    store = await kv.create_store(KVConfig(bucket=longest, storage="memory"))
    info = await js.stream_info(f"KV_{longest}")
    assert len(info.config["name"]) == 255
    await store.put("k", b"v")
    assert await store.get("k") == b"v"
    assert [k async for k in store.keys()] == ["k"]
    assert longest in [n async for n in kv.store_names()]


# -- values -----------------------------------------------------------------------------


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
