"""Run one client operation in a loop for a sampling profiler, and fold what it sampled.

How RESULTS.md's "where the microseconds go" was measured::

    pip install py-spy   # not a project dependency
    py-spy record -r 500 -f raw -o /tmp/cget.txt -- python -m benchmarks.profile_ops cget
    python -m benchmarks.profile_ops --fold /tmp/cget.txt

Operations: ``cget`` (256 workers doing ``get_entry`` over 1,000 keys), ``cput`` (256
workers doing ``put``), ``sget`` (one worker doing ``get_entry``), ``keys``
(``list_keys`` of 11,000 keys) and ``watch`` (a watcher's initial values, 11,000 keys).
It starts its own server (``EmbeddedServer(durable=False)``), warms up once, then runs
the operation ``--rounds`` times and prints the client CPU per operation
(``time.process_time``). ``--fold`` reads py-spy's raw output and prints each function's
share of the samples taken inside the event loop (self time, then inclusive).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import time

import natskv
from natskv import KVConfig

VALUE = b"v" * 128
WORKERS = 256
OPS = ("cget", "cput", "sget", "keys", "watch")


async def _run(op: str, url: str, n: int, rounds: int) -> float:
    nc = await natskv.connect(url)
    kv = natskv.KVContext(natskv.JetStream(nc))
    store = await kv.create_store(KVConfig(bucket=f"profile_{op}", history=1))
    keys = [f"k{i:05d}" for i in range(1000)]
    await store.put_many([(k, VALUE) for k in keys])
    if op in ("keys", "watch"):
        await store.put_many([(f"x{i:06d}", VALUE) for i in range(10_000)])
    next_index = 0

    async def worker(call: object) -> None:
        nonlocal next_index
        while next_index < n:
            key = keys[next_index % len(keys)]
            next_index += 1
            await call(key)  # type: ignore[operator]

    async def put(key: str) -> int:
        return await store.put(key, VALUE)

    async def once() -> int:
        nonlocal next_index
        next_index = 0
        if op == "cget":
            await asyncio.gather(*(worker(store.get_entry) for _ in range(WORKERS)))
        elif op == "cput":
            await asyncio.gather(*(worker(put) for _ in range(WORKERS)))
        elif op == "sget":
            await worker(store.get_entry)
        elif op == "keys":
            return len(await store.list_keys())
        else:
            count = 0
            async with store.watch() as watcher:
                async for _entry in watcher:
                    count += 1
                    if watcher.caught_up:
                        break
            return count
        return n

    try:
        await once()  # warm-up
        cpu = time.process_time()
        done = 0
        for _ in range(rounds):
            done += await once()
        return (time.process_time() - cpu) / done * 1e6
    finally:
        await kv.delete_store(store.bucket)
        await nc.close()


def fold(path: str, top: int = 30) -> str:
    """Each function's share of py-spy's raw samples inside the event loop."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    line_no = re.compile(r":\d+\)$")
    with open(path) as fh:
        for line in fh:
            stack, _, count = line.rstrip().rpartition(" ")
            frames = [line_no.sub(")", f) for f in stack.split(";")]
            if not any("Handle._run" in f for f in frames):
                continue  # start-up, imports, the server's own process
            n = int(count)
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    out = [f"samples in the event loop: {total}", "-- self"]
    out += [f"{n / total * 100:5.1f}% {f}" for f, n in own.most_common(top)]
    out.append("-- inclusive")
    out += [f"{n / total * 100:5.1f}% {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_ops")
    parser.add_argument("op", nargs="?", choices=OPS)
    parser.add_argument("-n", type=int, default=60_000, help="operations a round (cget, ...)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fold", metavar="PYSPY_RAW", help="fold a py-spy raw file instead")
    args = parser.parse_args(argv)
    if args.fold:
        print(fold(args.fold))
        return 0
    if args.op is None:
        parser.error("an operation, or --fold FILE")
    with natskv.EmbeddedServer(durable=False) as server:
        per_op = asyncio.run(_run(args.op, server.url, args.n, args.rounds))
    print(f"{args.op}: {per_op:.2f} us client CPU per operation (or key, or entry)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
