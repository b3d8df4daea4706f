"""What the page shows of entries and buckets, as JSON-ready dicts.

A value is shown three ways, and the page picks the first that fits: pretty JSON (when the
bytes are a JSON object or array), text (UTF-8 without control characters), else a hex
dump. The server renders all three, bounded in size, so the page only ever puts strings
into ``textContent`` and never interprets a value.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import msgspec

from natskv.kv import KVEntry, KVOperation, KVStatus

__all__ = [
    "HEX_LIMIT",
    "PREVIEW_LIMIT",
    "TEXT_LIMIT",
    "bucket_row",
    "bucket_status",
    "entry_summary",
    "entry_view",
    "hex_dump",
    "preview",
    "render_value",
]

TEXT_LIMIT = 1024 * 1024
"""Characters of text (and of pretty JSON) sent to the page; the rest is cut."""
HEX_LIMIT = 64 * 1024
"""Bytes of a value shown as a hex dump."""
PREVIEW_LIMIT = 120
"""Characters of a value shown in the history table and the live changes."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def hex_dump(data: bytes, limit: int = HEX_LIMIT) -> str:
    """``xxd``-like lines: offset, 16 bytes in hex, the printable ASCII of them."""
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset : offset + 16]
        hexes = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}: {hexes:<39}  {text}")
    return "\n".join(lines)


def _as_text(data: bytes) -> str | None:
    """The value as text, when it is UTF-8 without control characters (tabs and newlines
    allowed)."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text) else text


def _as_json(data: bytes) -> str | None:
    """The value as indented JSON, when it is a JSON object or array."""
    stripped = data.lstrip()
    if not stripped.startswith((b"{", b"[")):
        return None
    try:
        return msgspec.json.format(data, indent=2).decode()
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def render_value(data: bytes) -> dict[str, Any]:
    """``kind`` (``json``, ``text``, ``binary`` or ``empty``) and the views of ``data``."""
    text = _as_text(data)
    pretty = _as_json(data) if text is not None else None
    if not data:
        kind = "empty"
    elif pretty is not None:
        kind = "json"
    elif text is not None:
        kind = "text"
    else:
        kind = "binary"
    shown = text if text is not None else data.decode(errors="replace")
    return {
        "kind": kind,
        "size": len(data),
        "text": shown[:TEXT_LIMIT],
        "text_truncated": len(shown) > TEXT_LIMIT,
        "json": None if pretty is None else pretty[:TEXT_LIMIT],
        "json_truncated": pretty is not None and len(pretty) > TEXT_LIMIT,
        "hex": hex_dump(data),
        "hex_truncated": len(data) > HEX_LIMIT,
    }


def preview(data: bytes, limit: int = PREVIEW_LIMIT) -> str:
    """A one-line glimpse of a value: its text, or its first bytes in hex."""
    text = _as_text(data[: limit * 4])
    if text is None:
        head = data[: limit // 3].hex(" ")
        return f"binary {len(data)} B: {head}" + ("…" if len(data) > limit // 3 else "")
    line = " ".join(text.split())
    return line if len(line) <= limit and len(data) <= limit * 4 else line[:limit] + "…"


def entry_summary(entry: KVEntry[Any]) -> dict[str, Any]:
    """One revision in the history table and the live changes (a preview, not the value)."""
    put = entry.operation is KVOperation.PUT
    return {
        "key": entry.key,
        "revision": entry.revision,
        "operation": entry.operation.value,
        "created": _time(entry.created),
        "size": len(entry.raw),
        "preview": preview(entry.raw) if put else "",
    }


def entry_view(entry: KVEntry[Any]) -> dict[str, Any]:
    """One revision with its value rendered (:func:`render_value`)."""
    return {**entry_summary(entry), "delta": entry.delta, "value": render_value(entry.raw)}


def bucket_row(status: KVStatus) -> dict[str, Any]:
    """A row of the buckets table: the columns of ``natskv ls``."""
    return {
        "bucket": status.bucket,
        "description": status.description,
        "created": _time(status.created),
        "bytes": status.bytes,
        "values": status.values,
        "last_update": _time(status.last_update),
    }


def bucket_status(status: KVStatus) -> dict[str, Any]:
    """What ``natskv info`` shows of a bucket."""
    cluster = status.cluster
    return {
        **bucket_row(status),
        "history": status.history,
        "ttl": _seconds(status.ttl),
        "limit_marker_ttl": _seconds(status.limit_marker_ttl),
        "compressed": status.compressed,
        "storage": status.storage,
        "replicas": status.replicas,
        "max_bytes": status.max_bytes,
        "max_value_size": status.max_value_size,
        "metadata": status.metadata,
        "stream": status.stream_name,
        "cluster": None if cluster is None else cluster.name,
        "leader": None if cluster is None else cluster.leader,
        "mirror": None if status.mirror is None else status.mirror.name,
        "sources": [source.name for source in status.sources],
    }
