"""Durability shown: a bucket's status says how many replicas its stream has and when the
server fsyncs an acknowledged write, read from the server's own ``/varz``.

The servers here are started by the test, with and without ``sync_interval: always``
(``EmbeddedServer(durable=...)``), so the expected policy is the one they were given.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from tests.cli.helpers import ok

import natskv
from natskv.server import EmbeddedServer


@pytest.fixture(scope="module")
def durable_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(durable=True) as server:
        yield server


@pytest.fixture(scope="module")
def default_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(durable=False) as server:
        yield server


async def _status(server: EmbeddedServer, bucket: str, **kwargs: str) -> natskv.KVStatus:
    async with await natskv.connect(server.url) as nc:
        kv = natskv.KVContext(natskv.JetStream(nc))
        store = await kv.create_store(bucket)
        return await store.status(**kwargs)


async def test_a_server_that_syncs_every_write_says_always(durable_server: EmbeddedServer) -> None:
    status = await _status(durable_server, "d1", monitoring_url=durable_server.monitor_url)
    assert status.sync_policy == "always"
    assert status.replicas == 1


async def test_a_server_with_the_default_interval_says_every_two_minutes(
    default_server: EmbeddedServer,
) -> None:
    status = await _status(default_server, "d2", monitoring_url=default_server.monitor_url)
    assert status.sync_policy == "every 2m0s"


async def test_a_custom_sync_interval_is_shown_as_the_server_writes_it() -> None:
    with EmbeddedServer(durable=False, extra_config="jetstream { sync_interval: 10s }") as srv:
        status = await _status(srv, "d3", monitoring_url=srv.monitor_url)
    assert status.sync_policy == "every 10s"


async def test_without_a_monitoring_url_the_policy_is_unknown(
    durable_server: EmbeddedServer,
) -> None:
    status = await _status(durable_server, "d4")
    assert status.sync_policy == "unknown"
    assert status.replicas == 1


async def test_an_unreachable_monitoring_endpoint_is_unknown_and_logged(
    durable_server: EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # the client port does not speak HTTP: the endpoint answers nonsense, then closes
    wrong = durable_server.url.replace("nats://", "http://")
    with caplog.at_level(logging.WARNING, logger="natskv.kv"):
        status = await _status(durable_server, "d5", monitoring_url=wrong)
    assert status.sync_policy == "unknown"
    assert any("sync policy" in r.getMessage() for r in caplog.records)


async def test_a_monitoring_url_that_is_not_http_is_refused(
    durable_server: EmbeddedServer,
) -> None:
    with pytest.raises(ValueError, match="http"):
        await _status(durable_server, "d6", monitoring_url=durable_server.url)


def test_natskv_info_prints_replicas_and_the_sync_policy(durable_server: EmbeddedServer) -> None:
    ok(durable_server.url, "add", "d7")
    out = ok(durable_server.url, "info", "d7", "--monitoring-url", durable_server.monitor_url)
    lines = out.splitlines()
    storage = lines.index("                Storage: File")
    assert lines[storage + 1 : storage + 3] == [
        "               Replicas: 1",
        "            Sync Policy: always",
    ]
    unknown = ok(durable_server.url, "info", "d7")
    assert "            Sync Policy: unknown\n" in unknown
    as_json = ok(
        durable_server.url, "info", "d7", "--json", "--monitoring-url", durable_server.monitor_url
    )
    assert '"sync_policy": "always"' in as_json or '"sync_policy":"always"' in as_json
