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
    "terminal_value",
]

_ESCAPE_SEQ_RE: Final = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI, e.g. colours
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC, e.g. hyperlinks
)


# what must not reach a terminal raw: C0/C1 controls and DEL (ESC starts colours, cursor
# moves, title changes), and format characters (bidi overrides reorder what is shown)
_UNSAFE_RE: Final = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
TERMINAL_VALUE_LIMIT: Final = 256
"""Characters of an escaped value shown on a terminal before it is cut."""


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


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    return _ESCAPES.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def terminal_value(value: bytes, *, limit: int = TERMINAL_VALUE_LIMIT) -> str:
    """A value as it may be shown on a terminal: never raw control characters.

    Text without control characters is shown as it is, however long. Otherwise control
    and format characters are escaped (``\\x1b``, ``\\n``, ``\\u202e``), bytes that are
    not UTF-8 shown as ``\\xff``, and the result cut to ``limit`` characters with the
    value's size: 300 KB of random bytes become one short line. Piped output is not
    passed through this (scripts get the exact bytes).
    """
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = value.decode("utf-8", "backslashreplace")  # b"\xff" shows as \xff
    else:
        if not _UNSAFE_RE.search(text):
            return text
    escaped = _UNSAFE_RE.sub(_escape, text)
    if len(escaped) > limit:
        return f"{escaped[:limit]}... ({len(value):,} bytes)"
    return escaped
