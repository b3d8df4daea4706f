"""The operations: one coroutine per (operation, client library), same workload for both.

The raw asyncio loop (``RAW``, benchmarks/_raw.py) runs sequential put / get, 256
concurrent put / get, pipelined put, list keys and watch initial values too, on buckets
created by natskv, with the same keys and values as natskv's runs: the Python floor
those numbers can be read against.

Each run creates a fresh bucket, prepares it outside the timed section, times only the
operation itself and returns its metrics (``ops_s``, ``ms``, ``mb_s``, latency
percentiles in microseconds, ...). Buckets are dropped afterwards, untimed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks._common import (
    CONCURRENCY,
    LARGE_VALUE_SIZE,
    NATSKV,
    NATSPY,
    PIPELINE_WINDOW,
    RAW,
    RAW_MAX_PENDING,
    latency_metrics,
)
from benchmarks._context import Context, make_keys

Metrics = dict[str, Any]
Runner = Callable[[Context], Awaitable[Metrics]]

perf = time.perf_counter


class BenchmarkError(Exception):
    """A run produced a wrong result (so its timing means nothing)."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchmarkError(message)


async def drive(
    n: int,
    workers: int,
    method: Callable[..., Awaitable[Any]],
    keys: list[str],
    value: bytes | None = None,
) -> tuple[float, list[float]]:
    """Run ``n`` calls of ``method(key[, value])`` over ``workers`` coroutines.

    Each worker takes the next index until ``n`` calls were started; returns the elapsed
    seconds, every call's latency and the process's CPU seconds over the run (the client's
    own cost: the server is another process). Identical for every client library.
    """
    latencies: list[float] = []
    record = latencies.append
    nkeys = len(keys)
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < n:
            key = keys[next_index % nkeys]
            next_index += 1
            t = perf()
            if value is None:
                await method(key)
            else:
                await method(key, value)
            record(perf() - t)

    cpu = time.process_time()
    start = perf()
    if workers == 1:
        await worker()
    else:
        await asyncio.gather(*(worker() for _ in range(workers)))
    return perf() - start, latencies, time.process_time() - cpu


class Timed:
    """Wall and client CPU seconds of a ``with`` block (``process_time``: every thread of
    this process, nothing of the server's)."""

    __slots__ = ("_cpu", "_start", "cpu", "elapsed")

    def __enter__(self) -> Timed:
        self._cpu = time.process_time()
        self._start = perf()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.elapsed = perf() - self._start
        self.cpu = time.process_time() - self._cpu

    def per(self, n: int) -> float:
        """Client CPU microseconds per one of ``n`` (operations, keys, entries)."""
        return self.cpu / n * 1e6


def _throughput(n: int, elapsed: float, latencies: list[float], cpu: float) -> Metrics:
    return {
        "ops_s": n / elapsed,
        "n": n,
        "cpu_us": cpu / n * 1e6,
        **latency_metrics("op", latencies),
    }


# ---------------------------------------------------------------------------- 1. sequential put


async def natskv_seq_put(ctx: Context) -> Metrics:
    n = ctx.sizes.seq
    store = await ctx.natskv_store("seqput")
    try:
        elapsed, lat, cpu = await drive(n, 1, store.put, make_keys(n), ctx.value)
        _check((await store.status()).values == n, "not every put was stored")
        return _throughput(n, elapsed, lat, cpu)
    finally:
        await ctx.drop(store.bucket)


async def natspy_seq_put(ctx: Context) -> Metrics:
    n = ctx.sizes.seq
    bucket, kv = await ctx.natspy_kv("seqput")
    try:
        elapsed, lat, cpu = await drive(n, 1, kv.put, make_keys(n), ctx.value)
        _check((await kv.status()).values == n, "not every put was stored")
        return _throughput(n, elapsed, lat, cpu)
    finally:
        await ctx.drop(bucket)


