"""Leader election with ``try_create`` / ``try_update`` / ``try_delete`` and a bucket TTL.

One key, ``leader``, names the leader. Every candidate tries ``try_create`` (it succeeds
only while the key has no value); the one that succeeds renews its lease with
``try_update`` on the revision it holds, every third of the lease. The bucket's ``ttl``
is the lease: if the leader stops renewing (it crashed, or is cut off), the server
expires the key and writes a purge marker (``limit_marker_ttl``), and the next
``try_create`` of another candidate wins. A leader that resigns deletes the key at its
revision, so the others take over at once.

A candidate counts itself leader only until its lease would run out, measured from
before its last successful write: a leader that cannot renew stops acting as one before
anybody else can be elected. The ``try_*`` forms make the expected outcomes (someone
else leads; the lease was lost) plain results instead of exceptions.

Runs on an embedded nats-server unless ``NATS_URL`` names a server:
``python examples/leader_election.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import natskv

KEY = "leader"


def election_config(bucket: str, lease: float) -> natskv.KVConfig:
    """A bucket whose values live ``lease`` seconds, with markers when they expire."""
    return natskv.KVConfig(
        bucket, ttl=timedelta(seconds=lease), limit_marker_ttl=timedelta(seconds=1)
    )


class Candidate:
    """One member of the election; ``run()`` campaigns until cancelled or ``resign()``."""

    def __init__(
        self,
        store: natskv.KVStore,
        name: str,
        *,
        lease: float,
        on_change: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.lease = lease
        self._on_change = on_change
        self._revision: int | None = None
        self._valid_until = 0.0
        self._resigned = False

    @property
    def is_leader(self) -> bool:
        """Whether this candidate leads now (its lease has not run out)."""
        return self._revision is not None and time.monotonic() < self._valid_until

    async def run(self) -> None:
        while not self._resigned:
            # the server out of reach for now is no verdict: the lease decides
            with contextlib.suppress(natskv.NatsError):
                await self._campaign()
            if self._revision is not None and not self.is_leader:
                self._lose()  # no renewal for a whole lease
            await asyncio.sleep(self.lease / 3)

    async def _campaign(self) -> None:
        started = time.monotonic()  # the lease counts from before the write
        if self._revision is None:
            won = await self.store.try_create(KEY, self.name.encode())
            if won.ok:
                self._hold(won.value, started)
        else:
            renewed = await self.store.try_update(KEY, self.name.encode(), self._revision)
            if renewed.ok:
                self._hold(renewed.value, started)
            else:  # our lease expired and someone else was elected
                self._lose()

    async def resign(self) -> None:
        """Stop campaigning; if leading, hand over at once."""
        self._resigned = True
        if self._revision is not None:
            await self.store.try_delete(KEY, revision=self._revision)
            self._lose()

    def _hold(self, revision: int, started: float) -> None:
        was_leader = self._revision is not None
        self._revision = revision
        self._valid_until = started + self.lease
        if not was_leader and self._on_change:
            self._on_change(self.name, True)

    def _lose(self) -> None:
        self._revision = None
        if self._on_change:
            self._on_change(self.name, False)


async def leader_of(store: natskv.KVStore) -> str | None:
    """Who the bucket says leads (None between leaders)."""
    entry = await store.try_get_entry(KEY)
    return entry.value.value.decode() if entry.ok and entry.value.value else None


async def wait_for_leader(candidates: list[Candidate], timeout: float = 15.0) -> Candidate:
    """The first of ``candidates`` to lead (polled: leadership is a local lease)."""

    async def poll() -> Candidate:
        while True:
            for candidate in candidates:
                if candidate.is_leader:
                    return candidate
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), timeout)


@contextlib.asynccontextmanager
async def nats_url() -> AsyncIterator[str]:
    """``NATS_URL`` when set, else an embedded server for the length of the demo."""
    url = os.environ.get("NATS_URL")
    if url:
        yield url
        return
    async with natskv.EmbeddedServer(durable=False) as server:
        yield server.url


async def main() -> None:
    lease = 2.0
    async with nats_url() as url, await natskv.connect(url) as nc:
        kv = natskv.KVContext(natskv.JetStream(nc))
        store = await kv.create_store(election_config("election", lease))
        try:

            def report(name: str, leading: bool) -> None:
                print(f"{name}: {'elected' if leading else 'no longer leader'}")

            candidates = [Candidate(store, n, lease=lease, on_change=report) for n in "abc"]
            tasks = {c.name: asyncio.create_task(c.run()) for c in candidates}

            first = await wait_for_leader(candidates)
            print(f"the bucket says: {await leader_of(store)}")

            tasks[first.name].cancel()  # the leader crashes: no resignation
            print(f"{first.name}: crashed")
            others = [c for c in candidates if c is not first]
            second = await wait_for_leader(others)

            await second.resign()  # a clean hand-over
            print(f"{second.name}: resigned")
            third = await wait_for_leader([c for c in others if c is not second])
            print(f"the bucket says: {await leader_of(store)}")

            await third.resign()
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
        finally:
            await kv.delete_store("election")


if __name__ == "__main__":
    asyncio.run(main())
