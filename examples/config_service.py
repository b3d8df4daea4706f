"""A configuration service with live reload: settings in a bucket, kept current by a watcher.

Every key under ``<service>.`` is one setting, stored as JSON (``ConfigService.set``
writes it so; a plain ``str`` would be stored as UTF-8 text). The service reads them all
once (the watcher's initial values), then applies each change as it happens, so
``config.get(...)`` is a dictionary lookup with no round trip, and callbacks registered
with ``on_change`` run when a setting changes. A deleted key falls back to its default;
a value that is not JSON is reported and ignored, so one bad write cannot stop reloads.

Runs on an embedded nats-server unless ``NATS_URL`` names a server:
``python examples/config_service.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

import natskv
from natskv.kv import JsonCodec

Listener = Callable[[str, Any], None]


class ConfigService:
    """The settings of one service (the keys ``<service>.*`` of ``store``), kept current."""

    def __init__(self, store: natskv.KVStore, service: str, defaults: dict[str, Any]) -> None:
        self._store = store.with_codecs(JsonCodec())  # every value as JSON, str included
        self._prefix = f"{service}."
        self._defaults = dict(defaults)
        self._values = dict(defaults)
        self._listeners: list[Listener] = []
        self._watcher: natskv.KVWatcher[bytes] | None = None
        self._task: asyncio.Task[None] | None = None
        self.revision = 0
        """The revision of the last change applied (0 before any)."""
        self._applied = asyncio.Condition()

    async def start(self) -> None:
        """Load the current settings, then follow changes in the background."""
        self._watcher = self._store.watch(f"{self._prefix}>")  # raw bytes: decoded in _apply
        for entry in await self._watcher.initial_values():
            self._apply(entry, notify=False)
        self._task = asyncio.create_task(self._follow(self._watcher))

    async def stop(self) -> None:
        if self._watcher is not None:
            await self._watcher.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> ConfigService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def set(self, name: str, value: Any) -> int:
        """Store a setting (for every instance of the service); returns its revision."""
        return await self._store.put(self._prefix + name, value)

    def get(self, name: str) -> Any:
        """The current value of a setting (its default if the bucket has none)."""
        return self._values[name]

    def snapshot(self) -> dict[str, Any]:
        return dict(self._values)

    def on_change(self, listener: Listener) -> None:
        """Call ``listener(name, value)`` after each change."""
        self._listeners.append(listener)

    async def wait_for(self, revision: int, timeout: float = 10.0) -> None:
        """Wait until the change at ``revision`` (say, from a put of ours) is applied."""
        async with self._applied:
            await asyncio.wait_for(
                self._applied.wait_for(lambda: self.revision >= revision), timeout
            )

    async def _follow(self, watcher: natskv.KVWatcher[bytes]) -> None:
        async for entry in watcher:
            self._apply(entry, notify=True)
            async with self._applied:
                self._applied.notify_all()

    def _apply(self, entry: natskv.KVEntry[bytes], *, notify: bool) -> None:
        name = entry.key[len(self._prefix) :]
        self.revision = entry.revision
        if entry.operation is natskv.KVOperation.PUT:
            try:
                value = msgspec.json.decode(entry.raw)
            except msgspec.DecodeError:
                print(f"config: ignoring {entry.key}: not JSON: {entry.raw!r}", file=sys.stderr)
                return
            self._values[name] = value
        elif name in self._defaults:  # deleted or purged: back to the default
            value = self._values[name] = self._defaults[name]
        else:  # deleted, no default: gone (listeners get None)
            self._values.pop(name, None)
            value = None
        if notify:
            for listener in self._listeners:
                listener(name, value)


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
        store = await kv.create_store(natskv.KVConfig("config", history=5))
        try:
            await store.put("checkout.max_items", b"50")  # JSON, from any client
            defaults = {"max_items": 20, "currency": "EUR", "maintenance": False}
            async with ConfigService(store, "checkout", defaults) as config:
                print("loaded:", config.snapshot())
                config.on_change(lambda name, value: print(f"changed: {name} = {value!r}"))

                # an operator changes settings (here the same process; usually another one)
                await config.set("maintenance", True)
                await config.wait_for(await config.set("currency", "USD"))
                await config.wait_for(await store.delete("checkout.max_items"))
                print("now:", config.snapshot())
        finally:
            await kv.delete_store("config")


if __name__ == "__main__":
    asyncio.run(main())
