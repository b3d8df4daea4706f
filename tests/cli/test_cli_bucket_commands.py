"""The bucket verbs of ``natskv`` (add, edit, info, ls, del BUCKET, compact), run in-process
against the session's nats-server; expected text comes from the library and the formatters."""

from __future__ import annotations

import pytest
from tests.cli.helpers import entry_of, history_of, ok, run, status_of

import natskv
from natskv.cli._kv_buckets import status_view
from natskv.cli.format import NO_BUCKETS_FOUND, KeyRow, format_time, keys_table, status_text

# --- add / edit / info ----------------------------------------------------------------


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


def test_info_without_a_bucket_off_a_terminal_is_an_error(nats_url: str, hist_bucket: str) -> None:
    result = run(nats_url, "info", input=f"{hist_bucket}\n")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "natskv: error: give the bucket to show (natskv info BUCKET): "
        "there is no terminal to ask on\n"
    )


def test_info_without_a_bucket_asks_for_one_on_a_terminal(
    nats_url: str, hist_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("natskv.cli._kv_buckets.stdin_is_tty", lambda: True)
    out = ok(nats_url, "info", input=f"{hist_bucket}\n")
    assert "Select a Bucket" in out
    assert f"Information for Key-Value Store Bucket {hist_bucket} created " in out


def test_unknown_bucket_is_an_error(nats_url: str, bucket: str) -> None:
    result = run(nats_url, "info", bucket)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"natskv: error: bucket not found: '{bucket}'\n"


# --- ls -------------------------------------------------------------------------------


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


# --- del BUCKET / compact -------------------------------------------------------------


def test_del_bucket(nats_url: str, hist_bucket: str) -> None:
    out = ok(nats_url, "del", hist_bucket, input="n\n")
    assert f"Delete bucket {hist_bucket}?" in out
    assert out.endswith("Skipping delete\n")
    assert hist_bucket in ok(nats_url, "ls", "-n").split()

    assert ok(nats_url, "del", hist_bucket, "--force") == ""
    assert hist_bucket not in ok(nats_url, "ls", "-n").split()


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
