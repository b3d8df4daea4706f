"""The page in a real headless Chromium: buckets, live changes, escaping, token, writes.

One browser, one connection and one UI server serve the whole module (on the module's
event loop: launching Chromium per test would double the time); each test has a fresh
page and buckets of its own.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect
from tests.ui.chromium import launch_chromium

import natskv
from natskv.ui import UIServer

pytestmark = pytest.mark.asyncio(loop_scope="module")
per_module = pytest_asyncio.fixture(loop_scope="module", scope="module")
per_test = pytest_asyncio.fixture(loop_scope="module")

DASH = "\N{EN DASH}"  # the page writes ranges with it: "keys 1 to 100"


@per_module
async def browser() -> AsyncIterator[Any]:
    async with launch_chromium() as chromium:
        yield chromium


@per_module
async def kv(nats_url: str) -> AsyncIterator[natskv.KVContext]:
    async with await natskv.connect(nats_url) as nc:
        yield natskv.KVContext(natskv.JetStream(nc))


@per_module
async def ui(kv: natskv.KVContext) -> AsyncIterator[UIServer]:
    async with UIServer(kv) as server:
        yield server


@per_test
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh page; a script error on it fails the test."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        await context.close()
    assert errors == [], errors


@per_test
async def cleanup(kv: natskv.KVContext) -> AsyncIterator[list[str]]:
    """Bucket names appended here are deleted after the test."""
    names: list[str] = []
    try:
        yield names
    finally:
        for name in names:
            with contextlib.suppress(natskv.NatsError):
                await kv.delete_store(name)


@per_test
async def kv_store(kv: natskv.KVContext, cleanup: list[str]) -> natskv.KVStore:
    """A fresh bucket with history 5, deleted after the test."""
    name = f"ui_browser_{uuid.uuid4().hex[:10]}"
    cleanup.append(name)
    return await kv.create_store(natskv.KVConfig(bucket=name, history=5))


HOSTILE = (
    "<img src=x onerror=\"document.title='pwned'\">"
    "<script>document.title='pwned'</script><b>bold</b> & &amp;"
)


async def _open_bucket(page: Any, ui: UIServer, bucket: str) -> None:
    await page.goto(ui.url)
    await page.locator("#buckets tbody tr", has_text=bucket).click()
    # the watch is live: what happens from now on must show
    await expect(page.locator("#live")).to_have_text(f"live: {bucket}")


async def _open_key(page: Any, key: str) -> None:
    await page.locator("#keys button.key", has_text=key).click()
    await expect(page.locator("#entry-key")).to_have_text(key)


async def test_the_page_lists_the_buckets(
    page: Any, ui: UIServer, kv: natskv.KVContext, cleanup: list[str]
) -> None:
    names = [f"ui_page_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        cleanup.append(name)
        store = await kv.create_store(natskv.KVConfig(bucket=name))
        await store.put("k", b"v")
    await page.goto(ui.url)
    rows = page.locator("#buckets tbody tr")
    for name in names:
        row = rows.filter(has_text=name)
        await expect(row).to_have_count(1)
        await expect(row.locator("td").nth(4)).to_have_text("1")  # Values, as `ls` shows
    await expect(page.locator("#no-buckets")).to_be_hidden()


async def test_a_put_from_another_connection_shows_within_2s(
    page: Any, ui: UIServer, kv_store: natskv.KVStore, nats_url: str
) -> None:
    await kv_store.put("greeting", b"hello")
    await _open_bucket(page, ui, kv_store.bucket)
    await _open_key(page, "greeting")
    await expect(page.locator("#entry-value")).to_have_text("hello")
    await page.evaluate("window.notReloaded = true")

    async with await natskv.connect(nats_url) as other:
        store = await natskv.KVContext(natskv.JetStream(other)).get_store(kv_store.bucket)
        await store.put("greeting", b"hello again")
        await store.put("newcomer", b'{"fresh": true}')

    changes = page.locator("#changes li")
    await expect(changes.filter(has_text="newcomer")).to_contain_text(
        '{"fresh": true}', timeout=2000
    )
    await expect(changes.filter(has_text="greeting")).to_contain_text("hello again", timeout=2000)
    # the key on show follows the change
    await expect(page.locator("#entry-value")).to_have_text("hello again", timeout=2000)
    assert await page.evaluate("window.notReloaded") is True


async def test_a_value_holding_html_shows_as_text(
    page: Any, ui: UIServer, kv: natskv.KVContext, cleanup: list[str]
) -> None:
    name = f"ui_html_{uuid.uuid4().hex[:8]}"
    cleanup.append(name)
    store = await kv.create_store(natskv.KVConfig(bucket=name, description=HOSTILE))
    await store.put("html", HOSTILE.encode())
    await _open_bucket(page, ui, name)
    title = await page.title()

    row = page.locator("#buckets tbody tr", has_text=name)
    await expect(row.locator("td").nth(1)).to_have_text(HOSTILE)
    await _open_key(page, "html")
    value = page.locator("#entry-value")
    await expect(value).to_have_text(HOSTILE)
    await expect(page.locator("#history td.preview")).to_have_text(HOSTILE)
    await store.put("html", HOSTILE.encode() + b"!")
    await expect(page.locator("#changes li .preview")).to_have_text(f" {HOSTILE}!")
    # the markup stayed characters: no element was made of it, no script ran
    for where in ("#entry-value", "#buckets", "#history", "#changes", "#status"):
        assert await page.locator(f"{where} img, {where} script, {where} b").count() == 0, where
    assert await page.title() == title != "pwned"


async def test_a_request_without_the_token_is_refused(page: Any, ui: UIServer) -> None:
    base = ui.url.split("?")[0]
    response = await page.goto(base)
    assert response.status == 403
    assert "token" in await page.locator("body").inner_text()
    assert (await page.goto(base + "static/app.js")).status == 403
    assert (await page.goto(base + "api/buckets?token=wrong")).status == 403
    # from the page itself, a fetch that leaves the token out is refused too
    await page.goto(ui.url)
    statuses = await page.evaluate(
        """async () => [
            (await fetch('/api/buckets')).status,
            (await fetch('/api/buckets', {headers: {'X-Natskv-Token': 'wrong'}})).status,
        ]"""
    )
    assert statuses == [403, 403]


async def test_put_delete_and_purge_ask_first(
    page: Any, ui: UIServer, kv_store: natskv.KVStore
) -> None:
    await _open_bucket(page, ui, kv_store.bucket)
    dialog = page.locator("#confirm")

    await page.fill("#put-key", "doc")
    await page.fill("#put-value", '{"a": 1}')
    await page.click("#put")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#confirm-text")).to_contain_text("key doc")
    await page.click("#confirm-cancel")
    await expect(dialog).to_be_hidden()

    await page.click("#put")
    await page.click("#confirm-ok")
    await expect(page.locator("#entry-key")).to_have_text("doc")
    await expect(page.locator("#entry-value")).to_have_text('{\n  "a": 1\n}')
    # one put: the cancelled one sent nothing
    assert [e.raw async for e in kv_store.history("doc")] == [b'{"a": 1}']

    await page.click("#delete")
    await expect(page.locator("#confirm-text")).to_contain_text("Delete key doc")
    await page.click("#confirm-ok")
    await expect(page.locator("#entry-note")).to_contain_text("was deleted")
    with pytest.raises(natskv.KeyDeletedError):
        await kv_store.get("doc")

    await page.click("#purge")
    await expect(page.locator("#confirm-text")).to_contain_text("Purge key doc")
    await page.click("#confirm-cancel")
    await expect(page.locator("#history tbody tr")).to_have_count(2)  # PUT and DEL kept
    await page.click("#purge")
    await page.click("#confirm-ok")
    await expect(page.locator("#history tbody tr")).to_have_count(1)
    await expect(page.locator("#history td.op")).to_have_text("PURGE")
    assert [e.operation async for e in kv_store.history("doc")] == [natskv.KVOperation.PURGE]


async def test_keys_page_and_filter(page: Any, ui: UIServer, kv_store: natskv.KVStore) -> None:
    await kv_store.put_many([(f"a.{i:03d}", b"v") for i in range(230)] + [("b.1", b"v")])
    await _open_bucket(page, ui, kv_store.bucket)
    keys = page.locator("#keys button.key")
    info = page.locator("#page-info")
    await expect(info).to_have_text(f"keys 1{DASH}100, more follow")
    await expect(keys).to_have_count(100)
    await expect(page.locator("#prev")).to_be_disabled()
    await page.click("#next")
    await page.click("#next")
    await expect(info).to_have_text(f"keys 201{DASH}231 of 231")
    await expect(keys.last).to_have_text("b.1")
    await expect(page.locator("#next")).to_be_disabled()
    await page.click("#prev")
    await expect(keys.first).to_have_text("a.100")

    await page.fill("#filter", "b.*")
    await expect(info).to_have_text(f"keys 1{DASH}1 of 1 matching b.*")
    await expect(keys).to_have_text(["b.1"])
    await page.fill("#filter", "a.22")
    await expect(keys).to_have_text([f"a.22{i}" for i in range(10)])


async def test_values_show_as_json_text_or_hex(
    page: Any, ui: UIServer, kv_store: natskv.KVStore
) -> None:
    await kv_store.put("doc", b'{"b":[1,2]}')
    await kv_store.put("bin", b"\x00\x01\xfe\xff")
    await _open_bucket(page, ui, kv_store.bucket)
    value = page.locator("#entry-value")
    await _open_key(page, "doc")
    await expect(value).to_have_text('{\n  "b": [\n    1,\n    2\n  ]\n}')
    await page.click(".tabs [data-view=text]")
    await expect(value).to_have_text('{"b":[1,2]}')
    await page.click(".tabs [data-view=hex]")
    await expect(value).to_contain_text("00000000: 7b22 6222 3a5b 312c 325d 7d")
    await _open_key(page, "bin")
    await expect(value).to_have_text("00000000: 0001 feff" + " " * 30 + "....")
    await expect(page.locator(".tabs [data-view=json]")).to_be_disabled()
    await expect(page.locator("#edit")).to_be_disabled()  # as text it would change
