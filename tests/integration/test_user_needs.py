"""The promises of the cross-client pattern table (``user-needs.md`` section 1.5).

One test (or a few) per row, against a real nats-server; each docstring starts with the
row's theme. Details covered elsewhere are referenced rather than repeated:
``test_kv_watch.py`` (caught-up edge cases), ``test_kv_watch_resume.py`` (server restart),
``test_kv_extras.py`` (try_* forms, TTL markers), ``test_wire_checklist.py`` (wire shapes).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tracemalloc
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from tests.proxy import FaultProxy

import natskv
from natskv import ConnectionState, KVConfig, KVOperation, KVResult, Msg
from natskv.jetstream import ConsumerConfig, ConsumerInfo


@pytest.fixture
def requests(nc: natskv.Connection, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The subject of every request ``nc`` sends."""
    subjects: list[str] = []
    real = nc._start_request  # every request form goes through it

    def start_request(subject: str, *args: Any) -> tuple[str, asyncio.Future[Msg]]:
        subjects.append(subject)
        return real(subject, *args)

    monkeypatch.setattr(nc, "_start_request", start_request)
    return subjects


@pytest.fixture
async def memory_store(kv: natskv.KVContext, bucket_name: str) -> AsyncIterator[natskv.KVStore]:
    """A history-1 memory bucket, for the large listings."""
    store = await kv.create_store(KVConfig(bucket=bucket_name, storage="memory"))
    try:
        yield store
    finally:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(bucket_name)


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(300):
        if check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"never happened: {what}")


# ---------------------------------------------------------------------------------------
# end of initial snapshot
# ---------------------------------------------------------------------------------------


async def test_end_of_initial_snapshot_for_an_empty_bucket(store: natskv.KVStore) -> None:
    """end of initial snapshot: an empty bucket is caught up at once, and lists as empty."""
    async with store.watch() as watcher:
        assert watcher.caught_up  # before anything was read
        await watcher.wait_caught_up(timeout=1)
        assert await watcher.initial_values() == []
        await store.put("k", b"first")  # then the live change comes through
        assert (await watcher.next(timeout=10)).value == b"first"
    assert [k async for k in store.keys("nothing.>")] == []
    assert [e async for e in store.history("missing")] == []


async def test_end_of_initial_snapshot_when_every_key_is_deleted(store: natskv.KVStore) -> None:
    """end of initial snapshot: all-deleted keys still end the snapshot (with or without them)."""
    for i in range(20):
        await store.put(f"k{i}", b"v")
        await (store.delete(f"k{i}") if i % 2 else store.purge(f"k{i}"))
    async with store.watch() as watcher:
        markers = await watcher.initial_values()
        assert watcher.caught_up
        assert len(markers) == 20
        assert {e.operation for e in markers} == {KVOperation.DEL, KVOperation.PURGE}
    async with store.watch(ignore_deletes=True) as quiet:
        assert await quiet.initial_values() == []
        assert quiet.caught_up and quiet.initial_count == 20
    assert [k async for k in store.keys()] == []


async def test_end_of_initial_snapshot_with_concurrent_writers(store: natskv.KVStore) -> None:
    """end of initial snapshot: writers racing the watch cannot end the snapshot early."""
    before = {f"pre.{i:03d}": b"%d" % i for i in range(300)}
    await store.put_many(before.items())
    stop = asyncio.Event()
    written: dict[str, bytes] = {}

    async def writer() -> None:
        n = 0
        while not stop.is_set():
            key = f"live.{n % 50}" if n % 3 else f"pre.{n % 300:03d}"
            value = b"w%d" % n
            await store.put(key, value)
            written[key] = value
            n += 1

    task = asyncio.create_task(writer())
    try:
        while len(written) < 20:
            await asyncio.sleep(0.01)  # the writer is busy when the watch starts
        async with store.watch() as watcher:
            initial = await watcher.initial_values()
            assert watcher.caught_up
            assert watcher.initial_count >= len(before)
            assert set(before) <= {e.key for e in initial}  # nothing pre-existing missed
            stop.set()
            await task
            # afterwards the live changes bring the view up to date
            final = await store.get_many(written)
            view = {e.key: e for e in initial}
            while any(k not in view or view[k].revision < e.revision for k, e in final.items()):
                entry = await watcher.next(timeout=10)
                view[entry.key] = entry
            assert {k: view[k].value for k in final} == written
    finally:
        stop.set()
        await task


