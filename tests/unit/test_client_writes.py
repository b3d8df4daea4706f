"""Writing over a mock transport: coalescing, protocol limits checked before sending,
back-pressure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import natskv
from natskv.client import MockNetwork, MockTransport

URL = "nats://mock:4222"


async def _connected(**options: Any) -> tuple[natskv.Connection, MockTransport]:
    network = MockNetwork()
    return await network.serve(natskv.connect(URL, dialer=network, **options))


async def test_writes_of_one_loop_turn_leave_in_one_transport_write() -> None:
    nc, server = await _connected()
    try:
        before = len(server.writes)
        await nc.publish("a", b"1")
        await nc.publish("b", b"2", headers={"K": "v"})
        nc.lowlevel.publish_nowait("c", b"3", reply="r")
        sub = await nc.subscribe("d")
        await asyncio.sleep(0)  # the flush scheduled by the first write runs
        assert len(server.writes) == before + 1
        assert server.writes[-1] == (
            b"PUB a 1\r\n1\r\n"
            b"HPUB b 18 19\r\nNATS/1.0\r\nK: v\r\n\r\n2\r\n"
            b"PUB c r 1\r\n3\r\n"
            b"SUB d %d\r\n" % sub.sid
        )
        await nc.publish("e", b"4")
        await asyncio.sleep(0)
        assert len(server.writes) == before + 2  # a later turn is a later write
    finally:
        await nc.close()


async def test_a_large_payload_is_not_copied_into_its_frame() -> None:
    nc, server = await _connected()
    try:
        big = b"x" * (256 * 1024)
        await nc.publish("big", big)
        assert await server.read_msg() == (b"PUB big 262144", big)
    finally:
        await nc.close()


async def test_publish_many_is_all_or_nothing() -> None:
    nc, server = await _connected()
    try:
        with pytest.raises(natskv.BadSubjectError):
            nc.lowlevel.publish_many([("ok", b"1", None), ("a" * 5000, b"2", None)])
        with pytest.raises(natskv.BadSubjectError):
            nc.lowlevel.publish_many([("ok", b"1", None), ("a" * 5000, b"2", None)], checked=True)
        assert nc.lowlevel.publish_many([("x", b"1", None), ("y", b"2", "r")]) == 2
        assert await server.read_msg() == (b"PUB x 1", b"1")
        assert await server.read_msg() == (b"PUB y r 1", b"2")
    finally:
        await nc.close()


# -- the control line: what the server would refuse is refused before it is written ------

# the server's limit is on the arguments after "PUB " / "HPUB " / "SUB " (4096 by default)
LIMIT = 4096


async def test_pub_arguments_at_the_limit_pass_and_one_byte_more_is_refused() -> None:
    nc, server = await _connected()
    try:
        fits = "a" * (LIMIT - len(" 1"))  # "PUB <subject> 1": the arguments are 4096 bytes
        await nc.publish(fits, b"x")
        assert await server.read_msg() == (f"PUB {fits} 1".encode(), b"x")
        with pytest.raises(natskv.BadSubjectError, match="max_control_line") as info:
            await nc.publish(fits + "a", b"x")
        assert isinstance(info.value, ValueError)
        assert len(str(info.value)) < 300  # the subject is not repeated in full
    finally:
        await nc.close()


@pytest.mark.parametrize("kind", ["publish", "reply", "headers", "request", "subscribe", "queue"])
async def test_a_too_long_control_line_is_refused_with_nothing_written(kind: str) -> None:
    nc, server = await _connected()
    try:
        sub = await nc.subscribe("alive")
        await asyncio.sleep(0)
        server.writes.clear()
        long = "k." + "a" * 5000
        with pytest.raises(natskv.BadSubjectError, match="max_control_line"):
            if kind == "publish":
                await nc.publish(long, b"v")
            elif kind == "reply":
                await nc.publish("s", b"v", reply=long)
            elif kind == "headers":
                # "HPUB <subject> 18 19": one byte over with the header sizes
                await nc.publish(long[: LIMIT - len(" 18 19") + 1], b"v", headers={"A": "b"})
            elif kind == "request":
                await nc.request(long, b"v", timeout=1)
            elif kind == "subscribe":
                await nc.subscribe(long)
            else:
                await nc.subscribe("s", queue="q" * 5000)
        await asyncio.sleep(0)
        assert b"aaaa" not in server.written and b"qqqq" not in server.written
        assert nc._mux.futs == {}  # a refused request leaves no pending entry
        # a refused subscription was not registered
        assert [s.subject for s in nc._subs.by_sid.values() if s.sid != nc._mux.sid] == ["alive"]
        # the connection is up and the subscription still delivers
        assert nc.is_connected and not server.closed
        server.send(b"MSG alive %d 2\r\nok\r\n" % sub.sid)
        assert (await sub.next_msg(timeout=5)).data == b"ok"
    finally:
        await nc.close()


async def test_a_larger_max_control_line_is_followed() -> None:
    nc, server = await _connected(max_control_line=8192)
    try:
        subject = "a" * 6000
        await nc.publish(subject, b"x")
        assert await server.read_msg() == (f"PUB {subject} 1".encode(), b"x")
        # and a delivery with such a subject is read, not refused by our parser
        sub = await nc.subscribe(subject)
        server.send(b"MSG %s %d 2\r\nok\r\n" % (subject.encode(), sub.sid))
        assert (await sub.next_msg(timeout=5)).data == b"ok"
    finally:
        await nc.close()


async def test_max_payload_is_checked_before_sending() -> None:
    nc, server = await _connected()
    try:
        with pytest.raises(natskv.MaxPayloadError):
            await nc.publish("s", b"x" * (1024 * 1024 + 1))
        with pytest.raises(natskv.MaxPayloadError):
            await nc.publish("s", b"x" * (1024 * 1024 - 5), headers={"A": "b"})
        await asyncio.sleep(0)
        assert b"PUB s" not in server.written and b"HPUB s" not in server.written
    finally:
        await nc.close()


# -- back-pressure -------------------------------------------------------------------------


async def test_publish_waits_while_the_socket_is_full() -> None:
    nc, server = await _connected()
    try:
        server.block_writes()
        publishing = asyncio.create_task(nc.publish("s", b"1"))
        await asyncio.sleep(0.01)
        assert not publishing.done()  # queued, but waiting for the socket to drain
        server.unblock_writes()
        await asyncio.wait_for(publishing, 5)
        assert await server.read_msg() == (b"PUB s 1", b"1")
    finally:
        await nc.close()


async def test_close_sends_what_is_queued_then_closes() -> None:
    nc, server = await _connected()
    nc.lowlevel.publish_nowait("last", b"words")
    await nc.close()
    assert await server.read_msg() == (b"PUB last 5", b"words")
    assert server.closed
    with pytest.raises(natskv.ConnectionClosedError):
        await nc.publish("after", b"")
