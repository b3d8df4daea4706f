"""Text as natscli puts it on a terminal: cell widths, raw wire bytes, printable values.

Widths follow go-runewidth in a non-CJK locale (what go-pretty sizes columns by). Raw
wire values are decoded with ``surrogateescape``, so :func:`encode_output` gives back the
exact bytes natscli would write. Values shown in tables follow natscli
``internal/util/util.go`` (``IsPrintable``, ``Base64IfNotPrintable``).
"""

from __future__ import annotations

import base64
import re
import unicodedata
from typing import Final

__all__ = [
    "base64_if_not_printable",
    "char_width",
    "display_width",
    "encode_output",
    "is_printable",
    "raw_text",
    "shorten_value",
]

_ESCAPE_SEQ_RE: Final = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI, e.g. colours
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC, e.g. hyperlinks
)


def char_width(ch: str) -> int:
    """The terminal cell width of one character (go-runewidth, non-CJK locale)."""
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return 0
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


def display_width(text: str) -> int:
    """Return the terminal cell width of ``text``, ignoring ANSI escape sequences.

    East-asian wide and full-width characters count 2, combining marks and
    control characters count 0, everything else 1 (go-runewidth's rules in a
    non-CJK locale, which is what go-pretty uses to size columns).
    """
    if text.isascii() and text.isprintable():
        return len(text)
    return sum(char_width(ch) for ch in _ESCAPE_SEQ_RE.sub("", text))


def encode_output(text: str) -> bytes:
    """Encode formatter text to the exact bytes natscli would write.

    Raw wire values are decoded with ``surrogateescape``; this reverses it.
    """
    return text.encode("utf-8", "surrogateescape")


def raw_text(value: bytes | None) -> str:
    """A wire value as text that :func:`encode_output` turns back into the same bytes."""
    return value.decode("utf-8", "surrogateescape") if value else ""


def is_printable(value: bytes) -> bool:
    """natscli ``IsPrintable``: every byte is printable ASCII (0x20-0x7E); empty is printable."""
    return all(0x20 <= b <= 0x7E for b in value)


def base64_if_not_printable(value: bytes) -> str:
    """natscli ``Base64IfNotPrintable``: the value as text, or standard base64 when any
    byte is outside printable ASCII (tabs, newlines and non-ASCII UTF-8 included)."""
    if is_printable(value):
        return value.decode("ascii")
    return base64.b64encode(value).decode("ascii")


def shorten_value(value: bytes) -> str:
    """Value as shown by ``kv history``/``kv revert``: printable text or base64,
    cut to ``first15...last15`` when longer than 40 characters."""
    text = base64_if_not_printable(value)
    if len(text) > 40:
        return f"{text[:15]}...{text[-15:]}"
    return text