# ---------------------------------------------------------------------------------------
# watch survives reconnect
# ---------------------------------------------------------------------------------------


async def test_watch_survives_reconnect_with_state_and_no_orphans(
    nats_url: str, bucket_name: str
) -> None:
    """watch survives reconnect: resume from the last seen revision, state seen, no orphans.

    Connection cuts only; ``test_kv_watch_resume.py`` covers a server restart.
    """
    host, port = nats_url.rsplit("//", 1)[1].split(":")
    async with FaultProxy(host, int(port)) as proxy:
        nc = await natskv.connect(proxy.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1)
        writer = await natskv.connect(nats_url)
        states: list[ConnectionState] = []
        loop = asyncio.get_running_loop()
        nc.add_disconnect_listener(lambda: loop.call_soon(lambda: states.append(nc.state)))
        reconnected = asyncio.Event()
        nc.add_reconnect_listener(reconnected.set)
        try:
            wkv = natskv.KVContext(natskv.JetStream(writer))
            wstore = await wkv.create_store(KVConfig(bucket=bucket_name, history=64))
            store = await natskv.KVContext(natskv.JetStream(nc)).get_store(bucket_name)
            await wstore.put("cfg", b"v1")
            async with store.watch() as watcher:
                assert [e.value for e in await watcher.initial_values()] == [b"v1"]
                await wstore.put("cfg", b"v2")
                assert (await watcher.next(timeout=10)).value == b"v2"
                last_seen = watcher.last_revision
                consumer = watcher._consumer
                assert consumer is not None

                for cut in range(2):
                    proxy.reset()
                    await wstore.put("cfg", b"cut%d" % cut)  # missed while disconnected
                    await asyncio.wait_for(reconnected.wait(), 30)
                    reconnected.clear()
                    entry = await watcher.next(timeout=15)
                    assert (entry.value, entry.revision) == (b"cut%d" % cut, last_seen + 1)
                    last_seen = entry.revision
                    # the reconnect re-creates the consumer (the entry may come first, from
                    # the old one): wait for that before cutting again
                    await _until(lambda n=cut + 1: consumer.resets == n, "the consumer re-created")
                    assert nc.state is ConnectionState.CONNECTED

                assert states == [ConnectionState.RECONNECTING] * 2
                assert nc.reconnects == 2
                # the live consumer resumed by sequence; the old ones were deleted
                info = await wstore.js.consumer_info(store.stream, consumer.name)
                assert info.config["deliver_policy"] == "by_start_sequence"
                assert info.config["opt_start_seq"] <= last_seen + 1
                assert (await wstore.js.stream_info(store.stream)).state.consumer_count == 1
                await wstore.put("cfg", b"after")
                entry = await watcher.next(timeout=15)
                assert (entry.value, entry.revision) == (b"after", last_seen + 1)
            assert (await wstore.js.stream_info(store.stream)).state.consumer_count == 0
            await wkv.delete_store(bucket_name)
        finally:
            await writer.close()
            await nc.close()


# ---------------------------------------------------------------------------------------
# scalable key listing
# ---------------------------------------------------------------------------------------


async def test_scalable_key_listing_filters_on_the_server(
    memory_store: natskv.KVStore, consumers: list[tuple[ConsumerConfig, ConsumerInfo]]
) -> None:
    """scalable key listing: a filter over 50,000 keys is applied by the server."""
    store = memory_store
    matches = [f"a.{i}" for i in range(500)]
    others = [f"b.{i}" for i in range(49_000)] + [f"a.deep.{i}" for i in range(500)]
    keys = matches + others
    assert len(keys) == 50_000
    await store.put_many((k, b"") for k in keys)
    listed = [k async for k in store.keys("a.*")]
    assert listed == matches  # stream order, only whole-token matches
    ((cfg, info),) = consumers
    assert cfg.filter_subject == f"$KV.{store.bucket}.a.*"
    assert info.num_pending == len(matches)  # the server sends only the matches


