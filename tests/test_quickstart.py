"""``examples/quickstart.py``, the NATS.Net KV quick start in Python: it runs and prints right."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from pathlib import Path

import pytest

import natskv

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"
TIMEOUT = 60.0
BUCKET = "shop_orders"

_RCV = re.compile(
    r"^\[RCV\] KVEntry\(bucket='(?P<bucket>[^']*)', key='(?P<key>[^']*)', "
    r"revision=(?P<revision>\d+), operation=(?P<op>\w+), value=(?P<value>.*)\)$"
)

# (key, operation, value) of every change the watcher prints, in order
EXPECTED_CHANGES = [
    ("order-1", "PUT", "ShopOrder(id=1)"),  # the initial value
    ("order-2", "PUT", "ShopOrder(id=2)"),  # added
    ("order-1", "PUT", "ShopOrder(id=11)"),  # updated
    ("order-2", "DEL", "None"),  # deleted
]


async def _run(nats_url: str | None) -> tuple[str, str]:
    env = dict(os.environ)
    env.pop("NATS_URL", None)
    if nats_url is not None:
        env["NATS_URL"] = nats_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(QUICKSTART),
        cwd=QUICKSTART.parents[1],
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"quickstart did not finish within {TIMEOUT:.0f} s")
    stdout, stderr = out.decode(), err.decode()
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    assert "Traceback" not in stderr, stderr
    assert "Warning" not in stderr, stderr
    return stdout, stderr


def _check_output(stdout: str) -> None:
    lines = stdout.splitlines()

    # the `nats kv ls` table, with the new, empty bucket
    assert any("Key-Value Buckets" in line for line in lines[:3]), stdout
    header = next(line for line in lines if "│ Bucket" in line)
    assert [c.strip() for c in header.split("│")[1:-1]] == [
        "Bucket",
        "Description",
        "Created",
        "Size",
        "Values",
        "Last Update",
    ]
    rows = [line for line in lines if line.startswith("│ ") and f" {BUCKET} " in line]
    assert len(rows) == 1, stdout
    cells = [c.strip() for c in rows[0].split("│")[1:-1]]
    assert cells[0] == BUCKET
    assert cells[1] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[2]), cells
    assert cells[3:] == ["0 B", "0", "never"]

    # the typed get
    assert "[GET] ShopOrder(id=1)" in lines

    # the watcher: initial order-1, then the three changes, in order
    rcv = [line for line in lines if line.startswith("[RCV]")]
    parsed = [_RCV.match(line) for line in rcv]
    assert all(parsed), rcv
    changes = [(m["key"], m["op"], m["value"]) for m in parsed if m]
    assert changes == EXPECTED_CHANGES, rcv
    assert {m["bucket"] for m in parsed if m} == {BUCKET}
    revisions = [int(m["revision"]) for m in parsed if m]
    assert revisions == [1, 2, 3, 4], rcv

    # and in the order the program performs its steps
    get_at = lines.index("[GET] ShopOrder(id=1)")
    table_end = max(i for i, line in enumerate(lines) if line.startswith("╰"))
    assert table_end < get_at < lines.index(rcv[0])


async def test_quickstart_embedded_server() -> None:
    """Without NATS_URL the quick start runs its own embedded nats-server."""
    stdout, _ = await _run(None)
    _check_output(stdout)


async def test_quickstart_on_existing_server(nats_url: str, kv: natskv.KVContext) -> None:
    """With NATS_URL it uses that server; the bucket stays there and is removed here."""
    with contextlib.suppress(natskv.BucketNotFoundError):
        await kv.delete_store(BUCKET)
    try:
        stdout, _ = await _run(nats_url)
        _check_output(stdout)

        # the bucket the quick start left behind is a normal bucket
        store = await kv.get_store(BUCKET)
        assert sorted([k async for k in store.keys(">")]) == ["order-1"]
        assert await store.get("order-1", dict) == {"id": 11}
        with pytest.raises(natskv.KeyDeletedError) as info:
            await store.get("order-2")
        assert info.value.revision == 4
        assert BUCKET in [name async for name in kv.store_names()]
    finally:
        with contextlib.suppress(natskv.BucketNotFoundError):
            await kv.delete_store(BUCKET)
    assert BUCKET not in [name async for name in kv.store_names()]
