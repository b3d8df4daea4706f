"""natskv's sync API (``natskv.sync``) against the same server: sequential put and get from
one thread, then gets from 16 threads sharing one connection.

Client CPU is ``time.process_time()`` around each timed section: every thread of the
process (the caller, the connection's loop thread, the idle benchmark loop), and nothing of
the server's. Issue #10's targets read these against the async rows of the same run: a
sync get at most 1.3x the CPU of an async get; 16 threads at least 5x one thread's
throughput (``results/sync-threads.md``: where the time goes with 16 threads, and why
5x is out of reach on 2 cores shared with the server).
"""

from __future__ import annotations

import asyncio
import threading
import time

import natskv.sync
from benchmarks._common import latency_metrics
from benchmarks._context import Context, make_keys
from benchmarks._ops import BenchmarkError, Metrics

THREADS = 16

perf = time.perf_counter


def _timed(fn: object, keys: list[str], *args: bytes) -> tuple[float, float, list[float]]:
    latencies: list[float] = []
    record = latencies.append
    call = fn  # a bound method of the sync store
    cpu = time.process_time()
    start = perf()
    for key in keys:
        t = perf()
        call(key, *args)  # type: ignore[operator]
        record(perf() - t)
    return perf() - start, time.process_time() - cpu, latencies


def _measure(url: str, bucket: str, keys: list[str], value: bytes) -> Metrics:
    n = len(keys)
    with natskv.sync.connect(url, name="bench-natskv-sync") as nc:
        store = natskv.sync.KVContext(natskv.sync.JetStream(nc)).get_store(bucket)
        store.put(keys[0], value)  # warm: the reply inbox exists
        store.get(keys[0])
        put_s, put_cpu, put_lat = _timed(store.put, keys, value)
        if store.status().values != n:
            raise BenchmarkError("not every sync put was stored")
        get_s, get_cpu, get_lat = _timed(store.get, keys)
        if store.get(keys[-1]) != value:
            raise BenchmarkError("wrong value")

        total = 4 * n
        per_thread = total // THREADS
        errors: list[BaseException] = []
        barrier = threading.Barrier(THREADS + 1)

        def worker(t: int) -> None:
            try:
                barrier.wait()
                for i in range(per_thread):
                    store.get(keys[(t * per_thread + i) % n])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        cpu = time.process_time()
        barrier.wait()
        start = perf()
        for th in threads:
            th.join()
        threads_s = perf() - start
        threads_cpu = time.process_time() - cpu
        if errors:
            raise BenchmarkError(f"a thread failed: {errors[0]!r}")
    done = per_thread * THREADS
    return {
        "put_ops_s": n / put_s,
        "put_cpu_us": put_cpu / n * 1e6,
        **latency_metrics("put", put_lat),
        "get_ops_s": n / get_s,
        "get_cpu_us": get_cpu / n * 1e6,
        **latency_metrics("get", get_lat),
        "threads_ops_s": done / threads_s,
        "threads_cpu_us": threads_cpu / done * 1e6,
        "threads_x": (done / threads_s) / (n / get_s),
    }


async def natskv_sync(ctx: Context) -> Metrics:
    n = ctx.sizes.seq
    store = await ctx.natskv_store("sync")
    try:
        return await asyncio.to_thread(_measure, ctx.url, store.bucket, make_keys(n), ctx.value)
    finally:
        await ctx.drop(store.bucket)
