"""Bucket features beyond one stream: mirrors, sources, republish, and their config checks.

All against a real nats-server (single node, so no placement). Replication is
asynchronous: tests poll until the data arrived instead of asserting on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import natskv
from natskv import KVConfig, KVSource, RePublish
from natskv.kv import SubjectTransform


def _bucket() -> str:
    return "m_" + uuid.uuid4().hex[:12]


async def _until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll ``check`` until it returns a truthy value (not-found counts as not yet)."""
    for _ in range(300):
        with contextlib.suppress(natskv.KeyNotFoundError):
            result = await check()
            if result:
                return result
        await asyncio.sleep(0.05)
    pytest.fail(f"never happened: {what}")


async def _keys(store: natskv.KVStore) -> set[str]:
    return {k async for k in store.keys()}


# ---------------------------------------------------------------------------------------
# mirrors
# ---------------------------------------------------------------------------------------


async def test_mirror_reads_the_origin(kv: natskv.KVContext, cleanup: list[str]) -> None:
    """A mirror bucket serves the origin's keys, values, revisions and history."""
    origin_name, mirror_name = _bucket(), _bucket()
    cleanup += [origin_name, mirror_name]
    origin = await kv.create_store(KVConfig(bucket=origin_name, history=5))
    r1 = await origin.put("cfg.a", b"1")
    r2 = await origin.put("cfg.a", b"2")
    await origin.put("cfg.b", b"b")
    await origin.put("gone", b"x")
    await origin.delete("gone")
    # a mirror has limits of its own: keep as much history as the origin
    mirror = await kv.create_store(
        KVConfig(bucket=mirror_name, history=5, mirror=KVSource(name=origin_name))
    )

    entry = await _until(lambda: mirror.get_entry("cfg.b"), "cfg.b replicated")
    assert entry.key == "cfg.b" and entry.bucket == mirror_name
    await _until(lambda: _true(mirror.status(), lambda s: s.values == 5), "all 5 messages")
    a = await mirror.get_entry("cfg.a")
    assert (a.value, a.revision) == (b"2", r2)  # a mirror keeps the origin's sequences
    assert await mirror.get("cfg.a", revision=r1) == b"1"
    with pytest.raises(natskv.KeyDeletedError):
        await mirror.get("gone")
    assert await _keys(mirror) == {"cfg.a", "cfg.b"}
    assert [e.value async for e in mirror.history("cfg.a")] == [b"1", b"2"]
    assert set(await mirror.get_many(["cfg.>"])) == {"cfg.a", "cfg.b"}
    # a store opened by name is a mirror store too
    reopened = await kv.get_store(mirror_name)
    assert await reopened.get("cfg.b") == b"b"


async def _true(result: Awaitable[Any], pred: Callable[[Any], bool]) -> bool:
    return pred(await result)


async def test_mirror_is_listed_with_the_buckets(kv: natskv.KVContext, cleanup: list[str]) -> None:
    """store_names()/store_statuses() include mirrors (they have no subjects to filter on)."""
    origin_name, mirror_name = _bucket(), _bucket()
    cleanup += [origin_name, mirror_name]
    await kv.create_store(origin_name)
    await kv.create_store(KVConfig(bucket=mirror_name, mirror=KVSource(name=origin_name)))
    names = [n async for n in kv.store_names()]
    assert origin_name in names and mirror_name in names
    statuses = {s.bucket: s async for s in kv.store_statuses()}
    assert statuses[mirror_name].mirror is not None
    assert statuses[origin_name].mirror is None


