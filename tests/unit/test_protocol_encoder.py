"""Unit tests for the sans-IO encoder, including a reflection check through the parser."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from natskv.errors import BadSubjectError, NatsError
from natskv.protocol import (
    CRLF,
    PING_CMD,
    PONG_CMD,
    Msg,
    Parser,
    check_subject,
    encode_connect,
    encode_headers,
    encode_hpub,
    encode_pub,
    encode_sub,
    encode_unsub,
    hpub_head,
    parse_headers,
    pub_head,
)

# --------------------------------------------------------------------------- constants


def test_constants() -> None:
    assert CRLF == b"\r\n"
    assert PING_CMD == b"PING\r\n"
    assert PONG_CMD == b"PONG\r\n"


# --------------------------------------------------------------------------- PUB / HPUB


def test_pub_head() -> None:
    assert pub_head("foo.bar", None, 5) == b"PUB foo.bar 5\r\n"
    assert pub_head("foo.bar", "_INBOX.x", 0) == b"PUB foo.bar _INBOX.x 0\r\n"


def test_encode_pub_without_reply() -> None:
    assert encode_pub("foo.bar", b"hello") == b"PUB foo.bar 5\r\nhello\r\n"


def test_encode_pub_with_reply() -> None:
    assert encode_pub("foo", b"hi", "_INBOX.abc.1") == b"PUB foo _INBOX.abc.1 2\r\nhi\r\n"


def test_encode_pub_empty_payload() -> None:
    assert encode_pub("foo") == b"PUB foo 0\r\n\r\n"
    assert encode_pub("foo", b"", "r") == b"PUB foo r 0\r\n\r\n"


def test_encode_pub_payload_with_crlf_is_length_framed() -> None:
    payload = b"PING\r\nPUB x 1\r\n"
    assert encode_pub("s", payload) == b"PUB s 15\r\n" + payload + b"\r\n"


def test_hpub_head_sizes() -> None:
    # header size, then total size = header size + payload size
    assert hpub_head("foo", None, 18, 2) == b"HPUB foo 18 20\r\n"
    assert hpub_head("foo", "_INBOX.r", 12, 0) == b"HPUB foo _INBOX.r 12 12\r\n"


def test_encode_hpub_exact_bytes() -> None:
    headers = b"NATS/1.0\r\nA: b\r\n\r\n"
    assert len(headers) == 18
    assert encode_hpub("foo", headers, b"hi") == b"HPUB foo 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n"
    assert encode_hpub("foo", headers, b"hi", "_INBOX.r") == (
        b"HPUB foo _INBOX.r 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n"
    )


def test_encode_hpub_headers_only() -> None:
    headers = b"NATS/1.0\r\nKV-Operation: DEL\r\n\r\n"
    assert encode_hpub("$KV.b.k", headers) == (
        f"HPUB $KV.b.k {len(headers)} {len(headers)}\r\n".encode() + headers + b"\r\n"
    )


# --------------------------------------------------------------------------- SUB / UNSUB


def test_encode_sub() -> None:
    assert encode_sub("foo.*", 1) == b"SUB foo.* 1\r\n"
    assert encode_sub("foo.>", 42, "workers") == b"SUB foo.> workers 42\r\n"
    assert encode_sub("foo", 3, None) == b"SUB foo 3\r\n"


def test_encode_unsub() -> None:
    assert encode_unsub(7) == b"UNSUB 7\r\n"
    assert encode_unsub(7, None) == b"UNSUB 7\r\n"
    assert encode_unsub(7, 10) == b"UNSUB 7 10\r\n"


# --------------------------------------------------------------------------- CONNECT


def test_encode_connect_drops_none_and_is_compact() -> None:
    options: dict[str, Any] = {
        "verbose": False,
        "pedantic": False,
        "tls_required": False,
        "user": None,
        "pass": None,
        "auth_token": None,
        "name": "natskv-test",
        "lang": "python3",
        "version": "0.1.0",
        "protocol": 1,
        "headers": True,
        "no_responders": True,
    }
    assert encode_connect(options) == (
        b'CONNECT {"verbose":false,"pedantic":false,"tls_required":false,'
        b'"name":"natskv-test","lang":"python3","version":"0.1.0","protocol":1,'
        b'"headers":true,"no_responders":true}\r\n'
    )


def test_encode_connect_nested_and_empty() -> None:
    assert encode_connect({}) == b"CONNECT {}\r\n"
    assert encode_connect({"a": None}) == b"CONNECT {}\r\n"
    frame = encode_connect({"nested": {"x": [1, None]}, "s": 'quo"te'})
    assert frame.startswith(b"CONNECT ")
    assert frame.endswith(b"\r\n")
    assert b" " not in frame[len(b"CONNECT ") :]
    assert b"\r\n" not in frame[:-2]
    # Only top-level None values are dropped.
    assert json.loads(frame[len(b"CONNECT ") : -2]) == {"nested": {"x": [1, None]}, "s": 'quo"te'}


def test_encode_connect_escapes_control_characters() -> None:
    frame = encode_connect({"name": "a\r\nPING"})
    assert frame.count(b"\r\n") == 1


# --------------------------------------------------------------------------- subjects


@pytest.mark.parametrize("subject", ["foo", "foo.bar", "foo.*", "foo.>", "$KV.b.k", "_INBOX.a.b"])
def test_check_subject_accepts(subject: str) -> None:
    check_subject(subject)


@pytest.mark.parametrize(
    "subject", ["", " ", "foo bar", "foo\tbar", "foo\rbar", "foo\nbar", "foo ", "\tfoo", "a\r\n"]
)
def test_check_subject_rejects(subject: str) -> None:
    with pytest.raises(BadSubjectError) as info:
        check_subject(subject)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, NatsError)
    with pytest.raises(ValueError, match="queue group"):
        check_subject(subject, "queue group")


@pytest.mark.parametrize("bad", ["", "a b", "a\r\nPING"])
def test_encoders_validate_subjects(bad: str) -> None:
    with pytest.raises(BadSubjectError):
        encode_pub(bad, b"x")
    with pytest.raises(BadSubjectError):
        encode_pub("ok", b"x", bad)
    with pytest.raises(BadSubjectError):
        encode_hpub(bad, b"NATS/1.0\r\n\r\n")
    with pytest.raises(BadSubjectError):
        encode_hpub("ok", b"NATS/1.0\r\n\r\n", b"", bad)
    with pytest.raises(BadSubjectError):
        encode_sub(bad, 1)
    if bad:  # an empty queue group means "no queue group"
        with pytest.raises(BadSubjectError):
            encode_sub("ok", 1, bad)


# --------------------------------------------------------------------------- reflection


def reflect(frame: bytes, sid: int) -> bytes:
    """Turn a client PUB/HPUB frame into the MSG/HMSG frame a server would deliver."""
    head, sep, rest = frame.partition(b"\r\n")
    assert sep
    op, subject, *args = head.split(b" ")
    server_op = {b"PUB": b"MSG", b"HPUB": b"HMSG"}[op]
    return b" ".join([server_op, subject, str(sid).encode(), *args]) + b"\r\n" + rest


def parse_one(data: bytes, chunks: list[bytes] | None = None) -> Msg:
    p = Parser()
    events = []
    for chunk in chunks if chunks is not None else [data]:
        events.extend(p.feed(chunk))
    assert len(events) == 1
    (ev,) = events
    assert isinstance(ev, Msg)
    return ev


_rng = random.Random(7)
PAYLOADS = [
    b"",
    b"hello",
    b"\r\n",
    b"PING\r\nMSG a 1 1\r\nx\r\n",
    bytes(range(256)),
    _rng.randbytes(100_000),
]
REPLIES = [None, "_INBOX.reply.1"]


@pytest.mark.usefixtures("parser_impl")
@pytest.mark.parametrize("reply", REPLIES)
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: f"len{len(p)}")
def test_pub_reflects_through_parser(payload: bytes, reply: str | None) -> None:
    frame = encode_pub("foo.bar", payload, reply)
    server = reflect(frame, 17)
    rng = random.Random(len(payload))
    for chunks in ([server], [server[:9], server[9:]], _random_chunks(server, rng)):
        ev = parse_one(server, chunks)
        assert ev.subject == "foo.bar"
        assert ev.sid == 17
        assert ev.reply == reply
        assert ev.data == payload
        assert ev.raw_headers is None


HEADER_SETS: list[dict[str, Any]] = [
    {},
    {"Nats-Msg-Id": "id-1"},
    {"KV-Operation": "DEL", "Nats-TTL": "10s", "Multi": ["a", "b"]},
    {"Nats-Time-Stamp": "2024-01-02T03:04:05Z", "Unicode": "☃ snow"},
]


@pytest.mark.usefixtures("parser_impl")
@pytest.mark.parametrize("reply", REPLIES)
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: f"len{len(p)}")
@pytest.mark.parametrize("headers", HEADER_SETS, ids=lambda h: f"h{len(h)}")
def test_hpub_reflects_through_parser(
    headers: dict[str, Any], payload: bytes, reply: str | None
) -> None:
    block = encode_headers(headers)
    frame = encode_hpub("$KV.bucket.key", block, payload, reply)
    server = reflect(frame, 3)
    rng = random.Random(len(payload) + len(block))
    for chunks in ([server], [server[: len(server) // 2], server[len(server) // 2 :]]):
        ev = parse_one(server, chunks)
        assert ev.subject == "$KV.bucket.key"
        assert ev.sid == 3
        assert ev.reply == reply
        assert ev.data == payload
        assert ev.raw_headers == block
        assert ev.status is None
        assert ev.description == ""
        assert ev.headers == parse_headers(block)[2]
        for name, value in headers.items():
            expected = list(value) if isinstance(value, list) else [value]
            assert ev.header_values(name) == expected
    ev = parse_one(server, _random_chunks(server, rng))
    assert ev.data == payload
    assert ev.raw_headers == block


@pytest.mark.usefixtures("parser_impl")
def test_many_frames_reflect_in_one_stream() -> None:
    frames = []
    expected = []
    for i, payload in enumerate(PAYLOADS[:5]):
        frames.append(reflect(encode_pub(f"s.{i}", payload), i))
        expected.append((f"s.{i}", i, payload, None))
        block = encode_headers({"I": str(i)})
        frames.append(reflect(encode_hpub(f"h.{i}", block, payload, "r"), i))
        expected.append((f"h.{i}", i, payload, block))
    stream = b"".join(frames)
    rng = random.Random(1)
    for chunks in ([stream], [stream[i : i + 1] for i in range(len(stream))]):
        p = Parser()
        got = []
        for chunk in chunks:
            for ev in p.feed(chunk):
                assert isinstance(ev, Msg)
                got.append((ev.subject, ev.sid, ev.data, ev.raw_headers))
        assert got == expected
    p = Parser()
    n = sum(len(p.feed(c)) for c in _random_chunks(stream, rng))
    assert n == len(expected)


def _random_chunks(data: bytes, rng: random.Random) -> list[bytes]:
    out = []
    i = 0
    while i < len(data):
        k = rng.randint(1, 4096)
        out.append(data[i : i + k])
        i += k
    return out
