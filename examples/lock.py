"""A distributed lock: ``create`` takes it, a per-key TTL frees it if its holder dies.

The lock is one key. ``create`` succeeds for exactly one contender (the key must have no
value); the key's TTL (ADR-48) makes the server remove it, with a purge marker, if the
holder never releases it. Waiting contenders watch the key and try again when it is
deleted or expires. Release is a compare-and-set delete (``try_delete`` with the
revision the holder got), so a holder whose lease already expired cannot release
someone else's lock. That revision is also a fencing token: it grows with every
acquisition.

A TTL cannot be extended (only ``create`` and ``purge`` take one), so hold the lock for
less than its TTL. Needs a bucket with ``limit_marker_ttl`` (nats-server 2.11+).

Runs on an embedded nats-server unless ``NATS_URL`` names a server:
``python examples/lock.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import natskv


class LockTimeout(Exception):
    """The lock was not acquired in time."""


class Lock:
    """A lease on ``name`` in ``store``, held by ``owner`` for at most ``ttl`` seconds."""

    def __init__(self, store: natskv.KVStore, name: str, owner: str, *, ttl: int = 10) -> None:
        self._store = store
        self._key = f"lock.{name}"
        self._owner = owner.encode()
        self._ttl = ttl
        self.revision: int | None = None
        """The revision of the holding write (a fencing token), or None when not held."""

    async def acquire(self, timeout: float | None = None) -> int:
        """Wait until the lock is ours; returns its revision. :class:`LockTimeout` if not."""
        deadline = None if timeout is None else time.monotonic() + timeout
        # Watch before trying: a release between a failed try and the wait is not missed.
        async with self._store.watch(self._key, updates_only=True) as watcher:
            while True:
                held = await self._store.try_create(self._key, self._owner, ttl=self._ttl)
                if held.ok:
                    self.revision = held.value
                    return held.value
                await self._wait_for_release(watcher, deadline)

    async def _wait_for_release(
        self, watcher: natskv.KVWatcher[bytes], deadline: float | None
    ) -> None:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise LockTimeout(f"{self._key} is held by someone else")
            try:
                entry = await watcher.next(timeout=left)
            except asyncio.TimeoutError:
                raise LockTimeout(f"{self._key} is held by someone else") from None
            if entry.operation is not natskv.KVOperation.PUT:  # released or expired
                return

    async def release(self) -> bool:
        """Give the lock up; False if it was no longer ours (the lease had expired)."""
        if self.revision is None:
            return False
        revision, self.revision = self.revision, None
        released = await self._store.try_delete(self._key, revision=revision)
        return released.ok

    async def __aenter__(self) -> Lock:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


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
    async with nats_url() as url, await natskv.connect(url) as nc:
        kv = natskv.KVContext(natskv.JetStream(nc))
        config = natskv.KVConfig("locks", limit_marker_ttl=timedelta(seconds=1))
        store = await kv.create_store(config)
        try:
            # Two workers want the same lock; one waits for the other.
            async def worker(name: str) -> None:
                async with Lock(store, "report", name, ttl=10) as lock:
                    print(f"{name}: holds the lock (revision {lock.revision})")
                    await asyncio.sleep(0.2)
                print(f"{name}: released it")

            await asyncio.gather(worker("a"), worker("b"))

            # A holder that dies without releasing: its lease ends with the TTL.
            crashed = Lock(store, "report", "c", ttl=1)
            await crashed.acquire()
            print("c: holds the lock, then stops responding")
            started = time.monotonic()
            async with Lock(store, "report", "d") as lock:
                waited = time.monotonic() - started
                print(f"d: holds the lock after {waited:.1f} s (revision {lock.revision})")
            print(f"c: release after its lease ended: {await crashed.release()}")
        finally:
            await kv.delete_store("locks")


if __name__ == "__main__":
    asyncio.run(main())
