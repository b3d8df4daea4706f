"""Reconnect: server restarts, cut and stalled connections (through a fault-injecting proxy)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.proxy import FaultProxy

import natskv
from natskv.client import ConnectionState
from natskv.server import EmbeddedServer

WAIT = 20.0  # generous upper bound for any single event; never reached when things work

FAST: dict[str, Any] = {"reconnect_time_wait": 0.1, "reconnect_jitter": 0.05}


class Events:
    """Callbacks that count and signal connection events."""

    def __init__(self) -> None:
        self.disconnected = 0
        self.reconnected = 0
        self.closed = 0
        self.errors: list[Exception] = []
        self._disconnected = asyncio.Event()
        self._reconnected = asyncio.Event()
        self._closed = asyncio.Event()

    def options(self) -> dict[str, Any]:
        return {
            "disconnected_cb": self.on_disconnected,
            "reconnected_cb": self.on_reconnected,
            "closed_cb": self.on_closed,
            "error_cb": self.errors.append,
            **FAST,
        }

    def on_disconnected(self) -> None:
        self.disconnected += 1
        self._disconnected.set()

    def on_reconnected(self) -> None:
        self.reconnected += 1
        self._reconnected.set()

    def on_closed(self) -> None:
        self.closed += 1
        self._closed.set()

    async def wait_disconnected(self) -> None:
        await asyncio.wait_for(self._disconnected.wait(), WAIT)
        self._disconnected.clear()

    async def wait_reconnected(self) -> None:
        await asyncio.wait_for(self._reconnected.wait(), WAIT)
        self._reconnected.clear()

    async def wait_closed(self) -> None:
        await asyncio.wait_for(self._closed.wait(), WAIT)


def _reconnect_loops() -> list[asyncio.Task[Any]]:
    """Reconnect loops still running in this event loop."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and getattr(t.get_coro(), "__qualname__", "") == "Connection._reconnect"
    ]


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
async def proxy(fresh_server: EmbeddedServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(fresh_server.host, fresh_server.port) as p:
        yield p


# -- server restarts --------------------------------------------------------------------


async def test_restart_fires_callbacks_and_restores_subscriptions(
    fresh_server: EmbeddedServer, events: Events
) -> None:
    nc = await natskv.connect(fresh_server.url, **events.options())
    try:
        listener_calls: list[str] = []
        remove = nc.add_reconnect_listener(lambda: listener_calls.append("reconnected"))
        nc.add_disconnect_listener(lambda: listener_calls.append("disconnected"))
        sub = await nc.subscribe("rc.restart")
        got_cb: list[bytes] = []
        await nc.subscribe("rc.restart.cb", cb=lambda m: got_cb.append(m.data))
        await nc.flush()

        await asyncio.to_thread(fresh_server.restart)
        await events.wait_disconnected()
        await events.wait_reconnected()

        assert nc.is_connected
        assert nc.reconnects == 1
        assert events.disconnected == 1
        assert events.reconnected == 1
        assert events.closed == 0
        assert listener_calls == ["disconnected", "reconnected"]
        # a message published after the reconnect reaches the old subscriptions
        await nc.publish("rc.restart", b"after")
        await nc.publish("rc.restart.cb", b"after-cb")
        assert (await sub.next_msg(timeout=WAIT)).data == b"after"
        await nc.flush()
        assert got_cb == [b"after-cb"]

        remove()
        await asyncio.to_thread(fresh_server.restart)
        await events.wait_reconnected()
        assert listener_calls == ["disconnected", "reconnected", "disconnected"]
    finally:
        await nc.close()
    assert events.closed == 1


async def test_subscription_seen_by_other_clients_after_restart(
    fresh_server: EmbeddedServer, events: Events
) -> None:
    nc = await natskv.connect(fresh_server.url, **events.options())
    try:
        sub = await nc.subscribe("rc.others.>", queue="q")
        await nc.flush()
        await asyncio.to_thread(fresh_server.restart)
        await events.wait_reconnected()
        async with await natskv.connect(fresh_server.url) as other:
            await other.publish("rc.others.x", b"from-other")
            await other.flush()
        assert (await sub.next_msg(timeout=WAIT)).data == b"from-other"
    finally:
        await nc.close()


async def test_publishes_while_disconnected_are_buffered(
    fresh_server: EmbeddedServer, events: Events
) -> None:
    nc = await natskv.connect(fresh_server.url, **events.options())
    try:
        sub = await nc.subscribe("rc.buffered")
        await nc.flush()
        await asyncio.to_thread(fresh_server.stop)
        await events.wait_disconnected()
        assert nc.state is ConnectionState.RECONNECTING
        assert nc.is_reconnecting
        for i in range(100):
            await nc.publish("rc.buffered", str(i).encode())
        late_sub = await nc.subscribe("rc.buffered.late")  # subscribed while disconnected
        await nc.publish("rc.buffered.late", b"late")
        flushed = asyncio.create_task(nc.flush(timeout=WAIT))

        await asyncio.to_thread(fresh_server.start)
        await events.wait_reconnected()
        await flushed  # a flush queued while disconnected completes after the reconnect...
        # ...and only once the server has processed everything queued before it
        assert sub.pending_msgs == 100
        assert late_sub.pending_msgs == 1
        # the first attempt on the restarted server succeeded (no handshake timed out)
        assert not [e for e in events.errors if isinstance(e, (asyncio.TimeoutError, TimeoutError))]

        got = [(await sub.next_msg(timeout=WAIT)).data for _ in range(100)]
        assert got == [str(i).encode() for i in range(100)]
        assert (await late_sub.next_msg(timeout=WAIT)).data == b"late"
        assert events.reconnected == 1
    finally:
        await nc.close()


async def test_reconnect_buffer_limit(fresh_server: EmbeddedServer, events: Events) -> None:
    nc = await natskv.connect(fresh_server.url, reconnect_buffer_size=1024, **events.options())
    try:
        await asyncio.to_thread(fresh_server.stop)
        await events.wait_disconnected()
        with pytest.raises(natskv.NatsConnectionError):
            for _ in range(100):
                await nc.publish("rc.bufferfull", b"x" * 100)
    finally:
        await nc.close()


async def test_requests_work_after_reconnect(fresh_server: EmbeddedServer, events: Events) -> None:
    nc = await natskv.connect(fresh_server.url, **events.options())
    try:
        await nc.subscribe(
            "rc.req", cb=lambda m: nc.lowlevel.publish_nowait(m.reply or "", b"re:" + m.data)
        )
        assert (await nc.request("rc.req", b"1", timeout=WAIT)).data == b"re:1"
        await asyncio.to_thread(fresh_server.restart)
        await events.wait_reconnected()
        assert (await nc.request("rc.req", b"2", timeout=WAIT)).data == b"re:2"
        replies = await asyncio.gather(
            *(nc.request("rc.req", str(i).encode(), timeout=WAIT) for i in range(100))
        )
        assert [r.data for r in replies] == [f"re:{i}".encode() for i in range(100)]
    finally:
        await nc.close()


async def test_request_sent_while_disconnected_is_answered(
    fresh_server: EmbeddedServer, events: Events
) -> None:
    nc = await natskv.connect(fresh_server.url, **events.options())
    try:
        await nc.subscribe("rc.req2", cb=lambda m: nc.lowlevel.publish_nowait(m.reply or "", b"ok"))
        await nc.flush()
        await asyncio.to_thread(fresh_server.stop)
        await events.wait_disconnected()
        pending = asyncio.create_task(nc.request("rc.req2", b"", timeout=WAIT))
        await asyncio.to_thread(fresh_server.start)
        assert (await pending).data == b"ok"
    finally:
        await nc.close()


async def test_gives_up_after_max_reconnect_attempts(
    fresh_server: EmbeddedServer, events: Events
) -> None:
    nc = await natskv.connect(fresh_server.url, **{**events.options(), "max_reconnect_attempts": 1})
    sub = await nc.subscribe("rc.giveup")
    await asyncio.to_thread(fresh_server.stop)
    await events.wait_closed()
    assert nc.state is ConnectionState.CLOSED
    assert nc.is_closed
    assert events.disconnected == 1
    assert events.reconnected == 0
    assert events.closed == 1
    assert isinstance(nc.last_error, natskv.NatsConnectionError)
    assert any(isinstance(e, OSError) for e in events.errors)  # the failed attempt was reported
    with pytest.raises(StopAsyncIteration):
        await sub.next_msg(timeout=1)
    with pytest.raises(natskv.ConnectionClosedError):
        await nc.publish("rc.giveup", b"x")
    await nc.close()  # closing again is harmless
    assert events.closed == 1


async def test_no_reconnect_when_disabled(fresh_server: EmbeddedServer, events: Events) -> None:
    nc = await natskv.connect(fresh_server.url, allow_reconnect=False, **events.options())
    await asyncio.to_thread(fresh_server.stop)
    await events.wait_closed()
    assert nc.is_closed
    assert events.disconnected == 1
    assert events.reconnected == 0


async def test_close_while_reconnecting(fresh_server: EmbeddedServer, events: Events) -> None:
    nc = await natskv.connect(fresh_server.url, **events.options())
    await nc.subscribe("rc.closing", cb=lambda m: None)
    await nc.flush()
    await asyncio.to_thread(fresh_server.stop)
    await events.wait_disconnected()
    # made while disconnected, so it waits in the buffer for the next socket (a request
    # on the lost socket would have failed at once: tests/integration/test_fail_fast.py)
    pending = asyncio.create_task(nc.request("rc.closing", b"", timeout=WAIT))
    await asyncio.sleep(0)
    assert len(_reconnect_loops()) == 1
    await nc.close()
    assert nc.is_closed
    assert events.closed == 1  # the connection had been up, so closing it is reported
    with pytest.raises(natskv.ConnectionClosedError):
        await pending
    assert nc._mux.futs == {}
    task = nc._reconnect_task
    assert task is not None
    await asyncio.wait([task], timeout=WAIT)
    assert task.done()  # the reconnect loop stopped with the close
    assert _reconnect_loops() == []
    assert nc.is_closed
    assert events.reconnected == 0


# -- through the fault-injecting proxy --------------------------------------------------


async def test_cut_connection_reconnects(proxy: FaultProxy, events: Events) -> None:
    nc = await natskv.connect(proxy.url, **events.options())
    try:
        sub = await nc.subscribe("rc.cut")
        await nc.subscribe(
            "rc.cut.req", cb=lambda m: nc.lowlevel.publish_nowait(m.reply or "", b"pong")
        )
        await nc.flush()
        assert proxy.connections == 1
        proxy.reset()
        await events.wait_disconnected()
        await events.wait_reconnected()
        assert proxy.accepted == 2
        assert nc.is_connected
        await nc.publish("rc.cut", b"after cut")
        assert (await sub.next_msg(timeout=WAIT)).data == b"after cut"
        assert (await nc.request("rc.cut.req", b"", timeout=WAIT)).data == b"pong"
        assert events.disconnected == events.reconnected == 1
    finally:
        await nc.close()


async def test_repeated_cuts(proxy: FaultProxy, events: Events) -> None:
    nc = await natskv.connect(proxy.url, **events.options())
    try:
        sub = await nc.subscribe("rc.cuts")
        for i in range(3):
            proxy.reset()
            await events.wait_reconnected()
            await nc.publish("rc.cuts", str(i).encode())
            assert (await sub.next_msg(timeout=WAIT)).data == str(i).encode()
        assert nc.reconnects == 3
        assert events.disconnected == events.reconnected == 3
    finally:
        await nc.close()


async def test_unsubscribe_limit_survives_reconnect(proxy: FaultProxy, events: Events) -> None:
    nc = await natskv.connect(proxy.url, **events.options())
    try:
        sub = await nc.subscribe("rc.limit")
        await sub.unsubscribe(limit=5)
        for data in (b"a", b"b"):
            nc.lowlevel.publish_nowait("rc.limit", data)
        await nc.flush()
        proxy.reset()
        await events.wait_reconnected()
        for i in range(10):
            nc.lowlevel.publish_nowait("rc.limit", str(i).encode())
        await nc.flush()
        # the server was told the remaining limit (3) when the interest was re-established
        assert [m.data async for m in sub] == [b"a", b"b", b"0", b"1", b"2"]
        assert not sub.is_active
    finally:
        await nc.close()


async def test_flush_queued_during_failed_attempts(proxy: FaultProxy, events: Events) -> None:
    nc = await natskv.connect(proxy.url, **events.options())
    try:
        sub = await nc.subscribe("rc.flushq")
        await nc.flush()
        proxy.refuse()
        proxy.reset()
        await events.wait_disconnected()
        for i in range(3):
            nc.lowlevel.publish_nowait("rc.flushq", str(i).encode())
        flushed = asyncio.create_task(nc.flush(timeout=WAIT))
        accepted = proxy.accepted
        while proxy.accepted < accepted + 2:  # attempts fail while the flush waits
            await asyncio.sleep(0.02)
        assert not flushed.done()
        proxy.accept()
        await flushed
        assert sub.pending_msgs == 3  # the server had them all when the flush returned
    finally:
        await nc.close()


async def test_stalled_connection_is_detected_as_stale(proxy: FaultProxy, events: Events) -> None:
    nc = await natskv.connect(
        proxy.url, ping_interval=0.2, max_outstanding_pings=2, **events.options()
    )
    try:
        sub = await nc.subscribe("rc.stale")
        await nc.flush()
        proxy.pause()  # the socket stays open but nothing gets through
        await events.wait_disconnected()
        await events.wait_reconnected()
        stale = [e for e in events.errors if "stale" in str(e)]
        assert stale and isinstance(stale[0], natskv.NatsConnectionError)
        assert proxy.accepted == 2
        await nc.publish("rc.stale", b"fresh")
        assert (await sub.next_msg(timeout=WAIT)).data == b"fresh"
        assert events.disconnected == events.reconnected == 1
    finally:
        proxy.resume()
        await nc.close()


async def test_pings_keep_a_healthy_connection(proxy: FaultProxy, events: Events) -> None:
    nc = await natskv.connect(
        proxy.url, ping_interval=0.05, max_outstanding_pings=2, **events.options()
    )
    try:
        start = proxy.forwarded["to_server"]
        while proxy.forwarded["to_server"] < start + 10 * len(b"PING\r\n"):
            await asyncio.sleep(0.02)  # ten keepalive PINGs, each answered in time
        assert nc.is_connected
        assert events.disconnected == 0
        assert proxy.accepted == 1
        assert not [e for e in events.errors if "stale" in str(e)]
    finally:
        await nc.close()


async def test_failed_attempts_do_not_duplicate_reconnect(
    fresh_server: EmbeddedServer, proxy: FaultProxy, events: Events
) -> None:
    # The proxy accepts and immediately closes, so each attempt loses its socket mid-handshake.
    nc = await natskv.connect(proxy.url, **events.options())
    try:
        sub = await nc.subscribe("rc.flaky")
        await nc.flush()
        proxy.refuse()
        proxy.reset()
        await events.wait_disconnected()
        while proxy.accepted < 4:  # a few failed attempts
            await asyncio.sleep(0.05)
        proxy.accept()
        await events.wait_reconnected()
        await nc.flush()
        assert _reconnect_loops() == []  # no second loop still trying
        assert events.disconnected == 1
        assert events.reconnected == 1
        assert nc.reconnects == 1
        assert proxy.connections == 1
        await nc.publish("rc.flaky", b"once")
        assert (await sub.next_msg(timeout=WAIT)).data == b"once"
        await nc.flush()
        assert sub.pending_msgs == 0  # not delivered twice
    finally:
        await nc.close()


async def test_server_down_behind_proxy_then_back(
    fresh_server: EmbeddedServer, proxy: FaultProxy, events: Events
) -> None:
    nc = await natskv.connect(proxy.url, **events.options())
    try:
        sub = await nc.subscribe("rc.behind")
        await nc.flush()
        await asyncio.to_thread(fresh_server.stop)
        await events.wait_disconnected()
        while proxy.accepted < 3:  # attempts reach the proxy, which cannot get upstream
            await asyncio.sleep(0.05)
        await asyncio.to_thread(fresh_server.start)
        await events.wait_reconnected()
        await nc.publish("rc.behind", b"back")
        assert (await sub.next_msg(timeout=WAIT)).data == b"back"
        assert events.disconnected == events.reconnected == 1
    finally:
        await nc.close()


@pytest.mark.parametrize("earlier_ping", ["timed-out flush", "keepalive"])
async def test_each_pong_answers_its_own_ping(
    fresh_server: EmbeddedServer, proxy: FaultProxy, earlier_ping: str
) -> None:
    # A PONG answers the oldest PING. When an earlier PING has nobody waiting any more (a
    # flush that timed out, or a keepalive), its PONG must not complete a later flush()
    # before the server has seen what was published ahead of that flush.
    keepalive = earlier_ping == "keepalive"
    options: dict[str, Any] = (
        {"ping_interval": 0.05, "max_outstanding_pings": 1000} if keepalive else {}
    )
    nc = await natskv.connect(proxy.url, **options)
    other = await natskv.connect(fresh_server.url)
    try:
        marker = await nc.subscribe("rc.pong.marker")
        await nc.flush()
        proxy.pause(to_server=False)  # the server gets our PING; its PONG is held
        sent = proxy.forwarded["to_server"]
        if keepalive:
            while nc._pings.outstanding < 1:
                await asyncio.sleep(0.01)
        else:
            with pytest.raises(natskv.TimeoutError):
                await nc.flush(timeout=0.1)
        while proxy.forwarded["to_server"] < sent + len(b"PING\r\n"):
            await asyncio.sleep(0.01)  # the PING has reached the server
        proxy.pause()
        nc.lowlevel.publish_nowait("rc.pong.data", b"x")
        later = asyncio.create_task(nc.flush(timeout=WAIT))
        proxy.resume(to_server=False)  # only the held PONG(s) come through
        # a message from another client, sent after those PONGs on the same socket: once it
        # is here, the client has read them
        await other.publish("rc.pong.marker", b"m")
        await other.flush()
        assert (await marker.next_msg(timeout=WAIT)).data == b"m"
        await asyncio.sleep(0)
        assert not later.done(), "flush() returned on the PONG of an earlier PING"
        proxy.resume()
        await later
    finally:
        proxy.resume()
        await other.close()
        await nc.close()
