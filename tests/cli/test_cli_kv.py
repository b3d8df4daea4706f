"""The kv verbs of the ``natskv`` command, run in-process with click's CliRunner against
the session's nats-server; expected text comes from the library and the formatters."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

import natskv
from natskv.cli import cli
from natskv.cli._kv_buckets import status_view
from natskv.cli.format import (
    NO_BUCKETS_FOUND,
    HistoryRow,
    KeyRow,
    format_time,
    history_table,
    keys_table,
    revert_preview,
    status_text,
    watch_line,
)

T = TypeVar("T")


# --- helpers ---------------------------------------------------------------------------


def _runner() -> CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def run(url: str, *args: str, input: str | bytes | None = None) -> Result:
    """``natskv -s <url> <args>``."""
    return _runner().invoke(cli, ["-s", url, *args], input=input, catch_exceptions=False)


def ok(url: str, *args: str, input: str | bytes | None = None) -> str:
    """Run a command that must succeed; return its stdout."""
    result = run(url, *args, input=input)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def lib(url: str, work: Callable[[natskv.KVContext], Awaitable[T]]) -> T:
    """Run ``work`` with the library, on a connection of its own."""

    async def main() -> T:
        nc = await natskv.connect(url)
        try:
            return await work(natskv.KVContext(natskv.JetStream(nc)))
        finally:
            await nc.close()

    return asyncio.run(main())


def entry_of(url: str, bucket: str, key: str) -> natskv.KVEntry[bytes]:
    async def work(kv: natskv.KVContext) -> natskv.KVEntry[bytes]:
        return await (await kv.get_store(bucket)).get_entry(key)

    return lib(url, work)


def history_of(url: str, bucket: str, key: str) -> list[natskv.KVEntry[Any]]:
    async def work(kv: natskv.KVContext) -> list[natskv.KVEntry[Any]]:
        store = await kv.get_store(bucket)
        return [e async for e in store.history(key)]

    return lib(url, work)


def status_of(url: str, bucket: str) -> natskv.KVStatus:
    async def work(kv: natskv.KVContext) -> natskv.KVStatus:
        return await (await kv.get_store(bucket)).status()

    return lib(url, work)


def history_rows(entries: list[natskv.KVEntry[Any]]) -> list[HistoryRow]:
    return [HistoryRow(e.key, e.revision, e.operation.value, e.created, e.raw) for e in entries]


@pytest.fixture
def bucket(nats_url: str) -> Iterator[str]:
    """A unique bucket name; the bucket is deleted after the test if it was created."""
    name = "cli_" + uuid.uuid4().hex[:10]
    yield name

    async def drop(kv: natskv.KVContext) -> None:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(name)

    lib(nats_url, drop)


@pytest.fixture
def hist_bucket(nats_url: str, bucket: str) -> str:
    """``bucket``, created with history 5."""
    ok(nats_url, "add", bucket, "--history", "5")
    return bucket


# --- add / edit / info -----------------------------------------------------------------


def test_add_prints_the_status_with_the_flags_values(nats_url: str, bucket: str) -> None:
    out = ok(
        nats_url,
        "add",
        bucket,
        "--history",
        "7",
        "--description",
        "shop orders",
        "--storage",
        "m",
        "--ttl",
        "1h",
        "--max-value-size",
        "1K",
        "--max-bucket-size",
        "2MB",
        "--metadata",
        "team=kv",
        "--metadata",
        "tier=gold",
        "--compress",
    )
    assert out.startswith(f"Information for Key-Value Store Bucket {bucket} created ")
    for line in (
        f"            Bucket Name: {bucket}\n",
        "           History Kept: 7\n",
        "          Values Stored: 0\n",
        "             Compressed: true\n",
        "  Per-Key TTL Supported: false\n",
        "            Description: shop orders\n",
        "            Bucket Size: 0 B\n",
        "    Maximum Bucket Size: 2.0 MiB\n",
        "     Maximum Value Size: 1.0 KiB\n",
        "            Maximum Age: 1h0m0s\n",
        f"       JetStream Stream: KV_{bucket}\n",
        "                Storage: Memory\n",
        "Metadata:\n\n",
        "                   team: kv\n",
        "                   tier: gold\n",
    ):
        assert line in out
    assert out == status_text(status_view(status_of(nats_url, bucket)))


def test_add_defaults_match_natscli(nats_url: str, bucket: str) -> None:
    out = ok(nats_url, "new", bucket)  # the alias
    lines = out.splitlines()
    assert lines[2:16] == [
        "Configuration:",
        "",
        f"            Bucket Name: {bucket}",
        "           History Kept: 1",
        "          Values Stored: 0",
        "             Compressed: false",
        "  Per-Key TTL Supported: false",
        "     Backing Store Kind: JetStream",
        "            Bucket Size: 0 B",
        "    Maximum Bucket Size: unlimited",
        "     Maximum Value Size: unlimited",
        "            Maximum Age: unlimited",
        f"       JetStream Stream: KV_{bucket}",
        "                Storage: File",
    ]


def test_add_with_marker_ttl_enables_per_key_ttl(nats_url: str, bucket: str) -> None:
    out = ok(nats_url, "add", bucket, "--marker-ttl", "10s")
    assert "  Per-Key TTL Supported: true\n" in out
    assert "       Limit Marker TTL: 10.00s\n" in out
    assert ok(nats_url, "create", bucket, "k", "v", "--ttl", "5s") == "v\n"


def test_add_rejects_bad_sizes_and_values(nats_url: str, bucket: str) -> None:
    result = run(nats_url, "add", bucket, "--max-value-size", "3G")
    assert result.exit_code == 1
    assert result.stderr == (
        "natskv: error: max value size 3,221,225,472 is too big maximum is 2,147,483,647\n"
    )
    result = run(nats_url, "add", bucket, "--max-bucket-size", "12Q")
    assert result.exit_code == 2
    assert "invalid bytes specification" in result.stderr
    result = run(nats_url, "add", bucket, "--history", "100")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: history must be between 1 and 64")


def test_edit_changes_only_the_given_flags(nats_url: str, bucket: str) -> None:
    ok(nats_url, "add", bucket, "--storage", "memory", "--description", "before")
    out = ok(nats_url, "edit", bucket, "--history", "3", "--max-value-size", "512")
    assert "           History Kept: 3\n" in out
    assert "     Maximum Value Size: 512 B\n" in out
    assert "            Description: before\n" in out
    assert "                Storage: Memory\n" in out
    status = status_of(nats_url, bucket)
    assert status.history == 3
    assert status.description == "before"
    assert out == status_text(status_view(status))


def test_info_and_its_aliases(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "k", "v")
    expected = status_text(status_view(status_of(nats_url, hist_bucket)))
    assert "          Values Stored: 1\n" in expected
    for verb in ("info", "status", "view"):
        assert ok(nats_url, verb, hist_bucket) == expected
    assert ok(nats_url, "kv", "info", hist_bucket) == expected


def test_info_without_a_bucket_asks_for_one(nats_url: str, hist_bucket: str) -> None:
    out = ok(nats_url, "info", input=f"{hist_bucket}\n")
    assert "Select a Bucket" in out
    assert f"Information for Key-Value Store Bucket {hist_bucket} created " in out


def test_unknown_bucket_is_an_error(nats_url: str, bucket: str) -> None:
    result = run(nats_url, "info", bucket)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"natskv: error: bucket not found: '{bucket}'\n"


# --- put / get / create / update -------------------------------------------------------


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


# --- del / purge / compact -------------------------------------------------------------


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


def test_del_bucket(nats_url: str, hist_bucket: str) -> None:
    out = ok(nats_url, "del", hist_bucket, input="n\n")
    assert f"Delete bucket {hist_bucket}?" in out
    assert out.endswith("Skipping delete\n")
    assert hist_bucket in ok(nats_url, "ls", "-n").split()

    assert ok(nats_url, "del", hist_bucket, "--force") == ""
    assert hist_bucket not in ok(nats_url, "ls", "-n").split()


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


def test_compact_removes_the_history_of_deleted_keys(nats_url: str, hist_bucket: str) -> None:
    for value in ("1", "2", "3"):
        ok(nats_url, "put", hist_bucket, "gone", value)
    ok(nats_url, "put", hist_bucket, "kept", "v")
    ok(nats_url, "del", hist_bucket, "gone", "-f")

    out = ok(nats_url, "compact", hist_bucket, input="n\n")
    assert (
        f"Purge all historic values and audit trails for deleted keys in bucket {hist_bucket}?"
        in out
    )
    assert out.endswith("Skipping delete\n")
    assert len(history_of(nats_url, hist_bucket, "gone")) == 4

    assert ok(nats_url, "compact", hist_bucket, "--force") == ""
    # the marker is younger than 30 minutes: it stays, the values before it go
    gone = history_of(nats_url, hist_bucket, "gone")
    assert [e.operation for e in gone] == [natskv.KVOperation.DEL]
    assert entry_of(nats_url, hist_bucket, "kept").raw == b"v"


# --- history / revert ------------------------------------------------------------------


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


# --- ls --------------------------------------------------------------------------------


def test_ls_buckets_table_and_names(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "edit", hist_bucket, "--description", "listed")
    out = ok(nats_url, "ls")
    lines = out.splitlines()
    assert "Key-Value Buckets" in lines[1]
    header = [cell.strip() for cell in lines[3].split("│")[1:-1]]
    assert header == ["Bucket", "Description", "Created", "Size", "Values", "Last Update"]
    row = next(line for line in lines if line.startswith(f"│ {hist_bucket} "))
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    status = status_of(nats_url, hist_bucket)
    assert cells[:5] == [hist_bucket, "listed", format_time(status.created), "0 B", "0"]
    assert cells[5] == "never"
    assert out.endswith("╯\n\n")

    assert hist_bucket in ok(nats_url, "ls", "-n").splitlines()
    assert hist_bucket in ok(nats_url, "list", "--names").splitlines()
    assert hist_bucket in ok(nats_url, "kv", "ls", "-n").splitlines()


def test_ls_without_buckets(fresh_server: natskv.EmbeddedServer) -> None:
    assert ok(fresh_server.url, "ls") == NO_BUCKETS_FOUND + "\n"
    assert ok(fresh_server.url, "ls", "-n") == NO_BUCKETS_FOUND + "\n"


def test_ls_keys(nats_url: str, hist_bucket: str) -> None:
    assert ok(nats_url, "ls", hist_bucket) == "No keys found in bucket\n"
    for key in ("a.1", "a.2", "b.1"):
        ok(nats_url, "put", hist_bucket, key, f"value-{key}")
    ok(nats_url, "put", hist_bucket, "gone", "x")
    ok(nats_url, "del", hist_bucket, "gone", "-f")

    assert sorted(ok(nats_url, "ls", hist_bucket).splitlines()) == ["a.1", "a.2", "b.1"]
    assert sorted(ok(nats_url, "ls", hist_bucket, "a.*").splitlines()) == ["a.1", "a.2"]
    assert ok(nats_url, "ls", hist_bucket, "c.>") == "No keys found in bucket\n"

    rows = []
    for key in ok(nats_url, "ls", hist_bucket).splitlines():
        entry = entry_of(nats_url, hist_bucket, key)
        rows.append(KeyRow(entry.key, entry.created, entry.delta, entry.revision, entry.raw))
    assert ok(nats_url, "ls", hist_bucket, "-v") == keys_table(hist_bucket, rows)
    out = ok(nats_url, "ls", hist_bucket, "-v", "--display-value")
    assert out == keys_table(hist_bucket, rows, display_value=True)
    assert "value-a.1" in out


def test_global_options_may_follow_the_verb(nats_url: str, hist_bucket: str) -> None:
    result = _runner().invoke(cli, ["ls", "-n", "--server", nats_url, "--timeout", "2s"])
    assert result.exit_code == 0
    assert hist_bucket in result.stdout.splitlines()
    result = _runner().invoke(cli, ["kv", "-s", nats_url, "ls", "-n"])
    assert result.exit_code == 0
    assert hist_bucket in result.stdout.splitlines()


# --- watch -----------------------------------------------------------------------------


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


# --- misc ------------------------------------------------------------------------------


def test_version() -> None:
    result = _runner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("natskv ")


def test_unreachable_server(bucket: str) -> None:
    result = _runner().invoke(
        cli, ["-s", "nats://127.0.0.1:1", "--timeout", "1", "ls", "-n"], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: could not connect to any server")


def test_user_password_and_token() -> None:
    with natskv.EmbeddedServer(durable=False, user="alice", password="s3cret") as srv:
        out = ok(srv.url, "--user", "alice", "--password", "s3cret", "ls")
        assert out == NO_BUCKETS_FOUND + "\n"
        result = run(srv.url, "--user", "alice", "--password", "wrong", "ls")
        assert result.exit_code == 1
        assert result.stderr.startswith("natskv: error: ")
    with natskv.EmbeddedServer(durable=False, token="t0ken") as srv:
        # natscli: --user without --password is a token
        assert ok(srv.url, "--user", "t0ken", "ls", "-n") == NO_BUCKETS_FOUND + "\n"


def test_missing_nkey_file(nats_url: str, tmp_path: Any) -> None:
    result = run(nats_url, "--nkey", str(tmp_path / "missing.nk"), "ls")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: ")
    assert "missing.nk" in result.stderr
