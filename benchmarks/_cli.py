"""``python -m benchmarks``: argument parsing and orchestration (server, loops, report)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks._common import (
    CONCURRENCY,
    NATSKV,
    NATSPY,
    NATSPY_KEYS_1M_TIMEOUT,
    NATSPY_MAX_PENDING,
    PIPELINE_WINDOW,
    SERVER_MAX_PAYLOAD,
    VALUE_SIZE,
    Sizes,
    log,
    run_with_loop,
)
from benchmarks._ops import ALL_OP_IDS, KEYS_BIG
from benchmarks._report import (
    compute_rows,
    evaluate_targets,
    format_cpu_table,
    format_header,
    format_table,
    format_targets,
)
from benchmarks._suite import run_suite

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="natskv vs nats-py on one embedded nats-server (see benchmarks/README.md).",
    )
    parser.add_argument("--small", action="store_true", help="small sizes (CI, ~1 minute)")
    parser.add_argument("--no-uvloop", action="store_true", help="skip the second run on uvloop")
    parser.add_argument("--json", metavar="PATH", help="where to write the results (JSON)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per client (median)")
    parser.add_argument(
        "--only",
        metavar="OP,...",
        help="run only these operations: " + ",".join(ALL_OP_IDS),
    )
    parser.add_argument(
        "--loop", choices=["asyncio", "uvloop"], default="asyncio", help="event loop"
    )
    parser.add_argument("--url", help="use this nats-server instead of starting one")
    parser.add_argument("--monitor-url", help="its monitoring URL (for message counts)")
    parser.add_argument(
        "--timeout", type=float, help="seconds allowed per measured run (default 300, small 60)"
    )
    parser.add_argument("--child-json", help=argparse.SUPPRESS)
    parser.add_argument("--keep-big-bucket", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.only:
        wanted = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in ALL_OP_IDS]
        if unknown:
            parser.error(f"unknown operation(s) {', '.join(unknown)}; choose from {ALL_OP_IDS}")
        args.ops = [op for op in ALL_OP_IDS if op in wanted]
    else:
        args.ops = list(ALL_OP_IDS)
    if args.timeout is None:
        args.timeout = 60.0 if args.small else 300.0
    return args


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _mem_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _server_version(monitor_url: str | None) -> str:
    if not monitor_url:
        return "?"
    try:
        with urllib.request.urlopen(monitor_url.rstrip("/") + "/varz", timeout=5) as resp:
            return str(json.load(resp).get("version", "?"))
    except Exception:
        return "?"


def machine_info(args: argparse.Namespace, sizes: Sizes, server_version: str) -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "cpus_usable": usable,
            "mem_total_gib": _mem_total_gib(),
        },
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "versions": {
            "natskv": _version("natskv"),
            "nats-py": _version("nats-py"),
            "uvloop": _version("uvloop"),
            "nats-server": server_version,
        },
        "args": {k: v for k, v in vars(args).items() if k not in ("child_json",)},
        "sizes": sizes.as_dict(),
        "workload": (
            f"{VALUE_SIZE}-byte values, history 1, file-storage buckets (a fresh one per run), "
            f"concurrency {CONCURRENCY}, put_many window {PIPELINE_WINDOW}, nats-py "
            f"publish_async max pending {NATSPY_MAX_PENDING}, server max_payload "
            f"{SERVER_MAX_PAYLOAD // (1024 * 1024)} MiB, durable=False, "
            f"{args.rounds} round(s), median"
        ),
    }


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_uvloop_child(
    args: argparse.Namespace, url: str, monitor_url: str | None
) -> dict[str, Any] | str:
    """The same suite on uvloop, in a child process; its results, or why there are none."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "uvloop is not installed"
    with tempfile.TemporaryDirectory(prefix="natskv-bench-") as tmp:
        out = Path(tmp) / "uvloop.json"
        cmd = [
            sys.executable,
            "-m",
            "benchmarks",
            "--loop",
            "uvloop",
            "--url",
            url,
            "--rounds",
            str(args.rounds),
            "--timeout",
            str(args.timeout),
            "--only",
            ",".join(args.ops),
            "--child-json",
            str(out),
        ]
        if monitor_url:
            cmd += ["--monitor-url", monitor_url]
        if args.small:
            cmd.append("--small")
        log("[uvloop] starting the uvloop run in a child process")
        proc = subprocess.run(cmd, cwd=ROOT, env=_child_env(), check=False)
        if proc.returncode != 0 or not out.exists():
            return f"the uvloop run failed (exit {proc.returncode})"
        data: dict[str, Any] = json.loads(out.read_text())
        return data


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = Sizes.small() if args.small else Sizes.full()
    started = time.perf_counter()
    child = args.child_json is not None
    run_uvloop = not args.no_uvloop and args.loop == "asyncio" and not child

    server = None
    if args.url:
        url, monitor_url = args.url, args.monitor_url
    else:
        from natskv import EmbeddedServer

        server = EmbeddedServer(durable=False, max_payload=SERVER_MAX_PAYLOAD)
        server.start()
        url, monitor_url = server.url, server.monitor_url
    try:
        meta = machine_info(args, sizes, _server_version(monitor_url))
        if not child:
            print(format_header(meta), flush=True)
            print(flush=True)
        suite = run_with_loop(
            run_suite(
                sizes=sizes,
                loop=args.loop,
                url=url,
                monitor_url=monitor_url,
                rounds=args.rounds,
                only=args.ops,
                timeout=args.timeout,
                drop_big=not run_uvloop and not args.keep_big_bucket,
                trace_memory=not child,
            ),
            args.loop,
        )
        if child:
            Path(args.child_json).write_text(json.dumps(suite))
            return 0
        suites: dict[str, Any] = {args.loop: suite}
        notes: dict[str, str] = {}
        if run_uvloop:
            result = run_uvloop_child(args, url, monitor_url)
            if isinstance(result, str):
                notes["uvloop"] = result
                log(f"[uvloop] {result}")
            else:
                suites["uvloop"] = result
    finally:
        if server is not None:
            server.stop()

    if meta["versions"]["nats-server"] == "?":
        meta["versions"]["nats-server"] = suite.get("server_version", "?")
    rows_by_loop = {loop: compute_rows(s, sizes) for loop, s in suites.items()}
    targets = evaluate_targets(rows_by_loop, sizes)
    elapsed = time.perf_counter() - started
    meta["elapsed_s"] = round(elapsed, 1)

    for loop, rows in rows_by_loop.items():
        print(f"== {loop} ({args.rounds} round(s), median)")
        if "error" in suites[loop]:
            print(f"ERROR: {suites[loop]['error']}")
        else:
            print(format_cpu_table(rows))
            print()
            print(format_table(rows))
        print()
    big = suite.get("ops", {}).get(KEYS_BIG)
    if isinstance(big, dict) and "storage" in big:
        print(
            f"note: keys() of {sizes.keys_big:,} uses a MEMORY-storage bucket (populated once "
            "with natskv put_many, shared read-only by both clients); each listing runs in "
            f"a fresh child process; nats-py is given {NATSPY_KEYS_1M_TIMEOUT:g} s."
        )
    for loop, data in suites.items():
        big_loop = data.get("ops", {}).get(KEYS_BIG, {})
        for client in (NATSKV, NATSPY):
            for text in big_loop.get(client, {}).get("notes", []):
                print(f"note: {loop}: keys() of {sizes.keys_big:,}, {client} {text}")
    for loop, note in notes.items():
        print(f"note: {loop}: {note}")
    print()
    print("== targets (client CPU against the raw asyncio loop and nats-py; wall-time ratios)")
    print(format_targets(targets, list(rows_by_loop), sizes))
    print()

    document = {
        "meta": meta,
        "notes": notes,
        "loops": {loop: {**suites[loop], "rows": rows_by_loop[loop]} for loop in rows_by_loop},
        "targets": targets,
    }
    path = Path(args.json) if args.json else _default_json_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str))
    print(f"results written to {path} ({elapsed:.0f} s)")
    return 0


def _default_json_path() -> Path:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return RESULTS / f"bench-{stamp}.json"
