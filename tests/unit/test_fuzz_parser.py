"""Fuzzing the sans-IO protocol parser with hypothesis.

Whatever a server (or a corrupted link) sends, ``Parser.feed`` returns events or raises
:class:`ProtocolError`: never another exception, never a call that does not return, and
between calls it holds at most one partial control line (``max_control_line`` + 1 bytes,
the +1 a CR that may start the line's CRLF) or one partial payload (at most
``max_payload`` + 2 bytes, the payload and its CRLF, plus the last read). Valid streams,
built by hand from the protocol's grammar, parse to exactly the same events however they
are split.

Two findings of this fuzzing are fixed in the parser (and pinned below): an ``INFO`` whose
JSON nests deeper than the interpreter's recursion limit raised ``RecursionError``, and a
number of more than 4300 digits in a ``MSG``/``HMSG`` line (possible only with a
``max_control_line`` above 4300) raised ``ValueError``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.parser_helpers import P_OK, P_PING, P_PONG, Desc, describe, m

from natskv.errors import ProtocolError
from natskv.protocol import MAX_CONTROL_LINE, Event, Msg, Parser, encode_headers

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- the contract


def _check_bounded(p: Parser) -> None:
    """What the parser keeps between calls is one partial line or one partial payload
    (private fields read on purpose: the bound is the parser's promise, not an API)."""
    assert len(p._buf) <= p.max_control_line + 1
    if p._head is not None:
        assert p._buf == b""
        assert p._have < p._need <= p.max_payload + 2
        assert sum(len(c) for c in p._chunks) == p._have
    else:
        assert p._chunks == []


def _touch(ev: Event) -> None:
    """Read every lazily parsed field: bad header blocks raise ProtocolError only."""
    if isinstance(ev, Msg):
        with contextlib.suppress(ProtocolError):
            _ = (ev.headers, ev.status, ev.description, ev.header_values("A"))
        repr(ev)


def feed_contract(chunks: Sequence[bytes], parser: Parser | None = None) -> list[Event] | None:
    """Feed ``chunks``; the events, or ``None`` if the parser raised ProtocolError.

    Any other exception fails the test (hypothesis reports the smallest input).
    """
    p = parser or Parser()
    events: list[Event] = []
    try:
        for chunk in chunks:
            got = p.feed(chunk)
            _check_bounded(p)
            events.extend(got)
    except ProtocolError:
        return None
    finally:
        for ev in events:
            _touch(ev)
    return events


def _split(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """``data`` cut at ``cuts`` (positions taken modulo its length, empty chunks kept)."""
    points = sorted(c % (len(data) + 1) for c in cuts)
    out, last = [], 0
    for point in points:
        out.append(data[last:point])
        last = point
    out.append(data[last:])
    return out


cuts = st.lists(st.integers(min_value=0, max_value=1 << 20), max_size=12)

# --------------------------------------------------------------------------- valid frames

_token = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_$=/", min_size=1, max_size=12
)
subjects = st.lists(_token, min_size=1, max_size=5).map(".".join)
sids = st.integers(min_value=0, max_value=2**64 - 1)
payloads = st.binary(max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
info_options = st.dictionaries(st.text(max_size=12), json_values, max_size=6)
_header_name = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=10
)
_header_value = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=20
).map(str.strip)
header_maps = st.dictionaries(_header_name, _header_value, max_size=4)


@st.composite
def frames(draw: st.DrawFn) -> tuple[bytes, Desc]:
    """One valid server frame and the event it must parse to."""
    kind = draw(st.sampled_from(["INFO", "MSG", "HMSG", "PING", "PONG", "OK", "ERR"]))
    if kind == "INFO":
        options = draw(info_options)
        return b"INFO " + json.dumps(options).encode() + b"\r\n", ("Info", options)
    if kind in ("MSG", "HMSG"):
        subject, sid, payload = draw(subjects), draw(sids), draw(payloads)
        reply = draw(st.none() | subjects)
        r = f" {reply}" if reply else ""
        if kind == "MSG":
            head = f"MSG {subject} {sid}{r} {len(payload)}\r\n".encode()
            return head + payload + b"\r\n", m(subject, sid, reply or None, payload)
        fields = draw(header_maps)
        raw = encode_headers(fields)
        total = len(raw) + len(payload)
        head = f"HMSG {subject} {sid}{r} {len(raw)} {total}\r\n".encode()
        return head + raw + payload + b"\r\n", m(
            subject, sid, reply or None, payload, raw, headers=fields
        )
    if kind == "PING":
        return draw(st.sampled_from([b"PING\r\n", b"ping\r\n", b"PING \r\n"])), P_PING
    if kind == "PONG":
        return draw(st.sampled_from([b"PONG\r\n", b"pong\r\n"])), P_PONG
    if kind == "OK":
        return b"+OK\r\n", P_OK
    text = draw(st.text("abcdefghijklmnopqrstuvwxyz _.", max_size=40)).strip()
    return f"-ERR '{text}'\r\n".encode(), ("Err", text)


streams = st.lists(frames(), min_size=1, max_size=8).map(
    lambda fs: (b"".join(f[0] for f in fs), [f[1] for f in fs])
)


@FUZZ
@given(stream=streams, at=cuts)
def test_valid_stream_split_anywhere_parses_as_in_one_piece(
    stream: tuple[bytes, list[Desc]], at: list[int]
) -> None:
    data, expected = stream
    whole = feed_contract([data])
    assert whole is not None
    assert [describe(e) for e in whole] == expected
    split = feed_contract(_split(data, at))
    assert split is not None
    assert [describe(e) for e in split] == expected