async def _raw_puts(ctx: Context, op: str, n: int, workers: int) -> Metrics:
    store = await ctx.natskv_store(op, client=RAW)
    try:
        bucket = ctx.raw_bucket(store.bucket)
        elapsed, lat, cpu = await drive(n, workers, bucket.put, make_keys(n), ctx.value)
        _check((await store.status()).values == n, "not every put was stored")
        return _throughput(n, elapsed, lat, cpu)
    finally:
        await ctx.drop(store.bucket)


async def raw_seq_put(ctx: Context) -> Metrics:
    return await _raw_puts(ctx, "seqput", ctx.sizes.seq, 1)


# ---------------------------------------------------------------------------- 2. sequential get


async def _natskv_get(ctx: Context, op: str, n: int, workers: int, nkeys: int) -> Metrics:
    store = await ctx.natskv_store(op)
    keys = make_keys(nkeys)
    try:
        await ctx.populate(store.bucket, keys)
        _check(await store.get(keys[-1]) == ctx.value, "wrong value")
        # get_entry, as nats-py's kv.get: the value with its revision and metadata
        elapsed, lat, cpu = await drive(n, workers, store.get_entry, keys)
        return _throughput(n, elapsed, lat, cpu)
    finally:
        await ctx.drop(store.bucket)


async def _natspy_get(ctx: Context, op: str, n: int, workers: int, nkeys: int) -> Metrics:
    bucket, kv = await ctx.natspy_kv(op)
    keys = make_keys(nkeys)
    try:
        await ctx.populate(bucket, keys)
        _check((await kv.get(keys[-1])).value == ctx.value, "wrong value")
        elapsed, lat, cpu = await drive(n, workers, kv.get, keys)
        return _throughput(n, elapsed, lat, cpu)
    finally:
        await ctx.drop(bucket)


async def _raw_get(ctx: Context, op: str, n: int, workers: int, nkeys: int) -> Metrics:
    store = await ctx.natskv_store(op, client=RAW)
    keys = make_keys(nkeys)
    try:
        await ctx.populate(store.bucket, keys)
        bucket = ctx.raw_bucket(store.bucket)
        _check(await bucket.get(keys[-1]) == ctx.value, "wrong value")
        elapsed, lat, cpu = await drive(n, workers, bucket.get, keys)
        return _throughput(n, elapsed, lat, cpu)
    finally:
        await ctx.drop(store.bucket)


async def natskv_seq_get(ctx: Context) -> Metrics:
    return await _natskv_get(ctx, "seqget", ctx.sizes.seq, 1, ctx.sizes.seq)


async def natspy_seq_get(ctx: Context) -> Metrics:
    return await _natspy_get(ctx, "seqget", ctx.sizes.seq, 1, ctx.sizes.seq)


async def raw_seq_get(ctx: Context) -> Metrics:
    return await _raw_get(ctx, "seqget", ctx.sizes.seq, 1, ctx.sizes.seq)


# ---------------------------------------------------------------------------- 3. pipelined put


async def natskv_pipelined_put(ctx: Context) -> Metrics:
    n = ctx.sizes.pipelined
    store = await ctx.natskv_store("pipe")
    items = [(k, ctx.value) for k in make_keys(n)]
    try:
        with Timed() as t:
            revisions = await store.put_many(items, window=PIPELINE_WINDOW)
        _check(len(revisions) == n and revisions[-1] == n, "put_many lost writes")
        return {"ops_s": n / t.elapsed, "n": n, "cpu_us": t.per(n)}
    finally:
        await ctx.drop(store.bucket)


async def natspy_pipelined_put(ctx: Context) -> Metrics:
    n = ctx.sizes.pipelined
    bucket, _kv = await ctx.natspy_kv("pipe")
    keys = make_keys(n)
    js = ctx.js
    prefix = f"$KV.{bucket}."
    value = ctx.value
    try:
        with Timed() as t:
            # publish_async waits on its semaphore once 4,000 acks are outstanding
            futures = [await js.publish_async(prefix + k, value) for k in keys]
            acks = await asyncio.gather(*futures)
        _check(len(acks) == n and max(a.seq for a in acks) == n, "publish_async lost writes")
        return {"ops_s": n / t.elapsed, "n": n, "cpu_us": t.per(n)}
    finally:
        await ctx.drop(bucket)


