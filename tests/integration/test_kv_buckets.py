"""Key/Value buckets against a real nats-server: create, open, update, list, delete, status."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest

import natskv
from natskv import KVConfig, StorageType

_NS = 1_000_000_000


@pytest.fixture
async def cleanup(kv: natskv.KVContext) -> AsyncIterator[list[str]]:
    """Bucket names appended here are deleted after the test."""
    names: list[str] = []
    try:
        yield names
    finally:
        for name in names:
            with contextlib.suppress(natskv.NatsError):
                await kv.delete_store(name)


def _bucket() -> str:
    return "b_" + uuid.uuid4().hex[:12]


def _assert_adr8_shape(cfg: dict[str, object], bucket: str, history: int) -> None:
    """The stream config rules every bucket follows (wire reference 4.2)."""
    assert cfg["name"] == f"KV_{bucket}"
    assert cfg["subjects"] == [f"$KV.{bucket}.>"]
    assert cfg["allow_direct"] is True
    assert cfg["allow_rollup_hdrs"] is True
    assert cfg["deny_delete"] is True
    assert cfg["deny_purge"] is False
    assert cfg["discard"] == "new"
    assert cfg["retention"] == "limits"
    assert cfg["max_msgs_per_subject"] == history
    assert cfg["mirror_direct"] is False


# -- create -----------------------------------------------------------------------------


async def test_create_store_by_name(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    name = _bucket()
    cleanup.append(name)
    store = await kv.create_store(name)
    assert isinstance(store, natskv.KVStore)
    assert store.bucket == name
    assert store.stream == f"KV_{name}"
    cfg = (await js.stream_info(f"KV_{name}")).config
    _assert_adr8_shape(cfg, name, history=1)
    assert cfg["duplicate_window"] == 120 * _NS
    assert cfg["max_age"] == 0
    assert cfg["storage"] == "file"
    assert cfg["compression"] == "none"
    assert cfg["num_replicas"] == 1
    assert cfg["max_msg_size"] == -1
    assert cfg["max_bytes"] == -1
    assert cfg.get("allow_msg_ttl") in (None, False)
    assert not cfg.get("subject_delete_marker_ttl")
    # the new bucket works
    assert await store.put("k", b"v") == 1
    assert await store.get("k") == b"v"


async def test_create_store_with_config(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    name = _bucket()
    cleanup.append(name)
    config = KVConfig(
        bucket=name,
        description="orders",
        history=7,
        ttl=timedelta(minutes=1),
        max_value_size=2048,
        max_bytes=1 << 20,
        storage="memory",
        compression=True,
        metadata={"team": "shop"},
    )
    await kv.create_store(config)
    cfg = (await js.stream_info(f"KV_{name}")).config
    _assert_adr8_shape(cfg, name, history=7)
    assert cfg["description"] == "orders"
    # a TTL under two minutes becomes the duplicate window too; both integer nanoseconds
    assert cfg["max_age"] == 60 * _NS
    assert cfg["duplicate_window"] == 60 * _NS
    assert type(cfg["max_age"]) is int
    assert cfg["max_msg_size"] == 2048
    assert cfg["max_bytes"] == 1 << 20
    assert cfg["storage"] == "memory"
    assert cfg["compression"] == "s2"
    assert cfg["metadata"]["team"] == "shop"


async def test_create_store_with_long_ttl_keeps_two_minute_window(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    name = _bucket()
    cleanup.append(name)
    await kv.create_store(KVConfig(bucket=name, ttl=timedelta(hours=1), storage="memory"))
    cfg = (await js.stream_info(f"KV_{name}")).config
    assert cfg["max_age"] == 3600 * _NS
    assert cfg["duplicate_window"] == 120 * _NS


async def test_create_store_with_limit_markers(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    name = _bucket()
    cleanup.append(name)
    await kv.create_store(
        KVConfig(bucket=name, storage="memory", limit_marker_ttl=timedelta(seconds=5))
    )
    cfg = (await js.stream_info(f"KV_{name}")).config
    assert cfg["allow_msg_ttl"] is True
    assert cfg["subject_delete_marker_ttl"] == 5 * _NS


async def test_create_is_idempotent_with_same_config(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    name = _bucket()
    cleanup.append(name)
    config = KVConfig(bucket=name, history=3, storage="memory", description="same")
    first = await kv.create_store(config)
    await first.put("k", b"kept")
    created = (await js.stream_info(f"KV_{name}")).created
    second = await kv.create_store(
        KVConfig(bucket=name, history=3, storage="memory", description="same")
    )
    assert second.bucket == name
    assert await second.get("k") == b"kept"
    assert (await js.stream_info(f"KV_{name}")).created == created


@pytest.mark.parametrize(
    "extra",
    [
        {"metadata": {"team": "shop"}},
        {"compression": True, "history": 3, "max_bytes": 100_000, "max_value_size": 100},
        {"ttl": timedelta(seconds=90), "description": "short-lived"},
        {"limit_marker_ttl": timedelta(seconds=5)},
    ],
    ids=["metadata", "limits", "ttl", "limit-markers"],
)
async def test_create_is_idempotent_for_every_config_shape(
    kv: natskv.KVContext, cleanup: list[str], extra: dict[str, object]
) -> None:
    # the server adds _nats.* metadata and defaults: a re-create must still match
    name = _bucket()
    cleanup.append(name)
    await kv.create_store(KVConfig(name, storage="memory", **extra))  # type: ignore[arg-type]
    again = await kv.create_store(KVConfig(name, storage="memory", **extra))  # type: ignore[arg-type]
    assert again.bucket == name


async def test_create_with_different_config_raises_bucket_exists(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    name = _bucket()
    cleanup.append(name)
    await kv.create_store(KVConfig(bucket=name, history=3, storage="memory"))
    with pytest.raises(natskv.BucketExistsError) as ei:
        await kv.create_store(KVConfig(bucket=name, history=4, storage="memory"))
    assert ei.value.bucket == name
    assert isinstance(ei.value, natskv.KeyValueError)
    assert isinstance(ei.value.__cause__, natskv.APIError)
    assert ei.value.__cause__.err_code == 10058
    # nothing changed
    assert (await js.stream_info(f"KV_{name}")).config["max_msgs_per_subject"] == 3


async def test_create_repairs_a_legacy_bucket(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    # Older clients created buckets without direct get and with discard old (nats.go repairs).
    name = _bucket()
    cleanup.append(name)
    config = KVConfig(bucket=name, history=2, storage="memory")
    from natskv.kv._mapping import stream_config

    legacy = stream_config(config)
    legacy.update(allow_direct=False, discard="old")
    await js.create_stream(legacy)
    store = await kv.create_store(config)
    cfg = (await js.stream_info(f"KV_{name}")).config
    assert cfg["allow_direct"] is True
    assert cfg["discard"] == "new"
    await store.put("k", b"v")
    assert await store.get("k") == b"v"


# -- open -------------------------------------------------------------------------------


async def test_get_store(kv: natskv.KVContext, cleanup: list[str]) -> None:
    name = _bucket()
    cleanup.append(name)
    created = await kv.create_store(KVConfig(bucket=name, storage="memory"))
    await created.put("k", b"v")
    opened = await kv.get_store(name)
    assert opened.bucket == name
    assert await opened.get("k") == b"v"


async def test_get_store_of_missing_bucket(kv: natskv.KVContext) -> None:
    with pytest.raises(natskv.BucketNotFoundError) as ei:
        await kv.get_store(_bucket())
    assert isinstance(ei.value, natskv.KeyValueError)


async def test_get_store_of_non_kv_stream(kv: natskv.KVContext, js: natskv.JetStream) -> None:
    name = _bucket()
    # KV_ name, but neither the subjects nor a per-subject limit of a bucket
    await js.create_stream(
        {"name": f"KV_{name}", "subjects": [f"plain_{name}.>"], "storage": "memory"}
    )
    try:
        with pytest.raises(natskv.BadBucketError) as ei:
            await kv.get_store(name)
        assert ei.value.bucket == name
    finally:
        await js.delete_stream(f"KV_{name}")


async def test_get_store_invalid_name_sends_nothing(
    kv: natskv.KVContext, nc: natskv.Connection
) -> None:
    sent = nc.msgs_out
    with pytest.raises(natskv.InvalidBucketNameError):
        await kv.get_store("a.b")
    assert nc.msgs_out == sent


# -- delete -----------------------------------------------------------------------------


async def test_delete_store(kv: natskv.KVContext, js: natskv.JetStream) -> None:
    name = _bucket()
    await kv.create_store(KVConfig(bucket=name, storage="memory"))
    assert await kv.delete_store(name) is True
    with pytest.raises(natskv.StreamNotFoundError):
        await js.stream_info(f"KV_{name}")
    with pytest.raises(natskv.BucketNotFoundError):
        await kv.get_store(name)
    with pytest.raises(natskv.BucketNotFoundError):
        await kv.delete_store(name)


# -- list -------------------------------------------------------------------------------


async def test_store_names_and_statuses(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    a, b = _bucket(), _bucket()
    cleanup.extend([a, b])
    await kv.create_store(KVConfig(bucket=a, storage="memory"))
    store_b = await kv.create_store(KVConfig(bucket=b, history=4, storage="memory"))
    await store_b.put("x", b"123")
    plain = f"NOTKV_{uuid.uuid4().hex[:8]}"
    await js.create_stream({"name": plain, "subjects": [f"{plain}.>"], "storage": "memory"})
    try:
        names = [n async for n in kv.store_names()]
        assert a in names and b in names
        assert len(names) == len(set(names))
        assert not any(n.startswith("NOTKV_") or plain in n for n in names)

        statuses = {s.bucket: s async for s in kv.store_statuses()}
        assert a in statuses and b in statuses
        assert isinstance(statuses[b], natskv.KVStatus)
        assert statuses[b].history == 4
        assert statuses[b].values == 1
        assert statuses[a].values == 0
        assert plain not in statuses
    finally:
        await js.delete_stream(plain)


# -- update -----------------------------------------------------------------------------


async def test_update_store(kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]) -> None:
    name = _bucket()
    cleanup.append(name)
    store = await kv.create_store(KVConfig(bucket=name, history=2, storage="memory"))
    await store.put("k", b"1")
    updated = await kv.update_store(
        KVConfig(bucket=name, history=6, storage="memory", description="more history")
    )
    assert updated.bucket == name
    cfg = (await js.stream_info(f"KV_{name}")).config
    _assert_adr8_shape(cfg, name, history=6)
    assert cfg["description"] == "more history"
    assert await updated.get("k") == b"1"
    status = await updated.status()
    assert status.history == 6
    assert status.description == "more history"


async def test_update_missing_store(kv: natskv.KVContext) -> None:
    with pytest.raises(natskv.BucketNotFoundError):
        await kv.update_store(KVConfig(bucket=_bucket(), storage="memory"))


async def test_update_store_rejected_change_is_api_error(
    kv: natskv.KVContext, cleanup: list[str]
) -> None:
    name = _bucket()
    cleanup.append(name)
    await kv.create_store(KVConfig(bucket=name, storage="memory"))
    # the storage type of a stream cannot change
    with pytest.raises(natskv.APIError):
        await kv.update_store(KVConfig(bucket=name, storage="file"))


async def test_create_or_update_store(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    name = _bucket()
    cleanup.append(name)
    created = await kv.create_or_update_store(KVConfig(bucket=name, history=2, storage="memory"))
    await created.put("k", b"v")
    assert (await js.stream_info(f"KV_{name}")).config["max_msgs_per_subject"] == 2
    updated = await kv.create_or_update_store(KVConfig(bucket=name, history=9, storage="memory"))
    assert (await js.stream_info(f"KV_{name}")).config["max_msgs_per_subject"] == 9
    assert await updated.get("k") == b"v"


async def test_update_and_create_or_update_take_a_bucket_name(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    # with a name they raised AttributeError ('str' object has no attribute 'bucket')
    name = _bucket()
    cleanup.append(name)
    created = await kv.create_or_update_store(name)
    assert created.bucket == name
    _assert_adr8_shape((await js.stream_info(f"KV_{name}")).config, name, history=1)
    await created.put("k", b"v")
    updated = await kv.update_store(name)
    assert await updated.get("k") == b"v"
    again = await kv.create_or_update_store(name)
    assert await again.get("k") == b"v"
    with pytest.raises(natskv.BucketNotFoundError):
        await kv.update_store(_bucket())
    with pytest.raises(natskv.InvalidBucketNameError):
        await kv.update_store("not valid")


# -- status -----------------------------------------------------------------------------


async def test_status_fields(kv: natskv.KVContext, cleanup: list[str]) -> None:
    name = _bucket()
    cleanup.append(name)
    before = datetime.now(timezone.utc) - timedelta(minutes=5)
    store = await kv.create_store(
        KVConfig(
            bucket=name,
            history=3,
            ttl=timedelta(hours=2),
            storage=StorageType.MEMORY,
            max_value_size=4096,
            metadata={"owner": "tests"},
        )
    )
    empty = await store.status()
    assert empty.values == 0
    assert empty.bytes == 0
    assert empty.last_update is None

    await store.put("a", b"1")
    await store.put("a", b"2")
    await store.put("b", b"3")
    status = await store.status()
    assert status.bucket == name
    assert status.stream_name == f"KV_{name}"
    assert status.values == 3
    assert status.bytes > 0
    assert status.history == 3
    assert status.ttl == timedelta(hours=2)
    assert status.storage == "memory"
    assert status.replicas == 1
    assert status.max_value_size == 4096
    assert status.max_bytes == -1
    assert status.compressed is False
    assert status.limit_marker_ttl is None
    assert status.backing_store == "JetStream"
    # reserved server metadata (_nats.*) is not shown
    assert status.metadata == {"owner": "tests"}
    assert status.created.tzinfo is not None
    assert status.created.utcoffset() == timedelta(0)
    assert before < status.created < datetime.now(timezone.utc) + timedelta(minutes=5)
    assert status.last_update is not None
    assert status.last_update >= status.created
    assert status.config.bucket == name
    assert status.config.history == 3
    assert status.config.ttl == timedelta(hours=2)
