"""Unit tests for NATS header blocks: ``parse_headers`` and ``encode_headers``."""

from __future__ import annotations

from typing import Any

import pytest

from natskv.errors import ProtocolError
from natskv.protocol import HEADER_LINE, encode_headers, parse_headers

# --------------------------------------------------------------------------- parse_headers


def test_header_line_constant() -> None:
    assert HEADER_LINE == "NATS/1.0"


def test_parse_plain_fields() -> None:
    raw = b"NATS/1.0\r\nFoo: bar\r\nNats-Msg-Id: abc-123\r\nSpaces: two words here\r\n\r\n"
    assert parse_headers(raw) == (
        None,
        "",
        {"Foo": "bar", "Nats-Msg-Id": "abc-123", "Spaces": "two words here"},
    )


def test_parse_empty_block() -> None:
    assert parse_headers(b"NATS/1.0\r\n\r\n") == (None, "", {})
    assert parse_headers(b"NATS/1.0\r\n") == (None, "", {})
    assert parse_headers(b"NATS/1.0") == (None, "", {})


@pytest.mark.parametrize(
    ("raw", "status", "description"),
    [
        (b"NATS/1.0 503\r\n\r\n", 503, ""),
        (b"NATS/1.0 503\r\n", 503, ""),
        (b"NATS/1.0 100 Idle Heartbeat\r\n\r\n", 100, "Idle Heartbeat"),
        (b"NATS/1.0 100 FlowControl Request\r\n\r\n", 100, "FlowControl Request"),
        (b"NATS/1.0 404 Message Not Found\r\n\r\n", 404, "Message Not Found"),
        (b"NATS/1.0 408 Request Timeout\r\n\r\n", 408, "Request Timeout"),
        (b"NATS/1.0 409 Consumer Deleted\r\n\r\n", 409, "Consumer Deleted"),
        (b"NATS/1.0 204 EOB\r\n\r\n", 204, "EOB"),
        (b"NATS/1.0   408    Request Timeout  \r\n\r\n", 408, "Request Timeout"),
        (b"NATS/1.0 \r\n\r\n", None, ""),
        (b"NATS/1.0 Something Odd\r\n\r\n", None, "Something Odd"),
    ],
)
def test_parse_status_line(raw: bytes, status: int | None, description: str) -> None:
    got = parse_headers(raw)
    assert got[0] == status
    assert got[1] == description
    assert got[2] == {}


def test_parse_non_ascii_digit_status_is_not_a_status() -> None:
    # str.isdigit() accepts "\u00b2" (superscript two) but int() does not: this must not
    # leak a ValueError out of the parser.
    raw = "NATS/1.0 \u00b2 odd\r\n\r\n".encode()
    assert parse_headers(raw) == (None, "\u00b2 odd", {})


def test_parse_idle_heartbeat_fields() -> None:
    raw = (
        b"NATS/1.0 100 Idle Heartbeat\r\n"
        b"Nats-Last-Consumer: 42\r\n"
        b"Nats-Last-Stream: 1001\r\n"
        b"Nats-Consumer-Stalled: $JS.FC.KV_b.x.1\r\n\r\n"
    )
    assert parse_headers(raw) == (
        100,
        "Idle Heartbeat",
        {
            "Nats-Last-Consumer": "42",
            "Nats-Last-Stream": "1001",
            "Nats-Consumer-Stalled": "$JS.FC.KV_b.x.1",
        },
    )


def test_parse_eob_fields() -> None:
    raw = b"NATS/1.0 204 EOB\r\nNats-Num-Pending: 5\r\nNats-Last-Sequence: 17\r\n\r\n"
    assert parse_headers(raw) == (
        204,
        "EOB",
        {"Nats-Num-Pending": "5", "Nats-Last-Sequence": "17"},
    )


def test_parse_multi_valued() -> None:
    raw = b"NATS/1.0\r\nX: 1\r\nY: only\r\nX: 2\r\nX: 3\r\n\r\n"
    assert parse_headers(raw) == (None, "", {"X": "1", "Y": "only"})
    assert parse_headers(raw, multi=True) == (None, "", {"X": ["1", "2", "3"], "Y": ["only"]})


def test_parse_names_are_case_sensitive() -> None:
    raw = b"NATS/1.0\r\nnats-foo: a\r\nNats-Foo: b\r\n\r\n"
    assert parse_headers(raw)[2] == {"nats-foo": "a", "Nats-Foo": "b"}


def test_parse_values_containing_colons() -> None:
    raw = (
        b"NATS/1.0\r\n"
        b"Nats-Time-Stamp: 2024-01-02T03:04:05.123456789Z\r\n"
        b"Url: nats://host:4222/path\r\n"
        b"Pair: a: b: c\r\n"
        b"\r\n"
    )
    assert parse_headers(raw)[2] == {
        "Nats-Time-Stamp": "2024-01-02T03:04:05.123456789Z",
        "Url": "nats://host:4222/path",
        "Pair": "a: b: c",
    }


