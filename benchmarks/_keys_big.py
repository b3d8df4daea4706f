"""keys() and watch initial values of a big bucket (1,000,000 keys; 20,000 with --small):
time, client CPU per key and peak memory; the raw loop runs both for the CPU floor.

The bucket is a MEMORY-storage bucket (to spare the disk), populated once with natskv's
``put_many`` and shared read-only by both clients (the listing does not change it); the
uvloop run reuses it. Each listing runs in a child process (``benchmarks._listing``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import natskv
from benchmarks._common import ALL_CLIENTS, NATSPY, NATSPY_KEYS_1M_TIMEOUT, RAW, log
from benchmarks._context import Context, make_keys

_ROOT = Path(__file__).resolve().parent.parent
NATSKV_TIMEOUT = 900.0


def big_bucket_name(n: int) -> str:
    return f"bench_keys_big_{n}"


async def ensure_big_bucket(ctx: Context, n: int) -> tuple[str, float | None]:
    """The populated bucket and how long populating took (None when it was reused)."""
    bucket = big_bucket_name(n)
    if await ctx.bucket_values(bucket) == n:
        return bucket, None
    await ctx.drop(bucket)
    await ctx.kvc.create_store(natskv.KVConfig(bucket, history=1, storage="memory"))
    log(f"[{ctx.loop}] keys_big: populating {n:,} keys (memory storage) ...")
    start = time.perf_counter()
    chunk = 100_000
    for first in range(0, n, chunk):
        keys = [f"k{i:07d}" for i in range(first, min(n, first + chunk))]
        await ctx.populate(bucket, keys)
    elapsed = time.perf_counter() - start
    values = await ctx.bucket_values(bucket)
    if values != n:
        raise RuntimeError(f"populating {bucket} stored {values} keys, expected {n}")
    log(f"[{ctx.loop}] keys_big: populated in {elapsed:.1f}s ({n / elapsed:,.0f} puts/s)")
    return bucket, elapsed


def _child(
    ctx: Context, bucket: str, client: str, mode: str, timeout: float, what: str = "keys"
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks._listing",
        "--url",
        ctx.url,
        "--bucket",
        bucket,
        "--client",
        client,
        "--mode",
        mode,
        "--loop",
        ctx.loop,
        "--timeout",
        str(timeout),
        "--what",
        what,
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(
            cmd,
            cwd=_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout + 60,  # the child gives up by itself after `timeout`
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": "timeout", "timeout_s": timeout}
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


async def run_keys_big(ctx: Context) -> dict[str, Any]:
    n = ctx.sizes.keys_big
    bucket, populate_s = await ensure_big_bucket(ctx, n)
    out: dict[str, Any] = {
        "bucket": bucket,
        "storage": "memory",
        "n": n,
        "populate_s": populate_s,
        "note": "memory-storage bucket populated once with natskv put_many, shared by both",
    }
    # sanity: the keys are where we expect them
    await (await ctx.kvc.get_store(bucket)).get(make_keys(1)[0])
    for client in ALL_CLIENTS:
        timeout = NATSPY_KEYS_1M_TIMEOUT if client == NATSPY else NATSKV_TIMEOUT
        runs: dict[str, Any] = {}
        for mode, what in (("time", "keys"), ("memory", "keys"), ("time", "watch")):
            name = mode if what == "keys" else "watch"
            skip = _skip_memory(ctx, runs, timeout, client) if mode == "memory" else None
            if skip:
                runs[name] = {"skipped": skip}
                log(f"[{ctx.loop}] keys_big {client} {name}: skipped ({skip})")
                continue
            log(f"[{ctx.loop}] keys_big {client} {name} ...")
            result = await asyncio.to_thread(_child, ctx, bucket, client, mode, timeout, what)
            if "error" not in result and result.get("count") != n:
                # e.g. a client that drops messages (slow consumer) and finishes short
                result = {"error": f"{what}: {result.get('count')} of {n} keys"}
            runs[name] = result
            log(f"[{ctx.loop}] keys_big {client} {name}: {_brief(result)}")
        metrics: dict[str, Any] = {}
        errors = [f"{m}: {r['error']}" for m, r in runs.items() if "error" in r]
        if "error" not in runs["time"]:
            metrics["ms"] = runs["time"]["ms"]
            metrics["cpu_us"] = runs["time"]["cpu_us"]
            metrics["list_maxrss_growth_mib"] = runs["time"]["maxrss_growth_mib"]
        if "error" not in runs["memory"] and "skipped" not in runs["memory"]:
            metrics["peak_mib"] = runs["memory"]["tracemalloc_peak_mib"]
            metrics["traced_maxrss_growth_mib"] = runs["memory"]["maxrss_growth_mib"]
        if "error" not in runs["watch"]:
            metrics["watch_ms"] = runs["watch"]["ms"]
            metrics["watch_cpu_us"] = runs["watch"]["cpu_us"]
            if client != RAW:  # the raw loop keeps every value: its memory means nothing
                metrics["watch_maxrss_growth_mib"] = runs["watch"]["maxrss_growth_mib"]
        entry: dict[str, Any] = {"runs": runs, "median": metrics}
        skipped = [f"{m}: {r['skipped']}" for m, r in runs.items() if "skipped" in r]
        if skipped:
            entry["notes"] = skipped
        if errors:
            entry["errors"] = errors
        out[client] = entry
    return out


# tracemalloc slows these listings down about 20 times (CPU bound, every allocation traced)
_TRACEMALLOC_SLOWDOWN = 20.0


def _skip_memory(ctx: Context, runs: dict[str, Any], timeout: float, client: str) -> str | None:
    """Why the traced (memory) listing is not run, if it is not."""
    if client == RAW:
        return "the raw loop is a CPU floor, not a memory one"
    timed = runs.get("time", {})
    if "error" in timed:
        return "the timed listing failed"
    if not ctx.trace_memory:
        return "measured in the asyncio run only"
    expected = timed["ms"] / 1e3 * _TRACEMALLOC_SLOWDOWN
    if expected > timeout:
        return f"under tracemalloc it would take ~{expected:.0f} s, over its {timeout:g} s limit"
    return None


def _brief(result: dict[str, Any]) -> str:
    if "error" in result:
        return str(result["error"])
    text = f"{result['ms']:,.0f} ms, maxrss +{result['maxrss_growth_mib']:.1f} MiB"
    if "tracemalloc_peak_mib" in result:
        text += f", tracemalloc peak {result['tracemalloc_peak_mib']:.1f} MiB"
    return text


async def drop_big_bucket(ctx: Context) -> None:
    await ctx.drop(big_bucket_name(ctx.sizes.keys_big))
