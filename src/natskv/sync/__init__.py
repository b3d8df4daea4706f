"""The synchronous natskv API: the async API's names, arguments, types and errors, for code
that does not run an event loop (scripts, Django and Flask apps, Celery tasks, thread pools,
notebooks).

::

    import natskv.sync

    with natskv.sync.connect(url) as nc:
        kv = natskv.sync.KVContext(natskv.sync.JetStream(nc))
        store = kv.create_store("shop_orders")
        store.put("order-1", b"...")
        for entry in store.watch():
            ...

Each sync connection runs its async twin on a private event-loop thread; any number of
threads may share one connection. The classes are generated from the async source by
``tools/gen_sync.py`` (CI checks that they are up to date). Errors, entries, configs and
codecs are the async API's own (``natskv.KeyNotFoundError``, ``natskv.KVEntry``, ...).
"""

from natskv.sync._api import (
    Connection,
    JetStream,
    KVContext,
    KVScan,
    KVStore,
    KVWatcher,
    Subscription,
    connect,
)
from natskv.sync._portal import SyncIterator

__all__ = [
    "Connection",
    "JetStream",
    "KVContext",
    "KVScan",
    "KVStore",
    "KVWatcher",
    "Subscription",
    "SyncIterator",
    "connect",
]
