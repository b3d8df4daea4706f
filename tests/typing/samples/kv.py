"""What users' code gets back from the Key/Value API (checked by tests/typing/test_reveal.py).

Never run: only type-checked with ``mypy --strict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import natskv
from natskv import KVStore
from natskv.client import ConnectOptions

if TYPE_CHECKING:
    from typing_extensions import reveal_type


@dataclass
class Order:
    id: int


async def bump(order: Order | None) -> Order:
    return Order(id=order.id + 1 if order else 1)


def shout(text: str | None) -> str:
    return (text or "").upper()


async def reads(store: KVStore) -> None:
    reveal_type(await store.get("k"))  # R: bytes
    reveal_type(await store.get("k", Order))  # R: kv.Order
    reveal_type(await store.get("k", default=None))  # R: bytes | None
    reveal_type(await store.get("k", Order, default=None))  # R: kv.Order | None
    reveal_type(await store.get("k", str, default=""))  # R: str
    reveal_type(await store.get_entry("k"))  # R: natskv.kv._entry.KVEntry[bytes]
    reveal_type(await store.get_entry("k", Order))  # R: natskv.kv._entry.KVEntry[kv.Order]
    reveal_type((await store.get_entry("k", Order)).value)  # R: kv.Order | None
    many = await store.get_many(["a", "b"], Order)
    reveal_type(many)  # R: dict[str, natskv.kv._entry.KVEntry[kv.Order]]
    raw = await store.get_many(["a.>"])
    reveal_type(raw)  # R: dict[str, natskv.kv._entry.KVEntry[bytes]]
    by_keyword = await store.get_many("a.>", type=Order, up_to_revision=3)
    reveal_type(by_keyword)  # R: dict[str, natskv.kv._entry.KVEntry[kv.Order]]
    reveal_type(await store.get("k", type=Order))  # R: kv.Order
    await store.get("k", revision="3")  # E: No overload variant of "get" of "KVStoreReads"


async def writes(store: KVStore) -> None:
    reveal_type(await store.update_with("k", bump, Order))  # R: int
    reveal_type(await store.update_with("k", lambda old: (old or b"") + b"!"))  # R: int
    await store.update_with("k", shout, Order)  # E: Argument 2 to "update_with" of "KVStore"
    await store.put("k", b"v", ttl=5)  # E: Unexpected keyword argument "ttl" for "put"
    await store.update("k", b"v", 1, ttl=5)  # E: Unexpected keyword argument "ttl" for "update"
    await store.delete("k", ttl=5)  # E: Unexpected keyword argument "ttl" for "delete"


async def results(store: KVStore) -> None:
    found = await store.try_get_entry("k", Order)
    reveal_type(found.value)  # R: natskv.kv._entry.KVEntry[kv.Order]
    reveal_type(found.error)  # R: natskv.errors.KeyNotFoundError | None
    raw = await store.try_get_entry("k")
    reveal_type(raw.value)  # R: natskv.kv._entry.KVEntry[bytes]
    at = await store.try_get_entry("k", type=Order, revision=2)
    reveal_type(at.value)  # R: natskv.kv._entry.KVEntry[kv.Order]
    reveal_type(at.error)  # R: natskv.errors.KeyNotFoundError | None
    created = await store.try_create("k", b"v")
    reveal_type(created.value)  # R: int
    reveal_type(created.error)  # R: natskv.errors.KeyExistsError | None
    if created.error is not None:
        reveal_type(created.error.revision)  # R: int | None
    updated = await store.try_update("k", b"v", 1)
    reveal_type(updated.error)  # R: natskv.errors.WrongRevisionError | None
    deleted = await store.try_delete("k")
    reveal_type(deleted.error)  # R: natskv.errors.WrongRevisionError | None


async def connecting() -> None:
    # every option is a typed keyword: a misspelled or mistyped one must not type-check
    url = "nats://127.0.0.1:4222"
    nc = await natskv.connect(url, request_timout=1.0)  # E: "request_timout"
    reveal_type(nc.is_connected)  # R: bool
    await natskv.connect(url, conect_timeout=1)  # E: Unexpected keyword argument "conect_timeout"
    await natskv.connect(url, connect_timeout="1")  # E: Argument "connect_timeout" to "connect"
    await natskv.connect(url, max_reconnect_attempts=1.5)  # E: Argument "max_reconnect_attempts"
    options = ConnectOptions(connect_timeout=1, name="svc")
    reveal_type(options.connect_timeout)  # R: float
    ConnectOptions(conect_timeout=1)  # E: Unexpected keyword argument "conect_timeout"
    ready = await natskv.connect(url, options=options, request_timeout=2.5)
    reveal_type(ready.options)  # R: natskv.client._options.ConnectOptions
