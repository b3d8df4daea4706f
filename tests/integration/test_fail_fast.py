"""Requests on a lost connection fail at once, against a real nats-server behind a
fault-injecting proxy: core requests, the sync API's thread requests and a KV put."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.proxy import FaultProxy

import natskv
from natskv.server import EmbeddedServer

WAIT = 20.0  # an upper bound for events that do happen; never reached when things work
LONG = 120.0  # a request timeout: failing before it is failing fast
FAST: dict[str, Any] = {"reconnect_time_wait": 0.1, "reconnect_jitter": 0.05}


@pytest.fixture
async def proxy(fresh_server: EmbeddedServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(fresh_server.host, fresh_server.port) as p:
        yield p


async def _wait_reconnected(nc: natskv.Connection) -> None:
    async def connected() -> None:
        while not nc.is_connected:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(connected(), WAIT)


async def test_a_pending_request_fails_at_once_when_the_connection_drops(
    proxy: FaultProxy, fresh_server: EmbeddedServer
) -> None:
    nc = await natskv.connect(proxy.url, request_timeout=LONG, **FAST)
    silent = await natskv.connect(fresh_server.url)  # receives, never answers
    try:
        got = await silent.subscribe("ff.silent")
        await silent.flush()
        asking = asyncio.create_task(nc.request("ff.silent", b"q"))
        await got.next_msg(timeout=WAIT)  # the server delivered it: it is in flight
        proxy.reset()
        with pytest.raises(natskv.ConnectionLostError, match=r"ff\.silent"):
            await asyncio.wait_for(asking, WAIT)
        # and the connection comes back for the retry
        await _wait_reconnected(nc)
        await silent.subscribe(
            "ff.echo", cb=lambda m: silent.lowlevel.publish_nowait(m.reply or "", b"ok")
        )
        await silent.flush()
        assert (await nc.request("ff.echo", b"", timeout=WAIT)).data == b"ok"
    finally:
        await nc.close()
        await silent.close()


async def test_a_thread_request_fails_at_once_when_the_connection_drops(
    proxy: FaultProxy, fresh_server: EmbeddedServer
) -> None:
    nc = await natskv.connect(proxy.url, request_timeout=LONG, **FAST)
    silent = await natskv.connect(fresh_server.url)
    try:
        got = await silent.subscribe("ff.thread")
        await silent.flush()
        outcome: list[BaseException | natskv.Msg] = []

        def ask() -> None:
            try:
                outcome.append(nc.lowlevel.request_threadsafe("ff.thread", b"q").wait())
            except BaseException as exc:  # the outcome is what is checked
                outcome.append(exc)

        thread = threading.Thread(target=ask)
        thread.start()
        await got.next_msg(timeout=WAIT)
        proxy.reset()
        await asyncio.wait_for(asyncio.to_thread(thread.join), WAIT)
        assert len(outcome) == 1 and isinstance(outcome[0], natskv.ConnectionLostError)
    finally:
        await nc.close()
        await silent.close()


async def test_a_kv_put_whose_ack_is_lost_fails_fast_and_clearly(proxy: FaultProxy) -> None:
    nc = await natskv.connect(proxy.url, request_timeout=LONG, **FAST)
    try:
        kv = natskv.KVContext(natskv.JetStream(nc))
        store = await kv.create_store(natskv.KVConfig(bucket="ff_put", storage="memory"))
        await store.put("k", b"1")
        proxy.pause(to_client=True, to_server=False)  # the put arrives, its ack is held
        putting = asyncio.create_task(store.put("k", b"2"))
        await asyncio.sleep(0.2)
        assert not putting.done()
        proxy.reset()
        with pytest.raises(natskv.ConnectionLostError) as info:
            await asyncio.wait_for(putting, WAIT)
        assert "may have reached the server" in str(info.value)
        # it had: the value was stored although its ack never came (hence "retry if safe")
        await _wait_reconnected(nc)
        assert await store.get("k") == b"2"
        await kv.delete_store("ff_put")
    finally:
        await nc.close()
