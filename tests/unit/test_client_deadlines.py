"""Timeouts over a mock transport: one deadline mechanism for requests, flush, next_msg."""

from __future__ import annotations

import asyncio
import builtins
from typing import Any

import pytest

import natskv
from natskv.client import MockNetwork, MockTransport

URL = "nats://mock:4222"


async def _connected(**options: Any) -> tuple[natskv.Connection, MockTransport]:
    network = MockNetwork()
    return await network.serve(natskv.connect(URL, dialer=network, **options))


def _reply_subject(line: bytes) -> bytes:
    return line.split()[2]


async def test_a_request_without_reply_times_out_and_frees_its_entry() -> None:
    nc, _ = await _connected()
    try:
        with pytest.raises(natskv.TimeoutError) as info:
            await nc.request("svc.slow", b"q", timeout=0.05)
        assert isinstance(info.value, builtins.TimeoutError)
        assert "svc.slow" in str(info.value)
        assert nc._mux.futs == {}
        assert nc.is_connected
    finally:
        await nc.close()


async def test_a_reply_in_time_wins_and_a_late_one_is_dropped() -> None:
    nc, server = await _connected()
    try:
        asking = asyncio.create_task(nc.request("svc", b"q", timeout=5))
        assert (await server.read_line()).startswith(b"SUB ")  # the muxed reply inbox
        line, _ = await server.read_msg()
        reply = _reply_subject(line)
        server.send(b"MSG %s 1 2\r\nok\r\n" % reply)
        assert (await asyncio.wait_for(asking, 5)).data == b"ok"
        server.send(b"MSG %s 1 4\r\nlate\r\n" % reply)  # nobody waits: ignored
        assert nc._mux.futs == {}
        assert nc.is_connected
    finally:
        await nc.close()


async def test_no_responders_status_fails_the_request() -> None:
    nc, server = await _connected()
    try:
        asking = asyncio.create_task(nc.request("nobody", b"", timeout=5))
        await server.read_line()  # SUB
        line, _ = await server.read_msg()
        server.send(b"HMSG %s 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n" % _reply_subject(line))
        with pytest.raises(natskv.NoRespondersError, match="nobody"):
            await asyncio.wait_for(asking, 5)
    finally:
        await nc.close()


async def test_the_default_request_timeout_is_the_connections() -> None:
    nc, _ = await _connected(request_timeout=0.05)
    try:
        with pytest.raises(natskv.TimeoutError, match=r"within 0\.05s"):
            await nc.request("svc.slow", b"q")
    finally:
        await nc.close()


async def test_many_requests_share_one_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    nc, _ = await _connected()
    loop = asyncio.get_running_loop()
    timers: list[float] = []
    real_call_at = loop.call_at
    real_call_later = loop.call_later

    def call_at(when: float, *args: Any, **kw: Any) -> asyncio.TimerHandle:
        timers.append(when)
        return real_call_at(when, *args, **kw)

    def call_later(delay: float, *args: Any, **kw: Any) -> asyncio.TimerHandle:
        timers.append(delay)
        return real_call_later(delay, *args, **kw)

    monkeypatch.setattr(loop, "call_at", call_at)
    monkeypatch.setattr(loop, "call_later", call_later)
    try:
        futs = [nc.lowlevel.request_future("svc", b"", timeout=30) for _ in range(1000)]
        assert len(timers) <= 2  # one sweep timer, not one per request
        for fut in futs:
            fut.cancel()
    finally:
        monkeypatch.undo()
        await nc.close()


async def test_await_reply_can_shorten_a_pipelined_request() -> None:
    nc, _ = await _connected()
    try:
        token, fut = nc.lowlevel.request_nowait("svc", b"", timeout=30)
        with pytest.raises(natskv.TimeoutError):
            await nc.lowlevel.await_reply(token, fut, "svc", timeout=0.05)
        assert nc._mux.futs == {}
    finally:
        await nc.close()


async def test_flush_times_out_with_natskv_timeout_error() -> None:
    nc, _ = await _connected()
    try:
        with pytest.raises(natskv.TimeoutError, match="flush"):
            await nc.flush(timeout=0.05)
        assert nc.is_connected
    finally:
        await nc.close()


async def test_next_msg_times_out_and_the_subscription_goes_on() -> None:
    nc, server = await _connected()
    try:
        sub = await nc.subscribe("quiet")
        with pytest.raises(natskv.TimeoutError, match="quiet"):
            await sub.next_msg(timeout=0.05)
        server.send(b"MSG quiet %d 2\r\nhi\r\n" % sub.sid)
        assert (await sub.next_msg(timeout=5)).data == b"hi"
    finally:
        await nc.close()


async def test_close_fails_pending_requests_and_streams() -> None:
    nc, _ = await _connected()
    closed: list[Exception] = []
    asking = asyncio.create_task(nc.request("svc", b"", timeout=30))
    _, close_stream = nc.lowlevel.open_reply_stream(lambda m: None, on_close=closed.append)
    await asyncio.sleep(0)
    await nc.close()
    with pytest.raises(natskv.ConnectionClosedError):
        await asking
    assert len(closed) == 1 and isinstance(closed[0], natskv.ConnectionClosedError)
    close_stream()
    assert nc._mux.futs == {}
