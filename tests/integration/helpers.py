"""Helpers shared by integration test files: bounded polling, a record of the requests sent,
proof that nothing was sent, what a watcher delivers, and plain JetStream streams."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import natskv
from natskv import KVEntry, KVOperation, KVStore, KVWatcher, Msg
from natskv.jetstream import PubAck


@dataclass
class Sent:
    subject: str
    payload: bytes
    headers: dict[str, str] | None


@dataclass
class RequestSpy:
    """Every request the connection sends, in order (the ``spy`` fixture fills it)."""

    sent: list[Sent] = field(default_factory=list)

    def subjects(self) -> list[str]:
        return [s.subject for s in self.sent]

    def clear(self) -> None:
        self.sent.clear()


async def until(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` (for up to 15 s) until it holds; fail the test with ``what`` if never."""
    for _ in range(300):
        if check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"never happened: {what}")


class Silence:
    """Proves that nothing was sent: no message counted, none seen on ``$KV.<bucket>.>``."""

    def __init__(self, nc: natskv.Connection, store: KVStore) -> None:
        self.nc = nc
        self.store = store
        self.seen: list[Msg] = []
        self.sub: natskv.Subscription | None = None
        self.before = 0

    async def __aenter__(self) -> Silence:
        self.sub = await self.nc.subscribe(f"$KV.{self.store.bucket}.>", cb=self.seen.append)
        await self.nc.flush()
        self.before = self.nc.msgs_out
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.nc.msgs_out == self.before, "a message was sent"
        # a round trip: anything published before it would have come back by now
        await self.nc.flush()
        assert self.sub is not None
        await self.sub.unsubscribe()
        assert self.seen == [], f"the bucket received {self.seen!r}"


async def take(w: KVWatcher[Any], n: int, timeout: float = 10.0) -> list[KVEntry[Any]]:
    """The next ``n`` entries of a watcher."""
    return [await w.next(timeout=timeout) for _ in range(n)]


def summary(entries: list[KVEntry[Any]]) -> list[tuple[str, KVOperation, Any]]:
    """(key, operation, value) of each entry."""
    return [(e.key, e.operation, e.value) for e in entries]


async def nothing_more(w: KVWatcher[Any]) -> None:
    """The watcher delivers nothing more (within 0.3 s)."""
    with pytest.raises(natskv.TimeoutError):
        await w.next(timeout=0.3)


def js_name(prefix: str = "S") -> str:
    """A stream name unique to the test (the shared server outlives every test)."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def js_config(name: str, **extra: Any) -> dict[str, Any]:
    """A memory stream listening on ``<name>.>``, with Direct Get."""
    cfg: dict[str, Any] = {
        "name": name,
        "subjects": [f"{name}.>"],
        "storage": "memory",
        "allow_direct": True,
    }
    cfg.update(extra)
    return cfg


async def publish_n(js: natskv.JetStream, stream: str, subjects: list[str]) -> list[PubAck]:
    """Publish ``m0``, ``m1``, ... to ``<stream>.<subject>`` for each subject, acknowledged."""
    return [await js.publish(f"{stream}.{s}", f"m{i}".encode()) for i, s in enumerate(subjects)]
