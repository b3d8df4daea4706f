"""The screens of one key: ``nats kv get``, ``kv watch`` lines, ``kv history`` and the
``kv revert`` preview (natscli ``cli/kv_command.go``).

Values are printed raw where natscli prints them raw (``get --raw``, ``watch``) and as
printable text or base64 elsewhere (:func:`~natskv.cli._text.base64_if_not_printable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from natskv.cli._scalars import format_number, format_time
from natskv.cli._table import Cell, table_output
from natskv.cli._text import base64_if_not_printable, raw_text, shorten_value

__all__ = [
    "HistoryRow",
    "get_output",
    "get_raw_output",
    "history_table",
    "normalize_operation",
    "revert_preview",
    "watch_line",
]

# fatih/color: Sprint wraps with "\x1b[<attr>m" ... "\x1b[0m"
_ANSI_RED: Final = "\x1b[31m"
_ANSI_GREEN: Final = "\x1b[32m"
_ANSI_RESET: Final = "\x1b[0m"

_OPERATIONS: Final = {
    "PUT": "PUT",
    "DEL": "DELETE",
    "DELETE": "DELETE",
    "PURGE": "PURGE",
}


def normalize_operation(operation: str) -> str:
    """Map a KV operation (``PUT``, ``DEL``/``DELETE``, ``PURGE``, any case) to natscli's
    ``strForOp`` word; anything else is ``UNKNOWN``."""
    return _OPERATIONS.get(operation.strip().upper(), "UNKNOWN")


def get_output(
    bucket: str,
    key: str,
    revision: int,
    created: datetime,
    value: bytes,
    *,
    raw: bool = False,
) -> str:
    """Full stdout of ``nats kv get``.

    ``<bucket> > <key> revision: <rev> created @ <local time>``, a blank line,
    the value (base64 when not printable ASCII) and a blank line.  A shown
    value longer than 120 characters is preceded by ``Showing first 120 bytes
    of <N>, use --raw for full data`` and a blank line, then cut to 120.
    With ``raw=True`` the value only, no newline added (see
    :func:`get_raw_output` for the bytes).
    """
    if raw:
        return raw_text(value)
    shown = base64_if_not_printable(value)
    head = f"{bucket} > {key} revision: {revision} created @ {format_time(created)}\n\n"
    if len(shown) > 120:
        notice = (
            f"Showing first 120 bytes of {format_number(len(shown))}, use --raw for full data\n\n"
        )
        return head + notice + shown[:120] + "\n\n"
    return head + shown + "\n\n"


def get_raw_output(value: bytes) -> bytes:
    """Full stdout of ``nats kv get --raw``: the value bytes, unchanged."""
    return bytes(value)


def watch_line(
    created: datetime,
    operation: str,
    bucket: str,
    key: str,
    value: bytes | None,
    *,
    color: bool = False,
) -> str:
    """One ``nats kv watch`` line, newline included.

    ``[2006-01-02 15:04:05] PUT <bucket> > <key>: <raw value>``, or
    ``[...] DELETE|PURGE <bucket> > <key>``.  ``DEL`` is accepted for
    ``DELETE``.  With ``color`` the operation word is green (PUT) or red
    (DELETE/PURGE) like fatih/color on a terminal.  An unknown operation
    prints nothing (``""``), as natscli's switch has no default.
    """
    op = normalize_operation(operation)
    stamp = format_time(created)
    if op == "PUT":
        word = f"{_ANSI_GREEN}{op}{_ANSI_RESET}" if color else op
        return f"[{stamp}] {word} {bucket} > {key}: {raw_text(value)}\n"
    if op in ("DELETE", "PURGE"):
        word = f"{_ANSI_RED}{op}{_ANSI_RESET}" if color else op
        return f"[{stamp}] {word} {bucket} > {key}\n"
    return ""


@dataclass(frozen=True)
class HistoryRow:
    """One entry of ``nats kv history``; ``operation`` is ``PUT``/``DEL``/``DELETE``/``PURGE``."""

    key: str
    revision: int
    operation: str
    created: datetime
    value: bytes = b""


def history_table(
    bucket: str,
    key: str,
    rows: Sequence[HistoryRow],
    *,
    style: str = "rounded",
    width_max: int = 0,
) -> str:
    """Full stdout of ``nats kv history`` (also printed after ``kv revert``).

    Title ``History for <bucket> > <key>``; Revision is numeric
    (right-aligned); Length is the comma-grouped byte count; Value is
    :func:`shorten_value`.
    """
    cells: list[list[Cell]] = [
        [
            r.key,
            r.revision,
            normalize_operation(r.operation),
            format_time(r.created),
            format_number(len(r.value)),
            shorten_value(r.value),
        ]
        for r in rows
    ]
    headers = ("Key", "Revision", "Op", "Created", "Length", "Value")
    return table_output(headers, cells, f"History for {bucket} > {key}", style, width_max)


def revert_preview(revision: int, value: bytes) -> str:
    """What ``nats kv revert`` prints before asking ``Really revert to revision N``."""
    return f"Revision: {revision}\n\n{shorten_value(value)}\n\n"
