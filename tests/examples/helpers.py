"""Running an example as a user would (``python examples/<name>.py``), and importing it."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMEOUT = 90.0

__all__ = ["EXAMPLES", "load", "run_example"]


async def run_example(name: str, *args: str, nats_url: str | None) -> str:
    """Run ``examples/<name>.py`` in a fresh interpreter; its stdout (exit 0, no warnings).

    With ``nats_url`` it uses that server (``NATS_URL``); without, its own embedded one.
    """
    env = dict(os.environ)
    env.pop("NATS_URL", None)
    if nats_url is not None:
        env["NATS_URL"] = nats_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        str(EXAMPLES / f"{name}.py"),
        *args,
        cwd=EXAMPLES.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"examples/{name}.py did not finish within {TIMEOUT:.0f} s")
    stdout, stderr = out.decode(), err.decode()
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    assert "Traceback" not in stderr and "Warning" not in stderr, stderr
    return stdout


def load(name: str) -> ModuleType:
    """``examples/<name>.py`` as a module, to test its classes directly."""
    module_name = f"natskv_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
