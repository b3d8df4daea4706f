"""What the page is given to show of a value, and how the key filter reads (no server)."""

from __future__ import annotations

import json

from natskv.ui._keys import KeyFilter, parse_filter
from natskv.ui._values import HEX_LIMIT, TEXT_LIMIT, hex_dump, preview, render_value


def test_a_json_object_is_shown_pretty() -> None:
    view = render_value(b'{"id":1,"items":["a","b"]}')
    assert view["kind"] == "json"
    assert view["json"] == json.dumps({"id": 1, "items": ["a", "b"]}, indent=2)
    assert view["text"] == '{"id":1,"items":["a","b"]}'


def test_json_keeps_its_key_order_and_big_numbers() -> None:
    view = render_value(b'{"z": 1, "a": 123456789012345678901234567890}')
    assert view["json"] == '{\n  "z": 1,\n  "a": 123456789012345678901234567890\n}'


def test_text_that_is_not_a_json_document_is_text() -> None:
    for raw in (b"hello\nworld\t!", b"42", b'"quoted"', b"{not json", "żółw".encode()):
        view = render_value(raw)
        assert view["kind"] == "text", raw
        assert view["json"] is None
        assert view["text"] == raw.decode()


def test_bytes_that_are_not_clean_utf8_are_binary_with_a_hex_dump() -> None:
    for raw in (b"\xff\xfe\x00\x01", b"text with a \x00 nul", b"bell \x07"):
        assert render_value(raw)["kind"] == "binary", raw
    view = render_value(bytes(range(20)))
    assert view["hex"] == (
        "00000000: 0001 0203 0405 0607 0809 0a0b 0c0d 0e0f  ................\n"
        "00000010: 1011 1213                                ...."
    )


def test_the_hex_dump_shows_printable_ascii_beside_the_bytes() -> None:
    assert hex_dump(b"<script>") == "00000000: 3c73 6372 6970 743e                      <script>"


def test_an_empty_value() -> None:
    view = render_value(b"")
    assert (view["kind"], view["text"], view["hex"], view["size"]) == ("empty", "", "", 0)


def test_long_values_are_cut_and_say_so() -> None:
    big = b"x" * (TEXT_LIMIT + 10)
    view = render_value(big)
    assert len(view["text"]) == TEXT_LIMIT and view["text_truncated"]
    assert view["hex"].count("\n") + 1 == HEX_LIMIT // 16 and view["hex_truncated"]
    assert view["size"] == TEXT_LIMIT + 10
    small = render_value(b"small")
    assert not small["text_truncated"] and not small["hex_truncated"]


def test_previews_are_one_short_line() -> None:
    assert preview(b"line one\n  line two") == "line one line two"
    long = preview(b"y" * 500)
    assert long == "y" * 120 + "…"
    assert preview(b"\x00\x01\x02") == "binary 3 B: 00 01 02"


def test_a_filter_with_a_wildcard_token_is_a_subject_filter() -> None:
    assert parse_filter("orders.*") == KeyFilter(subject="orders.*")
    assert parse_filter(" orders.> ") == KeyFilter(subject="orders.>")
    assert parse_filter("*.eu") == KeyFilter(subject="*.eu")
    assert parse_filter("orders.*").kind == "subject"


def test_other_filter_text_is_a_substring() -> None:
    assert parse_filter("order") == KeyFilter(contains="order")
    assert parse_filter("k.09*") == KeyFilter(contains="k.09*")  # '*' is not a whole token
    assert parse_filter("order").kind == "text"
    assert parse_filter("") == KeyFilter() == KeyFilter(subject=">")
