"""Authentication (user/password, token, NKey, credentials files) and TLS, against nats-server."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nkeys
import pytest

import natskv
from natskv.client import ConnectOptions
from natskv.client._auth import load_credentials, sign_nonce
from natskv.server import EmbeddedServer
from natskv.server._config import quote

# -- helpers ----------------------------------------------------------------------------


def _new_user_seed() -> bytes:
    """A fresh NKey user seed (``SU...``)."""
    return bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))


def _public_key(seed: bytes) -> str:
    kp = nkeys.from_seed(seed)
    try:
        return str(kp.public_key.decode())
    finally:
        kp.wipe()


async def _roundtrip(nc: natskv.Connection, subject: str = "auth.check") -> bytes:
    sub = await nc.subscribe(subject)
    await nc.publish(subject, b"ok")
    msg = await sub.next_msg(timeout=5)
    await sub.unsubscribe()
    return msg.data


@pytest.fixture(scope="module")
def user_server() -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(durable=False, user="alice", password="s3cr:et@/")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def token_server() -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(durable=False, token="t0ken-abc")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _host_port(server: EmbeddedServer) -> str:
    return f"127.0.0.1:{server.port}"


# -- user / password --------------------------------------------------------------------


async def test_user_password_options(user_server: EmbeddedServer) -> None:
    async with await natskv.connect(user_server.url, user="alice", password="s3cr:et@/") as nc:
        assert await _roundtrip(nc) == b"ok"


async def test_user_password_in_url(user_server: EmbeddedServer) -> None:
    url = f"nats://alice:s3cr%3Aet%40%2F@{_host_port(user_server)}"
    async with await natskv.connect(url) as nc:
        assert await _roundtrip(nc) == b"ok"
        assert nc.connected_url == user_server.url  # credentials are not shown


async def test_wrong_password_raises_authorization_error(user_server: EmbeddedServer) -> None:
    closed: list[bool] = []
    with pytest.raises(natskv.AuthorizationError) as info:
        await natskv.connect(
            user_server.url, user="alice", password="wrong", closed_cb=lambda: closed.append(True)
        )
    assert "authorization" in str(info.value).lower()
    assert closed == []


async def test_wrong_password_in_url(user_server: EmbeddedServer) -> None:
    with pytest.raises(natskv.AuthorizationError):
        await natskv.connect(f"nats://alice:nope@{_host_port(user_server)}")


async def test_missing_credentials_raise_authorization_error(user_server: EmbeddedServer) -> None:
    with pytest.raises(natskv.AuthorizationError):
        await natskv.connect(user_server.url)


async def test_reconnect_sends_credentials_again() -> None:
    async with EmbeddedServer(durable=False, user="bob", password="pw") as srv:
        reconnected = asyncio.Event()
        nc = await natskv.connect(
            f"nats://bob:pw@{_host_port(srv)}",
            reconnect_time_wait=0.1,
            reconnected_cb=reconnected.set,
        )
        try:
            sub = await nc.subscribe("auth.reconnect")
            await nc.flush()
            await asyncio.to_thread(srv.restart)
            await asyncio.wait_for(reconnected.wait(), 20)
            await nc.publish("auth.reconnect", b"again")
            assert (await sub.next_msg(timeout=5)).data == b"again"
        finally:
            await nc.close()


async def test_permission_violation_is_reported_not_fatal() -> None:
    config = """
