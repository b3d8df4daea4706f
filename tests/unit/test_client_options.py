"""Connect options: one typed, frozen record, validated before any socket is opened."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import ssl
from pathlib import Path
from typing import Any

import nkeys
import pytest

import natskv
from natskv.client import ConnectOptions, MockNetwork
from natskv.client._options import ServerAddress, parse_server

URL = "nats://mock:4222"


def test_connect_takes_exactly_the_fields_of_connect_options_with_the_same_types() -> None:
    params = inspect.signature(natskv.connect).parameters
    keywords = {
        name: p.annotation
        for name, p in params.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "options"
    }
    fields = {f.name: f.type for f in dataclasses.fields(ConnectOptions)}
    assert keywords == fields
    assert list(params)[:2] == ["servers", "options"]


async def test_a_misspelt_option_is_refused() -> None:
    network = MockNetwork()
    with pytest.raises(TypeError, match="conect_timeout"):
        await natskv.connect(URL, dialer=network, conect_timeout=1)  # type: ignore[call-arg]
    assert network.dials == []


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"connect_timeout": 0}, ValueError, "connect_timeout"),
        ({"request_timeout": -1.0}, ValueError, "request_timeout"),
        ({"connect_timeout": "2"}, TypeError, "connect_timeout"),
        ({"reconnect_time_wait": -0.1}, ValueError, "reconnect_time_wait"),
        ({"max_reconnect_attempts": -2}, ValueError, "max_reconnect_attempts"),
        ({"max_reconnect_attempts": 1.5}, TypeError, "integer"),
        ({"max_outstanding_pings": 0}, ValueError, "max_outstanding_pings"),
        ({"pending_msgs_limit": 0}, ValueError, "pending_msgs_limit"),
        ({"reconnect_buffer_size": True}, TypeError, "reconnect_buffer_size"),
        ({"max_control_line": 10}, ValueError, "max_control_line"),
        ({"allow_reconnect": 1}, TypeError, "allow_reconnect"),
        ({"tls": "yes"}, TypeError, "tls"),
        ({"inbox_prefix": "bad prefix"}, natskv.BadSubjectError, "inbox prefix"),
        ({"inbox_prefix": "_INBOX.*"}, ValueError, "wildcards"),
        ({"inbox_prefix": "_INBOX."}, ValueError, "inbox prefix"),
        ({"error_cb": "print"}, TypeError, "error_cb"),
        ({"password": "pw"}, ValueError, "without user"),
        ({"user": "a", "password": "b", "token": "t"}, ValueError, "one way"),
        ({"token": "t", "nkeys_seed": "SUA"}, ValueError, "one way"),
        ({"nkeys_seed": "not-a-seed"}, ValueError, "not a valid NKey seed"),
        ({"dialer": object()}, TypeError, "dialer"),
    ],
)
def test_bad_options_are_refused_when_built(
    options: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        ConnectOptions(**options)


async def test_bad_options_given_to_connect_open_no_socket() -> None:
    network = MockNetwork()
    with pytest.raises(ValueError, match="connect_timeout"):
        await natskv.connect(URL, dialer=network, connect_timeout=-1)
    assert network.dials == []


def test_credential_files_are_checked_when_built(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ConnectOptions(nkeys_seed_file=tmp_path / "absent.nk")
    bad = tmp_path / "bad.nk"
    bad.write_text("SUAXXXX-not-a-seed\n")
    with pytest.raises(ValueError, match="not a valid NKey seed") as info:
        ConnectOptions(nkeys_seed_file=bad)
    assert "SUAXXXX" not in str(info.value)
    creds = tmp_path / "bad.creds"
    creds.write_text("nothing here")
    with pytest.raises(ValueError, match="credentials"):
        ConnectOptions(user_credentials=creds)


def test_options_are_frozen() -> None:
    options = ConnectOptions(name="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.name = "y"  # type: ignore[misc]


def test_repr_shows_what_differs_and_hides_secrets() -> None:
    seed = bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))
    shown = repr(ConnectOptions(user="alice", password="pa55word", name="n"))
    assert shown == "ConnectOptions(name='n', user='alice', password=<hidden>)"
    assert "pa55word" not in repr(ConnectOptions(user="a", password="pa55word"))
    assert "t0ken" not in repr(ConnectOptions(token="t0ken"))
    assert seed.decode() not in repr(ConnectOptions(nkeys_seed=seed))
    assert repr(ConnectOptions()) == "ConnectOptions()"


def test_server_addresses_hide_url_credentials() -> None:
    server = parse_server("nats://alice:pa55word@h:4222")
    assert "pa55word" not in repr(server) and "pa55word" not in server.url
    assert "t0ken" not in repr(parse_server("nats://t0ken@h:4222"))
    assert server == ServerAddress("nats", "h", 4222, "alice", "pa55word")
    with pytest.raises(natskv.NatsError) as info:
        parse_server("http://alice:pa55word@h:1")
    assert "pa55word" not in str(info.value)


async def test_options_record_is_a_base_that_keywords_override() -> None:
    network = MockNetwork()
    base = ConnectOptions(name="from-record", no_echo=True, dialer=network)
    connecting = asyncio.create_task(natskv.connect(URL, options=base, name="from-keyword"))
    server = await network.accept()
    fields = await server.handshake()
    nc = await connecting
    try:
        assert fields["name"] == "from-keyword"
        assert fields["echo"] is False  # from the record
        assert nc.options == dataclasses.replace(base, name="from-keyword")
        assert base.name == "from-record"  # the record itself is unchanged
    finally:
        await nc.close()


def test_a_tls_context_or_a_flag() -> None:
    ctx = ssl.create_default_context()
    assert ConnectOptions(tls=ctx).tls is ctx
    assert ConnectOptions(tls=True).tls is True
    assert ConnectOptions().tls is False
