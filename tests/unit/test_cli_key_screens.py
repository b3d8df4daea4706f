"""The screens of one key (natskv.cli._screen_entries): get, watch, history and revert."""

from __future__ import annotations

from datetime import datetime

import pytest

from natskv.cli import format as fmt
from natskv.cli.format import HistoryRow

CREATED = datetime(2023, 10, 12, 15, 29, 40)  # naive = local, so tests are TZ independent


@pytest.mark.parametrize(
    ("op", "expected"),
    [("PUT", "PUT"), ("DEL", "DELETE"), ("delete", "DELETE"), ("PURGE", "PURGE"), ("x", "UNKNOWN")],
)
def test_normalize_operation(op: str, expected: str) -> None:
    assert fmt.normalize_operation(op) == expected


# ---------------------------------------------------------------------------
# kv get
# ---------------------------------------------------------------------------


def test_get_output_printable_value() -> None:
    out = fmt.get_output("B", "k", 3, CREATED, b'{"Id":1}')
    assert out == 'B > k revision: 3 created @ 2023-10-12 15:29:40\n\n{"Id":1}\n\n'


def test_get_output_base64_for_binary_value() -> None:
    out = fmt.get_output("B", "k", 1, CREATED, b"\x01\x02")
    assert out == "B > k revision: 1 created @ 2023-10-12 15:29:40\n\nAQI=\n\n"


def test_get_output_truncates_values_longer_than_120() -> None:
    value = b"a" * 1500
    out = fmt.get_output("B", "k", 1, CREATED, value)
    assert out == (
        "B > k revision: 1 created @ 2023-10-12 15:29:40\n\n"
        "Showing first 120 bytes of 1,500, use --raw for full data\n\n" + "a" * 120 + "\n\n"
    )


def test_get_output_exactly_120_is_not_truncated() -> None:
    out = fmt.get_output("B", "k", 1, CREATED, b"b" * 120)
    assert "Showing first" not in out
    assert out.endswith("b" * 120 + "\n\n")


def test_get_output_truncation_counts_base64_length() -> None:
    value = bytes(range(100))  # 136 base64 characters
    out = fmt.get_output("B", "k", 1, CREATED, value)
    assert "Showing first 120 bytes of 136, use --raw for full data" in out


def test_get_raw_output_is_value_bytes_without_newline() -> None:
    assert fmt.get_raw_output(b"\x00raw") == b"\x00raw"
    raw_text = fmt.get_output("B", "k", 1, CREATED, b"\xffraw", raw=True)
    assert fmt.encode_output(raw_text) == b"\xffraw"


# ---------------------------------------------------------------------------
# kv watch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("PUT", b"v1", "[2023-10-12 15:29:40] PUT B > k: v1\n"),
        ("DEL", None, "[2023-10-12 15:29:40] DELETE B > k\n"),
        ("DELETE", b"", "[2023-10-12 15:29:40] DELETE B > k\n"),
        ("PURGE", None, "[2023-10-12 15:29:40] PURGE B > k\n"),
        ("PUT", None, "[2023-10-12 15:29:40] PUT B > k: \n"),
        ("NOPE", b"x", ""),
    ],
)
def test_watch_line_plain(op: str, value: bytes | None, expected: str) -> None:
    assert fmt.watch_line(CREATED, op, "B", "k", value) == expected


def test_watch_line_colours_put_green_and_deletes_red() -> None:
    put = fmt.watch_line(CREATED, "PUT", "B", "k", b"v", color=True)
    assert put == "[2023-10-12 15:29:40] \x1b[32mPUT\x1b[0m B > k: v\n"
    purge = fmt.watch_line(CREATED, "PURGE", "B", "k", None, color=True)
    assert purge == "[2023-10-12 15:29:40] \x1b[31mPURGE\x1b[0m B > k\n"


def test_watch_line_prints_raw_value_bytes() -> None:
    line = fmt.watch_line(CREATED, "PUT", "B", "k", b"a\xffb")
    assert fmt.encode_output(line) == b"[2023-10-12 15:29:40] PUT B > k: a\xffb\n"


# ---------------------------------------------------------------------------
# kv history / revert
# ---------------------------------------------------------------------------


def test_history_table_layout_and_alignment() -> None:
    rows = [
        HistoryRow("k", 1, "PUT", datetime(2024, 1, 2, 3, 4, 5), b"hello"),
        HistoryRow("k", 12, "DEL", datetime(2024, 1, 2, 3, 4, 6), b""),
    ]
    assert fmt.history_table("B", "k", rows) == (
        "╭────────────────────────────────────────────────────────────────╮\n"
        "│                        History for B > k                       │\n"
        "├─────┬──────────┬────────┬─────────────────────┬────────┬───────┤\n"
        "│ Key │ Revision │ Op     │ Created             │ Length │ Value │\n"
        "├─────┼──────────┼────────┼─────────────────────┼────────┼───────┤\n"
        "│ k   │        1 │ PUT    │ 2024-01-02 03:04:05 │ 5      │ hello │\n"
        "│ k   │       12 │ DELETE │ 2024-01-02 03:04:06 │ 0      │       │\n"
        "╰─────┴──────────┴────────┴─────────────────────┴────────┴───────╯\n"
        "\n"
    )


def test_history_table_shortens_and_base64_encodes_values() -> None:
    long_value = b"A" * 15 + b"x" * 20 + b"Z" * 15
    rows = [
        HistoryRow("k", 1, "PUT", CREATED, long_value),
        HistoryRow("k", 2, "PUT", CREATED, b"\x00\x01"),
        HistoryRow("k", 3, "PUT", CREATED, b"y" * 2000),
    ]
    out = fmt.history_table("B", "k", rows)
    assert "AAAAAAAAAAAAAAA...ZZZZZZZZZZZZZZZ" in out
    assert "│ AAE=" in out
    assert "│ 2,000  │" in out


def test_revert_preview() -> None:
    assert fmt.revert_preview(4, b"old") == "Revision: 4\n\nold\n\n"
