"""``examples/durability_cost.py``: it measures both servers and prints the table the
consistency page quotes (the numbers themselves are the machine's)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.examples.helpers import run_example

ROW = re.compile(
    r"(durable=True  \(sync_interval: always\)|durable=False \(sync every 2 min\)) +"
    r"([\d,]+) +([\d,]+) +([\d,]+) +([\d,]+)"
)


async def test_it_times_puts_on_a_durable_and_a_default_server(tmp_path: Path) -> None:
    out = await run_example(
        "durability_cost", "--puts", "30", "--dir", str(tmp_path), nats_url=None
    )
    lines = out.splitlines()
    assert lines[1] == f"30 puts of 128 bytes, store in {tmp_path}"
    assert lines[2].split() == [
        "server", "put", "p50", "us", "put", "p99", "us", "sequential", "puts/s",
        "put_many", "puts/s",
    ]  # fmt: skip
    rows = [ROW.fullmatch(line) for line in lines[3:]]
    assert all(rows) and len(rows) == 2, lines
    numbers = [[int(n.replace(",", "")) for n in m.groups()[1:]] for m in rows if m]
    assert all(n > 0 for row in numbers for n in row)
    assert [m[1].split()[0] for m in rows if m] == ["durable=True", "durable=False"]
    assert list(tmp_path.iterdir()) == []  # each run's store was removed
