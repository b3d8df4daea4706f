"""JSON for scripts: ``--json`` of the read verbs and the lines of ``natskv export``.

One entry is one JSON object, the same in ``get --json``, ``history --json``,
``watch --json`` and ``export``::

    {"bucket": "cfg", "key": "a.b", "revision": 7, "operation": "PUT",
     "created": "2026-12-02T07:33:30.123456Z", "value": "text"}

``operation`` is ``PUT``, ``DEL`` or ``PURGE``; ``created`` is UTC in RFC 3339.
A value is lossless: ``"value"`` holds it as a string when its bytes are valid UTF-8
(JSON escapes control characters, so the exact bytes come back), else ``"value_b64"``
holds it in standard base64. Delete and purge markers have neither. :func:`entry_value`
reads a value back from either field.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from natskv.kv import KVEntry, KVOperation, KVStatus

__all__ = [
    "dumps",
    "entry_json",
    "entry_value",
    "format_utc",
    "status_json",
]

_encoder = msgspec.json.Encoder()


def dumps(obj: Any) -> str:
    """Compact JSON text (``msgspec``; non-ASCII kept as UTF-8)."""
    return _encoder.encode(obj).decode("utf-8")


def format_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as Go's ``time.Time`` marshals."""
    text = moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    return text + "Z"


def _seconds(duration: timedelta | None) -> float | None:
    return duration.total_seconds() if duration else None


def entry_json(entry: KVEntry[Any]) -> dict[str, Any]:
    """One entry as its JSON object (see the module docstring)."""
    obj: dict[str, Any] = {
        "bucket": entry.bucket,
        "key": entry.key,
        "revision": entry.revision,
        "operation": entry.operation.value,
        "created": format_utc(entry.created),
    }
    if entry.operation is KVOperation.PUT:
        raw = entry.raw
        try:
            obj["value"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            obj["value_b64"] = base64.b64encode(raw).decode("ascii")
    return obj


def entry_value(obj: Mapping[str, Any]) -> bytes:
    """The value bytes of an entry object (``b""`` when it has none).

    Raises :class:`ValueError` for a value that is not a string or bad base64.
    """
    if "value_b64" in obj:
        text = obj["value_b64"]
        if not isinstance(text, str):
            raise ValueError("'value_b64' must be a string")
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"'value_b64' is not base64: {exc}") from None
    value = obj.get("value", "")
    if not isinstance(value, str):
        raise ValueError("'value' must be a string")
    # surrogateescape: a value typed with raw bytes on the command line stays those bytes
    return value.encode("utf-8", "surrogateescape")


def status_json(status: KVStatus) -> dict[str, Any]:
    """What ``info --json`` and ``ls --json`` show of a bucket."""
    obj: dict[str, Any] = {
        "bucket": status.bucket,
        "description": status.description,
        "values": status.values,
        "bytes": status.bytes,
        "history": status.history,
        "ttl": _seconds(status.ttl),
        "limit_marker_ttl": _seconds(status.limit_marker_ttl),
        "max_bytes": status.max_bytes,
        "max_value_size": status.max_value_size,
        "storage": status.storage.lower(),
        "replicas": status.replicas,
        "sync_policy": status.sync_policy,
        "compressed": status.compressed,
        "backing_store": status.backing_store,
        "stream_name": status.stream_name,
        "metadata": dict(status.metadata),
        "created": format_utc(status.created),
        "last_update": format_utc(status.last_update) if status.last_update else None,
    }
    if status.cluster is not None:
        obj["cluster"] = {
            "name": status.cluster.name or "",
            "leader": status.cluster.leader or "",
            "replicas": [
                {"name": peer.name, "current": peer.current, "offline": peer.offline}
                for peer in status.cluster.replicas or ()
            ],
        }
    if status.mirror is not None:
        obj["mirror"] = status.mirror.name
    if status.sources:
        obj["sources"] = [source.name for source in status.sources]
    return obj