async def test_scalable_key_listing_of_an_empty_bucket_is_an_empty_list(
    store: natskv.KVStore,
) -> None:
    """scalable key listing: an empty bucket lists as [], never an error."""
    assert [k async for k in store.keys()] == []
    assert [k async for k in store.keys("a.*", "b.>")] == []
    assert await store.get_many(["x", "y"]) == {}


async def test_scalable_key_listing_streams_and_cleans_up(
    store: natskv.KVStore, js: natskv.JetStream
) -> None:
    """scalable key listing: keys() is a streaming iterator; leaving early deletes its consumer."""
    await store.put_many((f"k{i}", b"v") for i in range(2000))
    keys = store.keys()
    assert isinstance(keys, AsyncIterator)
    assert await keys.__anext__() == "k0"
    assert (await js.stream_info(store.stream)).state.consumer_count == 1
    await keys.aclose()  # type: ignore[attr-defined]
    assert (await js.stream_info(store.stream)).state.consumer_count == 0


async def test_scalable_key_listing_in_bounded_memory(memory_store: natskv.KVStore) -> None:
    """scalable key listing: listing 100,000 keys never holds them all in memory."""
    store = memory_store
    total = 100_000
    names = [f"tenant-{i % 97:04d}.user.{i:08d}.profile" for i in range(total)]
    await store.put_many((k, b"") for k in names)
    # what holding the key names alone would take (a list of str), a floor for buffering
    buffered = sys.getsizeof(names) + sum(sys.getsizeof(k) for k in names)
    del names
    count = 0
    tracemalloc.start()
    try:
        async for _ in store.keys():
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(
        f"keys() over {total} keys: peak {peak / 1e6:.2f} MB traced; "
        f"buffering the names would take {buffered / 1e6:.2f} MB"
    )
    assert count == total
    assert peak < buffered / 2


# ---------------------------------------------------------------------------------------
# CAS correctness
# ---------------------------------------------------------------------------------------


async def test_cas_correctness_one_typed_conflict_with_the_current_revision(
    store: natskv.KVStore,
) -> None:
    """CAS correctness: every conflict is typed and reports the key's current revision."""
    r1 = await store.put("k", b"1")
    r2 = await store.update("k", b"2", r1)
    for stale_write in (
        store.update("k", b"x", r1),
        store.delete("k", revision=r1),
        store.purge("k", revision=r1),
    ):
        with pytest.raises(natskv.WrongRevisionError) as conflict:
            await stale_write
        assert (conflict.value.expected, conflict.value.actual) == (r1, r2)
    with pytest.raises(natskv.KeyExistsError) as exists:
        await store.create("k", b"x")
    assert exists.value.revision == r2
    assert await store.get("k") == b"2"


async def _connections(url: str, n: int) -> list[natskv.Connection]:
    return list(await asyncio.gather(*(natskv.connect(url) for _ in range(n))))


async def test_cas_correctness_50_concurrent_creates_one_winner(
    nats_url: str, store: natskv.KVStore
) -> None:
    """CAS correctness: 50 clients create the same key at once: exactly one wins."""
    conns = await _connections(nats_url, 5)
    try:
        stores = [
            await natskv.KVContext(natskv.JetStream(c)).get_store(store.bucket) for c in conns
        ]
        for round_ in ("fresh", "after delete", "after purge"):
            if round_ == "after delete":
                await store.delete("lock")
            elif round_ == "after purge":
                await store.purge("lock")
            results: list[KVResult[int, natskv.KeyExistsError]] = await asyncio.gather(
                *(stores[i % 5].try_create("lock", b"owner-%d" % i) for i in range(50))
            )
            winners = [i for i, r in enumerate(results) if r.ok]
            assert len(winners) == 1, round_
            revision = results[winners[0]].value
            assert await store.get("lock") == b"owner-%d" % winners[0]
            for r in results:
                if not r.ok:
                    assert isinstance(r.error, natskv.KeyExistsError)
                    assert r.error.revision == revision
    finally:
        await asyncio.gather(*(c.close() for c in conns))


async def test_cas_correctness_concurrent_update_with_loses_no_increment(
    store: natskv.KVStore,
) -> None:
    """CAS correctness: optimistic read-modify-write from 20 tasks loses no update."""

    def increment(current: bytes | None) -> bytes:
        return b"%d" % (int(current or b"0") + 1)

    await asyncio.gather(*(store.update_with("counter", increment, retries=100) for _ in range(20)))
    assert await store.get("counter") == b"20"


