"""The chaos audit counts what it claims to count: tampered buckets are caught."""

from __future__ import annotations

import asyncio
import time

from tests.chaos.linearizability import Op
from tests.chaos.workload import BUCKET_HISTORY, Summary, Workload

import natskv


async def test_the_audit_of_an_undisturbed_run_is_clean(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(natskv.KVConfig(bucket=bucket_name, history=BUCKET_HISTORY))
    try:
        work = Workload(store, Summary("no faults"), op_timeout=5.0)
        await work.start()
        await asyncio.sleep(0.5)
        await work.stop()
        summary = await work.audit(report=False)
    finally:
        await kv.delete_store(bucket_name)
    assert summary.acknowledged > 0
    assert summary.present == summary.acknowledged
    assert summary.histories > 0
    assert summary.clean, summary.details


async def test_the_audit_counts_lost_duplicated_missed_and_non_linearizable(
    nc: natskv.Connection, kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(natskv.KVConfig(bucket=bucket_name, history=BUCKET_HISTORY))
    try:
        work = Workload(store, Summary("tampered"), op_timeout=5.0)
        await work.start()
        await asyncio.sleep(0.5)
        await work.stop()
        # lost: an acknowledged value purged behind the workload's back
        await store.purge("p.0.0")
        # duplicated: an acknowledged value stored a second time
        entry = await store.get_entry("p.1.0")
        await nc.request(f"$KV.{bucket_name}.p.1.0", entry.value, timeout=5)
        # a watch gap: a delivery the live watcher never made
        work._seen.remove(entry.revision)
        # not linearizable: a read, after everything, of a value never written
        history = work.histories[0]
        end = time.monotonic()
        history.ops.append(Op("read", end, end, value=b"never", ok=True, revision=1 << 40))
        summary = await work.audit(report=False)
    finally:
        await kv.delete_store(bucket_name)
    assert summary.lost == 1
    assert summary.duplicated == 1
    assert summary.watch_gaps == 1
    assert summary.violations == 1
    assert not summary.clean