@FUZZ
@given(stream=streams)
def test_valid_stream_one_byte_at_a_time(stream: tuple[bytes, list[Desc]]) -> None:
    data, expected = stream
    events = feed_contract([data[i : i + 1] for i in range(len(data))])
    assert events is not None
    assert [describe(e) for e in events] == expected


# --------------------------------------------------------------------------- random and mutated


@FUZZ
@given(data=st.binary(max_size=2000), at=cuts)
def test_random_bytes_give_events_or_a_protocol_error(data: bytes, at: list[int]) -> None:
    feed_contract(_split(data, at))


_OPS = [b"INFO ", b"MSG ", b"HMSG ", b"PING", b"PONG", b"+OK", b"-ERR ", b"\r\n", b" ", b"\t"]


@FUZZ
@given(
    parts=st.lists(
        st.sampled_from(_OPS)
        | st.binary(max_size=8)
        | st.integers(0, 10**6).map(lambda i: str(i).encode()),
        max_size=40,
    ),
    at=cuts,
)
def test_protocol_shaped_noise_gives_events_or_a_protocol_error(
    parts: list[bytes], at: list[int]
) -> None:
    """Random sequences of operation names, numbers, separators and bytes reach deeper
    into the grammar than uniform random bytes."""
    feed_contract(_split(b"".join(parts), at))


@st.composite
def mutated_streams(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(streams)[0])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "replace", "duplicate", "truncate"]))
        i = draw(st.integers(0, len(data)))
        j = draw(st.integers(i, min(len(data), i + 16)))
        if op == "flip" and i < len(data):
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(_OPS))
        elif op == "delete":
            del data[i:j]
        elif op == "replace":
            data[i:j] = draw(st.binary(max_size=8))
        elif op == "duplicate":
            data[i:i] = data[i:j]
        elif op == "truncate":
            del data[i:]
    return bytes(data)


@FUZZ
@given(data=mutated_streams(), at=cuts)
def test_mutated_valid_streams_give_events_or_a_protocol_error(data: bytes, at: list[int]) -> None:
    feed_contract(_split(data, at))


@FUZZ
@given(data=mutated_streams(), at=cuts)
def test_mutated_streams_under_tight_limits_stay_bounded(data: bytes, at: list[int]) -> None:
    """With small limits the bounds are met often: the parser refuses, never grows."""
    feed_contract(_split(data, at), Parser(max_control_line=48, max_payload=64))


@FUZZ
@given(data=mutated_streams(), at=cuts)
def test_splitting_never_changes_what_a_stream_means(data: bytes, at: list[int]) -> None:
    """Events, or an error, do not depend on where reads end: the same events come out of
    every chunking that does not raise, and a stream raises in every chunking or none
    (the events before the error may differ only in how many were returned)."""
    whole = feed_contract([data])
    split = feed_contract(_split(data, at))
    if whole is None or split is None:
        assert whole is None and split is None
    else:
        assert [_described(e) for e in split] == [_described(e) for e in whole]


def _described(ev: Event) -> object:
    """:func:`describe`, or for a message whose header block is malformed (it is parsed
    lazily, when read) its fields and the error its headers raise."""
    try:
        return describe(ev)
    except ProtocolError as exc:
        assert isinstance(ev, Msg)
        return ("Msg", ev.subject, ev.sid, ev.reply, ev.data, ev.raw_headers, str(exc))


# --------------------------------------------------------------------------- the findings


@pytest.mark.parametrize("depth", [2000, MAX_CONTROL_LINE - 5])
def test_info_nested_deeper_than_the_recursion_limit_is_a_protocol_error(depth: int) -> None:
    with pytest.raises(ProtocolError, match="malformed INFO"):
        Parser().feed(b"INFO " + b"[" * depth + b"\r\n")


@pytest.mark.parametrize(
    "line",
    [
        b"MSG a 1 " + b"9" * 5000,
        b"MSG a " + b"9" * 5000 + b" 3",
        b"HMSG a 1 12 " + b"9" * 5000,
        b"HMSG a " + b"1" * 5000 + b" 12 14",
    ],
)
def test_numbers_longer_than_int_takes_are_a_protocol_error(line: bytes) -> None:
    p = Parser(max_control_line=8192)
    with pytest.raises(ProtocolError, match=r"malformed H?MSG"):
        p.feed(line + b"\r\n")


def test_the_strategies_cover_every_operation() -> None:
    """A guard on the fuzzing itself: each operation appears in the valid streams."""
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(frame=frames())
    def collect(frame: tuple[bytes, Desc]) -> None:
        seen.add(frame[1][0])

    collect()
    assert seen == {"Info", "Msg", "Ping", "Pong", "Ok", "Err"}


def test_a_status_longer_than_int_takes_is_a_description() -> None:
    """An HMSG payload may be 1 MiB, so its header line can hold 5000 digits."""
    raw = b"NATS/1.0 " + b"1" * 5000 + b" x\r\n\r\n"
    [ev] = Parser().feed(f"HMSG a 1 {len(raw)} {len(raw)}\r\n".encode() + raw + b"\r\n")
    assert isinstance(ev, Msg)
    assert ev.status is None
    assert ev.description == "1" * 5000 + " x"


def test_repr_of_a_message_with_a_bad_header_block_does_not_raise() -> None:
    [ev] = Parser().feed(b"HMSG a 1 4 4\r\nNA\r\n\r\n")
    assert isinstance(ev, Msg)
    with pytest.raises(ProtocolError):
        _ = ev.headers
    assert "raw_headers=b'NA\\r\\n'" in repr(ev)
