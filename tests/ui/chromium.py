"""Debian's Chromium, driven by Playwright through its executable path.

Playwright never downloads a browser here (there is no network for it): it drives
/usr/bin/chromium, which ``.ci/run`` installs (``apt-get install chromium``) when it is
missing and CI runs as root. Without it the browser tests fail in CI (``CI`` set) and are
skipped, saying why, on a developer machine.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "launch_chromium", "need_chromium"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_chromium() -> None:
    """Fail in CI, skip elsewhere, when Debian's Chromium is not installed."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does, as root)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@asynccontextmanager
async def launch_chromium() -> AsyncIterator[Any]:
    """A headless Chromium, closed after."""
    need_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()
