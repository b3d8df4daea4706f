"""Reconnect over a mock transport: what is replayed, in which order, and when it gives up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import natskv
from natskv.client import ConnectionState, MockNetwork, MockTransport

URL = "nats://mock:4222"
FAST: dict[str, Any] = {"reconnect_time_wait": 0.01, "reconnect_jitter": 0.0}


class Events:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.changed = asyncio.Event()

    def options(self) -> dict[str, Any]:
        return {
            "disconnected_cb": lambda: self._add("disconnected"),
            "reconnected_cb": lambda: self._add("reconnected"),
            "closed_cb": lambda: self._add("closed"),
            **FAST,
        }

    def _add(self, event: str) -> None:
        self.log.append(event)
        self.changed.set()

    async def wait_for(self, event: str) -> None:
        while event not in self.log:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)


async def _connected(
    network: MockNetwork, **options: Any
) -> tuple[natskv.Connection, MockTransport]:
    return await network.serve(natskv.connect(URL, dialer=network, **options))


async def test_subscriptions_then_buffered_publishes_are_replayed_in_one_write() -> None:
    network = MockNetwork()
    events = Events()
    nc, first = await _connected(network, **events.options())
    try:
        plain = await nc.subscribe("a")
        queued = await nc.subscribe("b.>", queue="workers")
        limited = await nc.subscribe("c", max_msgs=5)
        await asyncio.sleep(0)
        for i in range(2):  # two of the five delivered before the cut
            first.send(b"MSG c %d 1\r\n%d\r\n" % (limited.sid, i))
        first.drop()
        await events.wait_for("disconnected")
        assert nc.state is ConnectionState.RECONNECTING
        for i in range(3):
            await nc.publish("out", str(i).encode())
        flushed = asyncio.create_task(nc.flush(timeout=5))

        second = await network.accept()
        await second.handshake()
        await events.wait_for("reconnected")
        replay = second.writes[1]  # after the handshake's CONNECT + PING
        assert replay == (
            b"SUB a %d\r\n" % plain.sid
            + b"SUB b.> workers %d\r\n" % queued.sid
            + b"SUB c %d\r\n" % limited.sid
            + b"UNSUB %d 3\r\n" % limited.sid  # what is left of max_msgs
            + b"PUB out 1\r\n0\r\nPUB out 1\r\n1\r\nPUB out 1\r\n2\r\n"
            + b"PING\r\n"  # the flush queued while disconnected
        )
        assert not flushed.done()
        second.send(b"PONG\r\n")
        await asyncio.wait_for(flushed, 5)
        assert nc.reconnects == 1
        assert events.log == ["disconnected", "reconnected"]
    finally:
        await nc.close()
    assert events.log[-1] == "closed"


async def test_the_lost_server_is_tried_last_and_refusals_are_retried() -> None:
    network = MockNetwork()
    nc, _ = await network.serve(
        natskv.connect(
            [URL, "nats://other:4222"], dialer=network, ignore_discovered_servers=True, **FAST
        )
    )
    try:
        network.refuse(2)
        network.transports[0].drop()
        again = await network.accept()
        await again.handshake()
        await asyncio.sleep(0)
        assert [s.url for s in network.dials] == [
            URL,
            "nats://other:4222",  # the others first: refused
            URL,  # then the lost one: refused
            URL,  # the next round in pool order
        ]
        assert nc.connected_url == URL
    finally:
        await nc.close()


async def test_requests_sent_while_disconnected_are_answered_after_reconnect() -> None:
    network = MockNetwork()
    events = Events()
    nc, first = await _connected(network, **events.options())
    try:
        first.drop()
        await events.wait_for("disconnected")
        asking = asyncio.create_task(nc.request("svc", b"q", timeout=5))
        second = await network.accept()
        await second.handshake()
        line, payload = await second.read_msg(skip=(b"SUB",))  # after the reply inbox's SUB
        assert payload == b"q"
        second.send(b"MSG %s 1 1\r\na\r\n" % line.split()[2])
        assert (await asyncio.wait_for(asking, 5)).data == b"a"
    finally:
        await nc.close()


async def test_the_reconnect_buffer_limit_refuses_more() -> None:
    network = MockNetwork()
    events = Events()
    nc, first = await _connected(network, reconnect_buffer_size=100, **events.options())
    try:
        network.refuse(1000)
        first.drop()
        await events.wait_for("disconnected")
        with pytest.raises(natskv.NatsConnectionError, match="reconnect buffer"):
            for _ in range(10):
                await nc.publish("s", b"x" * 30)
    finally:
        await nc.close()


async def test_gives_up_after_max_reconnect_attempts() -> None:
    network = MockNetwork()
    events = Events()
    nc, first = await _connected(network, max_reconnect_attempts=2, **events.options())
    sub = await nc.subscribe("s")
    network.refuse(10)
    first.drop()
    await events.wait_for("closed")
    assert nc.is_closed
    assert len(network.dials) == 1 + 2
    assert isinstance(nc.last_error, natskv.NatsConnectionError)
    with pytest.raises(StopAsyncIteration):
        await sub.next_msg(timeout=1)


async def test_no_reconnect_when_disabled() -> None:
    network = MockNetwork()
    events = Events()
    nc, first = await _connected(network, allow_reconnect=False, **events.options())
    first.drop()
    await events.wait_for("closed")
    assert nc.is_closed
    assert events.log == ["disconnected", "closed"]
    assert len(network.dials) == 1


async def test_close_while_reconnecting_stops_the_loop() -> None:
    network = MockNetwork()
    events = Events()
    nc, first = await _connected(network, **events.options())
    network.refuse(1000)
    first.drop()
    await events.wait_for("disconnected")
    task = nc._reconnect_task
    await nc.close()
    assert task is not None
    await asyncio.wait([task], timeout=5)
    assert task.done()
    assert events.log == ["disconnected", "closed"]


async def test_a_subscription_made_while_disconnected_is_sent_once() -> None:
    network = MockNetwork()
    events = Events()
    nc, first = await _connected(network, **events.options())
    try:
        first.drop()
        await events.wait_for("disconnected")
        late = await nc.subscribe("late", max_msgs=2)
        gone = await nc.subscribe("gone")
        await gone.unsubscribe()  # never reached the server: nothing to undo there
        await nc.publish("late", b"x")
        second = await network.accept()
        await second.handshake()
        await events.wait_for("reconnected")
        assert second.writes[1] == (
            b"SUB late %d\r\nUNSUB %d 2\r\nPUB late 1\r\nx\r\n" % (late.sid, late.sid)
        )
    finally:
        await nc.close()
