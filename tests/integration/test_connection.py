"""Connecting: URLs, the NATS_URL default, the server pool, context management."""

from __future__ import annotations

import pytest

import natskv
from natskv.client import DEFAULT_URL, ConnectionState, ServerAddress, parse_servers
from natskv.server import EmbeddedServer, free_port


def _dead_url() -> str:
    """A URL on a port nobody listens on (bound and released just now)."""
    return f"nats://127.0.0.1:{free_port()}"


async def test_connect_to_url(nats_url: str, embedded_server: EmbeddedServer) -> None:
    nc = await natskv.connect(nats_url)
    try:
        assert nc.is_connected
        assert nc.state is ConnectionState.CONNECTED
        assert nc.connected_url == f"nats://127.0.0.1:{embedded_server.port}"
        sub = await nc.subscribe("conn.basic")
        await nc.publish("conn.basic", b"hello")
        msg = await sub.next_msg(timeout=5)
        assert msg.data == b"hello"
    finally:
        await nc.close()
    assert nc.is_closed
    assert nc.state is ConnectionState.CLOSED
    assert nc.connected_url is None


async def test_connect_uses_nats_url_env(nats_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", nats_url)
    nc = await natskv.connect()
    try:
        assert nc.is_connected
        assert nc.connected_url == nats_url
    finally:
        await nc.close()


def test_default_url_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)
    assert DEFAULT_URL == "nats://127.0.0.1:4222"
    assert parse_servers(None) == [ServerAddress("nats", "127.0.0.1", 4222)]


def test_parse_server_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://a:1, nats://b:2")
    assert [s.url for s in parse_servers(None)] == ["nats://a:1", "nats://b:2"]
    pool = parse_servers(["localhost", "tls://x:4443", "nats://u:p%40ss@h:5", "nats://tok@h"])
    assert pool[0] == ServerAddress("nats", "localhost", 4222)
    assert pool[1].tls and pool[1].port == 4443
    assert (pool[2].user, pool[2].password, pool[2].token) == ("u", "p@ss", None)
    assert (pool[3].user, pool[3].password, pool[3].token) == (None, None, "tok")
    with pytest.raises(natskv.NatsError):
        parse_servers("http://h:1")
    with pytest.raises(natskv.NatsError):
        parse_servers("ws://h:1")


async def test_async_with_closes_on_exit(nats_url: str) -> None:
    async with await natskv.connect(nats_url) as nc:
        assert nc.is_connected
        await nc.flush()
        sock = nc._writer.transport.get_extra_info("socket") if nc._writer.transport else None
        assert sock is not None
    assert nc.is_closed
    assert sock.fileno() == -1  # closed by the time close() returns


async def test_async_with_closes_on_error(nats_url: str) -> None:
    with pytest.raises(RuntimeError):
        async with await natskv.connect(nats_url) as nc:
            raise RuntimeError("boom")
    assert nc.is_closed


async def test_connect_to_closed_port_raises() -> None:
    url = _dead_url()
    with pytest.raises(natskv.NatsConnectionError) as info:
        await natskv.connect(url, connect_timeout=2)
    assert isinstance(info.value, OSError)  # documented: also an OSError
    assert url in str(info.value)


async def test_connect_failure_does_not_fire_closed_cb() -> None:
    closed: list[bool] = []
    with pytest.raises(natskv.NatsConnectionError):
        await natskv.connect(_dead_url(), closed_cb=lambda: closed.append(True))
    assert closed == []


async def test_server_info_and_max_payload(nc: natskv.Connection) -> None:
    info = nc.server_info
    assert info["server_id"]
    assert info["version"]
    assert info["headers"] is True
    assert nc.max_payload == info["max_payload"] == 1024 * 1024


async def test_max_payload_follows_server_config() -> None:
    async with (
        EmbeddedServer(durable=False, max_payload=4096) as srv,
        await natskv.connect(srv.url) as nc,
    ):
        assert nc.max_payload == 4096
        assert nc.server_info["max_payload"] == 4096


async def test_pool_skips_dead_first_server(nats_url: str) -> None:
    dead = _dead_url()
    nc = await natskv.connect([dead, nats_url])
    try:
        assert nc.is_connected
        assert nc.connected_url == nats_url
        assert nc.servers[:2] == [dead, nats_url]
        assert (await _echo(nc, "pool.check")) == b"ok"
    finally:
        await nc.close()


async def test_pool_as_comma_separated_string(nats_url: str) -> None:
    nc = await natskv.connect(f"{_dead_url()},{nats_url}")
    try:
        assert nc.connected_url == nats_url
    finally:
        await nc.close()


async def test_all_servers_dead_names_each() -> None:
    first, second = _dead_url(), _dead_url()
    with pytest.raises(natskv.NatsConnectionError) as info:
        await natskv.connect([first, second])
    assert first in str(info.value)
    assert second in str(info.value)


async def test_close_is_idempotent_and_wait_closed(nats_url: str) -> None:
    closed: list[bool] = []
    nc = await natskv.connect(nats_url, closed_cb=lambda: closed.append(True))
    await nc.close()
    await nc.close()
    await nc.wait_closed()
    assert closed == [True]


async def test_new_inbox_is_unique(nc: natskv.Connection) -> None:
    inboxes = {nc.new_inbox() for _ in range(1000)}
    assert len(inboxes) == 1000
    assert all(i.startswith("_INBOX.") for i in inboxes)


async def test_custom_inbox_prefix(nats_url: str) -> None:
    async with await natskv.connect(nats_url, inbox_prefix="_MY_INBOX") as nc:
        assert nc.new_inbox().startswith("_MY_INBOX.")
        await nc.subscribe(
            "conn.prefix", cb=lambda m: nc.lowlevel.publish_nowait(m.reply or "", b"x")
        )
        reply = await nc.request("conn.prefix", b"", timeout=5)
        assert reply.subject.startswith("_MY_INBOX.")


async def test_no_echo(nats_url: str) -> None:
    async with await natskv.connect(nats_url, no_echo=True) as nc:
        sub = await nc.subscribe("conn.noecho")
        await nc.publish("conn.noecho", b"mine")
        await nc.flush()
        async with await natskv.connect(nats_url) as other:
            await other.publish("conn.noecho", b"theirs")
            await other.flush()
        msg = await sub.next_msg(timeout=5)
        assert msg.data == b"theirs"
        assert sub.pending_msgs == 0


async def test_connection_name_is_sent(nats_url: str, embedded_server: EmbeddedServer) -> None:
    import json
    import urllib.request

    async with await natskv.connect(nats_url, name="natskv-conn-test") as nc:
        await nc.flush()
        url = embedded_server.monitor_url + "/connz?limit=1024"
        with urllib.request.urlopen(url, timeout=5) as resp:
            connz = json.load(resp)
        names = {c.get("name") for c in connz["connections"]}
        assert "natskv-conn-test" in names


async def _echo(nc: natskv.Connection, subject: str) -> bytes:
    sub = await nc.subscribe(subject)
    await nc.publish(subject, b"ok")
    msg = await sub.next_msg(timeout=5)
    await sub.unsubscribe()
    return msg.data
