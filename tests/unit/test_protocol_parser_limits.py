"""The protocol parser's limits: control lines up to the cap (4096 bytes) and no further, the
max payload, and malformed input. Each raises ProtocolError as soon as the bytes show it,
however they are split: the parser never waits on, or buffers, a line that cannot end well.
"""

from __future__ import annotations

import pytest
from tests.unit.parser_helpers import (
    assert_raises_when_fed,
    describe,
    feed_chunks,
    hmsg_frame,
    m,
    msg_frame,
    two_way_splits,
)

from natskv.errors import ProtocolError
from natskv.protocol import MAX_CONTROL_LINE, Parser

# Every test runs against the pure and the compiled parser (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("parser_impl")

# --------------------------------------------------------------------------- control-line cap


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
