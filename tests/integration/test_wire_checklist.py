"""The interop checklist of the wire reference (``kv-wire.md`` section 7.3), row by row.

Every test runs against a real nats-server and names its row in the first line of its
docstring (``Checklist 7.3 #N:``). Behaviour that other suites already cover in depth
(``test_kv_buckets.py``, ``test_kv_keys.py``, ``test_kv_watch.py``,
``test_ordered_consumer.py``) is checked here again only as far as the row asks.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from tests.proxy import FaultProxy

import natskv
from natskv import KVConfig, KVSource, Msg
from natskv.jetstream import ConsumerConfig, ConsumerInfo, OrderedConsumer
from natskv.kv import SubjectTransform
from natskv.kv._mapping import parse_timestamp

_NS = 1_000_000_000


def _bucket() -> str:
    return "w_" + uuid.uuid4().hex[:12]


@dataclass
class Sent:
    subject: str
    payload: bytes
    headers: dict[str, str] | None


@dataclass
class RequestSpy:
    """Every request the connection sends, in order (wraps ``nc.request``)."""

    sent: list[Sent] = field(default_factory=list)

    def subjects(self) -> list[str]:
        return [s.subject for s in self.sent]

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def spy(nc: natskv.Connection, monkeypatch: pytest.MonkeyPatch) -> RequestSpy:
    recorder = RequestSpy()
    real = nc._start_request  # every request form goes through it

    def start_request(
        subject: str, payload: bytes, headers: Any, timeout: float | None, checked: bool
    ) -> tuple[str, asyncio.Future[Msg]]:
        hdrs = dict(headers) if isinstance(headers, dict) else None
        recorder.sent.append(Sent(subject, payload, hdrs))
        return real(subject, payload, headers, timeout, checked)

    monkeypatch.setattr(nc, "_start_request", start_request)
    return recorder


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"never happened: {what}")


def _cseq(reply: str | None) -> int | None:
    """The consumer sequence of a JetStream delivery's ack subject (v1 or v2 form)."""
    if not reply:
        return None
    parts = reply.split(".")
    if len(parts) == 9:
        return int(parts[6])
    if len(parts) >= 11:
        return int(parts[8])
    return None


# ---------------------------------------------------------------------------------------
# 1. stream config
# ---------------------------------------------------------------------------------------


