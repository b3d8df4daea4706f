"""Helpers of the protocol parser's tests: describing events, building frames, feeding
bytes split in every way."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from natskv.errors import ProtocolError
from natskv.protocol import PING, Err, Event, Info, Msg, Ok, Parser, Ping, Pong

__all__ = [
    "P_OK",
    "P_PING",
    "P_PONG",
    "Desc",
    "assert_raises_when_fed",
    "describe",
    "feed_chunks",
    "hmsg_frame",
    "m",
    "msg_frame",
    "random_chunks",
    "two_way_splits",
]


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


def assert_raises_when_fed(chunks: Sequence[bytes], parser: Parser | None = None) -> None:
    """Feeding ``chunks`` raises ProtocolError at the latest on the last chunk."""
    p = parser or Parser()
    with pytest.raises(ProtocolError):
        for chunk in chunks:
            p.feed(chunk)
