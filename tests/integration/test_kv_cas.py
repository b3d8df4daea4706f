"""Compare-and-set writes: create, update, conditional delete and purge, their conflicts
(errors 10071 and 10164), update_with and revert, and the non-throwing try_* forms."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from tests.integration.helpers import RequestSpy

import natskv
from natskv import KVConfig, KVResult, KVStore, Msg
from natskv.kv._replies import ack_revision


@dataclass
class ShopOrder:
    id: int


@dataclass
class Counter:
    n: int


# -- create -----------------------------------------------------------------------------


async def test_create(store: KVStore) -> None:
    rev = await store.create("k", b"first")
    assert await store.get("k") == b"first"
    with pytest.raises(natskv.KeyExistsError) as ei:
        await store.create("k", b"second")
    assert ei.value.revision == rev
    assert await store.get("k") == b"first"


async def test_create_after_delete(store: KVStore) -> None:
    await store.create("k", b"1")
    marker = await store.delete("k")
    rev = await store.create("k", b"2")
    assert rev > marker
    assert await store.get("k") == b"2"
    with pytest.raises(natskv.KeyExistsError):
        await store.create("k", b"3")


async def test_create_after_purge(store: KVStore) -> None:
    await store.create("k", b"1")
    await store.put("k", b"2")
    marker = await store.purge("k")
    rev = await store.create("k", b"again")
    assert rev > marker
    assert await store.get("k") == b"again"


async def test_create_typed_value(store: KVStore) -> None:
    await store.create("order", ShopOrder(id=3))
    assert await store.get("order", ShopOrder) == ShopOrder(id=3)


@pytest.mark.wire("7.3 #2")
async def test_create_on_deleted_and_purged_keys_cas_on_the_marker(
    store: natskv.KVStore, spy: RequestSpy
) -> None:
    """Create over a DEL or PURGE marker is a CAS on the marker's revision."""
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


@pytest.mark.wire("7.3 #2")
async def test_create_on_a_live_key_raises_key_exists_with_the_revision(
    store: natskv.KVStore,
) -> None:
    """Create on a live key -> KeyExistsError carrying the current revision."""
    await store.put("k", b"1")
    current = await store.put("k", b"2")
    with pytest.raises(natskv.KeyExistsError) as info:
        await store.create("k", b"3")
    assert info.value.key == "k"
    assert info.value.revision == current
    assert await store.get("k") == b"2"


@pytest.mark.wire("7.3 #2")
async def test_other_create_errors_are_surfaced_unchanged(
    kv: natskv.KVContext, bucket_name: str, spy: RequestSpy, cleanup: list[str]
) -> None:
    """A full bucket (10077) or disabled TTL (10166) is not 'key exists'."""
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


# -- update and conditional delete / purge ----------------------------------------------


async def test_update(store: KVStore) -> None:
    r1 = await store.put("k", b"1")
    r2 = await store.update("k", b"2", r1)
    assert r2 > r1
    assert await store.get("k") == b"2"
    with pytest.raises(natskv.WrongRevisionError):
        await store.update("k", b"3", r1)
    assert await store.get("k") == b"2"
    r3 = await store.update("k", ShopOrder(id=3), r2)
    assert (await store.get_entry("k", ShopOrder)).revision == r3


async def test_update_with_revision_zero_creates(store: KVStore) -> None:
    rev = await store.update("fresh", b"v", 0)
    assert await store.get("fresh") == b"v"
    with pytest.raises(natskv.WrongRevisionError):
        await store.update("fresh", b"w", 0)
    assert (await store.get_entry("fresh")).revision == rev


async def test_delete_with_revision(store: KVStore) -> None:
    r1 = await store.put("k", b"1")
    r2 = await store.put("k", b"2")
    with pytest.raises(natskv.WrongRevisionError) as ei:
        await store.delete("k", revision=r1)
    assert ei.value.expected == r1
    assert ei.value.actual == r2
    assert await store.get("k") == b"2"
    marker = await store.delete("k", revision=r2)
    with pytest.raises(natskv.KeyDeletedError) as de:
        await store.get("k")
    assert de.value.revision == marker


async def test_purge_with_revision(store: KVStore) -> None:
    r1 = await store.put("k", b"1")
    r2 = await store.put("k", b"2")
    with pytest.raises(natskv.WrongRevisionError):
        await store.purge("k", revision=r1)
    assert await store.get("k") == b"2"
    await store.purge("k", revision=r2)
    with pytest.raises(natskv.KeyDeletedError):
        await store.get("k")


# -- conflicts --------------------------------------------------------------------------


def _pub_ack_error(err_code: int, description: str) -> Msg:
    body = {"error": {"code": 400, "err_code": err_code, "description": description}}
    return Msg("_INBOX.x", 1, None, json.dumps(body).encode())


@pytest.mark.wire("7.3 #3")
async def test_10071_is_a_wrong_revision_with_the_actual_revision(
    store: natskv.KVStore,
) -> None:
    """Update/delete/purge conflicts (10071) -> WrongRevisionError(actual)."""
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