async def test_writes_through_a_mirror_land_in_the_origin(
    kv: natskv.KVContext, cleanup: list[str]
) -> None:
    """Writes to a mirror store go to the origin's subjects; the mirror then sees them."""
    origin_name, mirror_name = _bucket(), _bucket()
    cleanup += [origin_name, mirror_name]
    origin = await kv.create_store(KVConfig(bucket=origin_name, history=5))
    mirror = await kv.create_store(KVConfig(bucket=mirror_name, mirror=KVSource(name=origin_name)))
    rev = await mirror.put("k", b"via-mirror")
    assert await origin.get("k") == b"via-mirror"
    assert (await origin.get_entry("k")).revision == rev
    created = await mirror.create("new", b"1")
    assert await origin.get("new") == b"1"
    assert await mirror.update("new", b"2", created) == created + 1
    with pytest.raises(natskv.WrongRevisionError):
        await mirror.update("new", b"3", created)  # CAS is checked by the origin
    await mirror.delete("k")
    with pytest.raises(natskv.KeyDeletedError):
        await origin.get("k")
    await _until(lambda: mirror.get("new"), "the mirror caught up")
    assert await _until(
        lambda: _true(mirror.get("new"), lambda v: v == b"2"), "the update replicated"
    )
    # the mirror stream holds the origin's subjects; its own bucket name has none
    info = await kv.js.stream_info(f"KV_{mirror_name}", subjects_filter=">")
    subjects = set((info.state.subjects or {}).keys())
    assert subjects and all(s.startswith(f"$KV.{origin_name}.") for s in subjects)


async def test_watching_a_mirror(kv: natskv.KVContext, cleanup: list[str]) -> None:
    """A watch on a mirror delivers the origin's changes, with the keys of the origin."""
    origin_name, mirror_name = _bucket(), _bucket()
    cleanup += [origin_name, mirror_name]
    origin = await kv.create_store(origin_name)
    await origin.put("a", b"1")
    mirror = await kv.create_store(KVConfig(bucket=mirror_name, mirror=KVSource(name=origin_name)))
    await _until(lambda: mirror.get("a"), "a replicated")
    async with mirror.watch() as watcher:
        assert [(e.key, e.value) for e in await watcher.initial_values()] == [("a", b"1")]
        await origin.put("b", b"2")
        entry = await watcher.next(timeout=10)
        assert (entry.key, entry.value, entry.bucket) == ("b", b"2", mirror_name)


async def test_mirror_status(kv: natskv.KVContext, cleanup: list[str]) -> None:
    """status() of a mirror shows the mirror info and reads back the mirror config."""
    origin_name, mirror_name = _bucket(), _bucket()
    cleanup += [origin_name, mirror_name]
    origin = await kv.create_store(origin_name)
    await origin.put("k", b"v")
    config = KVConfig(bucket=mirror_name, mirror=KVSource(name=origin_name))
    mirror = await kv.create_store(config)
    status = await _until(
        lambda: _keep(mirror.status(), lambda s: s.values == 1), "the mirror caught up"
    )
    assert status.mirror is not None
    assert status.mirror.name == f"KV_{origin_name}"
    assert status.mirror.lag == 0
    assert status.bucket == mirror_name and status.stream_name == f"KV_{mirror_name}"
    assert status.config == config
    assert status.config.mirror == KVSource(name=origin_name)
    assert not status.sources


async def _keep(result: Awaitable[Any], pred: Callable[[Any], bool]) -> Any:
    value = await result
    return value if pred(value) else None


# ---------------------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------------------


