"""Credentials never reach a log line, a repr, an exception text or a status event, on
every path a connection takes: connecting, refusals, a lost socket and the requests it
fails, reconnect attempts that fail, giving up, lame duck mode and closing.

(tests/integration/test_auth_tls.py checks the successful and refused handshakes of every
kind of credential; this file walks the fault paths.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Iterator

import pytest
from tests.proxy import FaultProxy

import natskv
from natskv.client import ConnectOptions, LameDuck, StatusEvent, StatusStream, parse_servers
from natskv.server import EmbeddedServer

WAIT = 20.0
PASSWORD = "pa55:w0rd@/x"
URL_PASSWORD = "pa55%3Aw0rd%40%2Fx"  # the same, as written in a URL
TOKEN = "t0ken-s3cret"
SECRETS = [PASSWORD, URL_PASSWORD, TOKEN, "wr0ng-pa55"]
FAST = {"reconnect_time_wait": 0.05, "reconnect_jitter": 0.0}


@pytest.fixture(scope="module")
def user_server() -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(
        durable=False,
        user="alice",
        password=PASSWORD,
        extra_config='lame_duck_grace_period: "3s"\nlame_duck_duration: "30s"\n',
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def proxy(user_server: EmbeddedServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(user_server.host, user_server.port) as p:
        yield p


def _texts_of(exc: BaseException | None) -> list[str]:
    """``str`` and ``repr`` of an exception and of every one in its chain."""
    texts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        texts += [str(exc), repr(exc)]
        exc = exc.__cause__ or exc.__context__
    return texts


class Collected:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def connection(self, nc: natskv.Connection) -> None:
        self.texts += [repr(nc), repr(nc.options), str(nc.servers), repr(nc.server_info)]
        self.texts += [repr(s) for s in nc._pool] + [str(nc.connected_url)]
        self.texts += _texts_of(nc.last_error)

    def events(self, stream: StatusStream) -> list[StatusEvent]:
        events: list[StatusEvent] = []
        while stream._queue:
            events.append(stream._queue.popleft())
        self.texts += [repr(e) for e in events] + [str(e) for e in events]
        for event in events:
            self.texts += _texts_of(getattr(event, "error", None))
        return events

    def leaks(self, records: list[logging.LogRecord]) -> list[tuple[str, str]]:
        texts = list(self.texts)
        for record in records:
            texts.append(record.getMessage())
            if record.exc_info:
                texts.append(logging.Formatter().formatException(record.exc_info))
        return [(secret, text) for text in texts for secret in SECRETS if secret in text]


async def test_no_credential_on_any_fault_path(
    user_server: EmbeddedServer, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="natskv")
    seen = Collected()
    # refusals and bad input
    for attempt in (
        natskv.connect(f"nats://alice:wr0ng-pa55@127.0.0.1:{user_server.port}"),
        natskv.connect(f"nats://{TOKEN}@127.0.0.1:{user_server.port}"),
    ):
        with pytest.raises(natskv.NatsError) as refused:
            await attempt
        seen.texts += _texts_of(refused.value)
    for bad in (
        lambda: parse_servers(f"nats://alice:{URL_PASSWORD}@127.0.0.1:port"),
        lambda: parse_servers(f"ftp://alice:{URL_PASSWORD}@127.0.0.1:4222"),
        lambda: ConnectOptions(password=PASSWORD),
        lambda: ConnectOptions(user="alice", password=PASSWORD, token=TOKEN),
        lambda: ConnectOptions(user="alice", password=b"x"),  # type: ignore[arg-type]
    ):
        with pytest.raises((natskv.NatsError, ValueError, TypeError)) as info:
            bad()
        seen.texts += _texts_of(info.value)
    seen.texts.append(repr(ConnectOptions(user="alice", password=PASSWORD)))
    seen.texts.append(repr(ConnectOptions(token=TOKEN)))

    url = f"nats://alice:{URL_PASSWORD}@127.0.0.1:{proxy.port}"
    errors: list[Exception] = []
    nc = await natskv.connect(
        [url, f"nats://{TOKEN}@127.0.0.1:1"],  # a second server that is never up
        request_timeout=60,
        max_reconnect_attempts=2,
        error_cb=errors.append,
        **FAST,
    )
    stream = nc.status()
    seen.connection(nc)
    # a request in flight when the socket goes: fails at once, and its text is clean
    silent = await natskv.connect(user_server.url, user="alice", password=PASSWORD)
    got = await silent.subscribe("secrets.silent")
    await silent.flush()
    asking = asyncio.create_task(nc.request("secrets.silent", b""))
    await got.next_msg(timeout=WAIT)
    proxy.reset()
    with pytest.raises(natskv.ConnectionLostError) as lost:
        await asyncio.wait_for(asking, WAIT)
    seen.texts += _texts_of(lost.value)
    while not nc.is_connected:
        await asyncio.sleep(0.02)
    seen.connection(nc)
    # lame duck mode on a pool whose other server is down: reported, then the move fails
    # over to the old server again; then the proxy refuses and the client gives up
    os.kill(user_server.pid or 0, signal.SIGUSR2)
    while not any(isinstance(e, LameDuck) for e in list(stream._queue)):
        await asyncio.sleep(0.02)
    proxy.refuse()
    proxy.reset()
    await asyncio.wait_for(nc.wait_closed(), WAIT)
    events = seen.events(stream)
    assert any(isinstance(e, LameDuck) for e in events)
    seen.connection(nc)
    for exc in errors:
        seen.texts += _texts_of(exc)
    with pytest.raises(natskv.ConnectionClosedError) as closed:
        await nc.publish("x", b"")
    seen.texts += _texts_of(closed.value)
    await silent.close()

    records = [r for r in caplog.records if r.name.startswith("natskv")]
    assert any("lame duck" in r.getMessage() for r in records)  # the paths were walked
    assert any("disconnected from" in r.getMessage() for r in records)
    assert any("reconnect to" in r.getMessage() for r in records)
    # a control: the user name (not a secret) is in the texts searched, so they are there
    assert any("user='alice'" in text for text in seen.texts)
    assert seen.leaks(records) == []
