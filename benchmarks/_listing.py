"""Child process: list the keys (or watch the initial values) of a big bucket once and
report time, client CPU and memory as JSON.

A fresh process per measurement keeps the memory figures about the listing alone (the
peak RSS, ``VmHWM``, is reset just before it; ``ru_maxrss`` is reported too, but on Linux
it starts at the parent's peak) and lets the parent kill a listing that takes too long.

    python -m benchmarks._listing --url URL --bucket B --client natskv --mode time [--what watch]

``--what keys`` (the default) lists the keys; ``--what watch`` reads every initial value
through a watcher (natskv: until ``caught_up``; nats-py: until its end-of-initial-values
marker; raw: the raw loop's push-consumer scan), keeping none but a count (the raw loop
keeps its list: it is the CPU floor, not a memory one).

``--mode time``: build the list of keys (both clients), no tracing; reports the elapsed
milliseconds and the growth of the peak RSS.
``--mode memory``: under ``tracemalloc``; natskv streams the keys (``async for``, keeping
none: what an async iterator is for), nats-py builds its list (its only form). Reports the
peak traced allocation during the listing and the growth of the peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._common import NATSKV, NATSPY, RAW, VALUE_SIZE, run_with_loop

_MIB = 1024 * 1024

Lister = Callable[[], Awaitable[int]]
Closer = Callable[[], Awaitable[None]]


def _maxrss_mib() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return usage / _MIB if sys.platform == "darwin" else usage / 1024


def _proc_status_mib(field: str) -> float | None:
    """``VmRSS`` / ``VmHWM`` (peak RSS) of this process from /proc, in MiB (Linux only)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0); True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


_errors: dict[str, int] = {}


def _count_error(exc: Exception) -> None:
    name = type(exc).__name__
    _errors[name] = _errors.get(name, 0) + 1


async def _count_error_async(exc: Exception) -> None:
    _count_error(exc)


async def _open_natskv(url: str, bucket: str, mode: str, what: str) -> tuple[Lister, Closer]:
    import natskv

    nc = await natskv.connect(url, error_cb=_count_error)
    store = await natskv.KVContext(natskv.JetStream(nc)).get_store(bucket)

    async def watch() -> int:
        count = 0
        async with store.watch() as watcher:
            if watcher.caught_up:  # an empty bucket
                return 0
            async for _entry in watcher:
                count += 1
                if watcher.caught_up:
                    break
        return count

    async def run() -> int:
        if what == "watch":
            return await watch()
        if mode == "memory":
            count = 0
            async for _key in store.keys():
                count += 1
            return count
        return len([k async for k in store.keys()])

    return run, nc.close


async def _open_natspy(url: str, bucket: str, mode: str, what: str) -> tuple[Lister, Closer]:
    import nats

    nc = await nats.connect(url, error_cb=_count_error_async)
    kv = await nc.jetstream().key_value(bucket)

    async def run() -> int:
        if what == "watch":
            count = 0
            watcher = await kv.watchall()
            async for entry in watcher:
                if entry is None:  # the end-of-initial-values marker
                    break
                count += 1
            await watcher.stop()  # type: ignore[no-untyped-call]
            return count
        keys = await kv.keys()
        return len(keys)

    return run, nc.close


async def _open_raw(url: str, bucket: str, mode: str, what: str) -> tuple[Lister, Closer]:
    from benchmarks._raw import RawBucket, RawClient

    client = await RawClient.connect(url)
    raw = RawBucket(client, bucket, VALUE_SIZE)

    async def run() -> int:
        return len(await (raw.watch_initial() if what == "watch" else raw.list_keys()))

    return run, client.close


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    opener = {NATSKV: _open_natskv, NATSPY: _open_natspy, RAW: _open_raw}[args.client]
    run, close = await opener(args.url, args.bucket, args.mode, args.what)
    result: dict[str, Any] = {"client": args.client, "mode": args.mode, "what": args.what}
    try:
        gc.collect()
        # ru_maxrss survives execve on Linux (it starts at the parent's peak), so the peak
        # growth comes from VmHWM, reset to the current RSS just before the listing.
        result["maxrss_before_mib"] = _maxrss_mib()
        result["peak_reset"] = _reset_peak_rss()
        result["rss_before_mib"] = _proc_status_mib("VmRSS")
        result["hwm_before_mib"] = _proc_status_mib("VmHWM")
        if args.mode == "memory":
            tracemalloc.start()
        cpu = time.process_time()
        start = time.perf_counter()
        try:
            count = await asyncio.wait_for(run(), args.timeout)
        except asyncio.TimeoutError:
            result["error"] = f"timeout after {args.timeout:g} s"
            count = -1
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        if args.mode == "memory":
            result["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / _MIB
            tracemalloc.stop()
        result["maxrss_after_mib"] = _maxrss_mib()
        result["hwm_after_mib"] = _proc_status_mib("VmHWM")
    finally:
        await close()
    if _errors:
        result["connection_errors"] = dict(_errors)
        if "error" in result:
            result["error"] += (
                " (connection errors: "
                + ", ".join(f"{n} x {name}" for name, n in _errors.items())
                + ")"
            )
    result["ru_maxrss_growth_mib"] = result["maxrss_after_mib"] - result["maxrss_before_mib"]
    base = result["rss_before_mib"] if result["peak_reset"] else result["hwm_before_mib"]
    if result["hwm_after_mib"] is not None and base is not None:
        result["maxrss_growth_mib"] = max(0.0, result["hwm_after_mib"] - base)
    else:
        result["maxrss_growth_mib"] = result["ru_maxrss_growth_mib"]
    result["count"] = count
    result["ms"] = elapsed * 1e3
    result["cpu_us"] = cpu / count * 1e6 if count > 0 else None
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._listing")
    parser.add_argument("--url", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--client", choices=[NATSKV, NATSPY, RAW], required=True)
    parser.add_argument("--mode", choices=["time", "memory"], required=True)
    parser.add_argument("--what", choices=["keys", "watch"], default="keys")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--timeout", type=float, default=3600.0, help="listing time limit (s)")
    args = parser.parse_args(argv)
    result = run_with_loop(_measure(args), args.loop)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