async def raw_pipelined_put(ctx: Context) -> Metrics:
    n = ctx.sizes.pipelined
    store = await ctx.natskv_store("pipe", client=RAW)
    keys = make_keys(n)
    try:
        bucket = ctx.raw_bucket(store.bucket)
        with Timed() as t:
            acked = await bucket.put_pipelined(keys, ctx.value, RAW_MAX_PENDING)
        _check(acked == n, "lost acks")
        _check((await store.status()).values == n, "not every put was stored")
        return {"ops_s": n / t.elapsed, "n": n, "cpu_us": t.per(n)}
    finally:
        await ctx.drop(store.bucket)


# ---------------------------------------------------------------------------- 4/5. 256 concurrent


async def natskv_concurrent_put(ctx: Context) -> Metrics:
    n = ctx.sizes.concurrent
    store = await ctx.natskv_store("cput")
    try:
        elapsed, lat, cpu = await drive(n, CONCURRENCY, store.put, make_keys(n), ctx.value)
        _check((await store.status()).values == n, "not every put was stored")
        return _throughput(n, elapsed, lat, cpu)
    finally:
        await ctx.drop(store.bucket)


async def natspy_concurrent_put(ctx: Context) -> Metrics:
    n = ctx.sizes.concurrent
    bucket, kv = await ctx.natspy_kv("cput")
    try:
        elapsed, lat, cpu = await drive(n, CONCURRENCY, kv.put, make_keys(n), ctx.value)
        _check((await kv.status()).values == n, "not every put was stored")
        return _throughput(n, elapsed, lat, cpu)
    finally:
        await ctx.drop(bucket)


async def raw_concurrent_put(ctx: Context) -> Metrics:
    return await _raw_puts(ctx, "cput", ctx.sizes.concurrent, CONCURRENCY)


_CONCURRENT_GET_KEYS = 1000


async def natskv_concurrent_get(ctx: Context) -> Metrics:
    return await _natskv_get(
        ctx, "cget", ctx.sizes.concurrent, CONCURRENCY, min(_CONCURRENT_GET_KEYS, ctx.sizes.seq)
    )


async def natspy_concurrent_get(ctx: Context) -> Metrics:
    return await _natspy_get(
        ctx, "cget", ctx.sizes.concurrent, CONCURRENCY, min(_CONCURRENT_GET_KEYS, ctx.sizes.seq)
    )


async def raw_concurrent_get(ctx: Context) -> Metrics:
    return await _raw_get(
        ctx, "cget", ctx.sizes.concurrent, CONCURRENCY, min(_CONCURRENT_GET_KEYS, ctx.sizes.seq)
    )


# ---------------------------------------------------------------------------- 6. list keys


async def natskv_keys(ctx: Context) -> Metrics:
    n = ctx.sizes.listing
    store = await ctx.natskv_store("keys")
    try:
        await ctx.populate(store.bucket, make_keys(n))
        with Timed() as t:
            keys = await store.list_keys()  # a list, as nats-py's keys() returns
        _check(len(keys) == n, f"list_keys() returned {len(keys)} keys, expected {n}")
        return {"ms": t.elapsed * 1e3, "n": n, "cpu_us": t.per(n)}
    finally:
        await ctx.drop(store.bucket)


