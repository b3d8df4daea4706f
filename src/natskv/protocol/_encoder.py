"""Sans-IO encoder: client commands to bytes.

``pub_head``/``hpub_head`` return only the control line; the caller writes the payload
after it, so a large payload is never copied just to frame it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from natskv.errors import BadSubjectError

__all__ = [
    "CRLF",
    "PING_CMD",
    "PONG_CMD",
    "check_subject",
    "encode_connect",
    "encode_hpub",
    "encode_pub",
    "encode_sub",
    "encode_unsub",
    "hpub_head",
    "pub_head",
]

CRLF = b"\r\n"
PING_CMD = b"PING\r\n"
PONG_CMD = b"PONG\r\n"


def check_subject(subject: str, what: str = "subject") -> None:
    """Reject an empty subject or one with whitespace (which would corrupt the framing)."""
    if not subject or " " in subject or "\t" in subject or "\r" in subject or "\n" in subject:
        raise BadSubjectError(f"invalid {what}: {subject!r}")


def pub_head(subject: str, reply: str | None, size: int) -> bytes:
    """``PUB <subject> [reply] <#bytes>\\r\\n``."""
    if reply:
        return f"PUB {subject} {reply} {size}\r\n".encode()
    return f"PUB {subject} {size}\r\n".encode()


def hpub_head(subject: str, reply: str | None, header_size: int, size: int) -> bytes:
    """``HPUB <subject> [reply] <#header bytes> <#total bytes>\\r\\n``."""
    total = header_size + size
    if reply:
        return f"HPUB {subject} {reply} {header_size} {total}\r\n".encode()
    return f"HPUB {subject} {header_size} {total}\r\n".encode()


def encode_pub(subject: str, payload: bytes = b"", reply: str | None = None) -> bytes:
    """A whole ``PUB`` frame (validating the subjects)."""
    check_subject(subject)
    if reply is not None:
        check_subject(reply, "reply subject")
    return pub_head(subject, reply, len(payload)) + payload + CRLF


def encode_hpub(
    subject: str, headers: bytes, payload: bytes = b"", reply: str | None = None
) -> bytes:
    """A whole ``HPUB`` frame; ``headers`` is an encoded header block."""
    check_subject(subject)
    if reply is not None:
        check_subject(reply, "reply subject")
    return hpub_head(subject, reply, len(headers), len(payload)) + headers + payload + CRLF


def encode_sub(subject: str, sid: int, queue: str | None = None) -> bytes:
    """``SUB <subject> [queue] <sid>``."""
    check_subject(subject)
    if queue:
        check_subject(queue, "queue group")
        return f"SUB {subject} {queue} {sid}\r\n".encode()
    return f"SUB {subject} {sid}\r\n".encode()


def encode_unsub(sid: int, max_msgs: int | None = None) -> bytes:
    """``UNSUB <sid> [max_msgs]``."""
    if max_msgs:
        return f"UNSUB {sid} {max_msgs}\r\n".encode()
    return f"UNSUB {sid}\r\n".encode()


def encode_connect(options: Mapping[str, Any]) -> bytes:
    """``CONNECT {json}``, dropping options whose value is ``None``."""
    body = {k: v for k, v in options.items() if v is not None}
    return b"CONNECT " + json.dumps(body, separators=(",", ":")).encode() + CRLF
