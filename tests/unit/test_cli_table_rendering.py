"""natscli's go-pretty tables (natskv.cli._table): box, markdown, CSV and TSV, byte for byte."""

from __future__ import annotations

import pytest

from natskv.cli import format as fmt


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
