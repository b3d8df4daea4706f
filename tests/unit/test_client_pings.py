"""PING/PONG over a mock transport: answering the server, flush(), keepalives, staleness."""

from __future__ import annotations

import asyncio

import pytest

import natskv
from natskv.client import MockNetwork

URL = "nats://mock:4222"


async def test_a_server_ping_is_answered_at_once() -> None:
    network = MockNetwork()
    nc, server = await network.serve(natskv.connect(URL, dialer=network))
    try:
        server.send(b"PING\r\n")
        # answered from data_received, ahead of anything buffered, without a loop turn
        assert server.unread() == b"PONG\r\n"
    finally:
        await nc.close()


async def test_flush_returns_on_the_pong_of_its_own_ping() -> None:
    network = MockNetwork()
    nc, server = await network.serve(natskv.connect(URL, dialer=network))
    try:
        await nc.publish("a", b"1")
        flushed = asyncio.create_task(nc.flush(timeout=5))
        assert await server.read_msg() == (b"PUB a 1", b"1")
        assert await server.read_line() == b"PING"
        await asyncio.sleep(0)
        assert not flushed.done()
        server.send(b"PONG\r\n")
        await asyncio.wait_for(flushed, 5)
    finally:
        await nc.close()


async def test_a_flush_that_timed_out_does_not_take_a_later_pong() -> None:
    network = MockNetwork()
    nc, server = await network.serve(natskv.connect(URL, dialer=network))
    try:
        with pytest.raises(natskv.TimeoutError, match="flush"):
            await nc.flush(timeout=0.05)
        later = asyncio.create_task(nc.flush(timeout=5))
        assert await server.read_line() == b"PING"
        assert await server.read_line() == b"PING"
        server.send(b"PONG\r\n")  # answers the first PING, whose flush gave up
        await asyncio.sleep(0)
        assert not later.done()
        server.send(b"PONG\r\n")
        await asyncio.wait_for(later, 5)
    finally:
        await nc.close()


async def test_keepalive_pings_and_a_pong_resets_the_count() -> None:
    network = MockNetwork()
    nc, server = await network.serve(
        natskv.connect(URL, dialer=network, ping_interval=0.02, max_outstanding_pings=2)
    )
    try:
        for _ in range(5):  # more PINGs than allowed outstanding: each answered in time
            assert await server.read_line() == b"PING"
            server.send(b"PONG\r\n")
        assert nc.is_connected
        assert not server.closed
    finally:
        await nc.close()


async def test_too_many_outstanding_pings_disconnect_and_reconnect() -> None:
    network = MockNetwork()
    errors: list[Exception] = []
    disconnected = asyncio.Event()
    nc, server = await network.serve(
        natskv.connect(
            URL,
            dialer=network,
            ping_interval=0.02,
            max_outstanding_pings=2,
            reconnect_time_wait=0.01,
            error_cb=errors.append,
            disconnected_cb=disconnected.set,
        )
    )
    try:
        assert await server.read_line() == b"PING"
        assert await server.read_line() == b"PING"  # neither answered
        await server.wait_closed()
        assert server.aborted
        await asyncio.wait_for(disconnected.wait(), 5)
        stale = [e for e in errors if "stale" in str(e)]
        assert stale and isinstance(stale[0], natskv.NatsConnectionError)
        again = await network.accept()
        await again.handshake()
        assert again is not server
    finally:
        await nc.close()


async def test_ping_interval_zero_sends_no_keepalive() -> None:
    network = MockNetwork()
    nc, server = await network.serve(natskv.connect(URL, dialer=network, ping_interval=0))
    try:
        await asyncio.sleep(0.1)
        assert server.unread() == b""
    finally:
        await nc.close()