authorization {
  users = [
    { user: "limited", password: "pw", permissions: { publish: { deny: "secret.>" } } }
  ]
}
"""
    async with EmbeddedServer(durable=False, extra_config=config) as srv:
        errors: list[Exception] = []
        nc = await natskv.connect(srv.url, user="limited", password="pw", error_cb=errors.append)
        try:
            await nc.publish("secret.plans", b"x")
            await nc.flush()
            assert any(
                isinstance(e, natskv.AuthorizationError) and "secret.plans" in str(e)
                for e in errors
            )
            assert nc.is_connected
            assert await _roundtrip(nc, "open.subject") == b"ok"
        finally:
            await nc.close()


# -- token ------------------------------------------------------------------------------


async def test_token_option(token_server: EmbeddedServer) -> None:
    async with await natskv.connect(token_server.url, token="t0ken-abc") as nc:
        assert await _roundtrip(nc) == b"ok"


async def test_token_in_url(token_server: EmbeddedServer) -> None:
    async with await natskv.connect(f"nats://t0ken-abc@{_host_port(token_server)}") as nc:
        assert await _roundtrip(nc) == b"ok"


async def test_wrong_token_raises_authorization_error(token_server: EmbeddedServer) -> None:
    with pytest.raises(natskv.AuthorizationError):
        await natskv.connect(token_server.url, token="nope")
    with pytest.raises(natskv.AuthorizationError):
        await natskv.connect(f"nats://nope@{_host_port(token_server)}")


# -- NKeys ------------------------------------------------------------------------------


@dataclass
class NKeyServer:
    server: EmbeddedServer
    seed: bytes


@pytest.fixture(scope="module")
def nkey_server() -> Iterator[NKeyServer]:
    seed = _new_user_seed()
    config = f"authorization {{ users = [ {{ nkey: {quote(_public_key(seed))} }} ] }}"
    server = EmbeddedServer(durable=False, extra_config=config)
    server.start()
    try:
        yield NKeyServer(server, seed)
    finally:
        server.stop()


def test_generated_seed_is_a_user_seed() -> None:
    seed = _new_user_seed()
    assert seed.startswith(b"SU")
    assert _public_key(seed).startswith("U")
    sig, public = sign_nonce(seed, "nonce-123")
    assert public == _public_key(seed)
    assert "=" not in sig  # base64url without padding, as the server expects


async def test_nkey_seed_bytes(nkey_server: NKeyServer) -> None:
    async with await natskv.connect(nkey_server.server.url, nkeys_seed=nkey_server.seed) as nc:
        assert await _roundtrip(nc) == b"ok"


async def test_nkey_seed_str(nkey_server: NKeyServer) -> None:
    seed = nkey_server.seed.decode()
    async with await natskv.connect(nkey_server.server.url, nkeys_seed=seed) as nc:
        assert await _roundtrip(nc) == b"ok"


async def test_nkey_seed_file(nkey_server: NKeyServer, tmp_path: Path) -> None:
    path = tmp_path / "user.nk"
    path.write_bytes(nkey_server.seed + b"\n")
    async with await natskv.connect(nkey_server.server.url, nkeys_seed_file=path) as nc:
        assert await _roundtrip(nc) == b"ok"


async def test_unknown_nkey_raises_authorization_error(nkey_server: NKeyServer) -> None:
    with pytest.raises(natskv.AuthorizationError):
        await natskv.connect(nkey_server.server.url, nkeys_seed=_new_user_seed())


def _connect_in_own_loop(url: str, **options: Any) -> tuple[str, list[dict[str, Any]]]:
    """Connect in a new event loop, expecting failure: ``(error, loop exception reports)``.

    The loop is closed and garbage collected before returning, so reports such as "Future
    exception was never retrieved" from objects that outlived the attempt are included.
    """
    reported: list[dict[str, Any]] = []

    async def attempt() -> str:
        try:
            await natskv.connect(url, **options)
        except natskv.NatsError as exc:
            return f"{type(exc).__name__}: {exc}"
        return ""

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        error = loop.run_until_complete(attempt())
    finally:
        loop.close()
    gc.collect()
    return error, reported


async def test_nkey_without_server_nonce(nats_url: str) -> None:
    # a server without nkey users sends no nonce: the client says why it cannot sign...
    error, reported = await asyncio.to_thread(
        _connect_in_own_loop, nats_url, nkeys_seed=_new_user_seed()
    )
    assert error.startswith("AuthorizationError") and "nonce" in error
    # ...and leaves nothing behind (such as an unawaited PONG future with an exception)
    assert [c.get("message") for c in reported] == []


# -- credentials files ------------------------------------------------------------------

_JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVQUJDIn0.c2lnbmF0dXJl"
_SEED = "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU"

_CREDS = f"""-----BEGIN NATS USER JWT-----
{_JWT}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
{_SEED}
------END USER NKEY SEED------