async def _raw_scan(ctx: Context, name: str, watch: bool) -> Metrics:
    n = ctx.sizes.listing
    store = await ctx.natskv_store(name, client=RAW)
    try:
        await ctx.populate(store.bucket, make_keys(n))
        bucket = ctx.raw_bucket(store.bucket)
        with Timed() as t:
            got = await (bucket.watch_initial() if watch else bucket.list_keys())
        _check(len(got) == n, f"the raw scan ({name}) gave {len(got)} results, expected {n}")
        return {"ms": t.elapsed * 1e3, "n": n, "cpu_us": t.per(n)}
    finally:
        await ctx.drop(store.bucket)


async def raw_keys(ctx: Context) -> Metrics:
    return await _raw_scan(ctx, "keys", watch=False)


async def natspy_keys(ctx: Context) -> Metrics:
    n = ctx.sizes.listing
    bucket, kv = await ctx.natspy_kv("keys")
    try:
        await ctx.populate(bucket, make_keys(n))
        with Timed() as t:
            keys = await kv.keys()
        _check(len(keys) == n, f"keys() returned {len(keys)} keys, expected {n}")
        return {"ms": t.elapsed * 1e3, "n": n, "cpu_us": t.per(n)}
    finally:
        await ctx.drop(bucket)


# ---------------------------------------------------------------------------- 7. watch initial


async def natskv_watch_initial(ctx: Context) -> Metrics:
    n = ctx.sizes.listing
    store = await ctx.natskv_store("winit")
    try:
        await ctx.populate(store.bucket, make_keys(n))
        count = 0
        with Timed() as t:
            watcher = store.watch()
            async for _entry in watcher:
                count += 1
                if watcher.caught_up:
                    break
        await watcher.stop()
        _check(count == n, f"watcher delivered {count} initial values, expected {n}")
        return {"ms": t.elapsed * 1e3, "n": n, "cpu_us": t.per(n)}
    finally:
        await ctx.drop(store.bucket)


async def raw_watch_initial(ctx: Context) -> Metrics:
    return await _raw_scan(ctx, "winit", watch=True)


async def natspy_watch_initial(ctx: Context) -> Metrics:
    n = ctx.sizes.listing
    bucket, kv = await ctx.natspy_kv("winit")
    try:
        await ctx.populate(bucket, make_keys(n))
        count = 0
        with Timed() as t:
            watcher = await kv.watchall()
            async for entry in watcher:
                if entry is None:  # the end-of-initial-values marker
                    break
                count += 1
        await watcher.stop()  # type: ignore[no-untyped-call]
        _check(count == n, f"watcher delivered {count} initial values, expected {n}")
        return {"ms": t.elapsed * 1e3, "n": n, "cpu_us": t.per(n)}
    finally:
        await ctx.drop(bucket)


# ---------------------------------------------------------------------------- 8. get_many


def get_many_skip_reason(ctx: Context) -> str | None:
    import natskv

    if not hasattr(natskv.KVStore, "get_many"):
        return "natskv.KVStore has no get_many yet"
    return None


def _round_trip_counter(store: Any) -> int | None:
    """A round-trip counter, if the store or its connection exposes one."""
    for owner in (store, getattr(store, "_nc", None)):
        for name in ("round_trips", "round_trip_count", "requests_sent"):
            value = getattr(owner, name, None)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


async def _consume(result: Any) -> int:
    """Count what ``get_many`` returned, whatever its shape (awaitable, async iterator, ...)."""
    if hasattr(result, "__aiter__"):
        count = 0
        async for _ in result:
            count += 1
        return count
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        return await _consume(await result)
    return len(result)


async def natskv_get_many(ctx: Context) -> Metrics:
    n = ctx.sizes.get_many
    store = await ctx.natskv_store("gmany")
    keys = make_keys(n)
    try:
        await ctx.populate(store.bucket, keys)
        rt0 = _round_trip_counter(store)
        msgs0 = await ctx.server_in_msgs()
        with Timed() as t:
            count = await _consume(store.get_many(keys))
        msgs1 = await ctx.server_in_msgs()
        rt1 = _round_trip_counter(store)
        _check(count == n, f"get_many returned {count} results, expected {n}")
        metrics: Metrics = {"ms": t.elapsed * 1e3, "n": n, "cpu_us": t.per(n)}
        if msgs0 is not None and msgs1 is not None:
            metrics["server_in_msgs"] = msgs1 - msgs0
        if rt0 is not None and rt1 is not None:
            metrics["round_trips"] = rt1 - rt0
        return metrics
    finally:
        await ctx.drop(store.bucket)


