"""The screenshot of docs/ui.md, taken with the browser the tests use.

    .venv/bin/python -m tests.ui.screenshot docs/images/ui.png

Starts an embedded nats-server with a small demo bucket, opens the page in headless
Chromium, selects a key, makes a few live changes and saves the window as a PNG.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.ui.chromium import launch_chromium

import natskv
from natskv.ui import UIServer

ORDERS = [
    {"id": 1041, "customer": "ada", "items": ["kettle"], "total": 39.9, "status": "paid"},
    {"id": 1042, "customer": "grace", "items": ["tea", "cups"], "total": 18.5, "status": "new"},
    {"id": 1043, "customer": "linus", "items": ["pot"], "total": 24.0, "status": "shipped"},
]


async def take(path: Path) -> None:
    server = natskv.EmbeddedServer(durable=False)
    async with server, await natskv.connect(server.url) as nc:
        kv = natskv.KVContext(natskv.JetStream(nc))
        store = await kv.create_store(
            natskv.KVConfig(bucket="shop_orders", description="Orders by id", history=5)
        )
        config = await kv.create_store(natskv.KVConfig(bucket="config", history=10))
        await config.put("feature.dark_mode", b"on")
        for order in ORDERS:
            await store.put(f"order.{order['id']}", order)  # JSON, by the codecs
        for i in range(40):
            await store.put(f"cart.{i:03d}", f'{{"items": {i % 4}}}'.encode())
        await store.put("order.1042", b'{"id": 1042, "customer": "grace", "status": "paid"}')
        async with UIServer(kv) as ui, launch_chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 1180})
            await page.goto(ui.url)
            await page.locator("#buckets tbody tr", has_text="shop_orders").click()
            await page.wait_for_selector("#live.on")
            await page.locator("#keys button.key", has_text="order.1042").click()
            await page.wait_for_selector("#history tbody tr >> nth=1")
            await store.put("order.1044", b'{"id": 1044, "customer": "barbara"}')
            await store.delete("cart.003")
            await store.put("order.1042", b'{"id": 1042, "customer": "grace", "status": "shipped"}')
            await page.wait_for_selector("#changes li >> nth=2")
            await page.wait_for_selector("#history tbody tr >> nth=2")
            await page.wait_for_timeout(1600)  # the counts refresh a moment after a burst
            await page.mouse.move(0, 0)  # no hover highlight
            await page.evaluate("window.scrollTo(0, 0)")
            await page.screenshot(path=str(path))


if __name__ == "__main__":
    asyncio.run(take(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images/ui.png")))
