"""``examples/bulk_load.py``: a pipelined load, read back in batches and as it was."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from tests.examples.helpers import load, run_example

import natskv

bulk = load("bulk_load")


async def test_the_example_loads_and_reads_back_at_one_point_in_time(
    nats_url: str, kv: natskv.KVContext, bucket_gone: Callable[[str], Awaitable[None]]
) -> None:
    await bucket_gone("prices")
    lines = (await run_example("bulk_load", "3000", nats_url=nats_url)).splitlines()
    assert re.fullmatch(r"loaded 3000 prices in \d+\.\d\d s \(last revision 3000\)", lines[0])
    m = re.fullmatch(r"read 3000 prices by key in \d+\.\d\d s, (\d+) requests", lines[1])
    assert m and int(m[1]) <= 4  # 1024 keys per request (and one API info request)
    assert lines[2] == "by filter: 300 in category c3, 3000 in all"
    assert lines[3] == "now: [('price.c0.sku-0', 200)]"
    assert lines[4] == "as loaded: [('price.c0.sku-0', 100), ('price.c1.sku-1', 137)]"
    assert len(lines) == 5
    assert "prices" not in [name async for name in kv.store_names()]


async def test_every_row_is_stored_and_read_back(kv_store: natskv.KVStore) -> None:
    rows = bulk.price_list(2500)
    assert await bulk.load(kv_store, rows) == 2500
    by_key = await kv_store.get_many([key for key, _ in rows], int)
    assert {key: entry.value for key, entry in by_key.items()} == dict(rows)
    assert [entry.revision for entry in by_key.values()] == list(range(1, 2501))
    assert len(await kv_store.get_many("price.c9.*", int)) == 250
