"""The listing screens: ``nats kv ls`` (buckets, ``--names``) and ``kv ls BUCKET -v``.

Each function returns the whole of stdout for its screen (natscli ``cli/kv_command.go``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from natskv.cli._scalars import format_ibytes, format_number, format_since, format_time
from natskv.cli._table import Cell, table_output
from natskv.cli._text import raw_text

__all__ = [
    "NO_BUCKETS_FOUND",
    "NO_KEYS_FOUND",
    "BucketRow",
    "KeyRow",
    "bucket_names_output",
    "buckets_table",
    "keys_table",
]

NO_BUCKETS_FOUND: Final = "No Key-Value buckets found"
"""Printed by ``nats kv ls`` when there is no bucket."""

NO_KEYS_FOUND: Final = "No keys found in bucket"
"""Printed by ``nats kv ls BUCKET`` when the bucket has no key."""


@dataclass(frozen=True)
class BucketRow:
    """One bucket in ``nats kv ls``.

    ``bucket`` is the bucket name (the stream name without ``KV_``),
    ``size_bytes`` and ``values`` the stream state's bytes and messages
    (history and delete markers included, as natscli shows them),
    ``last_update`` the stream's last message time (``None`` or Go's zero
    time for an empty bucket).
    """

    bucket: str
    description: str
    created: datetime
    size_bytes: int
    values: int
    last_update: datetime | None


def buckets_table(
    rows: Sequence[BucketRow],
    *,
    now: datetime | None = None,
    style: str = "rounded",
    width_max: int = 0,
) -> str:
    """Full stdout of ``nats kv ls`` (bucket listing).

    Rows are sorted by size ascending (stable, ties keep the given order);
    no rows gives ``"No Key-Value buckets found\\n"``.
    """
    if not rows:
        return NO_BUCKETS_FOUND + "\n"
    ordered = sorted(rows, key=lambda r: r.size_bytes)
    cells: list[list[Cell]] = [
        [
            r.bucket,
            r.description,
            format_time(r.created),
            format_ibytes(r.size_bytes),
            format_number(r.values),
            format_since(r.last_update, now),
        ]
        for r in ordered
    ]
    headers = ("Bucket", "Description", "Created", "Size", "Values", "Last Update")
    return table_output(headers, cells, "Key-Value Buckets", style, width_max)


def bucket_names_output(names: Sequence[str]) -> str:
    """Full stdout of ``nats kv ls --names``: one name per line, nothing when empty."""
    return "".join(f"{name}\n" for name in names)


@dataclass(frozen=True)
class KeyRow:
    """One key in ``nats kv ls BUCKET -v`` (the entry returned by ``Get``)."""

    key: str
    created: datetime
    delta: int
    revision: int
    value: bytes = b""


def keys_table(
    bucket: str,
    rows: Sequence[KeyRow],
    *,
    display_value: bool = False,
    style: str = "rounded",
    width_max: int = 0,
) -> str:
    """Full stdout of ``nats kv ls BUCKET -v [--display-value]``.

    Delta and Revision are numeric (right-aligned).  The value is printed raw
    (not base64).  natscli renders the table even when there is no key and
    then prints ``No keys found in bucket``; so does this.
    """
    headers = ["Key", "Created", "Delta", "Revision"]
    if display_value:
        headers.append("Value")
    cells: list[list[Cell]] = []
    for r in rows:
        row: list[Cell] = [r.key, format_time(r.created), r.delta, r.revision]
        if display_value:
            row.append(raw_text(r.value))
        cells.append(row)
    out = table_output(headers, cells, f"Contents for bucket '{bucket}'", style, width_max)
    if not rows:
        out += NO_KEYS_FOUND + "\n"
    return out