async def test_sources_aggregate_keys_under_their_own_subjects(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """A bucket sourcing a and b holds both key sets as its own keys ($KV.<agg>.<key>)."""
    a_name, b_name, agg_name = _bucket(), _bucket(), _bucket()
    cleanup += [a_name, b_name, agg_name]
    a = await kv.create_store(a_name)
    b = await kv.create_store(b_name)
    await a.put("east.1", b"a1")
    await a.put("east.2", b"a2")
    await b.put("west.1", b"b1")
    config = KVConfig(
        bucket=agg_name, history=5, sources=[KVSource(name=a_name), KVSource(name=b_name)]
    )
    agg = await kv.create_store(config)
    want = {"east.1", "east.2", "west.1"}
    await _until(lambda: _true(_keys(agg), lambda keys: keys == want), "both sources")
    assert await agg.get("east.2") == b"a2"
    assert await agg.get("west.1") == b"b1"
    # later writes flow in too, deletes included
    await b.put("west.2", b"b2")
    await a.delete("east.1")
    want = {"east.2", "west.1", "west.2"}
    await _until(lambda: _true(_keys(agg), lambda keys: keys == want), "live changes")
    with pytest.raises(natskv.KeyDeletedError):
        await agg.get("east.1")
    # stored under the aggregate's own subjects, so its own writes mix in naturally
    info = await js.stream_info(f"KV_{agg_name}", subjects_filter=">")
    assert set((info.state.subjects or {}).keys()) == {
        f"$KV.{agg_name}.{k}" for k in ("east.1", "east.2", "west.1", "west.2")
    }
    await agg.put("local", b"l")
    assert await _keys(agg) == {"east.2", "west.1", "west.2", "local"}
    status = await agg.status()
    assert sorted(s.name for s in status.sources) == sorted([f"KV_{a_name}", f"KV_{b_name}"])
    assert status.mirror is None
    assert status.config == config


async def test_a_filtered_source(kv: natskv.KVContext, cleanup: list[str]) -> None:
    """A source filter on $KV.<src>.<prefix> brings only those keys (as a transform)."""
    src_name, agg_name = _bucket(), _bucket()
    cleanup += [src_name, agg_name]
    src = await kv.create_store(src_name)
    await src.put("prefs.theme", b"dark")
    await src.put("prefs.lang", b"en")
    await src.put("secret.token", b"x")
    source = KVSource(name=src_name, filter_subject=f"$KV.{src_name}.prefs.>")
    config = KVConfig(bucket=agg_name, sources=[source])
    agg = await kv.create_store(config)
    want = {"prefs.theme", "prefs.lang"}
    await _until(lambda: _true(_keys(agg), lambda keys: keys == want), "the filtered keys")
    (raw,) = (await kv.js.stream_info(f"KV_{agg_name}")).config["sources"]
    assert raw["subject_transforms"] == [
        {"src": f"$KV.{src_name}.prefs.>", "dest": f"$KV.{agg_name}.prefs.>"}
    ]
    assert (await agg.status()).config == config


# ---------------------------------------------------------------------------------------
# republish
# ---------------------------------------------------------------------------------------


async def test_republish(kv: natskv.KVContext, nc: natskv.Connection, cleanup: list[str]) -> None:
    """RePublish sends every stored change on (headers_only: metadata and size only)."""
    full_name, light_name = _bucket(), _bucket()
    cleanup += [full_name, light_name]
    full_cfg = KVConfig(
        bucket=full_name,
        republish=RePublish(destination=f"repub.{full_name}.>", source=f"$KV.{full_name}.>"),
    )
    light_cfg = KVConfig(
        bucket=light_name,
        republish=RePublish(
            destination=f"repub.{light_name}.>", source=f"$KV.{light_name}.>", headers_only=True
        ),
    )
    full = await kv.create_store(full_cfg)
    light = await kv.create_store(light_cfg)
    sub = await nc.subscribe("repub.>")
    await nc.flush()
    rev = await full.put("user.1", b"hello")
    await full.delete("user.1")
    await light.put("user.2", b"world!")

    msg = await sub.next_msg(timeout=5)
    assert msg.subject == f"repub.{full_name}.user.1"
    assert msg.data == b"hello"
    assert msg.headers["Nats-Subject"] == f"$KV.{full_name}.user.1"
    assert msg.headers["Nats-Sequence"] == str(rev)
    marker = await sub.next_msg(timeout=5)
    assert marker.headers["KV-Operation"] == "DEL" and marker.data == b""
    light_msg = await sub.next_msg(timeout=5)
    assert light_msg.subject == f"repub.{light_name}.user.2"
    assert light_msg.data == b""
    assert light_msg.headers["Nats-Msg-Size"] == "6"
    await sub.unsubscribe()

    assert (await full.status()).config == full_cfg
    assert (await light.status()).config == light_cfg
    raw = (await kv.js.stream_info(f"KV_{light_name}")).config["republish"]
    assert raw == {
        "src": f"$KV.{light_name}.>",
        "dest": f"repub.{light_name}.>",
        "headers_only": True,
    }


# ---------------------------------------------------------------------------------------
# config checks (client side, nothing sent)
# ---------------------------------------------------------------------------------------


async def test_invalid_mirror_and_source_configs_are_refused_before_sending(
    kv: natskv.KVContext, nc: natskv.Connection
) -> None:
    """Combinations the server would refuse are refused by KVConfig / create_store first."""
    before = nc.msgs_out
    with pytest.raises(natskv.InvalidConfigError):
        KVConfig(bucket="m", mirror=KVSource(name="o"), limit_marker_ttl=5)
    with pytest.raises(natskv.InvalidConfigError):
        KVConfig(bucket="m", mirror=KVSource(name="o"), sources=[KVSource(name="s")])
    with pytest.raises(natskv.InvalidBucketNameError):
        KVSource(name="not a bucket")
    with pytest.raises(natskv.InvalidConfigError):
        KVSource(name="o", domain="hub", api_prefix="$JS.x.API")
    # a source filter outside the source's subjects cannot become a transform
    bad = KVConfig(bucket=_bucket(), sources=[KVSource(name="src", filter_subject="other.>")])
    with pytest.raises(natskv.InvalidConfigError):
        await kv.create_store(bad)
    assert nc.msgs_out == before


async def test_a_mirror_of_a_missing_origin_reads_nothing(
    kv: natskv.KVContext, cleanup: list[str]
) -> None:
    """A mirror may be created before its origin exists; reads say not-found meanwhile."""
    origin_name, mirror_name = _bucket(), _bucket()
    cleanup += [origin_name, mirror_name]
    mirror = await kv.create_store(KVConfig(bucket=mirror_name, mirror=KVSource(name=origin_name)))
    with pytest.raises(natskv.KeyNotFoundError):
        await mirror.get("k")
    assert await _keys(mirror) == set()
    origin = await kv.create_store(origin_name)
    await origin.put("k", b"late")
    assert await _until(lambda: mirror.get("k"), "the late origin replicated") == b"late"


async def test_writes_through_a_mirror_in_a_jetstream_domain() -> None:
    """Through a domain, mirror writes carry the API prefix like every write (nats.go)."""
    async with natskv.EmbeddedServer(durable=False, jetstream_domain="hub") as server:
        nc = await natskv.connect(server.url)
        try:
            kv = natskv.KVContext(natskv.JetStream(nc, domain="hub"))
            origin = await kv.create_store("origin")
            mirror = await kv.create_store(KVConfig(bucket="copy", mirror=KVSource(name="origin")))
            sent: list[str] = []
            real = nc._start_request  # every request form goes through it

            def start_request(subject: str, *args: Any) -> tuple[str, asyncio.Future[natskv.Msg]]:
                sent.append(subject)
                return real(subject, *args)

            nc._start_request = start_request  # type: ignore[method-assign]
            try:
                await mirror.put("k", b"v")
            finally:
                del nc._start_request
            assert sent == ["$JS.hub.API.$KV.origin.k"]
            assert await origin.get("k") == b"v"
            assert await _until(lambda: mirror.get("k"), "the write replicated") == b"v"
            await kv.delete_store("copy")
            await kv.delete_store("origin")
        finally:
            await nc.close()


# -- the stream config of mirrors and sources -------------------------------------------


@pytest.mark.wire("7.3 #1")
async def test_mirror_stream_config(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """A mirror has no subjects, mirror_direct and a KV_-prefixed origin."""
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


@pytest.mark.wire("7.3 #1")
async def test_sources_get_the_automatic_subject_transform(
    kv: natskv.KVContext, js: natskv.JetStream, cleanup: list[str]
) -> None:
    """Each source maps $KV.<src>.> to $KV.<bucket>.>; user transforms kept."""
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
