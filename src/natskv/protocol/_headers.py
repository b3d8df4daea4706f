"""NATS header blocks: ``NATS/1.0[ <status>[ <description>]]\\r\\n(Name: value\\r\\n)*\\r\\n``.

Parsed with plain string operations (no ``email`` module): the block is decoded once and
split on CRLF, which is the cheapest way to read it in CPython.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from natskv.errors import ProtocolError

__all__ = ["HEADER_LINE", "encode_headers", "parse_headers"]

HEADER_LINE = "NATS/1.0"
_PREFIX = b"NATS/1.0"
_EMPTY_BLOCK = b"NATS/1.0\r\n\r\n"


def parse_headers(raw: bytes, *, multi: bool = False) -> tuple[int | None, str, dict[str, Any]]:
    """Parse a header block into ``(status, description, fields)``.

    ``fields`` maps each name to its first value, or with ``multi=True`` to the list of all
    values. Names keep their case, as NATS headers are case-sensitive in practice.
    """
    if not raw.startswith(_PREFIX):
        raise ProtocolError(f"header block does not start with NATS/1.0: {raw[:32]!r}")
    text = raw.decode("utf-8", "surrogateescape")
    lines = text.split("\r\n")
    first = lines[0]
    status: int | None = None
    description = ""
    if len(first) > 8:
        rest = first[8:].strip()
        if rest:
            code, _, description = rest.partition(" ")
            # at most 9 digits: int() refuses more than 4300, and a status has 3
            if code.isascii() and code.isdigit() and len(code) <= 9:
                status = int(code)
                description = description.strip()
            else:
                description = rest
    fields: dict[str, Any] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not name:
            raise ProtocolError(f"malformed header line: {line[:64]!r}")
        value = value.strip()
        if multi:
            fields.setdefault(name, []).append(value)
        elif name not in fields:
            fields[name] = value
    return status, description, fields


def _check_token(text: str, what: str) -> None:
    if "\r" in text or "\n" in text:
        raise ValueError(f"header {what} must not contain CR or LF: {text!r}")


def encode_headers(headers: Mapping[str, str | list[str] | tuple[str, ...]] | None) -> bytes:
    """Encode a mapping as a header block. A list or tuple value repeats the name."""
    if not headers:
        return _EMPTY_BLOCK
    parts = ["NATS/1.0\r\n"]
    for name, value in headers.items():
        if not name or ":" in name or " " in name:
            raise ValueError(f"invalid header name: {name!r}")
        _check_token(name, "name")
        values = (value,) if isinstance(value, str) else value
        for v in values:
            v = str(v)
            _check_token(v, "value")
            parts.append(f"{name}: {v}\r\n")
    parts.append("\r\n")
    return "".join(parts).encode()