async def natspy_get_many(ctx: Context) -> Metrics:
    """nats-py has no multi-get: the idiomatic equivalent is one ``kv.get`` per key."""
    n = ctx.sizes.get_many
    bucket, kv = await ctx.natspy_kv("gmany")
    keys = make_keys(n)
    try:
        await ctx.populate(bucket, keys)
        msgs0 = await ctx.server_in_msgs()
        with Timed() as t:
            entries = [await kv.get(k) for k in keys]
        msgs1 = await ctx.server_in_msgs()
        _check(len(entries) == n, "missing entries")
        metrics: Metrics = {"ms": t.elapsed * 1e3, "n": n, "cpu_us": t.per(n)}
        if msgs0 is not None and msgs1 is not None:
            metrics["server_in_msgs"] = msgs1 - msgs0
        return metrics
    finally:
        await ctx.drop(bucket)


# ---------------------------------------------------------------------------- 9. watch live


async def natskv_watch_live(ctx: Context) -> Metrics:
    n = ctx.sizes.watch_live
    store = await ctx.natskv_store("wlive")
    items = [(k, ctx.value) for k in make_keys(n)]
    try:
        watcher = store.watch()
        await watcher.start()
        _check(watcher.caught_up, "empty bucket not caught up")

        async def reader() -> float:
            count = 0
            async for _entry in watcher:
                count += 1
                if count >= n:
                    break
            return perf()

        task = asyncio.ensure_future(reader())
        cpu = time.process_time()
        start = perf()
        await store.put_many(items, window=PIPELINE_WINDOW)
        writer_done = perf()
        last = await task
        cpu = time.process_time() - cpu
        await watcher.stop()
        return {
            "entries_s": n / (last - start),
            "writer_ops_s": n / (writer_done - start),
            "n": n,
            "cpu_us": cpu / n * 1e6,
        }
    finally:
        await ctx.drop(store.bucket)


async def natspy_watch_live(ctx: Context) -> Metrics:
    n = ctx.sizes.watch_live
    bucket, kv = await ctx.natspy_kv("wlive")
    keys = make_keys(n)
    js = ctx.js
    prefix = f"$KV.{bucket}."
    value = ctx.value
    try:
        watcher = await kv.watchall()
        marker = await watcher.updates(timeout=5.0)  # type: ignore[no-untyped-call]
        _check(marker is None, "expected the end-of-initial-values marker on an empty bucket")

        async def reader() -> float:
            count = 0
            async for entry in watcher:
                if entry is None:
                    continue
                count += 1
                if count >= n:
                    break
            return perf()

        task = asyncio.ensure_future(reader())
        cpu = time.process_time()
        start = perf()
        futures = [await js.publish_async(prefix + k, value) for k in keys]
        await asyncio.gather(*futures)
        writer_done = perf()
        last = await task
        cpu = time.process_time() - cpu
        await watcher.stop()  # type: ignore[no-untyped-call]
        return {
            "entries_s": n / (last - start),
            "writer_ops_s": n / (writer_done - start),
            "n": n,
            "cpu_us": cpu / n * 1e6,
        }
    finally:
        await ctx.drop(bucket)


# ---------------------------------------------------------------------------- 11. 1 MiB values

_MB = 1e6


