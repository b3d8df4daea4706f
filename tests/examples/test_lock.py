"""``examples/lock.py``: one holder at a time, release by compare-and-set, expiry by TTL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import pytest
from tests.examples.helpers import load, run_example

import natskv

lock_example = load("lock")
Lock = lock_example.Lock

pytestmark = pytest.mark.kv_config(limit_marker_ttl=1)


async def test_the_example_waits_releases_and_expires(
    nats_url: str, kv: natskv.KVContext, bucket_gone: Callable[[str], Awaitable[None]]
) -> None:
    await bucket_gone("locks")
    lines = (await run_example("lock", nats_url=nats_url)).splitlines()
    # a and b in either order, never both holding at once
    first, second = lines[0][0], lines[2][0]
    assert {first, second} == {"a", "b"}
    assert re.fullmatch(rf"{first}: holds the lock \(revision 1\)", lines[0])
    assert lines[1] == f"{first}: released it"
    assert re.fullmatch(rf"{second}: holds the lock \(revision 3\)", lines[2])
    assert lines[3] == f"{second}: released it"
    assert lines[4] == "c: holds the lock, then stops responding"
    assert re.fullmatch(r"d: holds the lock after \d+\.\d s \(revision 7\)", lines[5])
    assert lines[6] == "c: release after its lease ended: False"
    assert len(lines) == 7
    assert "locks" not in [name async for name in kv.store_names()]


async def test_only_one_holder_at_a_time_and_tokens_grow(kv_store: natskv.KVStore) -> None:
    holding: list[str] = []
    most = 0
    tokens: list[int] = []

    async def worker(name: str) -> None:
        nonlocal most
        for _ in range(5):
            async with Lock(kv_store, "job", name) as lock:
                holding.append(name)
                most = max(most, len(holding))
                tokens.append(lock.revision)
                await asyncio.sleep(0.01)
                holding.remove(name)

    await asyncio.wait_for(asyncio.gather(*(worker(n) for n in "abcd")), 60)
    assert most == 1
    assert len(tokens) == 20
    assert tokens == sorted(tokens) and len(set(tokens)) == 20


async def test_a_dead_holders_lock_expires_and_it_cannot_release_the_next_one(
    kv_store: natskv.KVStore,
) -> None:
    dead = Lock(kv_store, "job", "dead", ttl=1)
    await dead.acquire()
    alive = Lock(kv_store, "job", "alive", ttl=30)
    token = await alive.acquire(timeout=20)  # freed by the server when the TTL ends
    assert token > (dead.revision or 0)
    assert not await dead.release()  # a compare-and-set on its own, expired revision
    assert await kv_store.get("lock.job") == b"alive"
    assert await alive.release()
    with pytest.raises(natskv.KeyDeletedError):
        await kv_store.get("lock.job")


async def test_waiting_longer_than_the_timeout_fails(kv_store: natskv.KVStore) -> None:
    holder = Lock(kv_store, "job", "holder", ttl=30)
    await holder.acquire()
    with pytest.raises(lock_example.LockTimeout):
        await Lock(kv_store, "job", "waiter").acquire(timeout=0.3)
    assert await holder.release()
    assert await Lock(kv_store, "job", "waiter").acquire(timeout=10) > 0
