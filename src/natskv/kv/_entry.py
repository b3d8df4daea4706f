"""Key/Value entries: one revision of one key, as read, watched or listed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Generic, TypeVar

from natskv.kv._timestamps import parse_timestamp

__all__ = ["KVEntry", "KVOperation"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class KVOperation(str, Enum):
    """How a revision was written: a value (``PUT``), a delete marker or a purge marker."""

    PUT = "PUT"
    DEL = "DEL"
    PURGE = "PURGE"

    def __str__(self) -> str:
        # A str-mixin Enum prints as "KVOperation.PUT" by default; the wire value reads better.
        return self.value


class KVEntry(Generic[T]):
    """One revision of a key.

    ``value`` is the decoded value (``None`` for delete and purge markers, and for
    metadata-only reads); ``raw`` holds the stored bytes (``b""`` for markers).
    ``revision`` is the stream sequence, ``created`` an aware UTC datetime and ``delta``
    how many newer revisions followed when a watcher delivered it (0 for a get).

    Entries are created once per message on the hot path, so this is a plain slotted
    class rather than a dataclass, and ``created`` may be passed as Unix nanoseconds (a
    watcher) or as the ``Nats-Time-Stamp`` text (a get), which become a datetime only
    when read. Treat instances as immutable.
    """

    __slots__ = ("_created", "bucket", "delta", "key", "operation", "raw", "revision", "value")
    __match_args__ = ("bucket", "key", "value", "revision", "created", "delta", "operation")

    bucket: str
    key: str
    value: T | None
    revision: int
    delta: int
    operation: KVOperation
    raw: bytes

    def __init__(
        self,
        bucket: str,
        key: str,
        value: T | None,
        revision: int,
        created: datetime | int | str,
        delta: int = 0,
        operation: KVOperation = KVOperation.PUT,
        raw: bytes = b"",
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.value = value
        self.revision = revision
        self._created = created
        self.delta = delta
        self.operation = operation
        self.raw = raw

    @property
    def created(self) -> datetime:
        """When the revision was stored: an aware UTC datetime (microsecond precision)."""
        created = self._created
        if type(created) is int:
            created = self._created = _EPOCH + timedelta(
                0, created // 1_000_000_000, (created // 1_000) % 1_000_000
            )
        elif type(created) is str:
            created = self._created = parse_timestamp(created)
        return created  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (
            f"KVEntry(bucket={self.bucket!r}, key={self.key!r}, revision={self.revision}, "
            f"operation={self.operation.name}, value={self.value!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KVEntry):
            return NotImplemented
        return (
            self.revision == other.revision
            and self.key == other.key
            and self.bucket == other.bucket
            and self.operation is other.operation
            and self.delta == other.delta
            and self.created == other.created
            and self.raw == other.raw
            and self.value == other.value
        )

    def __hash__(self) -> int:
        # Values may be unhashable (dicts); equal entries always share these three fields.
        return hash((self.bucket, self.key, self.revision))

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            KVEntry,
            (
                self.bucket,
                self.key,
                self.value,
                self.revision,
                self.created,
                self.delta,
                self.operation,
                self.raw,
            ),
        )