@pytest.mark.wire("7.3 #3")
async def test_10164_is_a_wrong_revision_too(store: natskv.KVStore) -> None:
    """10164 (needs a replicated stream) maps like 10071; parsed or None."""
    with pytest.raises(natskv.WrongRevisionError) as info:
        ack_revision(_pub_ack_error(10164, "wrong last sequence: 41"), store.bucket, "k", 7)
    assert (info.value.expected, info.value.actual) == (7, 41)
    with pytest.raises(natskv.WrongRevisionError) as info:
        ack_revision(_pub_ack_error(10164, "wrong last sequence"), store.bucket, "k", 7)
    assert (info.value.expected, info.value.actual) == (7, None)
    with pytest.raises(natskv.WrongRevisionError) as info:
        ack_revision(_pub_ack_error(10071, "wrong last sequence: 12"), store.bucket, "k", 3)
    assert (info.value.expected, info.value.actual) == (3, 12)
    # any other error stays an APIError
    with pytest.raises(natskv.APIError) as other:
        ack_revision(_pub_ack_error(10077, "maximum bytes exceeded"), store.bucket, "k", None)
    assert not isinstance(other.value, natskv.KeyValueError)


@pytest.mark.wire("7.3 #3")
async def test_create_treats_10164_as_key_exists(
    store: natskv.KVStore, nc: natskv.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create answered with 10164 re-reads the key like for 10071."""
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


@pytest.mark.user_need("CAS correctness")
async def test_cas_correctness_one_typed_conflict_with_the_current_revision(
    store: natskv.KVStore,
) -> None:
    """Every conflict is typed and reports the key's current revision."""
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


@pytest.mark.user_need("CAS correctness")
async def test_cas_correctness_50_concurrent_creates_one_winner(
    nats_url: str, store: natskv.KVStore
) -> None:
    """50 clients create the same key at once: exactly one wins."""
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


@pytest.mark.user_need("CAS correctness")
async def test_cas_correctness_concurrent_update_with_loses_no_increment(
    store: natskv.KVStore,
) -> None:
    """Optimistic read-modify-write from 20 tasks loses no update."""

    def increment(current: bytes | None) -> bytes:
        return b"%d" % (int(current or b"0") + 1)

    await asyncio.gather(*(store.update_with("counter", increment, retries=100) for _ in range(20)))
    assert await store.get("counter") == b"20"


# -- update_with and revert -------------------------------------------------------------


async def test_update_with_retries_until_no_conflict(store: natskv.KVStore) -> None:
    async def bump() -> None:
        for _ in range(20):
            await store.update_with(
                "ctr", lambda c: Counter((c.n if c else 0) + 1), Counter, retries=1000
            )

    await asyncio.gather(*(bump() for _ in range(5)))
    assert await store.get("ctr", Counter) == Counter(100)


async def test_update_with_creates_a_missing_or_deleted_key(store: natskv.KVStore) -> None:
    await store.update_with("k", lambda v: 1 if v is None else v + 1, int)
    assert await store.get("k", int) == 1
    await store.delete("k")
    await store.update_with("k", lambda v: 10 if v is None else v + 1, int)
    assert await store.get("k", int) == 10


async def test_update_with_gives_up_after_retries(store: natskv.KVStore) -> None:
    await store.put("k", b"0")
    calls = 0

    async def interfering(value: bytes | None) -> bytes:
        nonlocal calls
        calls += 1
        await store.put("k", b"other")  # another writer always gets in between
        return b"mine"

    with pytest.raises(natskv.WrongRevisionError):
        await store.update_with("k", interfering, retries=3)
    assert calls == 3
    assert await store.get("k") == b"other"


async def test_revert_writes_an_old_value_as_the_newest_revision(store: natskv.KVStore) -> None:
    first = await store.put("k", b"one")
    await store.put("k", b"two")
    rev = await store.revert("k", first)
    entry = await store.get_entry("k")
    assert entry.value == b"one"
    assert entry.revision == rev


# -- non-throwing forms -----------------------------------------------------------------


async def test_try_forms_return_expected_failures(store: natskv.KVStore) -> None:
    missing = await store.try_get_entry("nope")
    assert not missing.ok
    assert isinstance(missing.error, natskv.KeyNotFoundError)
    created = await store.try_create("k", b"1")
    assert created.ok
    exists = await store.try_create("k", b"2")
    assert isinstance(exists.error, natskv.KeyExistsError)
    assert exists.error.revision == created.value
    stale = await store.try_update("k", b"3", created.value + 100)
    assert isinstance(stale.error, natskv.WrongRevisionError)
    with pytest.raises(natskv.WrongRevisionError):
        _ = stale.value
    deleted = await store.try_delete("k", revision=created.value)
    assert deleted.ok
    gone = await store.try_get_entry("k")
    assert isinstance(gone.error, natskv.KeyDeletedError)


async def test_try_forms_still_raise_on_bad_input(store: natskv.KVStore) -> None:
    with pytest.raises(natskv.InvalidKeyError):
        await store.try_create("a b", b"1")


@pytest.mark.user_need("exceptions vs results")
async def test_exceptions_vs_results_try_forms(store: natskv.KVStore) -> None:
    """Try_* return a result for the expected failures."""
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


@pytest.mark.user_need("exceptions vs results")
async def test_exceptions_vs_results_leader_election_loop(store: natskv.KVStore) -> None:
    """A lock/leader-election loop written without try/except."""

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
