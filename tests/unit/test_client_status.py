"""Status events (``nc.status()``) and lame duck mode, over a mock transport."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import natskv
from natskv.client import (
    AsyncError,
    Closed,
    Disconnected,
    LameDuck,
    MockNetwork,
    MockTransport,
    Reconnected,
    StatusEvent,
    StatusStream,
)

A = "nats://a:4222"
B = "nats://b:4222"
FAST: dict[str, Any] = {"reconnect_time_wait": 0.01, "reconnect_jitter": 0.0}


async def _connected(
    network: MockNetwork, servers: str | list[str] = A, **options: Any
) -> tuple[natskv.Connection, MockTransport]:
    return await network.serve(
        natskv.connect(
            servers, dialer=network, ignore_discovered_servers=True, **{**FAST, **options}
        )
    )


async def _stopped_writing(nc: natskv.Connection) -> None:
    while nc._writer.transport is not None:
        await asyncio.sleep(0.01)


async def _next(stream: StatusStream) -> StatusEvent:
    return await asyncio.wait_for(stream.__anext__(), 5)


async def test_status_events_arrive_in_order_and_the_stream_ends_with_closed() -> None:
    network = MockNetwork()
    nc, first = await _connected(network)
    stream = nc.status()
    first.drop()  # before the first await: nothing is missed
    event = await _next(stream)
    assert isinstance(event, Disconnected) and event.url == A
    assert isinstance(event.error, ConnectionResetError)
    second = await network.accept()
    await second.handshake()
    assert await _next(stream) == Reconnected(A)
    second.send(b"-ERR 'Permissions Violation for Publish to \"x\"'\r\n")
    event = await _next(stream)
    assert isinstance(event, AsyncError) and isinstance(event.error, natskv.AuthorizationError)
    await nc.close()
    assert await _next(stream) == Closed(None)
    with pytest.raises(StopAsyncIteration):
        await _next(stream)
    # a stream asked for after the close is empty
    assert [e async for e in nc.status()] == []


async def test_closed_carries_the_reason_when_reconnecting_gives_up() -> None:
    network = MockNetwork()
    nc, first = await _connected(network, max_reconnect_attempts=1)
    events: list[StatusEvent] = []

    async def watch() -> None:
        async for event in nc.status():
            events.append(event)

    watching = asyncio.create_task(watch())
    await asyncio.sleep(0)
    network.refuse(10)
    first.drop()
    await asyncio.wait_for(watching, 5)  # the iteration ended on its own
    assert isinstance(events[0], Disconnected)
    assert isinstance(events[-1], Closed)
    assert isinstance(events[-1].error, natskv.NatsConnectionError)
    assert "exhausted" in str(events[-1].error)


async def test_a_slow_reader_loses_the_oldest_events_not_memory() -> None:
    network = MockNetwork()
    nc, first = await _connected(network)
    try:
        stream = nc.status(maxsize=2)
        for i in range(5):
            first.send(b"-ERR 'Permissions Violation for Publish to \"s%d\"'\r\n" % i)
        assert stream.dropped == 3
        kept = [await _next(stream), await _next(stream)]
        assert [str(e.error) for e in kept if isinstance(e, AsyncError)] == [
            'Permissions Violation for Publish to "s3"',
            'Permissions Violation for Publish to "s4"',
        ]
        async with nc.status() as closing:
            pass
        with pytest.raises(StopAsyncIteration):  # closed by the async with
            await _next(closing)
        assert len(nc._events._streams) == 1  # the closed one unregistered itself
        with pytest.raises(ValueError, match="maxsize"):
            nc.status(maxsize=0)
    finally:
        await nc.close()


async def test_lame_duck_without_another_server_is_reported_and_the_client_stays() -> None:
    network = MockNetwork()
    called: list[str] = []
    nc, first = await _connected(network, lame_duck_cb=lambda: called.append("ldm"))
    try:
        stream = nc.status()
        first.send_info(ldm=True, server_id="NLDM")
        assert await _next(stream) == LameDuck(A, "NLDM", moving=False)
        assert called == ["ldm"]
        await asyncio.sleep(0.6)  # past the pause before a move
        assert nc.is_connected and not first.closed
        assert len(network.transports) == 1
    finally:
        await nc.close()


async def test_lame_duck_moves_to_another_server_after_in_flight_replies() -> None:
    network = MockNetwork()
    called: list[str] = []
    nc, first = await _connected(
        network, [A, B], lame_duck_cb=lambda: called.append("ldm"), request_timeout=30
    )
    try:
        stream = nc.status()
        in_flight = asyncio.create_task(nc.request("svc", b"early"))
        line, _ = await first.read_msg(skip=(b"SUB",))
        first.send_info(ldm=True, server_id="NLDM")
        assert await _next(stream) == LameDuck(A, "NLDM", moving=True)
        assert called == ["ldm"]
        await asyncio.wait_for(_stopped_writing(nc), 5)  # after a random pause
        # while the client waits for the early reply, a new request is kept for the next server
        later = asyncio.create_task(nc.request("svc", b"later"))
        await asyncio.sleep(0.1)
        assert not first.closed  # not before the reply on this socket
        first.send(b"MSG %s 1 5\r\nfirst\r\n" % line.split()[2])
        assert (await asyncio.wait_for(in_flight, 5)).data == b"first"
        await first.wait_closed()
        assert not first.aborted  # an orderly close, by the client
        assert b"later" not in first.written

        second = await network.accept()
        assert second.server.url == B  # the other server, not the one in lame duck mode
        await second.handshake()
        line, payload = await second.read_msg(skip=(b"SUB",))
        assert payload == b"later"
        second.send(b"MSG %s 1 6\r\nsecond\r\n" % line.split()[2])
        assert (await asyncio.wait_for(later, 5)).data == b"second"
        assert isinstance(await _next(stream), Disconnected)
        assert await _next(stream) == Reconnected(B)
        assert nc.connected_url == B
    finally:
        await nc.close()


async def test_closing_during_a_lame_duck_move_sends_the_buffer_and_closes_the_socket() -> None:
    network = MockNetwork()
    nc, first = await _connected(network, [A, B], request_timeout=30)
    in_flight = asyncio.create_task(nc.request("svc", b"early"))
    await first.read_msg(skip=(b"SUB",))
    first.send_info(ldm=True)
    await asyncio.wait_for(_stopped_writing(nc), 5)  # the move waits for the early reply
    await nc.publish("note", b"buffered")
    await nc.close()
    assert first.closed  # the old socket is closed, not left open
    assert b"PUB note 8\r\nbuffered\r\n" in first.written  # close() sends what was queued
    with pytest.raises(natskv.ConnectionClosedError):
        await in_flight
    assert len(network.transports) == 1  # and no move happens after the close
