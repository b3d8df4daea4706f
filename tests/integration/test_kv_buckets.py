"""Key/Value buckets against a real nats-server: create, open, update, list, delete, status."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from tests.integration.helpers import RequestSpy

import natskv
from natskv import KVConfig, Msg, StorageType

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


# -- the stream config of a bucket ------------------------------------------------------


@pytest.mark.wire("7.3 #1")
async def test_default_bucket_stream_config(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """A default bucket's stream config, read back from STREAM.INFO."""
    bucket = _bucket()
    cleanup.append(bucket)
    await kv.create_store(bucket)
    cfg = (await js.stream_info(f"KV_{bucket}")).config
    assert cfg["name"] == f"KV_{bucket}"
    assert cfg["subjects"] == [f"$KV.{bucket}.>"]
    assert cfg["allow_direct"] is True
    assert cfg["allow_rollup_hdrs"] is True
    assert cfg["deny_delete"] is True
    assert cfg["deny_purge"] is False
    assert cfg["discard"] == "new"
    assert cfg["retention"] == "limits"
    assert cfg["max_msgs_per_subject"] == 1
    assert cfg["max_age"] == 0
    assert cfg["duplicate_window"] == 120 * _NS
    assert cfg["mirror_direct"] is False
    assert cfg["num_replicas"] == 1
    assert cfg["storage"] == "file"
    assert cfg.get("compression", "none") == "none"
    assert not cfg.get("allow_msg_ttl")
    assert not cfg.get("subject_delete_marker_ttl")
    assert "mirror" not in cfg and not cfg.get("sources")


@pytest.mark.wire("7.3 #1")
async def test_history_and_ttl(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """History and TTL map to max_msgs_per_subject, max_age, min(2m, ttl)."""
    long_ttl, short_ttl = _bucket(), _bucket()
    cleanup += [long_ttl, short_ttl]
    await kv.create_store(KVConfig(bucket=long_ttl, history=10, ttl=timedelta(hours=1)))
    await kv.create_store(KVConfig(bucket=short_ttl, history=64, ttl=30))
    cfg = (await js.stream_info(f"KV_{long_ttl}")).config
    assert cfg["max_msgs_per_subject"] == 10
    assert cfg["max_age"] == 3600 * _NS
    assert cfg["duplicate_window"] == 120 * _NS
    cfg = (await js.stream_info(f"KV_{short_ttl}")).config
    assert cfg["max_msgs_per_subject"] == 64
    assert cfg["max_age"] == 30 * _NS
    assert cfg["duplicate_window"] == 30 * _NS


@pytest.mark.wire("7.3 #1")
async def test_limit_markers_after_an_api_level_check(
    kv: natskv.KVContext, js: natskv.JetStream, spy: RequestSpy, cleanup: list[str]
) -> None:
    """Limit markers send allow_msg_ttl + marker TTL, after $JS.API.INFO."""
    plain, marked = _bucket(), _bucket()
    cleanup += [plain, marked]
    await kv.create_store(KVConfig(bucket=plain))
    assert "$JS.API.INFO" not in spy.subjects()  # no probe without limit markers
    spy.clear()
    await kv.create_store(KVConfig(bucket=marked, limit_marker_ttl=timedelta(seconds=15)))
    subjects = spy.subjects()
    assert subjects.index("$JS.API.INFO") < subjects.index(f"$JS.API.STREAM.CREATE.KV_{marked}")
    cfg = (await js.stream_info(f"KV_{marked}")).config
    assert cfg["allow_msg_ttl"] is True
    assert cfg["subject_delete_marker_ttl"] == 15 * _NS


@pytest.mark.wire("7.3 #1")
async def test_limit_markers_refused_below_api_level_1(
    kv: natskv.KVContext, js: natskv.JetStream, spy: RequestSpy
) -> None:
    """A server below API level 1 gets no allow_msg_ttl request at all."""
    js._api_level = 0  # as a 2.10 server would report
    bucket = _bucket()
    with pytest.raises(natskv.InvalidConfigError, match="API level"):
        await kv.create_store(KVConfig(bucket=bucket, limit_marker_ttl=5))
    assert not any("STREAM.CREATE" in s for s in spy.subjects())


# -- status metadata --------------------------------------------------------------------


@pytest.mark.wire("7.3 #10")
async def test_status_metadata_has_no_reserved_keys(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """_nats.* keys the server adds are stripped from status metadata."""
    with_md, without_md = _bucket(), _bucket()
    cleanup += [with_md, without_md]
    store = await kv.create_store(KVConfig(bucket=with_md, metadata={"owner": "team-a"}))
    bare = await kv.create_store(without_md)
    raw = (await js.stream_info(f"KV_{with_md}")).config["metadata"]
    assert any(k.startswith("_nats.") for k in raw)
    assert raw["owner"] == "team-a"
    status = await store.status()
    assert status.metadata == {"owner": "team-a"}
    assert dict(status.config.metadata or {}) == {"owner": "team-a"}
    assert (await bare.status()).metadata == {}
    statuses = {s.bucket: s async for s in kv.store_statuses()}
    assert statuses[with_md].metadata == {"owner": "team-a"}
    assert statuses[without_md].metadata == {}
    with pytest.raises(natskv.InvalidConfigError):
        KVConfig(bucket=with_md, metadata={"_nats.level": "9"})


# -- JetStream domains ------------------------------------------------------------------


@pytest.mark.wire("7.3 #8")
async def test_a_bucket_in_a_jetstream_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    """With domain="hub" every API call and write goes via $JS.hub.API."""
    async with natskv.EmbeddedServer(durable=False, jetstream_domain="hub") as server:
        nc = await natskv.connect(server.url)
        try:
            requests: list[str] = []
            real = nc._start_request

            def start_request(subject: str, *args: Any) -> tuple[str, asyncio.Future[Msg]]:
                requests.append(subject)
                return real(subject, *args)

            monkeypatch.setattr(nc, "_start_request", start_request)
            js = natskv.JetStream(nc, domain="hub")
            assert (await js.account_info()).domain == "hub"
            kv = natskv.KVContext(js)
            store = await kv.create_store(KVConfig(bucket="dom", history=5))
            assert [n async for n in kv.store_names()] == ["dom"]
            await store.put("a", b"1")
            await store.put("b.c", b"2")
            assert await store.update("a", b"3", 1) == 3
            assert await store.get("a") == b"3"
            assert await store.get("a", revision=1) == b"1"
            assert await store.get("a", consistent=True) == b"3"
            assert [k async for k in store.keys()] == ["b.c", "a"]
            assert [e.revision async for e in store.history("a")] == [1, 3]
            async with store.watch() as watcher:
                initial = await watcher.initial_values()
                assert sorted(e.key for e in initial) == ["a", "b.c"]
                await store.delete("b.c")
                entry = await watcher.next(timeout=10)
                assert (entry.key, entry.operation) == ("b.c", natskv.KVOperation.DEL)
            assert (await store.status()).values == 4
            assert requests and all(s.startswith("$JS.hub.API.") for s in requests), [
                s for s in requests if not s.startswith("$JS.hub.API.")
            ]
            assert "$JS.hub.API.$KV.dom.a" in requests  # writes are prefixed like nats.go
            await kv.delete_store("dom")
        finally:
            await nc.close()
