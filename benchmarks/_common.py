"""Shared helpers: workload sizes, statistics, event-loop selection."""

from __future__ import annotations

import asyncio
import statistics
import sys
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

T = TypeVar("T")

VALUE_SIZE = 128
LARGE_VALUE_SIZE = 1024 * 1024
SERVER_MAX_PAYLOAD = 8 * 1024 * 1024
CONCURRENCY = 256
PIPELINE_WINDOW = 4096  # natskv put_many window
NATSPY_MAX_PENDING = 4000  # nats-py publish_async in-flight limit (its default)
NATSPY_KEYS_1M_TIMEOUT = 120.0
RAW_MAX_PENDING = 4000  # the raw loop's pipelined put: acks outstanding at most

NATSKV = "natskv"
NATSPY = "nats-py"
RAW = "raw"  # the minimal raw asyncio client (benchmarks/_raw.py), the Python floor
CLIENTS = (NATSKV, NATSPY)  # the two client libraries, in every operation
ALL_CLIENTS = (NATSKV, NATSPY, RAW)  # round order; raw only in the operations it has


@dataclass(frozen=True)
class Sizes:
    """How many operations each benchmark does."""

    seq: int  # sequential put / get
    pipelined: int  # put_many vs publish_async
    concurrent: int  # 256 concurrent put / get (total ops)
    listing: int  # keys(), watch initial values
    watch_live: int  # live updates delivered to a watcher
    keys_big: int  # keys() and watch initial values of a big bucket (memory)
    large: int  # 1 MiB puts and gets
    get_many: int  # keys read by one get_many

    @classmethod
    def full(cls) -> Sizes:
        return cls(2000, 20_000, 20_000, 10_000, 10_000, 1_000_000, 50, 100_000)

    @classmethod
    def small(cls) -> Sizes:
        return cls(200, 2000, 2000, 1000, 1000, 20_000, 5, 1000)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (``q`` in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_metrics(prefix: str, latencies: list[float]) -> dict[str, float]:
    """p50 / p99 of per-operation latencies (seconds in, microseconds out)."""
    values = sorted(latencies)
    return {
        f"{prefix}_p50_us": percentile(values, 50) * 1e6,
        f"{prefix}_p99_us": percentile(values, 99) * 1e6,
    }


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def run_with_loop(coro: Coroutine[Any, Any, T], loop: str) -> T:
    """Run ``coro`` on a fresh asyncio or uvloop event loop."""
    if loop == "uvloop":
        import uvloop

        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(coro)
        uvloop.install()
    return asyncio.run(coro)


def log(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)
