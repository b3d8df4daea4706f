"""What users' code gets back from the sync API (checked by tests/typing/test_reveal.py).

Never run: only type-checked with ``mypy --strict``. The sync API is generated from the
async one, so every line here mirrors a line of ``kv.py`` without ``await``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import natskv
import natskv.sync

if TYPE_CHECKING:
    from typing_extensions import reveal_type


@dataclass
class Order:
    id: int


def bump(order: Order | None) -> Order:
    return Order(id=order.id + 1 if order else 1)


def session(url: str) -> None:
    with natskv.sync.connect(url) as nc:
        reveal_type(nc)  # R: natskv.sync._api.Connection
        js = natskv.sync.JetStream(nc)
        kv = natskv.sync.KVContext(js)
        store = kv.create_store("orders")
        reveal_type(store)  # R: natskv.sync._api.KVStore
        reveal_type(store.get("k"))  # R: bytes
        reveal_type(store.get("k", Order))  # R: sync.Order
        reveal_type(store.get("k", Order, default=None))  # R: sync.Order | None
        reveal_type(store.get_entry("k", Order))  # R: natskv.kv._entry.KVEntry[sync.Order]
        reveal_type(store.put("k", Order(id=1)))  # R: int
        reveal_type(store.update_with("k", bump, Order))  # R: int
        many = store.get_many(["a"], Order)
        reveal_type(many)  # R: dict[str, natskv.kv._entry.KVEntry[sync.Order]]
        reveal_type(store.try_create("k", b"v").error)  # R: natskv.errors.KeyExistsError | None
        found = store.try_get_entry("k", Order)
        reveal_type(found.value)  # R: natskv.kv._entry.KVEntry[sync.Order]
        reveal_type(found.error)  # R: natskv.errors.KeyNotFoundError | None
        with store.watch(type=Order) as orders:
            reveal_type(orders)  # R: natskv.sync._api.KVWatcher[sync.Order]
            for entry in orders:
                reveal_type(entry)  # R: natskv.kv._entry.KVEntry[sync.Order]
                break
            reveal_type(orders.next(timeout=1.0))  # R: natskv.kv._entry.KVEntry[sync.Order]
        for revision in store.history("k", Order):
            reveal_type(revision)  # R: natskv.kv._entry.KVEntry[sync.Order]
        reveal_type(store.list_keys())  # R: list[str]
        for key in store.keys():
            reveal_type(key)  # R: str
        reveal_type(store.status())  # R: natskv.kv._status.KVStatus
        reveal_type(kv.store_names())  # R: typing.Iterator[str]
        store.put("k", b"v", ttl=5)  # E: Unexpected keyword argument "ttl" for "put"
        store.get("k")  # a plain call: no coroutine to forget