*************************************************************
"""


def test_load_credentials(tmp_path: Path) -> None:
    path = tmp_path / "user.creds"
    path.write_text(_CREDS)
    assert load_credentials(path) == (_JWT, _SEED.encode())
    assert load_credentials(str(path)) == (_JWT, _SEED.encode())


def test_load_credentials_crlf_and_indentation(tmp_path: Path) -> None:
    path = tmp_path / "user.creds"
    text = _CREDS.replace(f"\n{_JWT}\n", f"\n   {_JWT}  \n").replace("\n", "\r\n")
    path.write_bytes(text.encode())
    assert load_credentials(path) == (_JWT, _SEED.encode())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "just some text\n",
        _CREDS.split("****")[0],  # the JWT only
        _CREDS[_CREDS.index("-----BEGIN USER NKEY SEED") :],  # the seed only
    ],
    ids=["empty", "garbage", "jwt-only", "seed-only"],
)
def test_load_credentials_rejects_other_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.creds"
    path.write_text(text)
    with pytest.raises(natskv.NatsError, match="credentials"):
        load_credentials(path)


def test_load_credentials_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_credentials(tmp_path / "absent.creds")


async def test_credentials_file_is_presented(nkey_server: NKeyServer, tmp_path: Path) -> None:
    # Without an operator the server cannot accept a JWT; what matters is that the client
    # reads the file at connect time and sends its JWT (the server then refuses it).
    path = tmp_path / "user.creds"
    path.write_text(_CREDS.replace(_SEED, nkey_server.seed.decode()))
    with pytest.raises(natskv.AuthorizationError):
        await natskv.connect(nkey_server.server.url, user_credentials=path)


# -- TLS --------------------------------------------------------------------------------


@dataclass
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def tls_block(self, extra: str = "") -> str:
        return (
            f"tls {{ cert_file: {quote(self.server_cert)}, key_file: {quote(self.server_key)}"
            f"{', ' + extra if extra else ''} }}"
        )

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{result.stderr}")


def _make_certs(d: Path) -> Certs:
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=natskv test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip
    for name, usage, san in (
        ("server", "serverAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"),
        ("client", "clientAuth", ""),
    ):
        _openssl(
            "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN=natskv test {name}",
            cwd=d,
        )  # fmt: skip
        (d / f"{name}.ext").write_text(
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage={usage}\n"
            "subjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid,issuer\n" + san
        )
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
            "-extfile", f"{name}.ext",
            cwd=d,
        )  # fmt: skip
    return Certs(
        d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem", d / "client.key"
    )


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line tool is needed to create test certificates")
    return _make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_server(certs: Certs) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(durable=False, extra_config=certs.tls_block())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _is_tls(nc: natskv.Connection) -> bool:
    transport = nc._writer.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


async def test_tls_with_trusted_ca(tls_server: EmbeddedServer, certs: Certs) -> None:
    async with await natskv.connect(tls_server.url, tls=certs.context()) as nc:
        assert nc.server_info.get("tls_required") is True
        assert _is_tls(nc)
        sock = nc._writer.transport.get_extra_info("socket") if nc._writer.transport else None
        assert sock is not None
        assert await _roundtrip(nc) == b"ok"
        payload = os.urandom(256 * 1024)  # a large message through the TLS transport
        sub = await nc.subscribe("tls.big")
        await nc.publish("tls.big", payload)
        assert (await sub.next_msg(timeout=5)).data == payload
    # close() returned only after the TLS shutdown, with the socket closed
    assert sock.fileno() == -1


async def test_tls_url_scheme(tls_server: EmbeddedServer, certs: Certs) -> None:
    url = f"tls://{_host_port(tls_server)}"
    async with await natskv.connect(url, tls=certs.context()) as nc:
        assert _is_tls(nc)
        assert nc.connected_url == url
        assert await _roundtrip(nc) == b"ok"


async def test_tls_hostname_override(tls_server: EmbeddedServer, certs: Certs) -> None:
    url = f"tls://{_host_port(tls_server)}"
    async with await natskv.connect(url, tls=certs.context(), tls_hostname="localhost") as nc:
        assert await _roundtrip(nc) == b"ok"
    with pytest.raises(natskv.NatsConnectionError):
        await natskv.connect(url, tls=certs.context(), tls_hostname="not-the-server.example")


async def test_tls_without_trusting_the_ca_fails(tls_server: EmbeddedServer) -> None:
    with pytest.raises(natskv.NatsConnectionError) as info:
        await natskv.connect(f"tls://{_host_port(tls_server)}", connect_timeout=5)
    assert "certificate" in str(info.value).lower()


async def test_tls_required_by_server_upgrades_plain_url(tls_server: EmbeddedServer) -> None:
    # nats:// with no tls option: the server's INFO demands TLS, the client upgrades with
    # the default context, which does not trust the test CA
    with pytest.raises(natskv.NatsConnectionError):
        await natskv.connect(tls_server.url, connect_timeout=5)
    with pytest.raises(natskv.NatsConnectionError):
        await natskv.connect(tls_server.url, tls=True, connect_timeout=5)


async def test_tls_client_certificate(certs: Certs) -> None:
    block = certs.tls_block(f"ca_file: {quote(certs.ca)}, verify: true")
    async with EmbeddedServer(durable=False, extra_config=block) as srv:
        ctx = certs.context()
        ctx.load_cert_chain(str(certs.client_cert), str(certs.client_key))
        async with await natskv.connect(srv.url, tls=ctx) as nc:
            assert await _roundtrip(nc) == b"ok"
        # without a client certificate the server ends the connection before its PONG
        with pytest.raises(natskv.NatsConnectionError):
            await natskv.connect(srv.url, tls=certs.context(), connect_timeout=5)


async def test_tls_handshake_first(certs: Certs) -> None:
    block = certs.tls_block("handshake_first: true")
    async with EmbeddedServer(durable=False, extra_config=block) as srv:
        url = f"tls://{_host_port(srv)}"
        async with await natskv.connect(url, tls=certs.context(), tls_handshake_first=True) as nc:
            assert _is_tls(nc)
            assert await _roundtrip(nc) == b"ok"


async def test_tls_reconnect(certs: Certs) -> None:
    async with EmbeddedServer(durable=False, extra_config=certs.tls_block()) as srv:
        reconnected = asyncio.Event()
        nc = await natskv.connect(
            srv.url, tls=certs.context(), reconnect_time_wait=0.1, reconnected_cb=reconnected.set
        )
        try:
            sub = await nc.subscribe("tls.reconnect")
            await nc.flush()
            await asyncio.to_thread(srv.restart)
            await asyncio.wait_for(reconnected.wait(), 20)
            assert _is_tls(nc)
            await nc.publish("tls.reconnect", b"again")
            assert (await sub.next_msg(timeout=5)).data == b"again"
        finally:
            await nc.close()


# -- secrets stay secret ----------------------------------------------------------------


async def test_no_secret_in_logs_reprs_or_errors(
    user_server: EmbeddedServer,
    token_server: EmbeddedServer,
    nkey_server: NKeyServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="natskv")
    seed = nkey_server.seed
    creds = tmp_path / "user.creds"
    creds.write_text(_CREDS.replace(_SEED, seed.decode()))
    secrets = ["s3cr:et@/", "s3cr%3Aet%40%2F", "t0ken-abc", "wrong-pa55", seed.decode(), _JWT]
    texts: list[str] = []

    async def use(nc: natskv.Connection) -> None:
        texts.extend([repr(nc), repr(nc.options), repr(nc.server_info), str(nc.servers)])
        assert await _roundtrip(nc) == b"ok"
        await nc.close()

    await use(await natskv.connect(user_server.url, user="alice", password="s3cr:et@/"))
    await use(await natskv.connect(f"nats://alice:s3cr%3Aet%40%2F@{_host_port(user_server)}"))
    await use(await natskv.connect(token_server.url, token="t0ken-abc"))
    await use(await natskv.connect(f"nats://t0ken-abc@{_host_port(token_server)}"))
    await use(await natskv.connect(nkey_server.server.url, nkeys_seed=seed))
    failures = [
        natskv.connect(user_server.url, user="alice", password="wrong-pa55"),
        natskv.connect(f"nats://alice:wrong-pa55@{_host_port(user_server)}"),
        natskv.connect(nkey_server.server.url, user_credentials=creds),  # JWT refused
        natskv.connect(nkey_server.server.url, nkeys_seed=_new_user_seed()),
    ]
    for attempt in failures:
        with pytest.raises(natskv.AuthorizationError) as info:
            await attempt
        texts.extend([str(info.value), repr(info.value)])
    for bad in (
        lambda: ConnectOptions(nkeys_seed=seed.decode()[:-3] + "!!!"),
        lambda: ConnectOptions(user="alice", password="s3cr:et@/", token="t0ken-abc"),
    ):
        with pytest.raises(ValueError) as value_error:
            bad()
        texts.append(str(value_error.value))
    records = [r for r in caplog.records if r.name.startswith("natskv")]
    assert any("connected to" in r.getMessage() for r in records)
    assert any("Authorization Violation" in r.getMessage() for r in records)
    texts += [r.getMessage() for r in records]
    texts += [logging.Formatter().formatException(r.exc_info) for r in records if r.exc_info]
    leaked = [(s, t) for t in texts for s in secrets if s in t]
    assert leaked == []