def _large_metrics(
    n: int,
    put: tuple[float, list[float], float],
    get: tuple[float, list[float], float],
) -> Metrics:
    size = n * LARGE_VALUE_SIZE
    (put_s, put_lat, put_cpu), (get_s, get_lat, get_cpu) = put, get
    return {
        "put_mb_s": size / put_s / _MB,
        "get_mb_s": size / get_s / _MB,
        # client CPU milliseconds per MB moved (10^6 bytes)
        "put_cpu_ms_mb": put_cpu / (size / _MB) * 1e3,
        "get_cpu_ms_mb": get_cpu / (size / _MB) * 1e3,
        "n": n,
        **latency_metrics("put", put_lat),
        **latency_metrics("get", get_lat),
    }


async def natskv_large(ctx: Context) -> Metrics:
    n = ctx.sizes.large
    store = await ctx.natskv_store("large")
    keys = make_keys(n)
    try:
        put = await drive(n, 1, store.put, keys, ctx.large_value)
        get = await drive(n, 1, store.get_entry, keys)
        _check(await store.get(keys[-1]) == ctx.large_value, "wrong 1 MiB value")
        return _large_metrics(n, put, get)
    finally:
        await ctx.drop(store.bucket)


async def natspy_large(ctx: Context) -> Metrics:
    n = ctx.sizes.large
    bucket, kv = await ctx.natspy_kv("large")
    keys = make_keys(n)
    try:
        put = await drive(n, 1, kv.put, keys, ctx.large_value)
        get = await drive(n, 1, kv.get, keys)
        _check((await kv.get(keys[-1])).value == ctx.large_value, "wrong 1 MiB value")
        return _large_metrics(n, put, get)
    finally:
        await ctx.drop(bucket)


# ---------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Op:
    """One operation, run by each client of ``runners`` in alternating rounds."""

    id: str
    title: str
    runners: dict[str, Runner]
    skip_reason: Callable[[Context], str | None] = field(default=lambda ctx: None)


async def _sync_runner(ctx: Context) -> Metrics:
    from benchmarks._sync import natskv_sync  # imports this module

    return await natskv_sync(ctx)


OPS: list[Op] = [
    Op(
        "seq_put",
        "sequential put",
        {NATSKV: natskv_seq_put, NATSPY: natspy_seq_put, RAW: raw_seq_put},
    ),
    Op(
        "seq_get",
        "sequential get",
        {NATSKV: natskv_seq_get, NATSPY: natspy_seq_get, RAW: raw_seq_get},
    ),
    Op(
        "pipelined_put",
        "pipelined put",
        {NATSKV: natskv_pipelined_put, NATSPY: natspy_pipelined_put, RAW: raw_pipelined_put},
    ),
    Op(
        "concurrent_put",
        "256 concurrent put",
        {NATSKV: natskv_concurrent_put, NATSPY: natspy_concurrent_put, RAW: raw_concurrent_put},
    ),
    Op(
        "concurrent_get",
        "256 concurrent get",
        {NATSKV: natskv_concurrent_get, NATSPY: natspy_concurrent_get, RAW: raw_concurrent_get},
    ),
    Op("keys", "list keys", {NATSKV: natskv_keys, NATSPY: natspy_keys, RAW: raw_keys}),
    Op(
        "watch_initial",
        "watch initial values",
        {NATSKV: natskv_watch_initial, NATSPY: natspy_watch_initial, RAW: raw_watch_initial},
    ),
    Op(
        "get_many",
        "get_many",
        {NATSKV: natskv_get_many, NATSPY: natspy_get_many},
        skip_reason=get_many_skip_reason,
    ),
    Op("watch_live", "watch live updates", {NATSKV: natskv_watch_live, NATSPY: natspy_watch_live}),
    Op("large_values", "1 MiB values", {NATSKV: natskv_large, NATSPY: natspy_large}),
    Op("sync", "natskv.sync", {NATSKV: _sync_runner}),
]

# keys() of a big bucket runs once per suite in child processes (see _keys_big.py)
KEYS_BIG = "keys_big"
ALL_OP_IDS = [op.id for op in OPS[:-1]] + [KEYS_BIG, OPS[-1].id]