# ---------------------------------------------------------------------------------------
# TTL
# ---------------------------------------------------------------------------------------


async def test_ttl_on_create_and_purge_only_and_markers_read_as_deleted(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    """TTL: per-key TTL on create/purge only; an ADR-48 expiry marker reads as deleted."""
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


async def test_ttl_needs_a_bucket_with_limit_markers(store: natskv.KVStore) -> None:
    """TTL: a bucket without limit markers refuses a per-key TTL before sending."""
    with pytest.raises(natskv.TTLNotSupportedError):
        await store.create("k", b"v", ttl=10)
    with pytest.raises(natskv.TTLNotSupportedError):
        await store.purge("k", ttl=10)
    assert [k async for k in store.keys()] == []


# ---------------------------------------------------------------------------------------
# exceptions vs results
# ---------------------------------------------------------------------------------------


async def test_exceptions_vs_results_try_forms(store: natskv.KVStore) -> None:
    """exceptions vs results: try_* return a result for the expected failures."""
    missing = await store.try_get_entry("k")
    assert not missing and isinstance(missing.error, natskv.KeyNotFoundError)
    created = await store.try_create("k", b"1")
    assert created.ok and created.value == 1
    exists = await store.try_create("k", b"2")
    assert isinstance(exists.error, natskv.KeyExistsError) and exists.error.revision == 1
    stale = await store.try_update("k", b"2", 7)
    assert isinstance(stale.error, natskv.WrongRevisionError) and stale.error.actual == 1
    with pytest.raises(natskv.WrongRevisionError):
        stale.value  # noqa: B018  (the error is raised when the value is asked for)
    assert (await store.try_update("k", b"2", 1)).value == 2
    assert not await store.try_delete("k", revision=1)
    assert (await store.try_delete("k", revision=2)).value == 3
    deleted = await store.try_get_entry("k")
    assert isinstance(deleted.error, natskv.KeyDeletedError) and deleted.error.revision == 3
    with pytest.raises(natskv.InvalidKeyError):  # bad input is not an expected outcome
        await store.try_create("bad key", b"x")


async def test_exceptions_vs_results_leader_election_loop(store: natskv.KVStore) -> None:
    """exceptions vs results: a lock/leader-election loop written without try/except."""

    async def campaign(node: str, rounds: int) -> int:
        terms = 0
        for _ in range(rounds):
            held = await store.try_get_entry("leader")
            if held.ok and held.value.value == node.encode():
                renewed = await store.try_update("leader", node.encode(), held.value.revision)
                terms += renewed.ok
            elif not held.ok:
                terms += (await store.try_create("leader", node.encode())).ok
            await asyncio.sleep(0)
        return terms

    terms = await asyncio.gather(*(campaign(f"node-{i}", 20) for i in range(5)))
    leader = (await store.get("leader")).decode()
    assert [t > 0 for t in terms].count(True) == 1  # only the leader ever held a term
    assert terms[int(leader.rsplit("-", 1)[1])] > 0


# ---------------------------------------------------------------------------------------
# consistency
# ---------------------------------------------------------------------------------------


async def test_consistency_read_after_write_through_the_leader(
    store: natskv.KVStore, requests: list[str]
) -> None:
    """consistency: get(consistent=True) reads via STREAM.MSG.GET (the stream leader)."""
    for i in range(100):
        rev = await store.put("k", b"%d" % i)
        entry = await store.get_entry("k", consistent=True)
        assert (entry.value, entry.revision) == (b"%d" % i, rev)
    msg_get = f"$JS.API.STREAM.MSG.GET.{store.stream}"
    assert requests.count(msg_get) == 100
    assert not any(".DIRECT.GET." in s for s in requests)
    requests.clear()
    assert await store.get("k", revision=rev, consistent=True) == b"99"
    assert requests == [msg_get]
    requests.clear()
    assert await store.get("k") == b"99"  # the default is the (replica-served) Direct Get
    assert requests == [f"$JS.API.DIRECT.GET.{store.stream}.$KV.{store.bucket}.k"]
    await store.delete("k")
    with pytest.raises(natskv.KeyDeletedError):
        await store.get("k", consistent=True)
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("never-written", consistent=True)
