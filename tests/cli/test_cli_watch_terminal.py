"""``natskv watch`` beyond natscli's lines: JSON lines, values escaped on a terminal, and
the live table (under a pseudo-terminal)."""

from __future__ import annotations

import json
import os

import pytest
from tests.cli.helpers import entry_of, lib, ok, run
from tests.cli.terminal import Terminal

import natskv
from natskv.cli._json import format_utc
from natskv.cli._text import terminal_value
from natskv.cli.format import watch_line


def test_watch_json_lines(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "a", "1")
    ok(nats_url, "put", hist_bucket, "blob", input=b"\xff\x00")
    ok(nats_url, "del", hist_bucket, "a", "-f")
    out = ok(nats_url, "watch", hist_bucket, "--json", "--count", "2")
    lines = [json.loads(line) for line in out.splitlines()]
    blob = entry_of(nats_url, hist_bucket, "blob")
    assert lines[0] == {
        "bucket": hist_bucket,
        "key": "blob",
        "revision": blob.revision,
        "operation": "PUT",
        "created": format_utc(blob.created),
        "value_b64": "/wA=",
    }
    assert lines[1]["key"] == "a"
    assert lines[1]["operation"] == "DEL"
    assert "value" not in lines[1]
    assert "value_b64" not in lines[1]


def test_terminal_value_escapes_and_abbreviates() -> None:
    assert terminal_value(b"plain text \xc3\xa9") == "plain text é"
    assert terminal_value(b"x" * 10_000) == "x" * 10_000  # text is never cut
    assert terminal_value(b"\x1b[31mred") == "\\x1b[31mred"
    assert terminal_value(b"two\nlines\ttab\r") == "two\\nlines\\ttab\\r"
    assert terminal_value("\u202eevil".encode()) == "\\u202eevil"
    assert terminal_value(b"\xff\x00\x9b") == "\\xff\\x00\\x9b"
    shown = terminal_value(os.urandom(300_000))
    assert shown.endswith("... (300,000 bytes)")
    assert len(shown) < 300
    assert not any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in shown)


def test_watch_escapes_values_on_a_terminal_only(
    nats_url: str, hist_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(nats_url, "put", hist_bucket, "k", input=b"\x1b[31mred")
    entry = entry_of(nats_url, hist_bucket, "k")
    # piped: the exact bytes, as natscli writes them
    result = run(nats_url, "watch", hist_bucket, "--count", "1")
    assert result.stdout_bytes.endswith(b"k: \x1b[31mred\n")
    monkeypatch.setattr("natskv.cli._kv_watch.stdout_is_tty", lambda: True)
    monkeypatch.setenv("NO_COLOR", "1")
    out = ok(nats_url, "watch", hist_bucket, "--count", "1")
    assert out == watch_line(entry.created, "PUT", hist_bucket, "k", b"\\x1b[31mred")


def test_watch_escapes_values_under_a_pseudo_terminal(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "k", input=b"\x1b]0;title\x07\x1b[31mred")
    term = Terminal(["-s", nats_url, "watch", hist_bucket, "--count", "1"])
    try:
        assert term.finish() == 0
    finally:
        term.kill()
    assert b"k: \\x1b]0;title\\x07\\x1b[31mred" in term.output
    assert b"\x1b]0;" not in term.output


def test_watch_on_a_terminal_prints_lines_with_random_bytes_abbreviated(
    nats_url: str, hist_bucket: str
) -> None:
    """No --table: natscli's lines, also on a terminal; 300 KB of random bytes show as one
    short escaped line, with no control character but the line's own colour and CR LF."""
    noise = os.urandom(300_000)
    ok(nats_url, "put", hist_bucket, "noise", input=noise)
    entry = entry_of(nats_url, hist_bucket, "noise")
    term = Terminal(["-s", nats_url, "watch", hist_bucket, "--count", "1"])
    try:
        assert term.finish() == 0
    finally:
        term.kill()
    shown = terminal_value(noise)
    assert shown.endswith("... (300,000 bytes)")
    line = watch_line(entry.created, "PUT", hist_bucket, "noise", shown.encode(), color=True)
    # the terminal turns the line's LF into CR LF
    assert term.output == line.encode().replace(b"\n", b"\r\n")
    assert len(term.output) < 400


def test_watch_table_needs_a_terminal(nats_url: str, hist_bucket: str) -> None:
    result = run(nats_url, "watch", hist_bucket, "--table")
    assert result.exit_code == 1
    assert result.stderr == "natskv: error: --table needs a terminal (use --json for scripts)\n"
    result = run(nats_url, "watch", hist_bucket, "--table", "--json")
    assert result.exit_code == 2
    assert "--table and --json are exclusive" in result.stderr


def test_watch_table_is_live_under_a_pseudo_terminal(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "alpha", "first-value")
    ok(nats_url, "put", hist_bucket, "beta", input=b"\x1b[31mred")
    ok(nats_url, "put", hist_bucket, "gone", "soon")
    # the three current values, then two changes
    term = Terminal(["-s", nats_url, "watch", hist_bucket, "--table", "--count", "5"])
    try:
        term.wait_for(b"first-value")
        term.wait_for(b"3 keys")

        async def change(kv: natskv.KVContext) -> None:
            store = await kv.get_store(hist_bucket)
            await store.put("alpha", b"second-value")
            await store.delete("gone")

        lib(nats_url, change)
        assert term.finish() == 0
    finally:
        term.kill()
    assert b"second-value" in term.output
    assert b"2 keys" in term.output  # the deleted key left the table
    assert b"\\x1b[31mred" in term.output
    assert b"\x1b[31mred" not in term.output