def test_parse_trims_whitespace() -> None:
    raw = b"NATS/1.0\r\nName  :   value  \t\r\nTight:v\r\nEmpty:\r\nBlank:   \r\n\r\n"
    assert parse_headers(raw)[2] == {"Name": "value", "Tight": "v", "Empty": "", "Blank": ""}


def test_parse_skips_blank_lines() -> None:
    raw = b"NATS/1.0\r\nA: 1\r\n\r\nB: 2\r\n\r\n"
    assert parse_headers(raw)[2] == {"A": "1", "B": "2"}


def test_parse_non_utf8_does_not_raise() -> None:
    raw = b"NATS/1.0\r\nBin: \xff\xfe\r\n\r\n"
    value = parse_headers(raw)[2]["Bin"]
    assert value.encode("utf-8", "surrogateescape") == b"\xff\xfe"


def test_parse_utf8_value() -> None:
    raw = "NATS/1.0\r\nGreeting: héllo wörld\r\n\r\n".encode()
    assert parse_headers(raw)[2] == {"Greeting": "héllo wörld"}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"HTTP/1.1 200 OK\r\n\r\n", id="http"),
        pytest.param(b"nats/1.0\r\n\r\n", id="lowercase_version"),
        pytest.param(b"NATS/2.0\r\n\r\n", id="other_version"),
        pytest.param(b"\r\nNATS/1.0\r\n\r\n", id="leading_crlf"),
        pytest.param(b"NATS/1.0\r\nNoColonHere\r\n\r\n", id="no_colon"),
        pytest.param(b"NATS/1.0\r\nA: 1\r\ngarbage\r\n\r\n", id="garbage_after_field"),
        pytest.param(b"NATS/1.0\r\n: value\r\n\r\n", id="empty_name"),
        pytest.param(b"NATS/1.0\r\n   : value\r\n\r\n", id="blank_name"),
    ],
)
def test_parse_malformed_raises(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_headers(raw)
    with pytest.raises(ProtocolError):
        parse_headers(raw, multi=True)


# --------------------------------------------------------------------------- encode_headers


def test_encode_empty() -> None:
    assert encode_headers({}) == b"NATS/1.0\r\n\r\n"
    assert encode_headers(None) == b"NATS/1.0\r\n\r\n"
    assert parse_headers(encode_headers({})) == (None, "", {})


def test_encode_exact_bytes() -> None:
    assert encode_headers({"Nats-Msg-Id": "abc", "KV-Operation": "PURGE"}) == (
        b"NATS/1.0\r\nNats-Msg-Id: abc\r\nKV-Operation: PURGE\r\n\r\n"
    )


def test_encode_repeated_values() -> None:
    raw = encode_headers({"X": ["1", "2"], "Y": ("a", "b", "c"), "Z": "z"})
    assert raw == b"NATS/1.0\r\nX: 1\r\nX: 2\r\nY: a\r\nY: b\r\nY: c\r\nZ: z\r\n\r\n"
    assert parse_headers(raw, multi=True)[2] == {"X": ["1", "2"], "Y": ["a", "b", "c"], "Z": ["z"]}
    assert parse_headers(raw)[2] == {"X": "1", "Y": "a", "Z": "z"}


@pytest.mark.parametrize(
    "headers",
    [
        {"A": "1"},
        {"Nats-Expected-Last-Subject-Sequence": "0", "Nats-TTL": "5s"},
        {"Nats-Time-Stamp": "2024-01-02T03:04:05.123456789Z", "Url": "nats://h:1/x"},
        {"Spaces": "inner  spaces  kept", "Empty": ""},
        {"Unicode": "héllo ☃", "case": "lower", "CASE": "upper"},
        {"Multi": ["x", "y", "x"], "Single": "s"},
    ],
)
def test_encode_round_trip(headers: dict[str, Any]) -> None:
    raw = encode_headers(headers)
    assert raw.startswith(b"NATS/1.0\r\n")
    assert raw.endswith(b"\r\n\r\n")
    status, description, fields = parse_headers(raw, multi=True)
    assert status is None
    assert description == ""
    assert fields == {k: list(v) if isinstance(v, list) else [v] for k, v in headers.items()}
    single = parse_headers(raw)[2]
    assert single == {k: v[0] if isinstance(v, list) else v for k, v in headers.items()}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Bad\rName": "v"}, id="cr_in_name"),
        pytest.param({"Bad\nName": "v"}, id="lf_in_name"),
        pytest.param({"Name": "bad\rvalue"}, id="cr_in_value"),
        pytest.param({"Name": "bad\nvalue"}, id="lf_in_value"),
        pytest.param({"Name": "inject\r\nEvil: 1"}, id="crlf_injection"),
        pytest.param({"Name": ["ok", "bad\r\n"]}, id="crlf_in_list_value"),
        pytest.param({"Bad:Name": "v"}, id="colon_in_name"),
        pytest.param({"Bad Name": "v"}, id="space_in_name"),
        pytest.param({"": "v"}, id="empty_name"),
    ],
)
def test_encode_rejects_invalid(headers: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        encode_headers(headers)
