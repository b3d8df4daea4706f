"""Per-key TTL and limit markers (ADR-48): a TTL on create and purge only, the Nats-TTL
header, and expiry markers that read as deleted."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import timedelta

import pytest
from tests.integration.helpers import Silence

import natskv
from natskv import KVConfig, KVOperation, KVStore

# -- where a TTL is taken ---------------------------------------------------------------


@pytest.mark.parametrize("operation", ["put", "update", "delete"])
async def test_put_update_and_delete_have_no_ttl_parameter(
    nc: natskv.Connection, store: natskv.KVStore, operation: str
) -> None:
    # ADR-48: no per-key TTL on these. The parameter existed only to be refused at run
    # time; now it does not exist, so a type checker refuses it, and Python does
    assert "ttl" not in inspect.signature(getattr(store, operation)).parameters
    assert "ttl" in inspect.signature(store.create).parameters
    assert "ttl" in inspect.signature(store.purge).parameters
    before = nc.msgs_out
    with pytest.raises(TypeError, match="ttl"):
        if operation == "put":
            await store.put("k", b"v", ttl=5)  # type: ignore[call-arg]
        elif operation == "update":
            await store.update("k", b"v", 1, ttl=5)  # type: ignore[call-arg]
        else:
            await store.delete("k", ttl=5)  # type: ignore[call-arg]
    assert nc.msgs_out == before


@pytest.mark.wire("7.3 #7")
async def test_ttl_on_put_update_delete_is_rejected(
    kv: natskv.KVContext, nc: natskv.Connection, bucket_name: str, cleanup: list[str]
) -> None:
    """Put/update/delete refuse a TTL (ADR-48), even with limit markers:
    they have no ttl parameter, so it is a type error before anything is sent."""
    cleanup.append(bucket_name)
    store = await kv.create_store(KVConfig(bucket=bucket_name, limit_marker_ttl=1))
    rev = await store.put("k", b"v")
    before = nc.msgs_out
    with pytest.raises(TypeError, match="ttl"):
        await store.put("k", b"v", ttl=5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="ttl"):
        await store.update("k", b"v", rev, ttl=5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="ttl"):
        await store.delete("k", ttl=5)  # type: ignore[call-arg]
    assert nc.msgs_out == before
    assert (await store.get_entry("k")).revision == rev


@pytest.mark.user_need("TTL")
async def test_ttl_needs_a_bucket_with_limit_markers(store: natskv.KVStore) -> None:
    """A bucket without limit markers refuses a per-key TTL before sending."""
    with pytest.raises(natskv.TTLNotSupportedError):
        await store.create("k", b"v", ttl=10)
    with pytest.raises(natskv.TTLNotSupportedError):
        await store.purge("k", ttl=10)
    assert [k async for k in store.keys()] == []


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


# -- the header -------------------------------------------------------------------------


@pytest.mark.wire("7.3 #7")
async def test_ttl_header_on_the_wire(
    kv: natskv.KVContext, nc: natskv.Connection, bucket_name: str, cleanup: list[str]
) -> None:
    """Nats-TTL is sent as "<int>s" (or "never") on create and purge."""
    cleanup.append(bucket_name)
    store = await kv.create_store(
        KVConfig(bucket=bucket_name, history=5, limit_marker_ttl=timedelta(seconds=1))
    )
    sub = await nc.subscribe(f"$KV.{bucket_name}.>")
    await nc.flush()
    await store.create("a", b"1", ttl=timedelta(minutes=1))
    await store.create("b", b"2", ttl=90)
    await store.create("c", b"3", ttl="never")
    await store.create("d", b"4", ttl=2.0)
    await store.purge("a", ttl=timedelta(hours=1))
    await store.create("e", b"5")
    seen = {}
    for _ in range(6):
        msg = await sub.next_msg(timeout=5)
        seen[msg.subject.rsplit(".", 1)[1], msg.headers.get("KV-Operation")] = msg.headers
    await sub.unsubscribe()
    assert seen["a", None]["Nats-TTL"] == "60s"
    assert seen["b", None]["Nats-TTL"] == "90s"
    assert seen["c", None]["Nats-TTL"] == "never"
    assert seen["d", None]["Nats-TTL"] == "2s"
    assert seen["a", "PURGE"]["Nats-TTL"] == "3600s"
    assert "Nats-TTL" not in seen["e", None]


@pytest.mark.wire("7.3 #7")
async def test_sub_second_ttl_is_rejected_before_sending(
    kv: natskv.KVContext, nc: natskv.Connection, bucket_name: str, cleanup: list[str]
) -> None:
    """A TTL under 1 s (or fractional) raises with nothing sent."""
    cleanup.append(bucket_name)
    store = await kv.create_store(KVConfig(bucket=bucket_name, limit_marker_ttl=1))
    before = nc.msgs_out
    for ttl in (0, 0.5, timedelta(milliseconds=999), 1.5, -3, "5s"):
        with pytest.raises(natskv.InvalidConfigError):
            await store.create("k", b"v", ttl=ttl)  # type: ignore[arg-type]
        with pytest.raises(natskv.InvalidConfigError):
            await store.purge("k", ttl=ttl)  # type: ignore[arg-type]
    assert nc.msgs_out == before


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


# -- expiry -----------------------------------------------------------------------------


async def test_per_key_ttl_expires_into_a_marker(kv: natskv.KVContext, bucket_name: str) -> None:
    store = await kv.create_store(
        natskv.KVConfig(bucket=bucket_name, storage="memory", limit_marker_ttl=60)
    )
    try:
        async with store.watch("short") as w:
            rev = await store.create("short", b"v", ttl=1)
            created = await w.next(timeout=10)
            assert (created.revision, created.operation) == (rev, KVOperation.PUT)
            # the server removes the value and writes a limit marker in its place
            marker = await w.next(timeout=10)
        assert marker.key == "short"
        assert marker.operation is KVOperation.PURGE
        assert marker.value is None
        assert marker.revision > rev
        with pytest.raises(natskv.KeyDeletedError) as ei:
            await store.get("short")
        assert ei.value.revision == marker.revision
        assert [k async for k in store.keys()] == []
        # an expired key can be created again
        assert await store.create("short", b"again") > marker.revision
    finally:
        await kv.delete_store(bucket_name)


async def test_per_key_ttl_expires_into_a_marker_that_reads_as_deleted(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(
        natskv.KVConfig(bucket=bucket_name, history=5, limit_marker_ttl=timedelta(seconds=5))
    )
    try:
        await store.create("session", b"alive", ttl=1)
        assert await store.get("session") == b"alive"
        watcher = store.watch("session", updates_only=True)
        await watcher.start()
        marker = await watcher.next(timeout=10)
        await watcher.stop()
        # the server wrote a limit marker (Nats-Marker-Reason: MaxAge) when the key expired
        assert marker.operation is natskv.KVOperation.PURGE
        with pytest.raises(natskv.KeyDeletedError) as info:
            await store.get("session")
        assert info.value.revision == marker.revision
        assert [k async for k in store.keys()] == []
        # and the key can be created again, race-free, on top of the marker
        assert await store.create("session", b"again") > marker.revision
    finally:
        await kv.delete_store(bucket_name)


async def test_purge_with_ttl_removes_the_marker_later(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(
        natskv.KVConfig(bucket=bucket_name, limit_marker_ttl=timedelta(seconds=1))
    )
    try:
        await store.put("k", b"v")
        await store.purge("k", ttl=1)
        with pytest.raises(natskv.KeyDeletedError):
            await store.get("k")
        for _ in range(50):
            await asyncio.sleep(0.2)
            try:
                await store.get("k")
            except natskv.KeyDeletedError:
                continue
            except natskv.KeyNotFoundError:
                break
        else:
            pytest.fail("the purge marker with a TTL never went away")
    finally:
        await kv.delete_store(bucket_name)


@pytest.mark.user_need("TTL")
async def test_ttl_on_create_and_purge_only_and_markers_read_as_deleted(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    """Per-key TTL on create/purge only; an ADR-48 expiry marker reads as deleted."""
    store = await kv.create_store(
        KVConfig(bucket=bucket_name, limit_marker_ttl=timedelta(seconds=1))
    )
    try:
        rev = await store.put("stay", b"v")
        # put/update/delete have no ttl parameter at all (a type error before anything runs)
        with pytest.raises(TypeError, match="ttl"):
            await store.put("k", b"v", ttl=5)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="ttl"):
            await store.update("stay", b"v", rev, ttl=5)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="ttl"):
            await store.delete("stay", ttl=5)  # type: ignore[call-arg]
        created = await store.create("session", b"alive", ttl=1)
        for _ in range(100):
            result = await store.try_get_entry("session")
            if not result.ok:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the key with a 1 s TTL never expired")
        # the server wrote a limit marker (Nats-Marker-Reason: MaxAge): a purge
        assert isinstance(result.error, natskv.KeyDeletedError)
        assert result.error.operation is KVOperation.PURGE
        assert result.error.revision > created
        (marker,) = [e async for e in store.history("session")]
        assert (marker.operation, marker.revision) == (KVOperation.PURGE, result.error.revision)
        assert [k async for k in store.keys()] == ["stay"]
        assert set(await store.get_many(["session", "stay"])) == {"stay"}
        # race-free re-create on top of the marker
        assert await store.create("session", b"again") == marker.revision + 1
    finally:
        await kv.delete_store(bucket_name)
