"""Connection events and background errors on the ``natskv.client`` logger."""

from __future__ import annotations

import asyncio
import logging

import pytest

import natskv
from natskv.client import MockNetwork

URL = "nats://mock:4222"


def _records(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "natskv.client"]


async def test_the_life_of_a_connection_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="natskv")
    network = MockNetwork()
    reconnected = asyncio.Event()
    nc, first = await network.serve(
        natskv.connect(
            URL, dialer=network, reconnect_time_wait=0.01, reconnected_cb=reconnected.set
        )
    )
    first.drop()
    second = await network.accept()
    await second.handshake()
    await asyncio.wait_for(reconnected.wait(), 5)
    await nc.close()
    messages = [m for _, m in _records(caplog)]
    assert messages[0] == "connected to nats://mock:4222 (server mock, version 2.12.0)"
    assert "disconnected from nats://mock:4222: mock: connection reset" in messages
    assert any(m.startswith("reconnecting") for m in messages)
    assert "reconnected to nats://mock:4222 (server mock, version 2.12.0)" in messages
    assert messages[-1] == "closed the connection to nats://mock:4222"
    levels = dict((m, lvl) for lvl, m in _records(caplog))
    assert levels["disconnected from nats://mock:4222: mock: connection reset"] == logging.WARNING


async def test_server_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    network = MockNetwork()
    nc, server = await network.serve(natskv.connect(URL, dialer=network))
    try:
        server.send(b"-ERR 'Permissions Violation for Publish to \"secret.x\"'\r\n")
        server.send(b"-ERR 'Unknown Protocol Operation'\r\n")
        records = _records(caplog)
        assert (logging.ERROR, 'Permissions Violation for Publish to "secret.x"') in records
        assert (logging.ERROR, "Unknown Protocol Operation") in records
        assert isinstance(nc.last_error, natskv.ProtocolError)  # classified by errors' table
    finally:
        await nc.close()


async def test_a_failing_callback_is_logged_without_error_cb(
    caplog: pytest.LogCaptureFixture,
) -> None:
    network = MockNetwork()
    nc, server = await network.serve(natskv.connect(URL, dialer=network))
    try:

        def broken(msg: natskv.Msg) -> None:
            raise RuntimeError("handler bug")

        sub = await nc.subscribe("s", cb=broken)
        server.send(b"MSG s %d 1\r\nx\r\n" % sub.sid)
        [record] = [r for r in caplog.records if "handler bug" in r.getMessage()]
        assert record.levelno == logging.ERROR and record.name == "natskv.client"
        assert record.exc_info is not None and record.exc_info[0] is RuntimeError
        assert isinstance(nc.last_error, RuntimeError)
        assert nc.is_connected  # the reader went on
    finally:
        await nc.close()


async def test_failing_coroutine_callbacks_and_error_cb_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    network = MockNetwork()

    def bad_error_cb(exc: Exception) -> None:
        raise ValueError("error_cb bug")

    async def bad_disconnected_cb() -> None:
        raise LookupError("listener bug")

    nc, server = await network.serve(
        natskv.connect(
            URL,
            dialer=network,
            error_cb=bad_error_cb,
            disconnected_cb=bad_disconnected_cb,
            allow_reconnect=False,
        )
    )
    server.send(b"-ERR 'Unknown Protocol Operation'\r\n")
    server.drop()
    await nc.wait_closed()
    for _ in range(500):  # the coroutine callback runs as a task of its own
        if "listener bug" in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert "listener bug" in caplog.text
    assert "error_cb bug" in caplog.text


async def test_slow_consumer_is_logged_once_per_spell(caplog: pytest.LogCaptureFixture) -> None:
    network = MockNetwork()
    errors: list[Exception] = []
    nc, server = await network.serve(natskv.connect(URL, dialer=network, error_cb=errors.append))
    try:
        sub = await nc.subscribe("s", pending_msgs_limit=2)
        server.send(b"MSG s %d 1\r\nx\r\n" % sub.sid * 10)
        slow = [m for _, m in _records(caplog) if "slow consumer" in m]
        assert len(slow) == 1
        assert len([e for e in errors if isinstance(e, natskv.SlowConsumerError)]) == 8
        await sub.next_msg(timeout=1)
        await sub.next_msg(timeout=1)
        server.send(b"MSG s %d 1\r\nx\r\n" % sub.sid * 3)  # room again, then slow again
        assert len([m for _, m in _records(caplog) if "slow consumer" in m]) == 2
    finally:
        await nc.close()
