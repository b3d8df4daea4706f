"""Unit tests for the sans-IO protocol parser (no network, no asyncio).

Every fixture is fed whole, split in two at every byte position, one byte at a time and in
seeded random chunkings; all of them must produce the same events.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import pytest

from natskv.errors import ProtocolError
from natskv.protocol import (
    MAX_CONTROL_LINE,
    OK,
    PING,
    PONG,
    Err,
    Event,
    Info,
    Msg,
    Ok,
    Parser,
    Ping,
    Pong,
)

# --------------------------------------------------------------------------- helpers

Desc = tuple[Any, ...]


def describe(ev: Event) -> Desc:
    """A comparable description of an event (every public field of a ``Msg``)."""
    if isinstance(ev, Msg):
        return (
            "Msg",
            ev.subject,
            ev.sid,
            ev.reply,
            ev.data,
            ev.raw_headers,
            ev.headers,
            ev.status,
            ev.description,
        )
    if isinstance(ev, Info):
        return ("Info", ev.options)
    if isinstance(ev, Err):
        return ("Err", ev.message)
    assert isinstance(ev, (Ping, Pong, Ok)), ev
    return (type(ev).__name__,)


def m(
    subject: str,
    sid: int,
    reply: str | None,
    data: bytes,
    raw_headers: bytes | None = None,
    *,
    headers: dict[str, str] | None = None,
    status: int | None = None,
    description: str = "",
) -> Desc:
    """The expected description of a message."""
    return ("Msg", subject, sid, reply, data, raw_headers, headers or {}, status, description)


P_PING: Desc = ("Ping",)
P_PONG: Desc = ("Pong",)
P_OK: Desc = ("Ok",)


def msg_frame(subject: str, sid: int, reply: str | None, payload: bytes) -> bytes:
    r = f" {reply}" if reply else ""
    return f"MSG {subject} {sid}{r} {len(payload)}\r\n".encode() + payload + b"\r\n"


def hmsg_frame(subject: str, sid: int, reply: str | None, headers: bytes, body: bytes) -> bytes:
    r = f" {reply}" if reply else ""
    head = f"HMSG {subject} {sid}{r} {len(headers)} {len(headers) + len(body)}\r\n"
    return head.encode() + headers + body + b"\r\n"


def feed_chunks(chunks: Sequence[bytes], parser: Parser | None = None) -> list[Desc]:
    """Feed ``chunks`` to a parser and describe the events; the parser must end clean."""
    p = parser or Parser()
    events: list[Event] = []
    for chunk in chunks:
        events.extend(p.feed(chunk))
    # Nothing may be left half-parsed: a following PING must come out alone.
    tail = p.feed(b"PING\r\n")
    assert len(tail) == 1 and tail[0] is PING, tail
    return [describe(e) for e in events]


def random_chunks(data: bytes, rng: random.Random, max_chunk: int) -> list[bytes]:
    out: list[bytes] = []
    i = 0
    while i < len(data):
        if rng.random() < 0.05:
            out.append(b"")  # empty reads must be harmless
        k = rng.randint(1, max_chunk)
        out.append(data[i : i + k])
        i += k
    return out


def two_way_splits(data: bytes, positions: Sequence[int] | None = None) -> Iterator[list[bytes]]:
    for i in positions if positions is not None else range(len(data) + 1):
        yield [data[:i], data[i:]]


# --------------------------------------------------------------------------- fixtures


class Fixture(NamedTuple):
    id: str
    data: bytes
    expected: list[Desc]


INFO_OPTIONS: dict[str, Any] = {
    "server_id": "NCXYZ",
    "server_name": "n1",
    "version": "2.11.0",
    "proto": 1,
    "headers": True,
    "max_payload": 1048576,
    "jetstream": True,
    "connect_urls": ["10.0.0.1:4222", "[::1]:4222"],
    "nested": {"a": {"b": [1, 2.5, {"c": None, "d": "x\r\ny"}]}, "empty": {}},
    "tls_required": False,
}
INFO_LINE = (
    b'INFO {"server_id":"NCXYZ","server_name":"n1","version":"2.11.0","proto":1,'
    b'"headers":true,"max_payload":1048576,"jetstream":true,'
    b'"connect_urls":["10.0.0.1:4222","[::1]:4222"],'
    b'"nested":{"a":{"b":[1,2.5,{"c":null,"d":"x\\r\\ny"}]},"empty":{}},'
    b'"tls_required":false} \r\n'
)

TRICKY = b"PING\r\nMSG x 1 3\r\nabc\r\n-ERR 'no'\r\nHMSG y 1 2 2\r\n\r\n"

H_PLAIN = b"NATS/1.0\r\nFoo: bar\r\nMulti: 1\r\nMulti: 2\r\n\r\n"
H_ONLY = b"NATS/1.0\r\nA: b\r\n\r\n"
H_503 = b"NATS/1.0 503\r\n\r\n"
H_IDLE = (
    b"NATS/1.0 100 Idle Heartbeat\r\n"
    b"Nats-Last-Consumer: 42\r\n"
    b"Nats-Last-Stream: 1001\r\n"
    b"Nats-Consumer-Stalled: $JS.FC.KV_b.abc.7\r\n"
    b"\r\n"
)
H_FC = b"NATS/1.0 100 FlowControl Request\r\n\r\n"
H_404 = b"NATS/1.0 404 Message Not Found\r\n\r\n"
H_408 = b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 0\r\n\r\n"
H_EOB = b"NATS/1.0 204 EOB\r\nNats-Num-Pending: 0\r\nNats-Last-Sequence: 17\r\n\r\n"
H_DIRECT = (
    b"NATS/1.0\r\n"
    b"Nats-Stream: KV_bucket\r\n"
    b"Nats-Subject: $KV.bucket.my.key\r\n"
    b"Nats-Sequence: 7\r\n"
    b"Nats-Time-Stamp: 2024-01-02T03:04:05.123456789Z\r\n"
    b"KV-Operation: DEL\r\n"
    b"\r\n"
)
H_DIRECT_PUT = (
    b"NATS/1.0\r\n"
    b"Nats-Stream: KV_bucket\r\n"
    b"Nats-Subject: $KV.bucket.other\r\n"
    b"Nats-Sequence: 8\r\n"
    b"Nats-Time-Stamp: 2024-01-02T03:04:06Z\r\n"
    b"\r\n"
)

FIXTURES: list[Fixture] = [
    Fixture("info_nested", INFO_LINE, [("Info", INFO_OPTIONS)]),
    Fixture("msg_no_reply", b"MSG foo.bar 9 5\r\nhello\r\n", [m("foo.bar", 9, None, b"hello")]),
    Fixture(
        "msg_reply",
        b"MSG foo.bar 10 _INBOX.abc.1 11\r\nhello world\r\n",
        [m("foo.bar", 10, "_INBOX.abc.1", b"hello world")],
    ),
    Fixture("msg_empty", b"MSG empty 3 0\r\n\r\n", [m("empty", 3, None, b"")]),
    Fixture("msg_empty_reply", b"MSG empty 3 _INBOX.r 0\r\n\r\n", [m("empty", 3, "_INBOX.r", b"")]),
    Fixture(
        "msg_payload_crlf",
        msg_frame("tricky", 2, "r.1", TRICKY),
        [m("tricky", 2, "r.1", TRICKY)],
    ),
    Fixture(
        "msg_binary",
        msg_frame("bin", 4, None, bytes(range(256))),
        [m("bin", 4, None, bytes(range(256)))],
    ),
    Fixture(
        "hmsg_no_reply",
        hmsg_frame("h.sub", 5, None, H_PLAIN, b"payload"),
        [m("h.sub", 5, None, b"payload", H_PLAIN, headers={"Foo": "bar", "Multi": "1"})],
    ),
    Fixture(
        "hmsg_reply",
        hmsg_frame("h.sub", 6, "_INBOX.xyz", H_PLAIN, TRICKY),
        [m("h.sub", 6, "_INBOX.xyz", TRICKY, H_PLAIN, headers={"Foo": "bar", "Multi": "1"})],
    ),
    Fixture(
        "hmsg_headers_only",
        b"HMSG only.h 7 _INBOX.q 18 18\r\nNATS/1.0\r\nA: b\r\n\r\n\r\n",
        [m("only.h", 7, "_INBOX.q", b"", H_ONLY, headers={"A": "b"})],
    ),
    Fixture(
        "status_503",
        b"HMSG _INBOX.abc.2 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
        [m("_INBOX.abc.2", 1, None, b"", H_503, status=503)],
    ),
    Fixture(
        "idle_heartbeat",
        hmsg_frame("_INBOX.hb", 11, None, H_IDLE, b""),
        [
            m(
                "_INBOX.hb",
                11,
                None,
                b"",
                H_IDLE,
                headers={
                    "Nats-Last-Consumer": "42",
                    "Nats-Last-Stream": "1001",
                    "Nats-Consumer-Stalled": "$JS.FC.KV_b.abc.7",
                },
                status=100,
                description="Idle Heartbeat",
            )
        ],
    ),
    Fixture(
        "flow_control",
        hmsg_frame("_INBOX.fc", 12, "$JS.FC.KV_b.abc.8", H_FC, b""),
        [
            m(
                "_INBOX.fc",
                12,
                "$JS.FC.KV_b.abc.8",
                b"",
                H_FC,
                status=100,
                description="FlowControl Request",
            )
        ],
    ),
    Fixture(
        "status_404",
        hmsg_frame("_INBOX.get", 13, None, H_404, b""),
        [m("_INBOX.get", 13, None, b"", H_404, status=404, description="Message Not Found")],
    ),
    Fixture(
        "status_408",
        hmsg_frame("_INBOX.pull", 14, None, H_408, b""),
        [
            m(
                "_INBOX.pull",
                14,
                None,
                b"",
                H_408,
                headers={"Nats-Pending-Messages": "1", "Nats-Pending-Bytes": "0"},
                status=408,
                description="Request Timeout",
            )
        ],
    ),
    Fixture(
        "status_204_eob",
        hmsg_frame("_INBOX.batch", 15, None, H_EOB, b""),
        [
            m(
                "_INBOX.batch",
                15,
                None,
                b"",
                H_EOB,
                headers={"Nats-Num-Pending": "0", "Nats-Last-Sequence": "17"},
                status=204,
                description="EOB",
            )
        ],
    ),
    Fixture(
        "direct_get_del",
        hmsg_frame("_INBOX.dg", 16, None, H_DIRECT, b""),
        [
            m(
                "_INBOX.dg",
                16,
                None,
                b"",
                H_DIRECT,
                headers={
                    "Nats-Stream": "KV_bucket",
                    "Nats-Subject": "$KV.bucket.my.key",
                    "Nats-Sequence": "7",
                    "Nats-Time-Stamp": "2024-01-02T03:04:05.123456789Z",
                    "KV-Operation": "DEL",
                },
            )
        ],
    ),
    Fixture(
        "direct_get_value",
        hmsg_frame("_INBOX.dg", 16, None, H_DIRECT_PUT, b'{"v": 1}'),
        [
            m(
                "_INBOX.dg",
                16,
                None,
                b'{"v": 1}',
                H_DIRECT_PUT,
                headers={
                    "Nats-Stream": "KV_bucket",
                    "Nats-Subject": "$KV.bucket.other",
                    "Nats-Sequence": "8",
                    "Nats-Time-Stamp": "2024-01-02T03:04:06Z",
                },
            )
        ],
    ),
    Fixture("ping", b"PING\r\n", [P_PING]),
    Fixture("pong", b"PONG\r\n", [P_PONG]),
    Fixture("ok", b"+OK\r\n", [P_OK]),
    Fixture(
        "err_quoted",
        b"-ERR 'Authorization Violation'\r\n",
        [("Err", "Authorization Violation")],
    ),
    Fixture(
        "err_quoted_inner_quotes",
        b"-ERR 'Permissions Violation for Publish to \"foo\"'\r\n",
        [("Err", 'Permissions Violation for Publish to "foo"')],
    ),
    Fixture("err_unquoted", b"-ERR  Stale Connection \r\n", [("Err", "Stale Connection")]),
    Fixture("lower_msg", b"msg low.case 1 2\r\nhi\r\n", [m("low.case", 1, None, b"hi")]),
    Fixture(
        "lower_hmsg",
        b"hmsg low.h 1 r 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n",
        [m("low.h", 1, "r", b"hi", H_ONLY, headers={"A": "b"})],
    ),
    Fixture("lower_ping", b"ping\r\n", [P_PING]),
    Fixture("lower_pong", b"Pong\r\n", [P_PONG]),
    Fixture("lower_ok", b"+ok\r\n", [P_OK]),
    Fixture("lower_info", b'info {"a":1}\r\n', [("Info", {"a": 1})]),
    Fixture("lower_err", b"-err 'x'\r\n", [("Err", "x")]),
    Fixture(
        "whitespace_msg",
        b"MSG  \t ws.sub \t 21\t\t_INBOX.ws   3 \t \r\nabc\r\n",
        [m("ws.sub", 21, "_INBOX.ws", b"abc")],
    ),
    Fixture("tab_after_msg", b"MSG\tws.tab\t22\t3\r\nabc\r\n", [m("ws.tab", 22, None, b"abc")]),
    Fixture(
        "whitespace_hmsg",
        b"HMSG\tws.h  23 \t 18\t\t 21  \r\nNATS/1.0\r\nA: b\r\n\r\nabc\r\n",
        [m("ws.h", 23, None, b"abc", H_ONLY, headers={"A": "b"})],
    ),
    Fixture("tab_after_info", b'INFO\t {"b" : [1, 2]}\r\n', [("Info", {"b": [1, 2]})]),
    Fixture("ping_trailing_ws", b"PING \t\r\n", [P_PING]),
    Fixture("several", b"PING\r\nPONG\r\n+OK\r\nPING\r\n", [P_PING, P_PONG, P_OK, P_PING]),
]

FIXTURE_IDS = [f.id for f in FIXTURES]
ALL_DATA = b"".join(f.data for f in FIXTURES)
ALL_EXPECTED = [e for f in FIXTURES for e in f.expected]

# A 1 MiB payload with CRLFs and things that look like control lines inside it.
_rng = random.Random(20240101)
_LURE = b"\r\nPING\r\nMSG fake 1 3\r\nabc\r\n-ERR 'lure'\r\nHMSG a 1 2 2\r\n\r\n\r\n"
BIG = (_LURE + _rng.randbytes((1 << 20) - 2 * len(_LURE)) + _LURE)[: 1 << 20]
assert len(BIG) == 1 << 20
BIG_HEADERS = b"NATS/1.0\r\nNats-Sequence: 99\r\n\r\n"
BIG_FIXTURES: list[Fixture] = [
    Fixture("big_msg", msg_frame("big", 1, "_INBOX.big", BIG), [m("big", 1, "_INBOX.big", BIG)]),
    Fixture(
        "big_hmsg",
        hmsg_frame("big.h", 2, None, BIG_HEADERS, BIG),
        [m("big.h", 2, None, BIG, BIG_HEADERS, headers={"Nats-Sequence": "99"})],
    ),
]
BIG_IDS = [f.id for f in BIG_FIXTURES]


def big_positions(data: bytes, rng: random.Random) -> list[int]:
    """A few dozen split positions: the control line, payload edges, and random ones."""
    n = len(data)
    head_end = data.index(b"\r\n") + 2
    fixed = set(range(0, head_end + 3))
    fixed.update(range(n - 6, n + 1))
    fixed.update({head_end + 64, n // 2, n - 1024})
    fixed.update(rng.randrange(n) for _ in range(12))
    return sorted(p for p in fixed if 0 <= p <= n)


# --------------------------------------------------------------------------- fixture tests


@pytest.mark.parametrize("fx", FIXTURES, ids=FIXTURE_IDS)
def test_fixture_whole(fx: Fixture) -> None:
    assert feed_chunks([fx.data]) == fx.expected


@pytest.mark.parametrize("fx", FIXTURES, ids=FIXTURE_IDS)
def test_fixture_every_split(fx: Fixture) -> None:
    for chunks in two_way_splits(fx.data):
        assert feed_chunks(chunks) == fx.expected, chunks


@pytest.mark.parametrize("fx", FIXTURES, ids=FIXTURE_IDS)
def test_fixture_one_byte_at_a_time(fx: Fixture) -> None:
    chunks = [fx.data[i : i + 1] for i in range(len(fx.data))]
    assert feed_chunks(chunks) == fx.expected


@pytest.mark.parametrize("fx", FIXTURES, ids=FIXTURE_IDS)
def test_fixture_random_chunks(fx: Fixture) -> None:
    rng = random.Random(f"fixture-{fx.id}")
    for max_chunk in (2, 3, 7, 16, 64):
        for _ in range(5):
            chunks = random_chunks(fx.data, rng, max_chunk)
            assert feed_chunks(chunks) == fx.expected, chunks


def test_all_fixtures_concatenated_whole() -> None:
    assert feed_chunks([ALL_DATA]) == ALL_EXPECTED


def test_all_fixtures_concatenated_every_split() -> None:
    for chunks in two_way_splits(ALL_DATA):
        assert feed_chunks(chunks) == ALL_EXPECTED, len(chunks[0])


def test_all_fixtures_concatenated_one_byte_at_a_time() -> None:
    chunks = [ALL_DATA[i : i + 1] for i in range(len(ALL_DATA))]
    assert feed_chunks(chunks) == ALL_EXPECTED


@pytest.mark.parametrize("seed", range(10))
def test_all_fixtures_concatenated_random_chunks(seed: int) -> None:
    rng = random.Random(seed)
    for max_chunk in (1, 5, 33, 257, 4096):
        assert feed_chunks(random_chunks(ALL_DATA, rng, max_chunk)) == ALL_EXPECTED


def test_events_are_in_order_across_one_parser() -> None:
    """One parser fed fixture after fixture (the normal life of a connection)."""
    p = Parser()
    got: list[Desc] = []
    for fx in FIXTURES:
        got.extend(describe(e) for e in p.feed(fx.data))
    assert got == ALL_EXPECTED


# --------------------------------------------------------------------------- 1 MiB payload


@pytest.mark.parametrize("fx", BIG_FIXTURES, ids=BIG_IDS)
def test_big_whole(fx: Fixture) -> None:
    assert feed_chunks([fx.data]) == fx.expected


@pytest.mark.parametrize("fx", BIG_FIXTURES, ids=BIG_IDS)
def test_big_selected_splits(fx: Fixture) -> None:
    positions = big_positions(fx.data, random.Random(f"big-{fx.id}"))
    assert len(positions) >= 24
    for chunks in two_way_splits(fx.data, positions):
        assert feed_chunks(chunks) == fx.expected, len(chunks[0])


@pytest.mark.parametrize("fx", BIG_FIXTURES, ids=BIG_IDS)
@pytest.mark.parametrize("size", [64 * 1024, 4096, 65537])
def test_big_fixed_chunks(fx: Fixture, size: int) -> None:
    chunks = [fx.data[i : i + size] for i in range(0, len(fx.data), size)]
    assert feed_chunks(chunks) == fx.expected


@pytest.mark.parametrize("fx", BIG_FIXTURES, ids=BIG_IDS)
def test_big_control_line_one_byte_at_a_time(fx: Fixture) -> None:
    cut = fx.data.index(b"\r\n") + 10
    chunks = [fx.data[i : i + 1] for i in range(cut)] + [fx.data[cut:]]
    assert feed_chunks(chunks) == fx.expected


@pytest.mark.parametrize("seed", range(4))
def test_big_random_chunks(seed: int) -> None:
    rng = random.Random(seed)
    fx = BIG_FIXTURES[seed % 2]
    for max_chunk in (1 << 14, 1 << 17, 1 << 21):
        assert feed_chunks(random_chunks(fx.data, rng, max_chunk)) == fx.expected


def test_big_concatenated_with_all_fixtures() -> None:
    data = BIG_FIXTURES[0].data + ALL_DATA + BIG_FIXTURES[1].data + ALL_DATA
    expected = BIG_FIXTURES[0].expected + ALL_EXPECTED + BIG_FIXTURES[1].expected + ALL_EXPECTED
    assert feed_chunks([data]) == expected
    size = 64 * 1024
    assert feed_chunks([data[i : i + size] for i in range(0, len(data), size)]) == expected
    rng = random.Random(99)
    for _ in range(3):
        assert feed_chunks(random_chunks(data, rng, 1 << 16)) == expected
    first = len(BIG_FIXTURES[0].data)
    for pos in (1, first - 2, first - 1, first, first + 1, first + 30, len(data) - 3):
        assert feed_chunks([data[:pos], data[pos:]]) == expected, pos


# --------------------------------------------------------------------------- events and API


def test_control_events_are_the_singletons() -> None:
    events = Parser().feed(b"PING\r\nPONG\r\n+OK\r\n")
    assert events[0] is PING
    assert events[1] is PONG
    assert events[2] is OK


def test_msg_without_headers_api() -> None:
    (ev,) = Parser().feed(b"MSG a 1 2\r\nhi\r\n")
    assert isinstance(ev, Msg)
    assert ev.raw_headers is None
    assert ev.headers == {}
    assert ev.status is None
    assert ev.description == ""
    assert ev.header_values("X") == []
    assert repr(ev) == "<Msg subject='a' reply=None size=2>"


def test_msg_header_values_multi() -> None:
    (ev,) = Parser().feed(hmsg_frame("a", 1, None, H_PLAIN, b"x"))
    assert isinstance(ev, Msg)
    assert ev.headers["Multi"] == "1"
    assert ev.header_values("Multi") == ["1", "2"]
    assert ev.header_values("Foo") == ["bar"]
    assert ev.header_values("Missing") == []
    assert "headers=" in repr(ev)


def test_msg_headers_block_without_fields() -> None:
    (ev,) = Parser().feed(hmsg_frame("a", 1, None, b"NATS/1.0\r\n\r\n", b"body"))
    assert isinstance(ev, Msg)
    assert ev.raw_headers == b"NATS/1.0\r\n\r\n"
    assert ev.headers == {}
    assert ev.status is None
    assert ev.data == b"body"


def test_info_and_err_objects() -> None:
    info, err = Parser().feed(b"INFO {\"x\":1}\r\n-ERR 'boom'\r\n")
    assert isinstance(info, Info)
    assert info.options == {"x": 1}
    assert "x" in repr(info)
    assert err == Err("boom")
    assert hash(err) == hash(Err("boom"))
    assert err != Err("other")
    assert repr(err) == "<Err 'boom'>"


def test_err_without_message() -> None:
    assert feed_chunks([b"-ERR\r\n"]) == [("Err", "")]


def test_feed_empty_bytes() -> None:
    p = Parser()
    assert p.feed(b"") == []
    assert p.feed(b"MSG a 1 5\r\nhe") == []
    assert p.feed(b"") == []
    assert [describe(e) for e in p.feed(b"llo\r\n")] == [m("a", 1, None, b"hello")]


def test_reset_discards_partial_control_line() -> None:
    p = Parser()
    assert p.feed(b"MSG a 1 ") == []
    p.reset()
    assert feed_chunks([b"PONG\r\n"], p) == [P_PONG]


def test_reset_discards_partial_payload() -> None:
    p = Parser()
    assert p.feed(b"MSG a 1 100\r\nxyz") == []
    p.reset()
    assert feed_chunks([b"MSG b 2 1\r\nq\r\n"], p) == [m("b", 2, None, b"q")]


def test_control_line_exactly_at_cap() -> None:
    line = b"-ERR '" + b"x" * (MAX_CONTROL_LINE - 7) + b"'"
    assert len(line) == MAX_CONTROL_LINE
    data = line + b"\r\n"
    expected = [("Err", "x" * (MAX_CONTROL_LINE - 7))]
    assert feed_chunks([data]) == expected
    # Including a split between the CR and the LF: the partial line is then
    # MAX_CONTROL_LINE + 1 bytes long, which must not be mistaken for an overlong line.
    for chunks in two_way_splits(data):
        assert feed_chunks(chunks) == expected, len(chunks[0])
    assert feed_chunks([data[i : i + 1] for i in range(len(data))]) == expected


def test_msg_control_line_exactly_at_cap_custom_limit() -> None:
    line = b"MSG " + b"s" * 24 + b" 1 3"
    assert len(line) == 32
    data = line + b"\r\nabc\r\n"
    expected = [m("s" * 24, 1, None, b"abc")]
    for chunks in two_way_splits(data):
        assert feed_chunks(chunks, Parser(max_control_line=32)) == expected
    with pytest.raises(ProtocolError):
        Parser(max_control_line=32).feed(b"MSG " + b"s" * 25 + b" 1 3\r\nabc\r\n")


def test_payload_larger_than_control_line_cap_is_fine() -> None:
    payload = b"y" * (3 * MAX_CONTROL_LINE)
    data = msg_frame("p", 1, None, payload)
    for chunks in two_way_splits(data, [5, 20, 100, 5000, 9000, len(data) - 1]):
        assert feed_chunks(chunks) == [m("p", 1, None, payload)]


# --------------------------------------------------------------------------- errors


def assert_raises_when_fed(chunks: Sequence[bytes], parser: Parser | None = None) -> None:
    """Feeding ``chunks`` raises ProtocolError at the latest on the last chunk."""
    p = parser or Parser()
    with pytest.raises(ProtocolError):
        for chunk in chunks:
            p.feed(chunk)


def test_overlong_line_without_crlf_raises_whole() -> None:
    with pytest.raises(ProtocolError, match="control line"):
        Parser().feed(b"x" * (MAX_CONTROL_LINE + 2))


@pytest.mark.parametrize("prefix", [b"", b"INFO {", b"MSG a.b.c 1 ", b"-ERR '"])
def test_overlong_line_raises_once_buffer_exceeds_cap(prefix: bytes) -> None:
    """Fed in pieces, the parser raises as soon as the line cannot fit, not later."""
    data = prefix + b"x" * (MAX_CONTROL_LINE * 3)
    p = Parser()
    fed = 0
    with pytest.raises(ProtocolError, match="control line"):
        for i in range(0, len(data), 100):
            p.feed(data[i : i + 100])
            fed += 100
    assert MAX_CONTROL_LINE < fed + 100 <= MAX_CONTROL_LINE + 200


def test_overlong_line_raises_at_first_byte_over_the_cap() -> None:
    p = Parser()
    p.feed(b"x" * MAX_CONTROL_LINE)  # could still be a line of exactly the cap
    with pytest.raises(ProtocolError):
        p.feed(b"x")


def test_overlong_line_with_cr_but_no_lf() -> None:
    p = Parser()
    p.feed(b"x" * MAX_CONTROL_LINE + b"\r")  # the LF may still come
    with pytest.raises(ProtocolError):
        p.feed(b"x")
    p = Parser()
    with pytest.raises(ProtocolError):
        p.feed(b"x" * (MAX_CONTROL_LINE + 1) + b"\r")


def test_overlong_line_after_complete_events() -> None:
    with pytest.raises(ProtocolError):
        Parser().feed(b"PING\r\nMSG a 1 1\r\nx\r\n" + b"y" * (MAX_CONTROL_LINE + 2))


def test_overlong_line_with_crlf_raises() -> None:
    long_info = b'INFO {"a":"' + b"z" * MAX_CONTROL_LINE + b'"}\r\n'
    long_msg = b"MSG " + b"s" * MAX_CONTROL_LINE + b" 1 1\r\nx\r\n"
    long_err = b"-ERR '" + b"e" * (MAX_CONTROL_LINE - 6) + b"'\r\n"  # one byte over
    for data in (long_info, long_msg, long_err):
        with pytest.raises(ProtocolError, match="control line"):
            Parser().feed(data)
        for pos in (1, 100, MAX_CONTROL_LINE - 1, MAX_CONTROL_LINE, len(data) - 1):
            assert_raises_when_fed([data[:pos], data[pos:]])


def test_custom_control_line_cap() -> None:
    with pytest.raises(ProtocolError):
        Parser(max_control_line=16).feed(b'INFO {"abc":123456}\r\n')
    assert [describe(e) for e in Parser(max_control_line=16).feed(b"INFO {}\r\n")] == [("Info", {})]


BAD_LINES = [
    pytest.param(b"MSG foo 1 -1\r\n\r\n", id="msg_negative_size"),
    pytest.param(b"MSG foo 1 abc\r\nabc\r\n", id="msg_non_numeric_size"),
    pytest.param(b"MSG foo 1 1.5\r\nx\r\n", id="msg_float_size"),
    pytest.param(b"MSG foo 1 0x3\r\nabc\r\n", id="msg_hex_size"),
    pytest.param(b"MSG foo 1 +3\r\nabc\r\n", id="msg_plus_size"),
    pytest.param(b"MSG foo 1 1_0\r\n0123456789\r\n", id="msg_underscore_size"),
    pytest.param(b"MSG foo x 3\r\nabc\r\n", id="msg_non_numeric_sid"),
    pytest.param(b"MSG foo -1 3\r\nabc\r\n", id="msg_negative_sid"),
    pytest.param(b"HMSG foo 1 -2 12\r\nNATS/1.0\r\n\r\n\r\n", id="hmsg_negative_hsize"),
    pytest.param(b"HMSG foo 1 12 -12\r\n", id="hmsg_negative_total"),
    pytest.param(b"HMSG foo 1 a 12\r\n", id="hmsg_non_numeric_hsize"),
    pytest.param(b"HMSG foo 1 12 b\r\n", id="hmsg_non_numeric_total"),
    pytest.param(b"HMSG foo z 12 12\r\n", id="hmsg_non_numeric_sid"),
    pytest.param(b"HMSG foo 1 13 12\r\nNATS/1.0\r\n\r\n\r\n", id="hmsg_header_gt_total"),
    pytest.param(b"MSG foo 3\r\nabc\r\n", id="msg_too_few_args"),
    pytest.param(b"MSG foo\r\n", id="msg_one_arg"),
    pytest.param(b"MSG \r\n", id="msg_no_args"),
    pytest.param(b"MSG foo 1 r extra 3\r\nabc\r\n", id="msg_too_many_args"),
    pytest.param(b"HMSG foo 12\r\n", id="hmsg_too_few_args"),
    pytest.param(b"HMSG foo 1 12\r\n", id="hmsg_three_args"),
    pytest.param(b"HMSG foo 1 r x 12 12\r\n", id="hmsg_too_many_args"),
    pytest.param(b"MSG \xff\xfe 1 1\r\nx\r\n", id="msg_subject_not_utf8"),
    pytest.param(b"MSG foo 1 \xff 1\r\nx\r\n", id="msg_reply_not_utf8"),
    pytest.param(b"MSG foo 1 3\r\nabcX\r\n", id="payload_not_followed_by_crlf"),
    pytest.param(b"MSG foo 1 3\r\nab\r\n\r\n", id="payload_size_too_big"),
    pytest.param(b"HMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nabXY", id="hmsg_payload_no_crlf"),
    pytest.param(b"FOO bar\r\n", id="unknown_op"),
    pytest.param(b"PUB foo 1\r\nx\r\n", id="client_op_pub"),
    pytest.param(b"SUB foo 1\r\n", id="client_op_sub"),
    pytest.param(b"MSGX foo 1 1\r\nx\r\n", id="msgx"),
    pytest.param(b"MSG\r\n", id="msg_bare"),
    pytest.param(b"HMSGX foo 1 0 0\r\n\r\n", id="hmsgx"),
    pytest.param(b"HELLO\r\n", id="h_unknown"),
    pytest.param(b"PINGX\r\n", id="pingx"),
    pytest.param(b"PIN G\r\n", id="pin_g"),
    pytest.param(b"PUNG\r\n", id="pung"),
    pytest.param(b"+OKAY\r\n", id="okay"),
    pytest.param(b"+NO\r\n", id="plus_no"),
    pytest.param(b"-ERRx 'a'\r\n", id="errx"),
    pytest.param(b"-OK\r\n", id="minus_ok"),
    pytest.param(b"INFOX {}\r\n", id="infox"),
    pytest.param(b"INFO\r\n", id="info_bare"),
    pytest.param(b"\r\n", id="empty_line"),
    pytest.param(b" PING\r\n", id="leading_space"),
    pytest.param(b"INFO {bad json}\r\n", id="info_bad_json"),
    pytest.param(b'INFO {"a":1\r\n', id="info_truncated_json"),
    pytest.param(b"INFO []\r\n", id="info_not_object"),
    pytest.param(b'INFO "str"\r\n', id="info_string"),
    pytest.param(b"INFO \r\n", id="info_empty_json"),
    pytest.param(b"MSG foo 1 99999999999\r\n", id="msg_over_default_max_payload"),
]


@pytest.mark.parametrize("data", BAD_LINES)
def test_bad_input_raises_whole(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        Parser().feed(data)


@pytest.mark.parametrize("data", BAD_LINES)
def test_bad_input_raises_in_pieces(data: bytes) -> None:
    for chunks in two_way_splits(data):
        assert_raises_when_fed(chunks)
    assert_raises_when_fed([data[i : i + 1] for i in range(len(data))])


@pytest.mark.parametrize("data", BAD_LINES)
def test_bad_input_after_good_events(data: bytes) -> None:
    p = Parser()
    assert len(p.feed(b"PING\r\nMSG a 1 1\r\nx\r\n")) == 2
    with pytest.raises(ProtocolError):
        p.feed(data)


def test_payload_not_followed_by_crlf_when_payload_completes_later() -> None:
    p = Parser()
    assert p.feed(b"MSG foo 1 5\r\nab") == []
    assert p.feed(b"cd") == []
    with pytest.raises(ProtocolError, match="CRLF"):
        p.feed(b"e!!")


def test_max_payload() -> None:
    exact = b"MSG foo 1 10\r\n0123456789\r\n"
    assert [describe(e) for e in Parser(max_payload=10).feed(exact)] == [
        m("foo", 1, None, b"0123456789")
    ]
    with pytest.raises(ProtocolError, match="payload size"):
        Parser(max_payload=10).feed(b"MSG foo 1 11\r\n")
    # HMSG: the total size (headers + body) counts.
    with pytest.raises(ProtocolError, match="payload size"):
        Parser(max_payload=20).feed(b"HMSG foo 1 12 21\r\n")
    ok = hmsg_frame("foo", 1, None, b"NATS/1.0\r\n\r\n", b"12345678")
    assert len(Parser(max_payload=20).feed(ok)) == 1
    # Raised from the control line alone, before any of the payload arrives.
    p = Parser(max_payload=1024)
    p.feed(b"MSG foo 1 10")
    with pytest.raises(ProtocolError):
        p.feed(b"25\r\n")
