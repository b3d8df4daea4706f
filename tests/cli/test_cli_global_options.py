"""The global options of ``natskv`` (server, timeout, credentials, --version) and how a
failure to connect is reported."""

from __future__ import annotations

from typing import Any

from tests.cli.helpers import ok, run, runner

import natskv
from natskv.cli import cli
from natskv.cli.format import NO_BUCKETS_FOUND


def test_global_options_may_follow_the_verb(nats_url: str, hist_bucket: str) -> None:
    result = runner().invoke(cli, ["ls", "-n", "--server", nats_url, "--timeout", "2s"])
    assert result.exit_code == 0
    assert hist_bucket in result.stdout.splitlines()
    result = runner().invoke(cli, ["kv", "-s", nats_url, "ls", "-n"])
    assert result.exit_code == 0
    assert hist_bucket in result.stdout.splitlines()


def test_version() -> None:
    result = runner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("natskv ")


def test_unreachable_server(bucket: str) -> None:
    result = runner().invoke(
        cli, ["-s", "nats://127.0.0.1:1", "--timeout", "1", "ls", "-n"], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: could not connect to any server")


def test_user_password_and_token() -> None:
    with natskv.EmbeddedServer(durable=False, user="alice", password="s3cret") as srv:
        out = ok(srv.url, "--user", "alice", "--password", "s3cret", "ls")
        assert out == NO_BUCKETS_FOUND + "\n"
        result = run(srv.url, "--user", "alice", "--password", "wrong", "ls")
        assert result.exit_code == 1
        assert result.stderr.startswith("natskv: error: ")
    with natskv.EmbeddedServer(durable=False, token="t0ken") as srv:
        # natscli: --user without --password is a token
        assert ok(srv.url, "--user", "t0ken", "ls", "-n") == NO_BUCKETS_FOUND + "\n"


def test_missing_nkey_file(nats_url: str, tmp_path: Any) -> None:
    result = run(nats_url, "--nkey", str(tmp_path / "missing.nk"), "ls")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: ")
    assert "missing.nk" in result.stderr
