"""Unit tests for natskv.cli._format: natscli-compatible output, byte for byte."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from natskv.cli import _format as fmt
from natskv.cli._format import (
    BucketRow,
    ClusterInfo,
    HistoryRow,
    KeyRow,
    ReplicaInfo,
    RepublishInfo,
    SourceInfo,
    StatusView,
)

CREATED = datetime(2023, 10, 12, 15, 29, 40)  # naive = local, so tests are TZ independent


@pytest.fixture
def utc_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with the process local time zone set to UTC."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# ---------------------------------------------------------------------------
# kv ls (buckets) - the published sample in kv-wire.md 6.2
# ---------------------------------------------------------------------------

KV_LS_SAMPLE = (
    "╭───────────────────────────────────────────────────────────────────────────────╮\n"
    "│                               Key-Value Buckets                               │\n"
    "├─────────────┬─────────────┬─────────────────────┬──────┬────────┬─────────────┤\n"
    "│ Bucket      │ Description │ Created             │ Size │ Values │ Last Update │\n"
    "├─────────────┼─────────────┼─────────────────────┼──────┼────────┼─────────────┤\n"
    "│ SHOP_ORDERS │             │ 2023-10-12 15:29:40 │ 0 B  │ 0      │ never       │\n"
    "╰─────────────┴─────────────┴─────────────────────┴──────┴────────┴─────────────╯"
)


def test_buckets_table_reproduces_published_sample_exactly() -> None:
    rows = [BucketRow("SHOP_ORDERS", "", CREATED, 0, 0, None)]
    # natscli prints Sprintln(table) with Println: one blank line follows the table
    assert fmt.buckets_table(rows) == KV_LS_SAMPLE + "\n\n"


def test_buckets_table_centres_title_with_even_padding_in_sample() -> None:
    title_line = KV_LS_SAMPLE.splitlines()[1]
    inner = title_line[1:-1]
    assert inner.index("K") == 31
    assert len(inner) - inner.index("Key-Value Buckets") - len("Key-Value Buckets") == 31


def test_buckets_table_sorts_by_size_ascending_and_formats_cells() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0)
    rows = [
        BucketRow("BIG", "large", CREATED, 5 * 1024 * 1024, 1234567, now - timedelta(seconds=90)),
        BucketRow("SMALL", "", CREATED, 1536, 3, now - timedelta(hours=2)),
    ]
    out = fmt.buckets_table(rows, now=now)
    lines = out.splitlines()
    assert lines[5].startswith("│ SMALL ")
    assert lines[6].startswith("│ BIG ")
    assert "│ 1.5 KiB │" in lines[5]
    assert "│ 1,234,567 │" in lines[6]
    assert lines[6].rstrip("│").rstrip().endswith("1m30s")
    assert lines[5].rstrip("│").rstrip().endswith("2h0m0s")


def test_buckets_table_empty_prints_no_buckets_message() -> None:
    assert fmt.buckets_table([]) == "No Key-Value buckets found\n"
    assert fmt.NO_BUCKETS_FOUND == "No Key-Value buckets found"


def test_bucket_names_output_one_per_line() -> None:
    assert fmt.bucket_names_output(["A", "B"]) == "A\nB\n"
    assert fmt.bucket_names_output([]) == ""


# ---------------------------------------------------------------------------
# render_table
# ---------------------------------------------------------------------------


def test_render_table_odd_centring_puts_extra_space_on_the_left() -> None:
    out = fmt.render_table(["A"], [["abcdef"]], title="xyz")
    assert out.splitlines() == [
        "╭────────╮",
        "│   xyz  │",
        "├────────┤",
        "│ A      │",
        "├────────┤",
        "│ abcdef │",
        "╰────────╯",
    ]


def test_render_table_without_title_uses_rounded_top_corners() -> None:
    out = fmt.render_table(["K", "V"], [["a", "b"]])
    assert out == "╭───┬───╮\n│ K │ V │\n├───┼───┤\n│ a │ b │\n╰───┴───╯"


def test_render_table_right_aligns_numeric_columns_including_header() -> None:
    out = fmt.render_table(["Name", "Revision"], [["a", 1], ["b", 12]])
    assert out.splitlines()[1] == "│ Name │ Revision │"
    assert out.splitlines()[3] == "│ a    │        1 │"
    assert out.splitlines()[4] == "│ b    │       12 │"


def test_render_table_numeric_column_with_one_text_cell_is_left_aligned() -> None:
    out = fmt.render_table(["N"], [[1], ["x"]])
    assert out.splitlines()[3] == "│ 1 │"
    assert out.splitlines()[4] == "│ x │"


def test_render_table_counts_east_asian_wide_characters_as_two_cells() -> None:
    out = fmt.render_table(["名前", "n"], [["日本語", 1], ["ab", 22]])
    assert out.splitlines() == [
        "╭────────┬────╮",
        "│ 名前   │  n │",
        "├────────┼────┤",
        "│ 日本語 │  1 │",
        "│ ab     │ 22 │",
        "╰────────┴────╯",
    ]


def test_render_table_splits_multiline_cells_and_expands_tabs() -> None:
    out = fmt.render_table(["K", "V"], [["k", "one\ntwo\tx"]])
    assert out.splitlines()[3:5] == ["│ k │ one      │", "│   │ two    x │"]


def test_render_table_wraps_long_title_to_table_width() -> None:
    out = fmt.render_table(["A"], [["abcdefghij"]], title="a title longer than table")
    assert out.splitlines()[:5] == [
        "╭────────────╮",
        "│ a title lo │",
        "│  nger than │",
        "│    table   │",  # odd padding: the extra space goes left
        "├────────────┤",
    ]


def test_render_table_width_max_cuts_lines_with_unfinished_marker() -> None:
    out = fmt.render_table(["A"], [["abcdefghijklmnopqrstuvwxyz"]], width_max=20)
    lines = out.splitlines()
    assert all(fmt.display_width(line) == 20 for line in lines)
    assert lines[3] == "│ abcdefghijklmnop ≈"


def test_render_table_markdown_style() -> None:
    out = fmt.render_table(["A", "Num"], [["x|y", 1], ["multi\nline", 2]], title="T", style="md")
    assert out.splitlines() == [
        "# T",
        "| A | Num |",
        "| --- | ---:|",
        "| x\\|y | 1 |",
        "| multi<br/>line | 2 |",
    ]


def test_render_table_csv_style_escapes_like_go_pretty() -> None:
    out = fmt.render_table(["A", "B"], [["a,b", 'q"t'], ["", "x"]], title="T", style="csv")
    assert out == 'T\nA,B\n"a\\,b","q\\"t"\n,x'


def test_render_table_tsv_style_quotes_and_trims_trailing_spaces() -> None:
    out = fmt.render_table(["A", "B"], [["a\tb", 'q"t'], ["", "x "]], style="tsv")
    assert out == 'A\tB\n"a    b"\t"q""t"\n\tx'


def test_render_table_rejects_unknown_style() -> None:
    with pytest.raises(ValueError, match="unknown table style"):
        fmt.render_table(["A"], [["a"]], style="html")


def test_render_table_without_columns_is_empty() -> None:
    assert fmt.render_table([], [], title="T") == ""


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "rounded"),
        ({"NATS_TABLE_FORMAT": "MD"}, "markdown"),
        ({"NATS_TABLE_FORMAT": "markdown"}, "markdown"),
        ({"NATS_TABLE_FORMAT": "csv"}, "csv"),
        ({"NATS_TABLE_FORMAT": "TSV"}, "tsv"),
        ({"NATS_TABLE_FORMAT": "json"}, "rounded"),
        ({"LLMFORMAT": "1", "NATS_TABLE_FORMAT": "csv"}, "markdown"),
    ],
)
def test_table_style_from_env_follows_natscli(environ: dict[str, str], expected: str) -> None:
    assert fmt.table_style_from_env(environ) == expected


@pytest.mark.parametrize(
    ("text", "width"),
    [("abc", 3), ("日本", 4), ("e\u0301", 1), ("\x1b[31mred\x1b[0m", 3), ("", 0)],
)
def test_display_width(text: str, width: int) -> None:
    assert fmt.display_width(text) == width


# ---------------------------------------------------------------------------
# Scalars
# ---------------------------------------------------------------------------


def test_format_time_naive_is_local_wall_clock() -> None:
    assert fmt.format_time(CREATED) == "2023-10-12 15:29:40"
    assert fmt.format_time(datetime(1, 1, 1)) == "0001-01-01 00:00:00"


@pytest.mark.usefixtures("utc_tz")
def test_format_time_converts_aware_datetimes_to_local() -> None:
    aware = datetime(2023, 10, 12, 17, 29, 40, tzinfo=timezone(timedelta(hours=2)))
    assert fmt.format_time(aware) == "2023-10-12 15:29:40"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1,000"),
        (1234567, "1,234,567"),
        (-1234, "-1,234"),
        (2**64 - 1, "18446744073709551615"),
    ],
)
def test_format_number_groups_thousands(n: int, expected: str) -> None:
    assert fmt.format_number(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0 B"),
        (9, "9 B"),
        (10, "10 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (10239, "10 KiB"),  # 9.999 rounds up to 10.0, then printed without decimals
        (10752, "10 KiB"),  # 10.5 with %.0f rounds half to even
        (11776, "12 KiB"),  # 11.5 rounds to even 12
        (1048575, "1024 KiB"),
        (1048576, "1.0 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (1024**4, "1.0 TiB"),
        (1024**5, "1.0 PiB"),
        (1024**6, "1.0 EiB"),
        (2**64 - 1, "16 EiB"),
    ],
)
def test_format_ibytes_matches_go_humanize(n: int, expected: str) -> None:
    assert fmt.format_ibytes(n) == expected


@pytest.mark.parametrize(
    ("ns", "expected"),
    [
        (0, "0s"),
        (1, "0s"),
        (499, "0s"),
        (500, "1µs"),
        (1500, "2µs"),
        (999_499, "999µs"),
        (999_500, "1ms"),
        (1_500_000, "2ms"),
        (999_499_999, "999ms"),
        (999_500_000, "1s"),
        (1_000_000_000, "1.00s"),
        (44_000_000_000, "44.00s"),
        (1_234_000_000, "1.23s"),
        (59_999_000_000, "60.00s"),
        (60_000_000_000, "1m0s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (86_400_000_000_000, "1d0h0m0s"),
        (93_784_000_000_000, "1d2h3m4s"),
        (365 * 86_400_000_000_000, "1y0d0h0m0s"),
        (400 * 86_400_000_000_000 + 1, "1y35d0h0m0s"),
        (-5_000_000_000, "-5s"),
        (-90_000_000_000, "-1m30s"),
        (-1_500, "-2µs"),
        (fmt.MAX_INT64, "never"),
    ],
)
def test_format_duration_ns_matches_natscli_humanize(ns: int, expected: str) -> None:
    assert fmt.format_duration_ns(ns) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0s"),
        (0.0005, "500µs"),
        (1.5, "1.50s"),
        (3600, "1h0m0s"),
        (timedelta(days=2, hours=3), "2d3h0m0s"),
        (timedelta(milliseconds=250), "250ms"),
        (float("inf"), "never"),
        (1e30, "never"),
    ],
)
def test_format_duration_accepts_seconds_and_timedelta(
    value: float | timedelta, expected: str
) -> None:
    assert fmt.format_duration(value) == expected


def test_format_duration_rejects_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        fmt.format_duration(float("nan"))


@pytest.mark.parametrize(
    ("ns", "expected"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (1_500_000, "1.5ms"),
        (1_500_000_000, "1.5s"),
        (3_723_000_000_000, "1h2m3s"),
        (-61_000_000_000, "-1m1s"),
    ],
)
def test_go_duration_string(ns: int, expected: str) -> None:
    assert fmt.go_duration_string(ns) == expected


def test_format_since_none_and_zero_time_are_never() -> None:
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert fmt.format_since(None, now) == "never"
    assert fmt.format_since(datetime(1, 1, 1, tzinfo=timezone.utc), now) == "never"


def test_format_since_measures_elapsed_time() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert fmt.format_since(now - timedelta(seconds=5), now) == "5.00s"
    assert fmt.format_since(now - timedelta(days=3, minutes=1), now) == "3d0h1m0s"


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# kv ls BUCKET -v
# ---------------------------------------------------------------------------


def test_keys_table_verbose() -> None:
    rows = [KeyRow("a.b", CREATED, 0, 7), KeyRow("c", CREATED, 12, 19)]
    assert fmt.keys_table("B", rows) == (
        "╭──────────────────────────────────────────────╮\n"
        "│            Contents for bucket 'B'           │\n"
        "├─────┬─────────────────────┬───────┬──────────┤\n"
        "│ Key │ Created             │ Delta │ Revision │\n"
        "├─────┼─────────────────────┼───────┼──────────┤\n"
        "│ a.b │ 2023-10-12 15:29:40 │     0 │        7 │\n"
        "│ c   │ 2023-10-12 15:29:40 │    12 │       19 │\n"
        "╰─────┴─────────────────────┴───────┴──────────╯\n"
        "\n"
    )


def test_keys_table_display_value_shows_raw_value() -> None:
    out = fmt.keys_table("B", [KeyRow("a", CREATED, 0, 1, b"v\x01")], display_value=True)
    assert out.splitlines()[3].endswith("│ Value │")
    assert "│ v\x01     │" in out


def test_keys_table_without_keys_prints_header_table_then_message() -> None:
    assert fmt.keys_table("B", []) == (
        "╭──────────────────────────────────╮\n"
        "│      Contents for bucket 'B'     │\n"
        "├─────┬─────────┬───────┬──────────┤\n"
        "│ Key │ Created │ Delta │ Revision │\n"
        "├─────┼─────────┼───────┼──────────┤\n"
        "╰─────┴─────────┴───────┴──────────╯\n"
        "\n"
        "No keys found in bucket\n"
    )
    assert fmt.NO_KEYS_FOUND == "No keys found in bucket"


# ---------------------------------------------------------------------------
# kv info / status - the sample in kv-wire.md 6.4
# ---------------------------------------------------------------------------

STATUS_SAMPLE = """\
Information for Key-Value Store Bucket SHOP_ORDERS created 2023-10-12 15:29:40

