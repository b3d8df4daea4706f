"""Lame duck mode against real nats-servers: the client is told (callback and status
stream) and moves to another server of the pool before the old one goes, with no failed
request."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator

import pytest

import natskv
from natskv.client import Disconnected, LameDuck, Reconnected, StatusEvent
from natskv.server import EmbeddedCluster, EmbeddedServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="lame duck mode is a signal")

WAIT = 20.0  # an upper bound for events that do happen; never reached when things work
# The server waits this grace period before it closes any client: a client that moves on
# its own is gone well before (it pauses at most half a second).
LAME_DUCK = 'lame_duck_grace_period: "3s"\nlame_duck_duration: "30s"\n'


@pytest.fixture
async def cluster() -> AsyncIterator[EmbeddedCluster]:
    nodes = EmbeddedCluster(2, extra_config=LAME_DUCK)
    await asyncio.to_thread(nodes.start)
    try:
        yield nodes
    finally:
        await asyncio.to_thread(nodes.stop)


def _enter_lame_duck(server: EmbeddedServer) -> None:
    assert server.pid is not None
    os.kill(server.pid, signal.SIGUSR2)


async def _next_of(stream: AsyncIterator[StatusEvent], kind: type[StatusEvent]) -> StatusEvent:
    async def find() -> StatusEvent:
        async for event in stream:
            if isinstance(event, kind):
                return event
        raise AssertionError(f"the status stream ended without a {kind.__name__} event")

    return await asyncio.wait_for(find(), WAIT)


async def test_the_client_moves_off_a_server_in_lame_duck_mode_without_failing_a_request(
    cluster: EmbeddedCluster,
) -> None:
    old, new = cluster.nodes
    responder = await natskv.connect(new.url)
    calls: list[str] = []
    nc = await natskv.connect(
        [old.url, new.url], lame_duck_cb=lambda: calls.append("lame duck"), request_timeout=10
    )
    try:
        await responder.subscribe(
            "ldm.echo", cb=lambda m: responder.lowlevel.publish_nowait(m.reply or "", m.data)
        )
        await responder.flush()

        async def reachable() -> None:  # the interest has crossed the route to `old`
            while True:
                try:
                    await nc.request("ldm.echo", b"", timeout=1)
                    return
                except (natskv.NoRespondersError, natskv.TimeoutError):
                    await asyncio.sleep(0.05)

        await asyncio.wait_for(reachable(), WAIT)
        assert nc.connected_url == old.url
        stream = nc.status()
        answered: list[str] = []
        stop = asyncio.Event()

        async def keep_asking() -> None:  # a steady load across the move; any error fails
            i = 0
            while not stop.is_set():
                reply = await nc.request("ldm.echo", f"{i}".encode())
                answered.append(reply.data.decode())
                i += 1

        asking = asyncio.create_task(keep_asking())
        await asyncio.sleep(0.1)
        _enter_lame_duck(old)
        event = await _next_of(stream, LameDuck)
        assert isinstance(event, LameDuck)
        assert event.url == old.url and event.moving and event.server_id
        assert calls == ["lame duck"]
        assert isinstance(await _next_of(stream, Disconnected), Disconnected)
        assert await _next_of(stream, Reconnected) == Reconnected(new.url)
        assert old.running  # moved before the old server closed anything
        assert nc.connected_url == new.url
        moved_at = len(answered)
        while len(answered) < moved_at + 10:  # requests keep working on the new server
            await asyncio.sleep(0.01)
            assert not asking.done(), asking
        stop.set()
        await asyncio.wait_for(asking, WAIT)  # it raised nothing
        assert answered == [str(i) for i in range(len(answered))]  # none lost, in order
        assert nc.reconnects == 1
    finally:
        await nc.close()
        await responder.close()


async def test_lame_duck_with_no_other_server_is_reported_and_the_client_stays() -> None:
    async with EmbeddedServer(durable=False, extra_config=LAME_DUCK) as server:
        calls: list[str] = []
        nc = await natskv.connect(server.url, lame_duck_cb=lambda: calls.append("lame duck"))
        try:
            stream = nc.status()
            _enter_lame_duck(server)
            event = await _next_of(stream, LameDuck)
            assert event == LameDuck(server.url, nc.server_info["server_id"], moving=False)
            assert calls == ["lame duck"]
            await nc.flush(timeout=WAIT)  # still served: nowhere better to go
            assert nc.is_connected and nc.reconnects == 0
        finally:
            await nc.close()
