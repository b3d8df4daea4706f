"""The compiled parser against the pure one: the same seeded random streams, valid and mutated,
fed to both in the same random chunkings, must give the same events after every read, or the
same ProtocolError (class and message) at the same read.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from tests.unit.conftest import PARSERS
from tests.unit.parser_helpers import random_chunks

from natskv.errors import ProtocolError
from natskv.protocol import Event, Msg, _parser

CParser = PARSERS["c"]
pytestmark = pytest.mark.skipif(CParser is None, reason="the compiled parser is not built")

SUBJECTS = ["a", "foo.bar", "$KV.bucket.my.key", "_INBOX.abc.1", "ünï.cödé", "x" * 40, "$JS.API.>"]
REPLIES = [
    "$JS.ACK.KV_b.oc.1.42.42.1733131331000000000.0",
    "_INBOX.r",
    "r",
    "$JS.FC.KV_b.abc.8",
]
HEADER_BLOCKS = [
    b"NATS/1.0\r\n\r\n",
    b"NATS/1.0\r\nKV-Operation: DEL\r\nNats-Sequence: 7\r\n\r\n",
    b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Stream: 1001\r\n\r\n",
    b"NATS/1.0 404 Message Not Found\r\n\r\n",
    b"NATS/1.0 503\r\n\r\n",
    b"NATS/1.0\r\nMulti: 1\r\nMulti: 2\r\n\r\n",
    b"NATS/1.0\r\nno colon here\r\n\r\n",  # a bad block: its properties raise, lazily
    b"HTTP/1.1\r\n\r\n",
]
CONTROL_LINES = [
    b"PING",
    b"PONG",
    b"+OK",
    b"ping \t",
    b"-ERR 'Authorization Violation'",
    b"-ERR  Stale Connection ",
    b"-ERR",
    b'INFO {"server_id":"N","max_payload":1048576,"headers":true}',
    b'info {"a":[1,2,{"b":null}]}',
    b"INFO []",
    b"INFO {bad",
    b"PUB foo 1",
    b"+OKAY",
    b"",
    b"MSGX a 1 1",
    b"HELLO",
]
# Bytes that make mutations interesting: line ends, separators, digits, non-UTF-8.
NOISE = b"\r\n \t0123456789MSGHmsgh+-\xff\xc3"


def _sep(rng: random.Random) -> str:
    return rng.choice([" ", " ", " ", "\t", "  ", " \t "])


def _op(rng: random.Random, name: str) -> str:
    if rng.random() < 0.8:
        return name
    return "".join(c.lower() if rng.random() < 0.5 else c for c in name)


def _number(rng: random.Random, value: int) -> str:
    return ("0" * rng.choice([0, 0, 0, 1, 3])) + str(value)


def msg_frame(rng: random.Random) -> bytes:
    subject = rng.choice(SUBJECTS)
    sid = rng.choice([1, 2, 7, 255, 256, 65536, 10**20])
    reply = rng.choice([None, *REPLIES])
    payload = rng.randbytes(rng.choice([0, 1, 5, 128, 128, 2000]))
    if rng.random() < 0.1:
        payload += b"\r\nPING\r\n"
    if rng.random() < 0.5:
        block = rng.choice(HEADER_BLOCKS)
        args = [subject, _number(rng, sid)]
        if reply:
            args.append(reply)
        args += [_number(rng, len(block)), _number(rng, len(block) + len(payload))]
        head = _op(rng, "HMSG") + _sep(rng) + "".join(a + _sep(rng) for a in args[:-1]) + args[-1]
        body = block + payload
    else:
        args = [subject, _number(rng, sid)]
        if reply:
            args.append(reply)
        args.append(_number(rng, len(payload)))
        head = _op(rng, "MSG") + _sep(rng) + "".join(a + _sep(rng) for a in args[:-1]) + args[-1]
        body = payload
    if rng.random() < 0.05:
        head += _sep(rng)  # trailing whitespace
    return head.encode() + b"\r\n" + body + b"\r\n"


def stream(rng: random.Random) -> bytes:
    frames = []
    for _ in range(rng.randint(1, 12)):
        if rng.random() < 0.75:
            frames.append(msg_frame(rng))
        else:
            frames.append(rng.choice(CONTROL_LINES) + b"\r\n")
    return b"".join(frames)


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not buf:
            break
        i = rng.randrange(len(buf))
        kind = rng.randrange(5)
        if kind == 0:
            buf[i] = rng.choice(NOISE)
        elif kind == 1:
            buf.insert(i, rng.choice(NOISE))
        elif kind == 2:
            del buf[i]
        elif kind == 3:
            j = min(len(buf), i + rng.randint(1, 40))
            buf[i:i] = buf[i:j]
        else:
            del buf[i:]
    return bytes(buf)


def _prop(get: Callable[[], Any]) -> Any:
    try:
        return get()
    except ProtocolError as exc:
        return ("ProtocolError", str(exc))


def describe(ev: Event) -> tuple[Any, ...]:
    if isinstance(ev, Msg):
        return (
            type(ev),
            ev.subject,
            ev.sid,
            ev.reply,
            ev.data,
            ev.raw_headers,
            _prop(lambda: ev.headers),
            _prop(lambda: ev.status),
            _prop(lambda: ev.description),
            _prop(lambda: ev.header_values("Multi")),
            _prop(lambda: repr(ev)),
        )
    return (type(ev), repr(ev))


def outcomes(parser: Any, chunks: list[bytes]) -> list[Any]:
    """What each read gives, up to and including the first error."""
    got: list[Any] = []
    for chunk in chunks:
        try:
            events = parser.feed(chunk)
        except ProtocolError as exc:
            got.append(("error", type(exc), str(exc)))
            return got
        got.append([describe(e) for e in events])
    return got


def limits(rng: random.Random) -> dict[str, int]:
    kw: dict[str, int] = {}
    if rng.random() < 0.3:
        kw["max_control_line"] = rng.choice([8, 16, 40, 64, 100])
    if rng.random() < 0.3:
        kw["max_payload"] = rng.choice([0, 8, 128, 1000])
    return kw


def check_same(data: bytes, rng: random.Random) -> None:
    kw = limits(rng)
    max_chunk = rng.choice([1, 2, 3, 7, 16, 64, 300, 5000])
    if max_chunk < 7 and len(data) > 600:
        max_chunk *= 16  # byte-sized reads of long streams add time, not cases
    chunks = [*random_chunks(data, rng, max_chunk), b"PING\r\n"]
    pure, compiled = _parser.Parser(**kw), CParser(**kw)
    expected = outcomes(pure, chunks)
    assert outcomes(compiled, chunks) == expected, (data, kw, chunks)
    # After reset() both start clean, whatever they held.
    pure.reset()
    compiled.reset()
    tail = [b"PONG\r\n", b"MSG a 1 2\r\nhi\r\n"]
    assert outcomes(compiled, tail) == outcomes(pure, tail)


@pytest.mark.parametrize("seed", range(6))
def test_valid_streams_give_the_same_events(seed: int) -> None:
    rng = random.Random(f"valid-{seed}")
    for _ in range(200):
        check_same(stream(rng), rng)


@pytest.mark.parametrize("seed", range(6))
def test_mutated_streams_give_the_same_events_or_error(seed: int) -> None:
    rng = random.Random(f"mutated-{seed}")
    for _ in range(300):
        check_same(mutate(stream(rng), rng), rng)


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes_give_the_same_events_or_error(seed: int) -> None:
    rng = random.Random(f"noise-{seed}")
    for _ in range(300):
        data = bytes(rng.choice(NOISE) for _ in range(rng.randint(1, 80)))
        check_same(data, rng)


def test_overlong_lines_and_sizes_give_the_same_error() -> None:
    rng = random.Random("edges")
    cases = [
        b"x" * 5000,
        b"MSG a 1 " + b"9" * 30 + b"\r\n",
        b"MSG a " + b"9" * 30 + b" 2\r\nhi\r\n",
        b"HMSG a 1 " + b"9" * 30 + b" 12\r\n",
        b"HMSG a 1 12 " + b"9" * 30 + b"\r\n",
        b"HMSG a 1 " + b"9" * 25 + b" " + b"9" * 30 + b"\r\n",
        b"MSG a 1 9223372036854775807\r\n",
        b"MSG a 1 9223372036854775808\r\n",
        b"-ERR '" + b"e" * 4090 + b"'\r\n",
        b"-ERR '" + b"e" * 4089 + b"'\r\n",
        b"x" * 4096 + b"\r",
        b"x" * 4095 + b"\r\r\n",
    ]
    for data in cases:
        for max_chunk in (1, 2, 100, 10_000):
            chunks = [*random_chunks(data, rng, max_chunk), b"PING\r\n"]
            expected = outcomes(_parser.Parser(), chunks)
            assert outcomes(CParser(), chunks) == expected, (data[:40], max_chunk)


def test_numbers_longer_than_int_takes_give_the_same_error() -> None:
    """More digits than int() converts (4300): malformed, before any other check."""
    long = b"1" * 5000
    cases = [
        b"MSG a " + long + b" 1\r\nx\r\n",
        b"MSG a 1 " + long + b"\r\n",
        b"MSG \xff 1 " + long + b"\r\n",
        b"HMSG a 1 " + long + b" 12\r\n",
        b"HMSG a 1 12 " + long + b"\r\n",
        b"HMSG a " + long + b" 13 12\r\n",
        b"MSG a 1 " + b"0" * 4290 + b"5\r\nhello\r\n",  # 4291 digits: int() takes it
    ]
    for data in cases:
        for chunks in ([data], [data[:3000], data[3000:]]):
            kw = {"max_control_line": 10_000}
            expected = outcomes(_parser.Parser(**kw), chunks)
            assert outcomes(CParser(**kw), chunks) == expected, data[:40]


def test_limits_read_and_write_like_the_pure_parser() -> None:
    p = CParser(max_control_line=32, max_payload=10)
    assert (p.max_control_line, p.max_payload) == (32, 10)
    p.max_payload = 3
    with pytest.raises(ProtocolError, match="bad payload size: 4"):
        p.feed(b"MSG a 1 4\r\n")
    p.max_control_line = 4
    with pytest.raises(ProtocolError, match="control line longer than 4 bytes"):
        p.feed(b"MSG a 1 1\r\nx\r\n")
    defaults = CParser()
    pure = _parser.Parser()
    assert (defaults.max_control_line, defaults.max_payload) == (
        pure.max_control_line,
        pure.max_payload,
    )
    with pytest.raises(TypeError):
        CParser(4096)  # keyword-only, like the pure parser


def test_compiled_msg_is_the_pure_msg_class() -> None:
    """``type(ev) is Msg`` (the connection's dispatch) holds, and the slots behave alike."""
    from natskv.protocol import _cparser

    assert _cparser._fast_msg()  # Msg is filled in directly, not through Msg(...)
    frame = b"HMSG s 3 r 24 26\r\nNATS/1.0\r\nA: b\r\nA: c\r\n\r\nhi\r\n"
    (c,) = CParser().feed(frame)
    (p,) = _parser.Parser().feed(frame)
    assert type(c) is Msg and type(p) is Msg
    assert describe(c) == describe(p)
    assert c.headers is c.headers  # parsed once, like the pure one's
    c.data = b"changed"  # slots stay writable
    assert c.data == b"changed"
    assert not hasattr(c, "__dict__")
