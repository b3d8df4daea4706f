"""Text as natscli shows it (natskv.cli._text): cell widths, printable values or base64."""

from __future__ import annotations

import pytest

from natskv.cli import format as fmt


@pytest.mark.parametrize(
    ("text", "width"),
    [("abc", 3), ("日本", 4), ("e\u0301", 1), ("\x1b[31mred\x1b[0m", 3), ("", 0)],
)
def test_display_width(text: str, width: int) -> None:
    assert fmt.display_width(text) == width


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"hello world", "hello world"),
        (b"", ""),
        (b"~!", "~!"),
        (b"tab\there", "dGFiCWhlcmU="),
        (b"line\n", "bGluZQo="),
        ("é".encode(), "w6k="),
        (b"\x00\xff", "AP8="),
    ],
)
def test_base64_if_not_printable(value: bytes, expected: str) -> None:
    assert fmt.base64_if_not_printable(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"x" * 40, "x" * 40),  # exactly 40: kept whole
        (b"0123456789abcde" + b"-" * 11 + b"ABCDEFGHIJKLMNO", "0123456789abcde...ABCDEFGHIJKLMNO"),
        (bytes(range(40)), "AAECAwQFBgcICQo...h8gISIjJCUmJw=="),  # base64 first, then cut
        (b"\x00", "AA=="),
    ],
)
def test_shorten_value_keeps_first_and_last_15_over_40(value: bytes, expected: str) -> None:
    assert fmt.shorten_value(value) == expected


def test_encode_output_gives_back_the_raw_wire_bytes() -> None:
    raw = b"caf\xc3\xa9 \xff\x00"
    assert fmt.encode_output(raw.decode("utf-8", "surrogateescape")) == raw
