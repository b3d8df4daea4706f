"""``examples/leader_election.py``: one leader at a time, a new one after a crash or a
resignation."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from tests.examples.helpers import load, run_example

import natskv

election = load("leader_election")
LEASE = 1.0


@pytest.fixture
async def store(kv: natskv.KVContext) -> AsyncIterator[natskv.KVStore]:
    bucket = "election_" + uuid.uuid4().hex[:8]
    yield await kv.create_store(election.election_config(bucket, LEASE))
    await kv.delete_store(bucket)


def _parse(line: str, pattern: str) -> str:
    m = re.fullmatch(pattern, line)
    assert m, f"{line!r} is not {pattern!r}"
    return m[1]


async def test_the_example_elects_again_after_a_crash_and_a_resignation(
    nats_url: str, kv: natskv.KVContext, bucket_gone: Callable[[str], Awaitable[None]]
) -> None:
    await bucket_gone("election")
    lines = (await run_example("leader_election", nats_url=nats_url)).splitlines()
    assert len(lines) == 9, lines
    first = _parse(lines[0], r"(\w): elected")
    assert lines[1] == f"the bucket says: {first}"
    assert lines[2] == f"{first}: crashed"
    second = _parse(lines[3], r"(\w): elected")
    assert second != first
    assert lines[4:6] == [f"{second}: no longer leader", f"{second}: resigned"]
    third = _parse(lines[6], r"(\w): elected")
    assert {first, second, third} == {"a", "b", "c"}
    assert lines[7:] == [f"the bucket says: {third}", f"{third}: no longer leader"]
    assert "election" not in [name async for name in kv.store_names()]


async def test_there_is_never_more_than_one_leader(store: natskv.KVStore) -> None:
    candidates = [election.Candidate(store, n, lease=LEASE) for n in "abc"]
    tasks = [asyncio.create_task(c.run()) for c in candidates]
    try:
        leader = await election.wait_for_leader(candidates)
        assert await election.leader_of(store) == leader.name
        tasks[candidates.index(leader)].cancel()  # crash: its lease runs out
        for _ in range(60):  # about three leases, sampled
            leading = [c.name for c in candidates if c.is_leader]
            assert len(leading) <= 1, leading
            await asyncio.sleep(0.05)
        new = await election.wait_for_leader([c for c in candidates if c is not leader])
        assert new is not leader and not leader.is_leader
        assert await election.leader_of(store) == new.name
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_resignation_frees_the_key_at_once(store: natskv.KVStore) -> None:
    a = election.Candidate(store, "a", lease=LEASE)
    b = election.Candidate(store, "b", lease=LEASE)
    task_a = asyncio.create_task(a.run())
    task_b = None
    try:
        await election.wait_for_leader([a])
        task_b = asyncio.create_task(b.run())
        await asyncio.sleep(LEASE / 2)
        assert not b.is_leader  # the key is taken
        await a.resign()
        assert not a.is_leader
        assert await election.leader_of(store) is None  # deleted, not left to expire
        await election.wait_for_leader([b])
        assert await election.leader_of(store) == "b"
        await b.resign()
        await asyncio.wait_for(asyncio.gather(task_a, task_b), 10)  # both stop campaigning
    finally:
        for task in (task_a, task_b):
            if task is not None:
                task.cancel()


async def test_a_leader_whose_lease_was_taken_steps_down(store: natskv.KVStore) -> None:
    changes: list[tuple[str, bool]] = []
    a = election.Candidate(store, "a", lease=LEASE, on_change=lambda n, on: changes.append((n, on)))
    task = asyncio.create_task(a.run())
    try:
        await election.wait_for_leader([a])
        # someone else owns the key now (as after a partition that outlived the lease)
        await store.purge(election.KEY)
        await store.create(election.KEY, b"intruder")
        for _ in range(100):
            if not a.is_leader:
                break
            await asyncio.sleep(0.05)
        assert not a.is_leader
        assert changes == [("a", True), ("a", False)]
        assert await election.leader_of(store) == "intruder"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
