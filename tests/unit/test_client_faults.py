"""A connection under faults, over a mock transport: which requests fail at once when the
socket goes, which are kept for the next one, and the reconnect buffer's bound."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import natskv
from natskv.client import MockNetwork, MockTransport

URL = "nats://mock:4222"
FAST: dict[str, Any] = {"reconnect_time_wait": 0.01, "reconnect_jitter": 0.0}
LONG = 60.0  # a request timeout no test waits for: a failure before it is a fast failure


async def _connected(
    network: MockNetwork, **options: Any
) -> tuple[natskv.Connection, MockTransport]:
    return await network.serve(natskv.connect(URL, dialer=network, **{**FAST, **options}))


async def _reply_to_request(transport: MockTransport, payload: bytes) -> None:
    """Answer the next request the client writes to ``transport`` with ``payload``."""
    line, _ = await transport.read_msg(skip=(b"SUB",))
    reply = line.split()[2]
    transport.send(b"MSG %s 1 %d\r\n%s\r\n" % (reply, len(payload), payload))


async def test_a_request_on_a_lost_socket_fails_at_once_with_a_retriable_error() -> None:
    network = MockNetwork()
    nc, first = await _connected(network, request_timeout=LONG)
    try:
        asking = asyncio.create_task(nc.request("svc.lost", b"q"))
        await first.read_msg(skip=(b"SUB",))  # it is on the wire
        network.refuse(1000)  # and stays down: the failure comes from the loss itself
        first.drop()
        with pytest.raises(natskv.ConnectionLostError) as info:
            await asyncio.wait_for(asking, 5)
        err = info.value
        assert isinstance(err, natskv.NatsConnectionError)  # what callers catch already
        assert "svc.lost" in str(err) and "may have reached the server" in str(err)
        assert nc._mux.futs == {}
    finally:
        await nc.close()


async def test_futures_of_the_low_level_api_and_of_pipelined_requests_fail_too() -> None:
    network = MockNetwork()
    nc, first = await _connected(network, request_timeout=LONG)
    try:
        futs = [nc.lowlevel.request_future("svc.many", str(i).encode()) for i in range(5)]
        token, fut = nc.lowlevel.request_nowait("svc.piped", b"")
        waiting = asyncio.create_task(nc.lowlevel.await_reply(token, fut, "svc.piped"))
        await asyncio.sleep(0)  # the loop turn's one write
        assert first.written.count(b"PUB svc.") == 6
        first.drop()
        done = await asyncio.wait_for(asyncio.gather(*futs, return_exceptions=True), 5)
        assert all(isinstance(r, natskv.ConnectionLostError) for r in done)
        with pytest.raises(natskv.ConnectionLostError):
            await asyncio.wait_for(waiting, 5)
    finally:
        await nc.close()


async def test_a_request_still_in_the_write_buffer_is_sent_after_the_reconnect() -> None:
    network = MockNetwork()
    nc, first = await _connected(network, request_timeout=LONG)
    try:
        sent = nc.lowlevel.request_future("svc.sent", b"1")
        await asyncio.sleep(0)  # written
        kept = nc.lowlevel.request_future("svc.kept", b"2")  # queued in this turn ...
        nc.lowlevel.publish_nowait("note", b"PUB svc.kept " + nc._mux.prefix.encode())
        first.drop()  # ... and the socket goes before the turn's write
        with pytest.raises(natskv.ConnectionLostError):
            await asyncio.wait_for(sent, 5)
        assert not kept.done()

        second = await network.accept()
        await second.handshake()
        line, payload = await second.read_msg(skip=(b"SUB",))
        assert line.startswith(b"PUB svc.kept ") and payload == b"2"  # sent once, now
        second.send(b"MSG %s 1 2\r\nok\r\n" % line.split()[2])
        assert (await asyncio.wait_for(kept, 5)).data == b"ok"
        assert b"svc.sent" not in second.written  # what may have arrived is not repeated
    finally:
        await nc.close()


async def test_requests_made_while_disconnected_wait_for_the_next_socket() -> None:
    network = MockNetwork()
    nc, first = await _connected(network, request_timeout=LONG)
    try:
        network.refuse(2)
        first.drop()
        asking = asyncio.create_task(nc.request("svc.later", b"q"))
        second = await network.accept()
        await second.handshake()
        await _reply_to_request(second, b"answered")
        assert (await asyncio.wait_for(asking, 5)).data == b"answered"
    finally:
        await nc.close()


async def test_after_a_loss_the_next_request_is_answered_on_the_new_socket() -> None:
    network = MockNetwork()
    nc, first = await _connected(network, request_timeout=LONG)
    try:
        lost = nc.lowlevel.request_future("svc.a", b"")
        await asyncio.sleep(0)
        first.drop()
        with pytest.raises(natskv.ConnectionLostError):
            await asyncio.wait_for(lost, 5)
        second = await network.accept()
        await second.handshake()
        retry = asyncio.create_task(nc.request("svc.a", b""))  # the caller's retry
        await _reply_to_request(second, b"second time")
        assert (await asyncio.wait_for(retry, 5)).data == b"second time"
    finally:
        await nc.close()


# -- the reconnect buffer's bound --------------------------------------------------------


async def test_the_reconnect_buffer_holds_up_to_its_bound_and_refuses_the_rest() -> None:
    network = MockNetwork()
    frame = len(b"PUB s 30\r\n" + b"x" * 30 + b"\r\n")  # 42 bytes
    nc, first = await _connected(network, reconnect_buffer_size=frame * 3)
    try:
        network.refuse(1)
        first.drop()
        for _ in range(3):
            await nc.publish("s", b"x" * 30)  # exactly the bound
        with pytest.raises(natskv.ReconnectBufferFullError, match="reconnect_buffer_size=126"):
            await nc.publish("s", b"x")
        with pytest.raises(natskv.ReconnectBufferFullError):
            nc.lowlevel.publish_many([("s", b"", None)])
        with pytest.raises(natskv.ReconnectBufferFullError):
            nc.lowlevel.request_future("svc", b"")
        assert nc._mux.futs == {}  # a refused request leaves no waiter behind
        assert nc._writer.size == frame * 3  # what was refused left nothing behind
        flushed = asyncio.create_task(nc.flush(timeout=5))  # a flush's PING still goes in

        second = await network.accept()
        await second.handshake()
        line = await second.read_line()
        assert line.startswith(b"SUB _INBOX.")  # the reply inbox, replayed from its table
        replay = await second.read(frame * 3 + 6)
        assert replay == (b"PUB s 30\r\n" + b"x" * 30 + b"\r\n") * 3 + b"PING\r\n"
        second.send(b"PONG\r\n")
        await asyncio.wait_for(flushed, 5)
        await nc.publish("s", b"x")  # connected again: no bound
    finally:
        await nc.close()


async def test_a_zero_reconnect_buffer_refuses_every_publish_while_disconnected() -> None:
    network = MockNetwork()
    nc, first = await _connected(network, reconnect_buffer_size=0)
    try:
        network.refuse(1000)
        first.drop()
        with pytest.raises(natskv.ReconnectBufferFullError):
            await nc.publish("s", b"")
        assert nc._writer.buf == []
    finally:
        await nc.close()


async def test_each_retry_waits_the_reconnect_time_plus_a_random_jitter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import natskv.client._connection as connection_module

    drawn: list[tuple[float, float]] = []
    slept: list[float] = []
    real_sleep = asyncio.sleep

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return high / 2

    async def sleep(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(connection_module.random, "uniform", uniform)
    network = MockNetwork()
    nc, first = await _connected(network, reconnect_time_wait=0.25, reconnect_jitter=0.5)
    try:
        monkeypatch.setattr(connection_module.asyncio, "sleep", sleep)
        network.refuse(2)
        first.drop()
        second = await network.accept()
        await second.handshake()
        # three attempts at the lost server, each after the wait plus its own draw
        assert drawn == [(0, 0.5)] * 3
        assert slept[:3] == [0.5, 0.5, 0.5]
    finally:
        monkeypatch.undo()
        await nc.close()
