"""The README's Python examples run as written (so the README never lies)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


def test_readme_has_a_python_example() -> None:
    assert _python_blocks()


def test_readme_quick_start_runs(tmp_path: Path) -> None:
    script = tmp_path / "readme_quickstart.py"
    script.write_text(_python_blocks()[0])
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL"}
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[GET] ShopOrder(id=1)" in result.stdout
    assert "[RCV] KVEntry(bucket='shop_orders', key='order-1', revision=1, operation=PUT" in (
        result.stdout
    )


def test_readme_sync_quick_start_runs(tmp_path: Path) -> None:
    script = tmp_path / "readme_quickstart_sync.py"
    script.write_text(_python_blocks()[1])
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL"}
    env["HOME"] = str(tmp_path)  # a fresh embedded server's data
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[GET] ShopOrder(id=1)" in result.stdout
    assert "[RCV] KVEntry(bucket='shop_orders', key='order-1', revision=1, operation=PUT" in (
        result.stdout
    )
