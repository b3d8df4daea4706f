"""``examples/config_service.py``: settings loaded once, then every change applied live."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tests.examples.helpers import load, run_example

import natskv

config_service = load("config_service")


async def test_the_example_reloads_its_settings(
    nats_url: str, kv: natskv.KVContext, bucket_gone: Callable[[str], Awaitable[None]]
) -> None:
    await bucket_gone("config")
    out = await run_example("config_service", nats_url=nats_url)
    assert out.splitlines() == [
        "loaded: {'max_items': 50, 'currency': 'EUR', 'maintenance': False}",
        "changed: maintenance = True",
        "changed: currency = 'USD'",
        "changed: max_items = 20",
        "now: {'max_items': 20, 'currency': 'USD', 'maintenance': True}",
    ]
    assert "config" not in [name async for name in kv.store_names()]


async def test_changes_by_another_client_reach_the_service(
    kv_store: natskv.KVStore, nats_url: str
) -> None:
    await kv_store.put("shop.timeout", b"30")
    await kv_store.put("other.timeout", b"99")  # another service's setting: not loaded
    seen: list[tuple[str, Any]] = []
    service = config_service.ConfigService(kv_store, "shop", {"timeout": 10, "retries": 3})
    async with service:
        assert service.snapshot() == {"timeout": 30, "retries": 3}
        service.on_change(lambda name, value: seen.append((name, value)))

        async with await natskv.connect(nats_url) as other:
            admin = await natskv.KVContext(natskv.JetStream(other)).get_store(kv_store.bucket)
            await service.wait_for(await admin.put("shop.retries", b"5"))
            assert service.get("retries") == 5
            await service.wait_for(await admin.put("shop.banner", b'"sale"'))
            assert service.get("banner") == "sale"
            await service.wait_for(await admin.delete("shop.timeout"))
            assert service.get("timeout") == 10  # back to the default
            await service.wait_for(await admin.purge("shop.banner"))
            assert "banner" not in service.snapshot()  # no default: gone
    assert seen == [("retries", 5), ("banner", "sale"), ("timeout", 10), ("banner", None)]


async def test_a_value_that_is_not_json_is_ignored_and_reloads_go_on(
    kv_store: natskv.KVStore, capsys: pytest.CaptureFixture[str]
) -> None:
    async with config_service.ConfigService(kv_store, "shop", {"mode": "a"}) as service:
        await service.wait_for(await kv_store.put("shop.mode", b"not json"))
        assert service.get("mode") == "a"
        assert "ignoring shop.mode" in capsys.readouterr().err
        await service.wait_for(await service.set("mode", "b"))  # set() writes JSON
        assert service.get("mode") == "b"
    assert await kv_store.get("shop.mode") == b'"b"'
