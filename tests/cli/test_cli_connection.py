"""Where ``natskv`` connects, as ``nats`` does: natscli contexts (selected, ``--context``,
``NATS_CONTEXT``), the ``NATS_*`` environment, credentials and NKey files, TLS files and the
JetStream domain, with natscli's precedence (flags > environment > context)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from tests.cli.helpers import ok, run, runner
from tests.integration.test_auth_tls import Certs, _make_certs, _new_user_seed, _public_key
from tests.operator_mode import OperatorSetup

import natskv
from natskv.cli import cli
from natskv.cli.format import NO_BUCKETS_FOUND
from natskv.server import background_status
from natskv.server._config import quote

_NOWHERE = "nats://127.0.0.1:1"


def natskv_cmd(*args: str) -> Result:
    """``natskv <args>`` without ``-s``."""
    return runner().invoke(cli, list(args), catch_exceptions=False)


def write_context(config_home: Path, name: str, *, select: bool = False, **fields: Any) -> Path:
    """A natscli context file, as ``nats context save`` writes it."""
    directory = config_home / "nats" / "context"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps({"description": "", **fields}, indent=2))
    if select:
        (config_home / "nats" / "context.txt").write_text(name)
    return path


@pytest.fixture
def no_url(monkeypatch: pytest.MonkeyPatch, natskv_home: Path) -> Iterator[None]:
    """No ``NATS_URL``; any background server would start in a fresh home (and is checked
    not to have started)."""
    monkeypatch.delenv("NATS_URL", raising=False)
    yield
    assert background_status() is None


# --- contexts ---------------------------------------------------------------------------


def test_the_selected_context_is_used(
    nats_url: str, hist_bucket: str, no_nats_setup: Path, no_url: None
) -> None:
    write_context(no_nats_setup, "dev", select=True, url=nats_url)
    result = natskv_cmd("ls", "-n")
    assert result.exit_code == 0, result.stderr
    assert hist_bucket in result.stdout.splitlines()


def test_context_flag_and_env_pick_a_context(
    nats_url: str, hist_bucket: str, no_nats_setup: Path, no_url: None, monkeypatch: Any
) -> None:
    write_context(no_nats_setup, "broken", select=True, url=_NOWHERE)
    write_context(no_nats_setup, "good", url=nats_url)
    assert natskv_cmd("--timeout", "1", "ls", "-n").exit_code == 1  # the selected one
    assert hist_bucket in natskv_cmd("--context", "good", "ls", "-n").stdout.splitlines()
    # after the verb, as natscli allows
    assert hist_bucket in natskv_cmd("ls", "-n", "--context", "good").stdout.splitlines()
    monkeypatch.setenv("NATS_CONTEXT", "good")
    assert hist_bucket in natskv_cmd("ls", "-n").stdout.splitlines()
    # a flag beats the environment
    result = natskv_cmd("--context", "broken", "--timeout", "1", "ls", "-n")
    assert result.exit_code == 1
    assert "could not connect" in result.stderr


def test_context_file_path(nats_url: str, hist_bucket: str, tmp_path: Path, no_url: None) -> None:
    path = tmp_path / "elsewhere" / "ci.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"url": nats_url}))
    assert hist_bucket in natskv_cmd("--context", str(path), "ls", "-n").stdout.splitlines()


def test_server_flag_and_nats_url_beat_the_context(
    nats_url: str, hist_bucket: str, no_nats_setup: Path, monkeypatch: Any
) -> None:
    write_context(no_nats_setup, "broken", select=True, url=_NOWHERE)
    assert hist_bucket in ok(nats_url, "ls", "-n").splitlines()
    monkeypatch.setenv("NATS_URL", nats_url)
    assert hist_bucket in natskv_cmd("ls", "-n").stdout.splitlines()


def test_unknown_or_broken_context_is_a_clear_error(no_nats_setup: Path, no_url: None) -> None:
    result = natskv_cmd("--context", "nope", "ls")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: unknown context 'nope'")
    result = natskv_cmd("--context", "../../etc/passwd", "ls")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: invalid context name")
    path = write_context(no_nats_setup, "bad", select=True)
    path.write_text("{not json")
    result = natskv_cmd("ls")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"natskv: error: context file {path} is not valid JSON")


def test_context_credentials_and_env_overrides(
    no_nats_setup: Path, no_url: None, monkeypatch: Any
) -> None:
    with natskv.EmbeddedServer(durable=False, user="alice", password="s3cret") as srv:
        write_context(no_nats_setup, "auth", select=True, url=srv.url, user="alice")
        # the context's user with no password: the server refuses
        assert natskv_cmd("ls", "-n").exit_code == 1
        monkeypatch.setenv("NATS_PASSWORD", "s3cret")
        assert natskv_cmd("ls", "-n").stdout == NO_BUCKETS_FOUND + "\n"
        write_context(no_nats_setup, "auth", url=srv.url, user="alice", password="s3cret")
        monkeypatch.setenv("NATS_PASSWORD", "wrong")  # the environment beats the context
        assert natskv_cmd("ls", "-n").exit_code == 1
        # and a flag beats the environment
        assert natskv_cmd("--password", "s3cret", "ls", "-n").exit_code == 0
        # NATS_USER and NATS_PASSWORD alone, with no context
        (no_nats_setup / "nats" / "context.txt").unlink()
        monkeypatch.setenv("NATS_USER", "alice")
        assert natskv_cmd("-s", srv.url, "ls", "-n").exit_code == 1  # NATS_PASSWORD is wrong
        monkeypatch.setenv("NATS_PASSWORD", "s3cret")
        assert natskv_cmd("-s", srv.url, "ls", "-n").stdout == NO_BUCKETS_FOUND + "\n"
        monkeypatch.delenv("NATS_USER")
        monkeypatch.setenv("NATS_PASSWORD", "wrong")
    with natskv.EmbeddedServer(durable=False, token="t0ken") as srv:
        write_context(no_nats_setup, "tok", url=srv.url, token="t0ken")
        # a password with no user anywhere: refused before connecting
        result = natskv_cmd("--context", "tok", "ls", "-n")
        assert result.exit_code == 1
        assert result.stderr == "natskv: error: password given without user\n"
        monkeypatch.delenv("NATS_PASSWORD")
        assert natskv_cmd("--context", "tok", "ls", "-n").stdout == NO_BUCKETS_FOUND + "\n"
        monkeypatch.setenv("NATS_USER", "t0ken")  # NATS_USER alone is a token, as --user
        assert natskv_cmd("-s", srv.url, "ls", "-n").stdout == NO_BUCKETS_FOUND + "\n"


# --- credentials and NKey files ---------------------------------------------------------


def check_auth_file(
    url: str,
    kind: str,
    good: Path,
    bad: Path,
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--<kind> FILE``, ``NATS_<KIND>`` and a context's ``<kind>`` field get a client in
    with ``good`` and not with ``bad`` or without a file, flags beating the environment and
    the environment beating the context."""
    flag, env = f"--{kind}", f"NATS_{kind.upper()}"
    for refused in ((), (flag, str(bad))):
        result = run(url, "--timeout", "2", *refused, "ls", "-n")
        assert result.exit_code == 1
        assert result.stderr == "natskv: error: Authorization Violation\n", refused
    bucket = f"via_{kind}"
    assert ok(url, flag, str(good), "add", bucket).startswith("Information for ")
    assert ok(url, "ls", "-n", flag, str(good)) == f"{bucket}\n"  # after the verb too
    monkeypatch.setenv(env, str(bad))
    assert ok(url, flag, str(good), "ls", "-n") == f"{bucket}\n"
    monkeypatch.setenv(env, str(good))
    assert ok(url, "ls", "-n") == f"{bucket}\n"
    monkeypatch.delenv(env)
    write_context(config_home, kind, select=True, url=url, **{kind: str(good)})
    assert natskv_cmd("ls", "-n").stdout == f"{bucket}\n"
    monkeypatch.setenv(env, str(bad))
    assert natskv_cmd("--timeout", "2", "ls", "-n").exit_code == 1


