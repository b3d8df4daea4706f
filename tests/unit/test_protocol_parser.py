"""Unit tests for the sans-IO protocol parser (no network, no asyncio).

Every fixture is fed whole, split in two at every byte position, one byte at a time and in
seeded random chunkings; all of them must produce the same events.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

import pytest
from tests.unit.parser_helpers import (
    P_OK,
    P_PING,
    P_PONG,
    Desc,
    describe,
    feed_chunks,
    hmsg_frame,
    m,
    msg_frame,
    random_chunks,
    two_way_splits,
)

from natskv.protocol import OK, PING, PONG, Err, Info, Msg, Parser

# Every test runs against the pure and the compiled parser (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("parser_impl")

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
