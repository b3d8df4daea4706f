"""The ``kv ls`` screens (natskv.cli._screen_ls): buckets, names and keys, byte for byte."""

from __future__ import annotations

from datetime import datetime, timedelta

from natskv.cli import format as fmt
from natskv.cli.format import BucketRow, KeyRow

CREATED = datetime(2023, 10, 12, 15, 29, 40)  # naive = local, so tests are TZ independent


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
