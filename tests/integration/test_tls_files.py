"""TLS from certificate, key and CA file paths (verification on by default), against
nats-server; the certificates come from the helpers of test_auth_tls.py."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.test_auth_tls import Certs, _make_certs, _roundtrip

import natskv
from natskv.client import ConnectOptions
from natskv.server import EmbeddedServer
from natskv.server._config import quote


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line tool is needed to create test certificates")
    return _make_certs(tmp_path_factory.mktemp("tls-files"))


@pytest.fixture(scope="module")
def mtls_server(certs: Certs) -> Iterator[EmbeddedServer]:
    """A server that requires TLS and a client certificate signed by the test CA."""
    block = certs.tls_block(f"ca_file: {quote(certs.ca)}, verify: true")
    server = EmbeddedServer(durable=False, extra_config=block)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_ca_cert_and_key_files_make_a_verified_mutual_tls_connection(
    mtls_server: EmbeddedServer, certs: Certs
) -> None:
    async with await natskv.connect(
        mtls_server.url,
        tls_ca_file=certs.ca,
        tls_cert_file=str(certs.client_cert),
        tls_key_file=certs.client_key,
    ) as nc:
        transport = nc._writer.transport
        assert transport is not None
        ssl_object = transport.get_extra_info("ssl_object")
        assert ssl_object is not None and ssl_object.getpeercert()  # the server was verified
        assert await _roundtrip(nc) == b"ok"


async def test_files_alone_turn_tls_on_and_verify_the_host_name(
    mtls_server: EmbeddedServer, certs: Certs
) -> None:
    # the certificate names 127.0.0.1 and localhost, not this: verification refuses it
    with pytest.raises(natskv.NatsConnectionError, match=r"(?i)certificate|hostname"):
        await natskv.connect(
            mtls_server.url,
            tls_ca_file=certs.ca,
            tls_cert_file=certs.client_cert,
            tls_key_file=certs.client_key,
            tls_hostname="other.example",
            connect_timeout=5,
        )
    # without the test CA the server's certificate is not trusted
    with pytest.raises(natskv.NatsConnectionError, match=r"(?i)certificate"):
        await natskv.connect(
            mtls_server.url,
            tls_cert_file=certs.client_cert,
            tls_key_file=certs.client_key,
            connect_timeout=5,
        )


async def test_a_client_without_its_certificate_is_refused(
    mtls_server: EmbeddedServer, certs: Certs
) -> None:
    with pytest.raises(natskv.NatsConnectionError):
        await natskv.connect(mtls_server.url, tls_ca_file=certs.ca, connect_timeout=5)


def test_bad_tls_options_are_refused_before_connecting(certs: Certs, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(ValueError, match=r"tls_ca_file .*missing\.pem"):
        ConnectOptions(tls_ca_file=missing)
    with pytest.raises(ValueError, match="tls_cert_file / tls_key_file"):
        ConnectOptions(tls_cert_file=certs.client_cert, tls_key_file=missing)
    with pytest.raises(ValueError, match="without tls_cert_file"):
        ConnectOptions(tls_key_file=certs.client_key)
    with pytest.raises(ValueError, match="not both"):
        ConnectOptions(tls=ssl.create_default_context(), tls_ca_file=certs.ca)
    with pytest.raises(TypeError, match="tls_ca_file"):
        ConnectOptions(tls_ca_file=1)  # type: ignore[arg-type]
    # a key that is not the certificate's: the text names the paths, not the key
    key_text = certs.server_key.read_text()
    with pytest.raises(ValueError) as info:
        ConnectOptions(tls_cert_file=certs.client_cert, tls_key_file=certs.server_key)
    assert key_text not in str(info.value) and "PRIVATE" not in str(info.value)


def test_an_encrypted_key_fails_instead_of_prompting(certs: Certs, tmp_path: Path) -> None:
    encrypted = tmp_path / "encrypted.key"
    done = subprocess.run(
        [
            *("openssl", "pkey", "-in", str(certs.client_key)),
            *("-aes256", "-passout", "pass:pw", "-out", str(encrypted)),
        ],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0 or not encrypted.exists():
        pytest.skip("openssl could not encrypt the key")
    with pytest.raises(ValueError, match="encrypted"):
        ConnectOptions(tls_cert_file=certs.client_cert, tls_key_file=encrypted)


def test_a_built_context_verifies_by_default(certs: Certs) -> None:
    from natskv.client._tls import build_context

    context = build_context(ConnectOptions(tls_ca_file=certs.ca))
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert build_context(ConnectOptions(tls=True)).verify_mode is ssl.CERT_REQUIRED
