"""The benchmark harness works (never how fast anything is: no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("nats")

from benchmarks._cli import parse_args  # noqa: E402
from benchmarks._common import Sizes, percentile  # noqa: E402
from benchmarks._ops import ALL_OP_IDS  # noqa: E402
from benchmarks._report import (  # noqa: E402
    compute_rows,
    evaluate_targets,
    format_table,
    format_targets,
)
from benchmarks._suite import summarize  # noqa: E402


def test_percentile_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0


def test_parse_args_only_and_defaults() -> None:
    args = parse_args(["--small", "--only", "keys,seq_put"])
    assert args.ops == ["seq_put", "keys"]  # suite order, not command-line order
    assert args.rounds == 3
    assert parse_args([]).ops == ALL_OP_IDS
    with pytest.raises(SystemExit):
        parse_args(["--only", "nope"])


def test_summarize_takes_the_median_of_good_rounds() -> None:
    out = summarize([{"ops_s": 1.0}, {"ops_s": 3.0}, {"error": "boom"}, {"ops_s": 2.0}])
    assert out["median"] == {"ops_s": 2.0}
    assert out["errors"] == ["boom"]


def test_rows_ratios_and_targets() -> None:
    sizes = Sizes.small()
    suite = {
        "ops": {
            "seq_put": {
                "natskv": summarize([{"ops_s": 300.0, "op_p50_us": 5.0, "op_p99_us": 9.0}]),
                "nats-py": summarize([{"ops_s": 100.0, "op_p50_us": 10.0, "op_p99_us": 20.0}]),
            },
            "keys": {
                "natskv": summarize([{"ms": 10.0}]),
                "nats-py": summarize([{"error": "timeout after 60s"}]),
            },
            "get_many": {"skipped": "no get_many"},
        }
    }
    rows = compute_rows(suite, sizes)
    by_id = {r["id"]: r for r in rows}
    assert by_id["seq_put"]["ratio"] == pytest.approx(3.0)
    assert by_id["keys"]["ratio"] is None
    assert by_id["get_many"]["status"].startswith("skipped")
    table = format_table(rows)
    assert "3.00x" in table and "timeout" in table and "skipped" in table
    targets = evaluate_targets({"asyncio": rows}, sizes)
    result = {t["row"]: t["asyncio"]["result"] for t in targets}
    assert result["seq_put"] == "PASS"
    assert result["keys"] == "n/a"
    assert "PASS" in format_targets(targets, ["asyncio"], sizes)


@pytest.mark.timeout(180)
def test_end_to_end_small_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--small",
            "--no-uvloop",
            "--rounds",
            "1",
            "--only",
            "seq_put,keys,watch_initial",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "targets" in proc.stdout
    doc = json.loads(out.read_text())
    assert doc["meta"]["machine"]["cpu_count"]
    assert doc["meta"]["versions"]["nats-server"]
    rows = {r["id"]: r for r in doc["loops"]["asyncio"]["rows"]}
    for op in ("seq_put", "keys", "watch_initial"):
        assert rows[op]["natskv"] is not None, rows[op]
        assert rows[op]["nats-py"] is not None, rows[op]