async def test_1_default_bucket_stream_config(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """Checklist 7.3 #1: a default bucket's stream config, read back from STREAM.INFO."""
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


async def test_1_history_and_ttl(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """Checklist 7.3 #1: history and TTL map to max_msgs_per_subject, max_age, min(2m, ttl)."""
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


async def test_1_limit_markers_after_an_api_level_check(
    kv: natskv.KVContext, js: natskv.JetStream, spy: RequestSpy, cleanup: list[str]
) -> None:
    """Checklist 7.3 #1: limit markers send allow_msg_ttl + marker TTL, after $JS.API.INFO."""
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


async def test_1_limit_markers_refused_below_api_level_1(
    kv: natskv.KVContext, js: natskv.JetStream, spy: RequestSpy
) -> None:
    """Checklist 7.3 #1: a server below API level 1 gets no allow_msg_ttl request at all."""
    js._api_level = 0  # as a 2.10 server would report
    bucket = _bucket()
    with pytest.raises(natskv.InvalidConfigError, match="API level"):
        await kv.create_store(KVConfig(bucket=bucket, limit_marker_ttl=5))
    assert not any("STREAM.CREATE" in s for s in spy.subjects())


async def test_1_mirror_stream_config(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """Checklist 7.3 #1: a mirror has no subjects, mirror_direct and a KV_-prefixed origin."""
    origin, by_bucket, by_stream = _bucket(), _bucket(), _bucket()
    cleanup += [origin, by_bucket, by_stream]
    await kv.create_store(origin)
    await kv.create_store(KVConfig(bucket=by_bucket, mirror=KVSource(name=origin)))
    await kv.create_store(KVConfig(bucket=by_stream, mirror=KVSource(name=f"KV_{origin}")))
    for mirror in (by_bucket, by_stream):
        cfg = (await js.stream_info(f"KV_{mirror}")).config
        assert not cfg.get("subjects")
        assert cfg["mirror_direct"] is True
        assert cfg["allow_direct"] is True
        assert cfg["mirror"]["name"] == f"KV_{origin}"
        assert not cfg.get("allow_msg_ttl")


async def test_1_sources_get_the_automatic_subject_transform(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """Checklist 7.3 #1: each source maps $KV.<src>.> to $KV.<bucket>.>; user transforms kept."""
    a, b, agg, custom = _bucket(), _bucket(), _bucket(), _bucket()
    cleanup += [a, b, agg, custom]
    await kv.create_store(a)
    await kv.create_store(b)
    await kv.create_store(KVConfig(bucket=agg, sources=[KVSource(name=a), KVSource(name=b)]))
    cfg = (await js.stream_info(f"KV_{agg}")).config
    assert cfg["subjects"] == [f"$KV.{agg}.>"]
    assert [(s["name"], s["subject_transforms"]) for s in cfg["sources"]] == [
        (f"KV_{a}", [{"src": f"$KV.{a}.>", "dest": f"$KV.{agg}.>"}]),
        (f"KV_{b}", [{"src": f"$KV.{b}.>", "dest": f"$KV.{agg}.>"}]),
    ]
    transform = SubjectTransform(src=f"$KV.{a}.>", dest=f"$KV.{custom}.from_a.>")
    await kv.create_store(
        KVConfig(bucket=custom, sources=[KVSource(name=f"KV_{a}", subject_transforms=[transform])])
    )
    (source,) = (await js.stream_info(f"KV_{custom}")).config["sources"]
    assert source["name"] == f"KV_{a}"
    assert source["subject_transforms"] == [{"src": transform.src, "dest": transform.dest}]


# ---------------------------------------------------------------------------------------
# 2. create
# ---------------------------------------------------------------------------------------


async def test_2_create_on_deleted_and_purged_keys_cas_on_the_marker(
    store: natskv.KVStore, spy: RequestSpy
) -> None:
    """Checklist 7.3 #2: create over a DEL or PURGE marker is a CAS on the marker's revision."""
    for remove in ("delete", "purge"):
        key = f"k-{remove}"
        await store.put(key, b"old")
        marker = await (store.delete(key) if remove == "delete" else store.purge(key))
        spy.clear()
        revision = await store.create(key, b"new")
        assert revision == marker + 1
        assert await store.get(key) == b"new"
        writes = [s for s in spy.sent if s.subject == f"$KV.{store.bucket}.{key}"]
        expected = [(w.headers or {}).get("Nats-Expected-Last-Subject-Sequence") for w in writes]
        assert expected == ["0", str(marker)]  # CAS 0 failed, then CAS on the marker


async def test_2_create_on_a_live_key_raises_key_exists_with_the_revision(
    store: natskv.KVStore,
) -> None:
    """Checklist 7.3 #2: create on a live key -> KeyExistsError carrying the current revision."""
    await store.put("k", b"1")
    current = await store.put("k", b"2")
    with pytest.raises(natskv.KeyExistsError) as info:
        await store.create("k", b"3")
    assert info.value.key == "k"
    assert info.value.revision == current
    assert await store.get("k") == b"2"


async def test_2_other_create_errors_are_surfaced_unchanged(
    kv: natskv.KVContext, bucket_name: str, spy: RequestSpy, cleanup: list[str]
) -> None:
    """Checklist 7.3 #2: a full bucket (10077) or disabled TTL (10166) is not 'key exists'."""
    cleanup.append(bucket_name)
    store = await kv.create_store(KVConfig(bucket=bucket_name, max_bytes=200, storage="memory"))
    await store.put("a", b"x" * 100)
    spy.clear()
    with pytest.raises(natskv.APIError) as full:
        await store.create("b", b"y" * 150)
    assert full.value.err_code == 10077
    assert not isinstance(full.value, (natskv.KeyValueError, natskv.KeyNotFoundError))
    assert len(spy.sent) == 1  # no "re-read and retry" on an error other than 10071/10164

    # NATS.Net masks this one as KeyNotFound: let the server, not the client, refuse the TTL
    store._ttl_enabled = True
    spy.clear()
    with pytest.raises(natskv.APIError) as no_ttl:
        await store.create("c", b"z", ttl=5)
    assert no_ttl.value.err_code == 10166
    assert not isinstance(no_ttl.value, natskv.KeyValueError)
    assert len(spy.sent) == 1


# ---------------------------------------------------------------------------------------
# 3. conflicts
# ---------------------------------------------------------------------------------------


def _pub_ack_error(err_code: int, description: str) -> Msg:
    body = {"error": {"code": 400, "err_code": err_code, "description": description}}
    return Msg("_INBOX.x", 1, None, json.dumps(body).encode())


async def test_3_10071_is_a_wrong_revision_with_the_actual_revision(
    store: natskv.KVStore,
) -> None:
    """Checklist 7.3 #3: update/delete/purge conflicts (10071) -> WrongRevisionError(actual)."""
    first = await store.put("k", b"1")
    current = await store.put("k", b"2")
    attempts: list[Callable[[], Awaitable[int]]] = [
        lambda: store.update("k", b"3", first),
        lambda: store.delete("k", revision=first),
        lambda: store.purge("k", revision=first),
    ]
    for attempt in attempts:
        with pytest.raises(natskv.WrongRevisionError) as info:
            await attempt()
        assert (info.value.key, info.value.expected, info.value.actual) == ("k", first, current)
        assert isinstance(info.value.__cause__, natskv.APIError)
        assert info.value.__cause__.err_code == 10071
        assert info.value.__cause__.description == f"wrong last sequence: {current}"
    assert await store.get("k") == b"2"


async def test_3_10164_is_a_wrong_revision_too(store: natskv.KVStore) -> None:
    """Checklist 7.3 #3: 10164 (needs a replicated stream) maps like 10071; parsed or None."""
    with pytest.raises(natskv.WrongRevisionError) as info:
        store._ack(_pub_ack_error(10164, "wrong last sequence: 41"), "k", 7)
    assert (info.value.expected, info.value.actual) == (7, 41)
    with pytest.raises(natskv.WrongRevisionError) as info:
        store._ack(_pub_ack_error(10164, "wrong last sequence"), "k", 7)
    assert (info.value.expected, info.value.actual) == (7, None)
    with pytest.raises(natskv.WrongRevisionError) as info:
        store._ack(_pub_ack_error(10071, "wrong last sequence: 12"), "k", 3)
    assert (info.value.expected, info.value.actual) == (3, 12)
    # any other error stays an APIError
    with pytest.raises(natskv.APIError) as other:
        store._ack(_pub_ack_error(10077, "maximum bytes exceeded"), "k", None)
    assert not isinstance(other.value, natskv.KeyValueError)


async def test_3_create_treats_10164_as_key_exists(
    store: natskv.KVStore, nc: natskv.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checklist 7.3 #3: a create answered with 10164 re-reads the key like for 10071."""
    current = await store.put("k", b"live")
    real = nc._start_request
    faked: list[str] = []

    def start_request(
        subject: str, payload: bytes, headers: Any, timeout: float | None, checked: bool
    ) -> tuple[str, asyncio.Future[Msg]]:
        if subject == f"$KV.{store.bucket}.k" and not faked:
            faked.append(subject)  # the server's answer for an in-flight subject
            fut: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
            fut.set_result(_pub_ack_error(10164, "wrong last sequence"))
            return "faked", fut
        return real(subject, payload, headers, timeout, checked)

    monkeypatch.setattr(nc, "_start_request", start_request)
    with pytest.raises(natskv.KeyExistsError) as info:
        await store.create("k", b"mine")
    assert faked and info.value.revision == current


# ---------------------------------------------------------------------------------------
# 4. reads
# ---------------------------------------------------------------------------------------


async def test_4_get_uses_the_subject_appended_direct_get(
    store: natskv.KVStore, js: natskv.JetStream, spy: RequestSpy
) -> None:
    """Checklist 7.3 #4: latest value = DIRECT.GET.<stream>.<subject> with an empty payload."""
    await store.put("a.b", b"v")
    spy.clear()
    entry = await store.get_entry("a.b")
    (sent,) = spy.sent
    assert sent.subject == f"$JS.API.DIRECT.GET.{store.stream}.$KV.{store.bucket}.a.b"
    assert sent.payload == b""
    # created is Nats-Time-Stamp (RFC 3339, nanoseconds truncated), as an aware UTC datetime
    raw = await js.direct_get_last(store.stream, f"$KV.{store.bucket}.a.b")
    stamp = raw.headers["Nats-Time-Stamp"]
    assert stamp.endswith("Z") and "T" in stamp
    assert entry.created == parse_timestamp(stamp)
    assert entry.created.utcoffset() == timedelta(0)
    assert entry.created.microsecond == int((stamp[20:-1] + "000000")[:6])


async def test_4_get_by_revision_checks_the_subject(store: natskv.KVStore, spy: RequestSpy) -> None:
    """Checklist 7.3 #4: {"seq":N} then a subject check: another key's revision -> not found."""
    rev_a = await store.put("a", b"1")
    rev_b = await store.put("b", b"2")
    spy.clear()
    assert (await store.get_entry("a", revision=rev_a)).value == b"1"
    (sent,) = spy.sent
    assert sent.subject == f"$JS.API.DIRECT.GET.{store.stream}"
    assert json.loads(sent.payload) == {"seq": rev_a}
    with pytest.raises(natskv.KeyNotFoundError) as info:
        await store.get("a", revision=rev_b)  # rev_b exists, but belongs to "b"
    assert not isinstance(info.value, natskv.KeyDeletedError)
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("a", revision=rev_b + 100)  # no such revision at all


async def test_4_not_found_is_key_not_found(store: natskv.KVStore) -> None:
    """Checklist 7.3 #4: a 404 status reply maps to KeyNotFoundError (not a deleted key)."""
    with pytest.raises(natskv.KeyNotFoundError) as info:
        await store.get("missing")
    assert not isinstance(info.value, natskv.KeyDeletedError)
    assert info.value.key == "missing"
    await store.put("gone", b"x")
    marker = await store.delete("gone")
    with pytest.raises(natskv.KeyDeletedError) as deleted:
        await store.get("gone")
    assert deleted.value.revision == marker


async def test_4_falls_back_to_stream_msg_get_without_allow_direct(
    kv: natskv.KVContext, js: natskv.JetStream, spy: RequestSpy, cleanup: list[str]
) -> None:
    """Checklist 7.3 #4: a bucket with allow_direct false is read through STREAM.MSG.GET."""
    bucket = _bucket()
    cleanup.append(bucket)
    await js.create_stream(
        {
            "name": f"KV_{bucket}",
            "subjects": [f"$KV.{bucket}.>"],
            "max_msgs_per_subject": 5,
            "discard": "new",
            "deny_delete": True,
            "allow_rollup_hdrs": True,
            "allow_direct": False,
            "storage": "memory",
        }
    )
    store = await kv.get_store(bucket)
    r1 = await store.put("k", b"1")
    await store.put("other", b"x")
    r2 = await store.put("k", b"2")
    spy.clear()
    entry = await store.get_entry("k")
    assert (entry.value, entry.revision) == (b"2", r2)
    assert entry.created.utcoffset() == timedelta(0)
    assert (await store.get_entry("k", revision=r1)).value == b"1"
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("k", revision=r1 + 1)  # the revision of "other"
    with pytest.raises(natskv.KeyNotFoundError) as missing:
        await store.get("missing")
    assert not isinstance(missing.value, natskv.KeyDeletedError)
    await store.delete("k")
    with pytest.raises(natskv.KeyDeletedError):
        await store.get("k")  # the marker's KV-Operation header is read on this path too
    subjects = set(spy.subjects()) - {f"$KV.{bucket}.k"}
    assert subjects == {f"$JS.API.STREAM.MSG.GET.KV_{bucket}"}


# ---------------------------------------------------------------------------------------
# 5. the watcher is an ordered consumer
# ---------------------------------------------------------------------------------------


async def test_5_flow_control_holds_the_server_until_the_reader_consumed(
    kv: natskv.KVContext,
    bucket_name: str,
    nc: natskv.Connection,
    monkeypatch: pytest.MonkeyPatch,
    cleanup: list[str],
) -> None:
    """Checklist 7.3 #5: flow control, answered once the reader consumed what came before.

    A reader that stops leaves the server stalled (bounded queue); when it reads on, every
    large value arrives, in order, none dropped.
    """
    cleanup.append(bucket_name)
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    total, big = 400, b"v" * (64 * 1024)  # 25 MiB: several flow-control windows
    await store.put_many(((f"k{i:03d}", big) for i in range(total)), window=128)
    flow_replies: list[str] = []
    real_publish = nc.lowlevel.publish_nowait

    def publish_nowait(subject: str, payload: bytes = b"", **kw: Any) -> None:
        if subject.startswith("$JS.FC."):
            flow_replies.append(subject)
        real_publish(subject, payload, **kw)

    monkeypatch.setattr(nc.lowlevel, "publish_nowait", publish_nowait)
    watcher = store.watch()
    await watcher.start()
    await asyncio.sleep(0.5)  # a reader late to start: the server stops at one window
    stalled_at = watcher.last_revision
    assert 0 < stalled_at < total // 4
    first = await watcher.next(timeout=10)
    await asyncio.sleep(0.5)
    # one entry read, but not the batch before the flow-control request: still stalled
    assert watcher.last_revision == stalled_at
    revisions = [first.revision]
    max_buffered = 0
    while len(revisions) < total:
        consumer = watcher._consumer
        assert consumer is not None
        max_buffered = max(
            max_buffered, len(consumer._items) + len(watcher._batch) - watcher._index
        )
        entry = await watcher.next(timeout=10)
        assert entry.value == big
        revisions.append(entry.revision)
        if len(revisions) % 20 == 0:
            await asyncio.sleep(0.005)  # a slow reader
    assert revisions == list(range(1, total + 1))
    assert watcher.caught_up
    assert flow_replies  # the server asked, and was answered
    print(f"max entries buffered by the watcher: {max_buffered} of {total}")
    await watcher.stop()


def _short_heartbeat(
    monkeypatch: pytest.MonkeyPatch, seconds: float, base: type[OrderedConsumer] = OrderedConsumer
) -> list[OrderedConsumer]:
    """Make KV watchers use ``seconds`` as idle heartbeat; returns the consumers made."""
    made: list[OrderedConsumer] = []

    class Consumer(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["idle_heartbeat"] = seconds
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr("natskv.kv._watch.OrderedConsumer", Consumer)
    return made


async def test_5_heartbeats_keep_an_idle_watcher_alive(
    store: natskv.KVStore, js: natskv.JetStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checklist 7.3 #5: heartbeats feed the 2x watchdog: an idle watcher is not reset."""
    consumers = _short_heartbeat(monkeypatch, 0.2)
    await store.put("k", b"1")
    async with store.watch() as watcher:
        assert (await watcher.next(timeout=10)).value == b"1"
        (consumer,) = consumers
        name = consumer.name
        info = await js.consumer_info(store.stream, name)
        assert info.config["idle_heartbeat"] == int(0.2 * _NS)
        activity = consumer._activity
        await asyncio.sleep(1.2)  # 6 heartbeat intervals, 3 watchdog periods, no data
        assert consumer._activity > activity  # the heartbeats arrived ...
        assert consumer.resets == 0  # ... so the watchdog never fired
        assert consumer.name == name
        await store.put("k", b"2")
        entry = await watcher.next(timeout=10)
        assert (entry.value, entry.revision) == (b"2", 2)


async def test_5_missing_heartbeats_recreate_the_consumer(
    store: natskv.KVStore, js: natskv.JetStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checklist 7.3 #5: silence for 2x the heartbeat -> a new consumer from last_sseq+1."""
    consumers = _short_heartbeat(monkeypatch, 0.2)
    await store.put("k", b"1")
    async with store.watch() as watcher:
        assert (await watcher.next(timeout=10)).revision == 1
        (consumer,) = consumers
        old = consumer.name
        # the server-side consumer vanishes: no more heartbeats reach the watcher
        await js.delete_consumer(store.stream, old)
        await _eventually(lambda: _true(consumer.resets >= 1), "a heartbeat-triggered reset")
        assert consumer.name != old
        await store.put("k", b"2")
        entry = await watcher.next(timeout=10)
        assert (entry.value, entry.revision) == (b"2", 2)


async def _true(value: bool) -> bool:
    return value


async def test_5_a_consumer_sequence_gap_recreates_the_consumer(
    store: natskv.KVStore, js: natskv.JetStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checklist 7.3 #5: one lost delivery -> gap detected, consumer re-created, no loss."""
    dropped: list[int] = []

    class Lossy(OrderedConsumer):
        def _on_msg(self, msg: Msg) -> None:
            if not dropped and _cseq(msg.reply) == 20:
                dropped.append(20)  # as if the network ate one delivery
                return
            super()._on_msg(msg)

    monkeypatch.setattr("natskv.kv._watch.OrderedConsumer", Lossy)
    await store.put_many((f"k{i:02d}", b"%d" % i) for i in range(50))
    async with store.watch() as watcher:
        entries = await watcher.initial_values()
        consumer = watcher._consumer
        assert isinstance(consumer, Lossy)
        assert dropped == [20]
        assert [e.revision for e in entries] == list(range(1, 51))
        assert [e.value for e in entries] == [b"%d" % i for i in range(50)]
        assert consumer.resets == 1
        assert (await js.stream_info(store.stream)).state.consumer_count == 1


async def test_5_the_watcher_recreates_its_consumer_after_a_reconnect(
    nats_url: str, bucket_name: str
) -> None:
    """Checklist 7.3 #5: after a reconnect the consumer restarts at last_sseq+1.

    (The server-restart variant is ``test_kv_watch_resume.py``.)
    """
    host, port = nats_url.rsplit("//", 1)[1].split(":")
    async with FaultProxy(host, int(port)) as proxy:
        nc = await natskv.connect(proxy.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1)
        writer = await natskv.connect(nats_url)
        try:
            kv = natskv.KVContext(natskv.JetStream(writer))
            wstore = await kv.create_store(KVConfig(bucket=bucket_name, history=10))
            store = await natskv.KVContext(natskv.JetStream(nc)).get_store(bucket_name)
            watcher = store.watch()
            await watcher.start()
            await wstore.put("a", b"1")
            assert (await watcher.next(timeout=10)).revision == 1
            consumer = watcher._consumer
            assert consumer is not None
            old = consumer.name
            reconnected = asyncio.Event()
            nc.add_reconnect_listener(reconnected.set)
            proxy.reset()
            for i in range(2, 5):
                await wstore.put("a", b"%d" % i)  # while the watcher is cut off
            await asyncio.wait_for(reconnected.wait(), 30)
            got = [await watcher.next(timeout=15) for _ in range(3)]
            assert [e.revision for e in got] == [2, 3, 4]
            # (those may come from the old consumer before the new one is in place)
            await _eventually(lambda: _true(consumer.resets >= 1), "the consumer re-created")
            assert consumer.name != old
            info = await kv.js.consumer_info(store.stream, consumer.name)
            # resumed right after what had been delivered when the connection came back
            assert info.config["deliver_policy"] == "by_start_sequence"
            assert 2 <= info.config["opt_start_seq"] <= 5
            await wstore.put("a", b"5")
            assert (await watcher.next(timeout=10)).revision == 5
            await watcher.stop()
            await kv.delete_store(bucket_name)
        finally:
            await writer.close()
            await nc.close()


async def test_5_end_of_initial_data_for_empty_bucket_and_updates_only(
    store: natskv.KVStore,
) -> None:
    """Checklist 7.3 #5: the caught-up signal is immediate for an empty bucket / updates_only."""
    async with store.watch() as empty:
        assert empty.caught_up and empty.initial_count == 0
        assert await empty.initial_values() == []
    await store.put("k", b"old")
    async with store.watch(updates_only=True) as updates:
        assert updates.caught_up and updates.initial_count == 0
        await store.put("k", b"new")
        entry = await updates.next(timeout=10)
        assert (entry.value, entry.revision) == (b"new", 2)
    async with store.watch("nothing.matches.>") as filtered:
        assert filtered.caught_up and await filtered.initial_values() == []


async def test_5_a_lost_flow_control_request_is_recovered_by_the_stalled_header(
    kv: natskv.KVContext,
    bucket_name: str,
    monkeypatch: pytest.MonkeyPatch,
    cleanup: list[str],
) -> None:
    """Checklist 7.3 #5: Nats-Consumer-Stalled (in heartbeats) gets its reply.

    The first flow-control request is lost on the way: only the heartbeat's stalled header
    names the reply subject, and answering it gets delivery going again, with no reset.
    """
    lost: list[str] = []
    stalled: list[str] = []

    class LosesOneFlowControl(OrderedConsumer):
        def _control(self, msg: Msg) -> None:
            if msg.reply and "FlowControl" in msg.description and not lost:
                lost.append(msg.reply)
                return
            if msg.headers.get("Nats-Consumer-Stalled"):
                stalled.append(msg.headers["Nats-Consumer-Stalled"])
            super()._control(msg)

    consumers = _short_heartbeat(monkeypatch, 0.2, LosesOneFlowControl)
    cleanup.append(bucket_name)
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    total, big = 200, b"s" * (64 * 1024)
    await store.put_many(((f"k{i:03d}", big) for i in range(total)), window=128)
    async with store.watch() as watcher:
        revisions = [(await watcher.next(timeout=10)).revision for _ in range(total)]
        assert revisions == list(range(1, total + 1))
        assert len(lost) == 1
        assert lost[0] in stalled  # the heartbeat repeated the lost request's reply subject
        assert consumers[0].resets == 0  # recovered by the reply, not by a new consumer


# ---------------------------------------------------------------------------------------
# 6. consumer shapes of keys, purge_deletes and history
# ---------------------------------------------------------------------------------------


async def test_6_keys_and_purge_deletes_use_last_per_subject_headers_only(
    store: natskv.KVStore, consumers: list[tuple[ConsumerConfig, ConsumerInfo]]
) -> None:
    """Checklist 7.3 #6: keys() and purge_deletes() use last_per_subject + headers_only."""
    await store.put("a", b"1")
    await store.put("b", b"2")
    await store.delete("b")
    assert [k async for k in store.keys()] == ["a"]
    assert await store.purge_deletes(older_than=timedelta(seconds=-1)) == 1
    assert [k async for k in store.keys("a", "z.>")] == ["a"]
    (keys_cfg, keys_info), (purge_cfg, _), (filtered_cfg, _) = consumers
    for cfg in (keys_cfg, purge_cfg, filtered_cfg):
        assert cfg.deliver_policy == "last_per_subject"
        assert cfg.headers_only is True
    assert keys_cfg.filter_subject == purge_cfg.filter_subject == f"$KV.{store.bucket}.>"
    assert keys_info.num_pending == 2  # last per subject: one message per key
    assert filtered_cfg.filter_subjects == [f"$KV.{store.bucket}.a", f"$KV.{store.bucket}.z.>"]


async def test_6_history_uses_deliver_all(
    store: natskv.KVStore, consumers: list[tuple[ConsumerConfig, ConsumerInfo]]
) -> None:
    """Checklist 7.3 #6: history() delivers every kept revision of the one key (values too)."""
    for i in range(3):
        await store.put("k", b"%d" % i)
    await store.put("other", b"x")
    await store.delete("k")
    history = [e async for e in store.history("k")]
    assert [e.operation for e in history] == [natskv.KVOperation.PUT] * 3 + [natskv.KVOperation.DEL]
    assert [e.value for e in history[:3]] == [b"0", b"1", b"2"]
    ((cfg, info),) = consumers
    assert cfg.deliver_policy == "all"
    assert not cfg.headers_only
    assert cfg.filter_subject == f"$KV.{store.bucket}.k"
    assert info.num_pending == 4


# ---------------------------------------------------------------------------------------
# 7. per-key TTL
# ---------------------------------------------------------------------------------------


async def test_7_ttl_header_on_the_wire(
    kv: natskv.KVContext, nc: natskv.Connection, bucket_name: str, cleanup: list[str]
) -> None:
    """Checklist 7.3 #7: Nats-TTL is sent as "<int>s" (or "never") on create and purge."""
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


async def test_7_sub_second_ttl_is_rejected_before_sending(
    kv: natskv.KVContext, nc: natskv.Connection, bucket_name: str, cleanup: list[str]
) -> None:
    """Checklist 7.3 #7: a TTL under 1 s (or fractional) raises with nothing sent."""
    cleanup.append(bucket_name)
    store = await kv.create_store(KVConfig(bucket=bucket_name, limit_marker_ttl=1))
    before = nc.msgs_out
    for ttl in (0, 0.5, timedelta(milliseconds=999), 1.5, -3, "5s"):
        with pytest.raises(natskv.InvalidConfigError):
            await store.create("k", b"v", ttl=ttl)  # type: ignore[arg-type]
        with pytest.raises(natskv.InvalidConfigError):
            await store.purge("k", ttl=ttl)  # type: ignore[arg-type]
    assert nc.msgs_out == before


async def test_7_ttl_on_put_update_delete_is_rejected(
    kv: natskv.KVContext, nc: natskv.Connection, bucket_name: str, cleanup: list[str]
) -> None:
    """Checklist 7.3 #7: put/update/delete refuse a TTL (ADR-48), even with limit markers:
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


# ---------------------------------------------------------------------------------------
# 8. JetStream domain
# ---------------------------------------------------------------------------------------


async def test_8_a_bucket_in_a_jetstream_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checklist 7.3 #8: with domain="hub" every API call and write goes via $JS.hub.API."""
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


# ---------------------------------------------------------------------------------------
# 9. names
# ---------------------------------------------------------------------------------------

_BAD_KEYS = ["", ".a", "a.", "a..b", "a b", "a*", "a.>", "ä", "a\tb", "a,b", "$KV"]


async def test_9_key_validation_sends_nothing(store: natskv.KVStore, nc: natskv.Connection) -> None:
    """Checklist 7.3 #9: the nats.go key rules, '..' included, checked before any send."""
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


async def test_9_bucket_names_up_to_252_characters(
    kv: natskv.KVContext, js: natskv.JetStream, nc: natskv.Connection, cleanup: list[str]
) -> None:
    """Checklist 7.3 #9: 253 characters are refused unsent; 252 make a 255-char stream."""
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


# ---------------------------------------------------------------------------------------
# 10. metadata
# ---------------------------------------------------------------------------------------


async def test_10_status_metadata_has_no_reserved_keys(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """Checklist 7.3 #10: _nats.* keys the server adds are stripped from status metadata."""
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