Configuration:

            Bucket Name: SHOP_ORDERS
           History Kept: 1
          Values Stored: 0
             Compressed: false
  Per-Key TTL Supported: false
     Backing Store Kind: JetStream
            Bucket Size: 0 B
    Maximum Bucket Size: unlimited
     Maximum Value Size: unlimited
            Maximum Age: unlimited
       JetStream Stream: KV_SHOP_ORDERS
                Storage: File
"""


def _fresh_status(**overrides: object) -> StatusView:
    base: dict[str, object] = {
        "bucket": "SHOP_ORDERS",
        "created": CREATED,
        "history": 1,
        "values": 0,
        "stream_name": "KV_SHOP_ORDERS",
    }
    base.update(overrides)
    return StatusView(**base)  # type: ignore[arg-type]


def test_status_text_reproduces_sample_exactly() -> None:
    assert fmt.status_text(_fresh_status()) == STATUS_SAMPLE


def test_status_text_full_configuration_rows() -> None:
    status = _fresh_status(
        history=44,
        values=1234,
        compressed=True,
        limit_marker_ttl=timedelta(seconds=1),
        description="This is a new description",
        bucket_size=2048,
        max_bucket_size=44,
        max_value_size=1024,
        max_age_seconds=44.0,
        storage="Memory",
        republish=RepublishInfo("$KV.>", "repub.>", headers_only=True),
    )
    assert fmt.status_text(status) == (
        "Information for Key-Value Store Bucket SHOP_ORDERS created 2023-10-12 15:29:40\n"
        "\n"
        "Configuration:\n"
        "\n"
        "            Bucket Name: SHOP_ORDERS\n"
        "           History Kept: 44\n"
        "          Values Stored: 1,234\n"
        "             Compressed: true\n"
        "  Per-Key TTL Supported: true\n"
        "       Limit Marker TTL: 1.00s\n"
        "     Backing Store Kind: JetStream\n"
        "            Description: This is a new description\n"
        "            Bucket Size: 2.0 KiB\n"
        "    Maximum Bucket Size: 44 B\n"
        "     Maximum Value Size: 1.0 KiB\n"
        "            Maximum Age: 44.00s\n"
        "       JetStream Stream: KV_SHOP_ORDERS\n"
        "                Storage: Memory\n"
        "   Republishing Headers: $KV.> to repub.>\n"
    )


def test_status_text_optional_sections() -> None:
    status = _fresh_status(
        mirror=SourceInfo("KV_ORIGIN", external_api="$JS.hub.API", active=1.5, lag=2000),
        sources=(SourceInfo("KV_S1", active=None, lag=0),),
        metadata={"_nats.req.level": "1", "team": "ops", "a_very_long_metadata_key": "x"},
        cluster=ClusterInfo(
            name="C1",
            leader="n1",
            replicas=(
                ReplicaInfo("n2", current=True, active=0.001, lag=0),
                ReplicaInfo("n3", current=False, offline=True, active=None, lag=1),
                ReplicaInfo("n4", current=True, active=2.0, lag=1500),
            ),
        ),
    )
    expected_tail = (
        "\n"
        "Mirror Information:\n"
        "\n"
        "             Origin Bucket: ORIGIN\n"
        "              External API: $JS.hub.API\n"
        "                 Last Seen: 1.50s\n"
        "                       Lag: 2,000\n"
        "\n"
        "Sources Information:\n"
        "\n"
        "             Source Bucket: S1\n"
        "                 Last Seen: never\n"
        "                       Lag: 0\n"
        "\n"
        "Metadata:\n"
        "\n"
        "  a_very_long_metadata_key: x\n"
        "                      team: ops\n"
        "\n"
        "Cluster Information:\n"
        "\n"
        "                      Name: C1\n"
        "                    Leader: n1\n"
        "                   Replica: n2, current, seen 1ms ago\n"
        "                   Replica: n3, outdated, OFFLINE, not seen, 1 operation behind\n"
        "                   Replica: n4, current, seen 2.00s ago, 1,500 operations behind\n"
    )
    out = fmt.status_text(status)
    assert out.endswith(expected_tail)
    # every label is right-aligned to the longest one (the metadata key) + 2
    assert "\n                Storage: File\n" not in out
    assert "\n                   Storage: File\n" in out


def test_status_text_single_server_cluster_has_empty_name_row() -> None:
    out = fmt.status_text(_fresh_status(cluster=ClusterInfo(leader="NABC")))
    assert out.endswith(
        "\nCluster Information:\n\n                   Name: \n                 Leader: NABC\n"
    )


def test_status_text_shortens_long_metadata_values() -> None:
    value = "a" * 30 + "-" * 30 + "z" * 30
    out = fmt.status_text(_fresh_status(metadata={"k": value}))
    assert out.endswith(": " + "a" * 30 + " ... " + "z" * 30 + "\n")
    wide = fmt.status_text(_fresh_status(metadata={"k": value}), screen_width=200)
    assert wide.endswith(": " + value + "\n")


def test_status_text_non_jetstream_backing_store_shows_only_basics() -> None:
    out = fmt.status_text(_fresh_status(backing_store="Other", description="hidden"))
    assert out.startswith("Information for Key-Value Store Bucket SHOP_ORDERS\n\n")
    assert out.endswith("     Backing Store Kind: Other\n")
    assert "Description" not in out


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", -1),
        ("-1", -1),
        ("-5GB", -1),
        ("  -1  ", -1),
        ("0", 0),
        ("1024", 1024),
        ("+5", 5),
        (" 42 ", 42),
        ("1K", 1024),
        ("1k", 1024),
        ("2KB", 2048),
        ("1KiB", 1024),
        ("1kib", 1024),
        ("10M", 10 * 1024**2),
        ("10mb", 10 * 1024**2),
        ("3G", 3 * 1024**3),
        ("3GiB", 3 * 1024**3),
        ("2T", 2 * 1024**4),
        ("2tb", 2 * 1024**4),
        ("10KB!", 10240),  # natscli's regexp is anchored at the start only
    ],
)
def test_parse_byte_size(text: str, expected: int) -> None:
    assert fmt.parse_byte_size(text) == expected


@pytest.mark.parametrize(
    "text",
    ["abc", "10B", "10 KB", "1.5G", "10X", "10PB", "K", "+10K", "99999999999999999999", "9999999T"],
)
def test_parse_byte_size_rejects_bad_input(text: str) -> None:
    with pytest.raises(ValueError, match="invalid bytes specification"):
        fmt.parse_byte_size(text)


@pytest.mark.parametrize(
    ("text", "expected_ns"),
    [
        ("0", 0),
        ("1h", 3_600_000_000_000),
        ("90s", 90_000_000_000),
        ("1m30s", 90_000_000_000),
        ("500ms", 500_000_000),
        ("1.5h", 5_400_000_000_000),
        ("1.5s", 1_500_000_000),
        ("2us", 2_000),
        ("2µs", 2_000),
        ("10ns", 10),
        ("-2h", -7_200_000_000_000),
        ("+3m", 180_000_000_000),
        (" 1h ", 3_600_000_000_000),
        ("1d", 86_400_000_000_000),
        ("1D", 86_400_000_000_000),
        ("1w", 7 * 86_400_000_000_000),
        ("1M", 30 * 86_400_000_000_000),
        ("1y", 365 * 86_400_000_000_000),
        ("1Y1M", 395 * 86_400_000_000_000),
        ("1.5d", 36 * 3_600_000_000_000),
        ("1.1w", 184 * 3_600_000_000_000),  # float32 then truncated to whole hours
        ("1m1.1w", 184 * 3_600_000_000_000 + 60_000_000_000),
        ("1d12h", 36 * 3_600_000_000_000),
        ("-1m1d", -(86_400_000_000_000 + 60_000_000_000)),
        ("0.01d", 0),
    ],
)
def test_parse_duration_ns(text: str, expected_ns: int) -> None:
    assert fmt.parse_duration_ns(text) == expected_ns


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "1", "-1", "1xX", "1h30", "h", "1..5d", "1 h", "1h junk", "1d-1h", "."],
)
def test_parse_duration_rejects_bad_input(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        fmt.parse_duration_ns(text)


def test_parse_duration_returns_timedelta() -> None:
    assert fmt.parse_duration("1m30s") == timedelta(seconds=90)
    assert fmt.parse_duration("2w") == timedelta(days=14)
    assert fmt.parse_duration("1500ns") == timedelta(microseconds=1)
    assert fmt.parse_duration("-1.5s") == timedelta(seconds=-1.5)


def test_parse_duration_rejects_overflow() -> None:
    with pytest.raises(ValueError):
        fmt.parse_duration_ns("9999999999999h")
    with pytest.raises(ValueError):
        fmt.parse_duration_ns("99999999y")