@pytest.fixture(scope="module")
def operator() -> OperatorSetup:
    return OperatorSetup.new()


@pytest.fixture(scope="module")
def creds_server(operator: OperatorSetup) -> Iterator[natskv.EmbeddedServer]:
    """A server in operator mode: only users of its account's JWTs get in."""
    with natskv.EmbeddedServer(durable=False, extra_config=operator.server_config()) as server:
        yield server


def test_creds_flag_environment_and_context(
    creds_server: natskv.EmbeddedServer,
    operator: OperatorSetup,
    tmp_path: Path,
    no_nats_setup: Path,
    no_url: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the user's JWT is accepted, and JetStream answers in its account; a user of another
    # operator is not
    creds = operator.write_creds(tmp_path / "user.creds")
    stranger = OperatorSetup.new().write_creds(tmp_path / "stranger.creds")
    check_auth_file(creds_server.url, "creds", creds, stranger, no_nats_setup, monkeypatch)


def test_creds_file_under_home_in_a_context(
    creds_server: natskv.EmbeddedServer,
    operator: OperatorSetup,
    tmp_path: Path,
    no_nats_setup: Path,
    no_url: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # natscli expands ~ in the files a context names
    monkeypatch.setenv("HOME", str(tmp_path))
    operator.write_creds(tmp_path / "app.creds")
    write_context(no_nats_setup, "home", select=True, url=creds_server.url, creds="~/app.creds")
    result = natskv_cmd("ls", "-n")
    assert result.exit_code == 0, result.stderr


@pytest.fixture(scope="module")
def nkey_seed() -> bytes:
    return _new_user_seed()


@pytest.fixture(scope="module")
def nkey_server(nkey_seed: bytes) -> Iterator[natskv.EmbeddedServer]:
    """A server whose one user is an NKey."""
    config = f"authorization {{ users = [ {{ nkey: {quote(_public_key(nkey_seed))} }} ] }}"
    with natskv.EmbeddedServer(durable=False, extra_config=config) as server:
        yield server


def test_nkey_flag_environment_and_context(
    nkey_server: natskv.EmbeddedServer,
    nkey_seed: bytes,
    tmp_path: Path,
    no_nats_setup: Path,
    no_url: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed = tmp_path / "user.nk"
    seed.write_bytes(nkey_seed + b"\n")
    other = tmp_path / "other.nk"
    other.write_bytes(_new_user_seed() + b"\n")
    check_auth_file(nkey_server.url, "nkey", seed, other, no_nats_setup, monkeypatch)


# --- TLS ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line tool is needed to create test certificates")
    return _make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def mtls_server(certs: Certs) -> Iterator[natskv.EmbeddedServer]:
    """A server that demands a client certificate signed by the test CA."""
    block = certs.tls_block(f"ca_file: {quote(certs.ca)}, verify: true")
    with natskv.EmbeddedServer(durable=False, extra_config=block) as server:
        yield server


@pytest.fixture(scope="module")
def tls_server(certs: Certs) -> Iterator[natskv.EmbeddedServer]:
    """A server with TLS and a certificate of the test CA, no client certificate asked."""
    with natskv.EmbeddedServer(durable=False, extra_config=certs.tls_block()) as server:
        yield server


def test_tlsca_verifies_the_server(
    tls_server: natskv.EmbeddedServer, certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = tls_server.url
    # the system's roots do not know the test CA: the server's certificate is refused
    result = run(url, "--timeout", "2", "ls", "-n")
    assert result.exit_code == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr, result.stderr
    assert ok(url, "--tlsca", str(certs.ca), "ls", "-n") == NO_BUCKETS_FOUND + "\n"
    monkeypatch.setenv("NATS_CA", str(certs.ca))
    assert ok(url, "ls", "-n") == NO_BUCKETS_FOUND + "\n"


def test_tls_flags(mtls_server: natskv.EmbeddedServer, certs: Certs) -> None:
    url = mtls_server.url
    tls = ("--tlsca", str(certs.ca), "--tlscert", str(certs.client_cert))
    tls += ("--tlskey", str(certs.client_key))
    assert ok(url, *tls, "ls", "-n") == NO_BUCKETS_FOUND + "\n"
    # without the client certificate the server refuses the connection
    result = run(url, "--timeout", "2", "--tlsca", str(certs.ca), "ls", "-n")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: ")


def test_tls_environment(
    mtls_server: natskv.EmbeddedServer, certs: Certs, monkeypatch: Any
) -> None:
    monkeypatch.setenv("NATS_CA", str(certs.ca))
    monkeypatch.setenv("NATS_CERT", str(certs.client_cert))
    monkeypatch.setenv("NATS_KEY", str(certs.client_key))
    assert ok(mtls_server.url, "ls", "-n") == NO_BUCKETS_FOUND + "\n"


def test_tls_files_of_a_context(
    mtls_server: natskv.EmbeddedServer, certs: Certs, no_nats_setup: Path, no_url: None
) -> None:
    fields = {"ca": str(certs.ca), "cert": str(certs.client_cert), "key": str(certs.client_key)}
    write_context(no_nats_setup, "tls", select=True, url=mtls_server.url, **fields)
    assert natskv_cmd("ls", "-n").stdout == NO_BUCKETS_FOUND + "\n"


def test_tls_certificate_without_key_fails_before_connecting(certs: Certs) -> None:
    result = run(_NOWHERE, "--tlscert", str(certs.client_cert), "ls")
    assert result.exit_code == 1
    assert result.stderr == (
        "natskv: error: a TLS client certificate needs both --tlscert and --tlskey\n"
    )


# --- JetStream domain ---------------------------------------------------------------------


def test_js_domain(no_nats_setup: Path, no_url: None) -> None:
    with natskv.EmbeddedServer(durable=False, jetstream_domain="hub") as srv:
        assert ok(srv.url, "--js-domain", "hub", "add", "in_hub").startswith("Information for ")
        assert ok(srv.url, "--js-domain", "hub", "ls", "-n") == "in_hub\n"
        # another domain has no JetStream to answer
        result = run(srv.url, "--timeout", "1", "--js-domain", "elsewhere", "ls", "-n")
        assert result.exit_code == 1
        write_context(no_nats_setup, "hub", select=True, url=srv.url, jetstream_domain="hub")
        assert natskv_cmd("ls", "-n").stdout == "in_hub\n"
        write_context(no_nats_setup, "hub", url=srv.url, jetstream_domain="elsewhere")
        assert natskv_cmd("--timeout", "1", "ls", "-n").exit_code == 1
