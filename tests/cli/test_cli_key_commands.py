"""The key verbs of ``natskv`` (put, get, create, update, del, purge, history, revert,
watch), run in-process against the session's nats-server; expected text comes from the
library and the formatters."""

from __future__ import annotations

import asyncio
import threading

from tests.cli.helpers import entry_of, history_of, history_rows, lib, ok, run

import natskv
from natskv.cli.format import format_time, history_table, revert_preview, watch_line

# --- put / get / create / update ------------------------------------------------------


def test_put_then_get_prints_natscli_text(nats_url: str, hist_bucket: str) -> None:
    assert ok(nats_url, "put", hist_bucket, "greeting", "hello world") == "hello world\n"
    entry = entry_of(nats_url, hist_bucket, "greeting")
    assert entry.revision == 1
    out = ok(nats_url, "get", hist_bucket, "greeting")
    assert out == (
        f"{hist_bucket} > greeting revision: 1 created @ {format_time(entry.created)}\n"
        "\n"
        "hello world\n"
        "\n"
    )


def test_get_raw_writes_the_exact_bytes(nats_url: str, hist_bucket: str) -> None:
    value = b"\xff\x00binary\n"
    # no value argument: read from STDIN, print an empty line
    assert ok(nats_url, "put", hist_bucket, "blob", input=value) == "\n"
    result = run(nats_url, "get", hist_bucket, "blob", "--raw")
    assert result.exit_code == 0
    assert result.stdout_bytes == value
    # not printable: base64 without --raw
    out = ok(nats_url, "get", hist_bucket, "blob")
    assert out.endswith("\n\n/wBiaW5hcnkK\n\n")


def test_get_long_value_is_shortened(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "long", "x" * 150)
    out = ok(nats_url, "get", hist_bucket, "long")
    assert out.endswith(
        "\n\nShowing first 120 bytes of 150, use --raw for full data\n\n" + "x" * 120 + "\n\n"
    )


def test_get_revision(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "k", "one")
    ok(nats_url, "put", hist_bucket, "k", "two")
    out = ok(nats_url, "get", hist_bucket, "k", "--revision", "1")
    assert out.startswith(f"{hist_bucket} > k revision: 1 created @ ")
    assert out.endswith("\n\none\n\n")
    assert ok(nats_url, "get", hist_bucket, "k", "--raw") == "two"


def test_get_missing_key_fails_on_stderr(nats_url: str, hist_bucket: str) -> None:
    result = run(nats_url, "get", hist_bucket, "missing")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("natskv: error: key not found")


def test_create_and_update_conflicts(nats_url: str, hist_bucket: str) -> None:
    assert ok(nats_url, "create", hist_bucket, "k", "first") == "first\n"
    result = run(nats_url, "create", hist_bucket, "k", "second")
    assert result.exit_code == 1
    assert result.stderr == "natskv: error: key 'k' exists at revision 1\n"

    result = run(nats_url, "update", hist_bucket, "k", "third", "7")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: wrong revision for key 'k'")

    assert ok(nats_url, "update", hist_bucket, "k", "third", "1") == "third\n"
    assert entry_of(nats_url, hist_bucket, "k").raw == b"third"

    # a deleted key can be created again
    ok(nats_url, "del", hist_bucket, "k", "-f")
    assert ok(nats_url, "create", hist_bucket, "k", "again") == "again\n"


# --- del / purge ----------------------------------------------------------------------


def test_del_key_confirms(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "k", "v")
    out = ok(nats_url, "del", hist_bucket, "k", input="n\n")
    assert f"Delete key {hist_bucket} > k?" in out
    assert out.endswith("Skipping delete\n")
    assert entry_of(nats_url, hist_bucket, "k").raw == b"v"

    # end of input declines too
    assert ok(nats_url, "rm", hist_bucket, "k", input="").endswith("Skipping delete\n")

    ok(nats_url, "del", hist_bucket, "k", input="y\n")
    assert [e.operation for e in history_of(nats_url, hist_bucket, "k")] == [
        natskv.KVOperation.PUT,
        natskv.KVOperation.DEL,
    ]
    result = run(nats_url, "get", hist_bucket, "k")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: key 'k' was deleted")


def test_del_key_force(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "k", "v")
    assert ok(nats_url, "del", "-f", hist_bucket, "k") == ""
    assert run(nats_url, "get", hist_bucket, "k").exit_code == 1


def test_purge(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "k", "1")
    ok(nats_url, "put", hist_bucket, "k", "2")
    out = ok(nats_url, "purge", hist_bucket, "k", input="n\n")
    assert f"Purge key {hist_bucket} > k?" in out
    assert out.endswith("Skipping purge\n")
    assert len(history_of(nats_url, hist_bucket, "k")) == 2

    assert ok(nats_url, "purge", hist_bucket, "k", "-f") == ""
    entries = history_of(nats_url, hist_bucket, "k")
    assert [e.operation for e in entries] == [natskv.KVOperation.PURGE]


