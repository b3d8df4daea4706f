"""One suite: every selected operation, every client, alternating rounds, on one event loop."""

from __future__ import annotations

import asyncio
import gc
import math
from typing import Any

from benchmarks._common import ALL_CLIENTS, Sizes, log, median
from benchmarks._context import Context
from benchmarks._keys_big import drop_big_bucket, run_keys_big
from benchmarks._ops import KEYS_BIG, OPS, Metrics, Op


def _brief(metrics: Metrics) -> str:
    if "error" in metrics:
        return f"ERROR {metrics['error']}"
    parts = []
    for key, value in metrics.items():
        if key == "n" or not isinstance(value, (int, float)):
            continue
        parts.append(f"{key}={value:,.1f}" if isinstance(value, float) else f"{key}={value}")
    return " ".join(parts)


def summarize(rounds: list[Metrics]) -> dict[str, Any]:
    """The per-metric median over the rounds that succeeded, plus every round as measured."""
    ok = [m for m in rounds if "error" not in m]
    med: dict[str, float] = {}
    if ok:
        for key in ok[0]:
            values = [m[key] for m in ok if isinstance(m.get(key), (int, float))]
            if values:
                med[key] = median([float(v) for v in values])
    out: dict[str, Any] = {"rounds": rounds, "median": med}
    errors = [m["error"] for m in rounds if "error" in m]
    if errors:
        out["errors"] = errors
    return out


async def run_op(ctx: Context, op: Op, rounds: int, timeout: float) -> dict[str, Any]:
    skip = op.skip_reason(ctx)
    if skip:
        log(f"[{ctx.loop}] {op.id}: skipped ({skip})")
        return {"skipped": skip}
    clients = [c for c in ALL_CLIENTS if c in op.runners]
    measured: dict[str, list[Metrics]] = {client: [] for client in clients}
    for r in range(rounds):
        for client in clients:  # natskv, nats-py[, raw], natskv, nats-py[, raw], ...
            gc.collect()
            try:
                metrics = await asyncio.wait_for(op.runners[client](ctx), timeout)
            except asyncio.TimeoutError:
                metrics = {"error": f"timeout after {timeout:g}s"}
            except Exception as exc:
                metrics = {"error": f"{type(exc).__name__}: {exc}"}
            measured[client].append(metrics)
            log(f"[{ctx.loop}] {op.id} round {r + 1}/{rounds} {client}: {_brief(metrics)}")
    return {client: summarize(measured[client]) for client in clients}


async def run_suite(
    *,
    sizes: Sizes,
    loop: str,
    url: str,
    monitor_url: str | None,
    rounds: int,
    only: list[str],
    timeout: float,
    drop_big: bool,
    trace_memory: bool,
) -> dict[str, Any]:
    ctx = Context(sizes, loop, url, monitor_url, trace_memory=trace_memory)
    try:
        await ctx.open()
    except Exception as exc:
        await ctx.close()
        cause = exc.__cause__ or exc.__context__
        detail = f"{type(exc).__name__}: {exc}"
        if cause is not None:
            detail += f" (caused by {type(cause).__name__}: {cause})"
        log(f"[{loop}] could not connect: {detail}")
        return {"loop": loop, "error": f"could not connect: {detail}", "ops": {}}
    ops: dict[str, Any] = {}
    try:
        log(f"[{loop}] connected to nats-server {ctx.server_version}; warming up")
        await ctx.warmup()
        by_id = {op.id: op for op in OPS}
        for op_id in only:
            if op_id == KEYS_BIG:
                try:
                    ops[KEYS_BIG] = await run_keys_big(ctx)
                except Exception as exc:
                    ops[KEYS_BIG] = {"error": f"{type(exc).__name__}: {exc}"}
                    log(f"[{loop}] keys_big: ERROR {exc}")
                if drop_big:
                    await drop_big_bucket(ctx)
            else:
                ops[op_id] = await run_op(ctx, by_id[op_id], rounds, timeout)
        return {"loop": loop, "server_version": ctx.server_version, "ops": ops}
    finally:
        await ctx.close()


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value))
