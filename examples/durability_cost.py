"""What fsync-before-ack costs: put latency on ``EmbeddedServer(durable=True)`` vs ``False``.

``durable=True`` runs nats-server with ``sync_interval: always`` (every write reaches the
disk before it is acknowledged); ``durable=False`` keeps nats-server's default, a sync
every 2 minutes. Each run starts its own server with its store in a fresh directory
(``--dir``, default the system's temporary directory: measure on the disk you deploy
on), makes a file-storage bucket and times ``--puts`` sequential puts, one await each,
then the same number pipelined with ``put_many``. The docs page "Consistency and
durability" quotes its output.

    python examples/durability_cost.py [--puts 2000] [--size 128] [--dir PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass

import natskv


@dataclass
class Run:
    durable: bool
    p50_us: float
    p99_us: float
    sequential_per_s: float
    pipelined_per_s: float


async def measure(durable: bool, puts: int, size: int, directory: str) -> Run:
    value = os.urandom(size)
    with tempfile.TemporaryDirectory(dir=directory) as data_dir:
        server = natskv.EmbeddedServer(durable=durable, data_dir=data_dir)
        async with server, await natskv.connect(server.url) as nc:
            kv = natskv.KVContext(natskv.JetStream(nc))
            store = await kv.create_store(natskv.KVConfig("durability", storage="file"))
            for i in range(100):  # warm-up: connection, stream files, caches
                await store.put(f"warm.{i}", value)
            latencies = []
            started = time.perf_counter()
            for i in range(puts):
                t0 = time.perf_counter_ns()
                await store.put(f"k.{i}", value)
                latencies.append(time.perf_counter_ns() - t0)
            sequential = puts / (time.perf_counter() - started)
            started = time.perf_counter()
            await store.put_many((f"p.{i}", value) for i in range(puts))
            pipelined = puts / (time.perf_counter() - started)
            await kv.delete_store("durability")
    latencies.sort()
    return Run(
        durable=durable,
        p50_us=statistics.median(latencies) / 1000,
        p99_us=latencies[int(len(latencies) * 0.99) - 1] / 1000,
        sequential_per_s=sequential,
        pipelined_per_s=pipelined,
    )


def table(runs: list[Run]) -> str:
    lines = [
        "server                                  put p50 us  put p99 us  sequential puts/s"
        "  put_many puts/s",
    ]
    for run in runs:
        name = (
            "durable=True  (sync_interval: always)"
            if run.durable
            else "durable=False (sync every 2 min)"
        )
        lines.append(
            f"{name:<38}  {run.p50_us:>10,.0f}  {run.p99_us:>10,.0f}  "
            f"{run.sequential_per_s:>17,.0f}  {run.pipelined_per_s:>15,.0f}"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--puts", type=int, default=2000, help="puts per measurement")
    parser.add_argument("--size", type=int, default=128, help="value size in bytes")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the stores live")
    args = parser.parse_args()
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{args.puts} puts of {args.size} bytes, store in {args.dir}")
    runs = [await measure(d, args.puts, args.size, args.dir) for d in (True, False)]
    print(table(runs))


if __name__ == "__main__":
    asyncio.run(main())
