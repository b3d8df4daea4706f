"""The handshake over a mock transport: INFO -> CONNECT + PING -> PONG, auth, refusals."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path

import nkeys
import pytest

import natskv
from natskv.client import MockNetwork
from natskv.client._auth import sign_nonce

URL = "nats://mock:4222"


def _seed() -> bytes:
    return bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))


async def test_info_connect_ping_pong_then_connected() -> None:
    network = MockNetwork()
    connecting = asyncio.create_task(natskv.connect(URL, dialer=network, name="hs-test"))
    server = await network.accept()
    assert server.written == b""  # the client waits for the server's INFO
    server.send_info()
    line = await server.read_line()
    assert line.startswith(b"CONNECT ")
    assert await server.read_line() == b"PING"
    assert not connecting.done()  # connected only once the PONG proves CONNECT was taken
    server.send(b"PONG\r\n")
    nc = await asyncio.wait_for(connecting, 5)
    try:
        assert nc.is_connected
        assert nc.connected_url == URL
        assert nc.server_info["server_id"] == "MOCK"
        fields = json.loads(line[8:])
        assert fields["name"] == "hs-test"
        assert fields["verbose"] is False and fields["pedantic"] is False
        assert fields["headers"] is True and fields["no_responders"] is True
        assert fields["protocol"] == 1 and fields["lang"] == "python3"
        assert fields["version"] == natskv.__version__
        assert fields["echo"] is True
        assert "user" not in fields and "auth_token" not in fields
        assert len(server.writes) == 1  # CONNECT and PING left in one write
    finally:
        await nc.close()


async def test_max_payload_and_discovered_servers_come_from_info() -> None:
    network = MockNetwork()
    nc, _ = await network.serve(
        natskv.connect(URL, dialer=network),
        max_payload=2048,
        connect_urls=["10.0.0.2:4222", "mock:4222"],
    )
    try:
        assert nc.max_payload == 2048
        assert nc.servers == [URL, "nats://10.0.0.2:4222"]
    finally:
        await nc.close()


async def test_user_and_password_are_sent_in_connect() -> None:
    network = MockNetwork()
    connecting = asyncio.create_task(
        natskv.connect(URL, dialer=network, user="alice", password="s3cret")
    )
    server = await network.accept()
    fields = await server.handshake()
    nc = await connecting
    await nc.close()
    assert (fields["user"], fields["pass"]) == ("alice", "s3cret")
    assert "auth_token" not in fields


async def test_url_credentials_are_used_and_options_win_over_them() -> None:
    network = MockNetwork()
    connecting = asyncio.create_task(natskv.connect("nats://bob:pw@mock:4222", dialer=network))
    server = await network.accept()
    fields = await server.handshake()
    await (await connecting).close()
    assert (fields["user"], fields["pass"]) == ("bob", "pw")

    connecting = asyncio.create_task(
        natskv.connect("nats://bob:pw@mock:4222", dialer=network, token="tok")
    )
    server = await network.accept()
    fields = await server.handshake()
    await (await connecting).close()
    assert fields["auth_token"] == "tok"
    assert "user" not in fields and "pass" not in fields


async def test_token_is_sent_in_connect() -> None:
    network = MockNetwork()
    connecting = asyncio.create_task(natskv.connect("nats://t0k@mock:4222", dialer=network))
    server = await network.accept()
    fields = await server.handshake()
    await (await connecting).close()
    assert fields["auth_token"] == "t0k"


async def test_nkey_signs_the_servers_nonce() -> None:
    seed = _seed()
    network = MockNetwork()
    connecting = asyncio.create_task(natskv.connect(URL, dialer=network, nkeys_seed=seed))
    server = await network.accept()
    fields = await server.handshake(nonce="abc-nonce")
    await (await connecting).close()
    kp = nkeys.from_seed(seed)
    try:
        assert fields["nkey"] == kp.public_key.decode()
        sig = base64.urlsafe_b64decode(fields["sig"] + "=" * (-len(fields["sig"]) % 4))
        assert kp.verify(b"abc-nonce", sig)
    finally:
        kp.wipe()


async def test_credentials_file_is_read_and_its_jwt_sent(tmp_path: Path) -> None:
    seed = _seed()
    path = tmp_path / "u.creds"
    path.write_text(
        "-----BEGIN NATS USER JWT-----\neyJ0.eyJz.c2ln\n------END NATS USER JWT------\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{seed.decode()}\n------END USER NKEY SEED------\n"
    )
    network = MockNetwork()
    connecting = asyncio.create_task(natskv.connect(URL, dialer=network, user_credentials=path))
    server = await network.accept()
    fields = await server.handshake(nonce="n0nce")
    await (await connecting).close()
    assert fields["jwt"] == "eyJ0.eyJz.c2ln"
    assert fields["sig"] == sign_nonce(seed, "n0nce")[0]


async def test_authorization_violation_fails_connect_and_closes() -> None:
    network = MockNetwork()
    closed: list[bool] = []
    connecting = asyncio.create_task(
        natskv.connect(
            [URL, "nats://other:4222"],
            dialer=network,
            user="alice",
            password="wrong",
            closed_cb=lambda: closed.append(True),
        )
    )
    server = await network.accept()
    server.send_info()
    assert (await server.read_line()).startswith(b"CONNECT ")
    assert await server.read_line() == b"PING"
    server.send(b"-ERR 'Authorization Violation'\r\n")
    with pytest.raises(natskv.AuthorizationError, match="Authorization Violation"):
        await asyncio.wait_for(connecting, 5)
    await server.wait_closed()
    assert [s.url for s in network.dials] == [URL]  # not retried elsewhere: it is fatal
    assert closed == []  # never established


async def test_no_info_in_time_tries_the_next_server() -> None:
    network = MockNetwork()
    connecting = asyncio.create_task(
        natskv.connect([URL, "nats://second:4222"], dialer=network, connect_timeout=0.1)
    )
    silent = await network.accept()  # never sends INFO
    second = await network.accept()
    assert silent.closed and silent.aborted
    await second.handshake()
    nc = await asyncio.wait_for(connecting, 5)
    try:
        assert nc.connected_url == "nats://second:4222"
    finally:
        await nc.close()


async def test_every_server_failing_names_each() -> None:
    network = MockNetwork()
    network.refuse(2)
    with pytest.raises(natskv.NatsConnectionError) as info:
        await natskv.connect([URL, "nats://second:4222"], dialer=network)
    assert URL in str(info.value) and "nats://second:4222" in str(info.value)
    assert "refused" in str(info.value)


async def test_socket_lost_mid_handshake_fails_only_that_attempt() -> None:
    network = MockNetwork()
    connecting = asyncio.create_task(natskv.connect([URL, "nats://second:4222"], dialer=network))
    first = await network.accept()
    first.send_info()
    await first.read_line()  # CONNECT
    first.drop()
    second = await network.accept()
    await second.handshake()
    nc = await asyncio.wait_for(connecting, 5)
    try:
        assert nc.connected_url == "nats://second:4222"
    finally:
        await nc.close()


async def test_tls_required_by_the_server_is_not_skipped() -> None:
    network = MockNetwork()  # it has no TLS: the upgrade fails, the client does not go on
    connecting = asyncio.create_task(natskv.connect(URL, dialer=network))
    server = await network.accept()
    server.send_info(tls_required=True)
    with pytest.raises(natskv.NatsConnectionError, match="TLS"):
        await asyncio.wait_for(connecting, 5)
    assert b"CONNECT" not in server.written
