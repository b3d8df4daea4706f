"""``examples/quickstart_sync.py`` against a server given by ``NATS_URL``: the quick start's
output, and the bucket it leaves there is an ordinary one. (``tests/sync`` runs it on its
own embedded server.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from tests.examples.helpers import run_example
from tests.test_quickstart import _check_output

import natskv


async def test_the_sync_quick_start_on_a_given_server(
    nats_url: str, kv: natskv.KVContext, bucket_gone: Callable[[str], Awaitable[None]]
) -> None:
    await bucket_gone("shop_orders")
    _check_output(await run_example("quickstart_sync", nats_url=nats_url))
    store = await kv.get_store("shop_orders")
    assert await store.list_keys() == ["order-1"]
    assert await store.get("order-1", dict) == {"id": 11}
    with pytest.raises(natskv.KeyDeletedError) as deleted:
        await store.get("order-2")
    assert deleted.value.revision == 4
