"""The NATS.Net Key/Value Store quick start, with the synchronous API (``natskv.sync``).

The same steps and output as ``quickstart.py``, without ``async``: for scripts, web apps
and thread pools. Runs on an embedded nats-server unless ``NATS_URL`` names a server.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import natskv
import natskv.sync
from natskv.cli.format import BucketRow, buckets_table


@dataclass
class ShopOrder:
    id: int


@contextlib.contextmanager
def nats_url() -> Iterator[str]:
    """``NATS_URL`` when set, else an embedded server for the length of the demo."""
    url = os.environ.get("NATS_URL")
    if url:
        yield url
        return
    with natskv.EmbeddedServer() as server:
        yield server.url


def main() -> None:
    # Before we can do anything, we need a Key/Value Store context.
    with nats_url() as url, natskv.sync.connect(url) as nc:
        js = natskv.sync.JetStream(nc)
        kv = natskv.sync.KVContext(js)

        # A bucket is simply a storage for key/value pairs.
        store = kv.create_store("shop_orders")

        # Let's see its status, as `nats kv ls` (or `natskv ls`) shows it.
        rows = [
            BucketRow(
                bucket=s.bucket,
                description=s.description,
                created=s.created,
                size_bytes=s.bytes,
                values=s.values,
                last_update=s.last_update,
            )
            for s in kv.store_statuses()
        ]
        print(buckets_table(rows), end="")

        # Save a value under the key order-1 and read it back, typed.
        store.put("order-1", ShopOrder(id=1))
        entry = store.get_entry("order-1", ShopOrder)
        print(f"[GET] {entry.value}")

        # Watchers are notified when a value is added, updated or deleted; this one is
        # read by a thread of its own while the main thread writes.
        with store.watch(type=ShopOrder) as watcher:

            def watch() -> None:
                for change in watcher:
                    print(f"[RCV] {change}")
                    if change.operation is natskv.KVOperation.DEL:
                        break

            reader = threading.Thread(target=watch)
            reader.start()
            watcher.wait_caught_up()
            store.put("order-2", ShopOrder(id=2))  # added
            store.put("order-1", ShopOrder(id=11))  # updated
            store.delete("order-2")  # deleted
            reader.join(10)


if __name__ == "__main__":
    main()