# --- history / revert -----------------------------------------------------------------


def test_history_table(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "k", "short")
    ok(nats_url, "put", hist_bucket, "k", "y" * 50)
    ok(nats_url, "del", hist_bucket, "k", "-f")
    entries = history_of(nats_url, hist_bucket, "k")
    out = ok(nats_url, "history", hist_bucket, "k")
    assert out == history_table(hist_bucket, "k", history_rows(entries))
    assert f"History for {hist_bucket} > k" in out
    assert "│ DELETE │" in out
    assert "yyyyyyyyyyyyyyy...yyyyyyyyyyyyyyy" in out


def test_history_of_unknown_key(nats_url: str, hist_bucket: str) -> None:
    result = run(nats_url, "history", hist_bucket, "nothing")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: key not found")


def test_revert(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "k", "old")
    ok(nats_url, "put", hist_bucket, "k", "new")

    declined = ok(nats_url, "revert", hist_bucket, "k", "1", input="n\n")
    assert declined.startswith(revert_preview(1, b"old") + "Really revert to revision 1")
    assert entry_of(nats_url, hist_bucket, "k").raw == b"new"

    out = ok(nats_url, "revert", hist_bucket, "k", "1", input="y\n")
    assert out.startswith("Revision: 1\n\nold\n\nReally revert to revision 1 [y/N]: ")
    entries = history_of(nats_url, hist_bucket, "k")
    assert [e.raw for e in entries] == [b"old", b"new", b"old"]
    assert out.endswith(history_table(hist_bucket, "k", history_rows(entries)))

    out = ok(nats_url, "revert", hist_bucket, "k", "2", "--force")
    entries = history_of(nats_url, hist_bucket, "k")
    assert entries[-1].raw == b"new"
    assert out == history_table(hist_bucket, "k", history_rows(entries))


def test_revert_needs_history(nats_url: str, bucket: str) -> None:
    ok(nats_url, "add", bucket)
    ok(nats_url, "put", bucket, "k", "v")
    result = run(nats_url, "revert", bucket, "k", "1", "--force")
    assert result.exit_code == 1
    assert result.stderr == "natskv: error: cannot revert key in a bucket where history=1\n"


# --- watch ----------------------------------------------------------------------------


def test_watch_prints_current_values_then_updates(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "a", "1")
    ok(nats_url, "put", hist_bucket, "b", "2")
    ok(nats_url, "del", hist_bucket, "b", "-f")
    a = entry_of(nats_url, hist_bucket, "a")
    b_del = history_of(nats_url, hist_bucket, "b")[-1]
    out = ok(nats_url, "watch", hist_bucket, "--count", "2")
    assert out == (
        watch_line(a.created, "PUT", hist_bucket, "a", b"1")
        + watch_line(b_del.created, "DEL", hist_bucket, "b", None)
    )
    assert out.splitlines()[1].endswith(f"] DELETE {hist_bucket} > b")

    # --history: every revision; --no-deletes hides the marker
    out = ok(nats_url, "watch", hist_bucket, "--history", "--no-deletes", "--count", "2")
    assert [line.split("] ", 1)[1] for line in out.splitlines()] == [
        f"PUT {hist_bucket} > a: 1",
        f"PUT {hist_bucket} > b: 2",
    ]
    # one key, resuming at a revision
    out = ok(nats_url, "watch", hist_bucket, "b", "--revision", "2", "--count", "2")
    assert [line.split("] ", 1)[1] for line in out.splitlines()] == [
        f"PUT {hist_bucket} > b: 2",
        f"DELETE {hist_bucket} > b",
    ]


def test_watch_updates_only(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "before", "old")
    stop = threading.Event()

    def writer() -> None:
        # keep writing until the watcher has seen one: it may start after the first put
        async def work(kv: natskv.KVContext) -> None:
            store = await kv.get_store(hist_bucket)
            while not stop.is_set():
                await store.put("live", b"new")
                await asyncio.sleep(0.1)

        lib(nats_url, work)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        out = ok(nats_url, "watch", hist_bucket, "--updates", "--count", "1")
    finally:
        stop.set()
        thread.join()
    assert out.endswith(f"] PUT {hist_bucket} > live: new\n")
    assert out.count("\n") == 1


def test_watch_conflicting_options(nats_url: str, hist_bucket: str) -> None:
    result = run(nats_url, "watch", hist_bucket, "--updates", "--history")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: updates_only and include_history")
