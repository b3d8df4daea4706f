"""``--json`` of the read verbs (ls, get, history, info): what scripts parse, lossless for
binary values (``watch --json`` is in test_cli_watch_terminal.py)."""

from __future__ import annotations

import base64
import json

from tests.cli.helpers import entry_of, history_of, ok, run, status_of

from natskv.cli._json import entry_json, entry_value, format_utc


def test_get_json(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "text", "héllo\n\x1b")
    entry = entry_of(nats_url, hist_bucket, "text")
    assert json.loads(ok(nats_url, "get", hist_bucket, "text", "--json")) == {
        "bucket": hist_bucket,
        "key": "text",
        "revision": entry.revision,
        "operation": "PUT",
        "created": format_utc(entry.created),
        "value": "héllo\n\x1b",
    }
    binary = bytes(range(256))
    ok(nats_url, "put", hist_bucket, "bin", input=binary)
    obj = json.loads(ok(nats_url, "get", hist_bucket, "bin", "--json"))
    assert "value" not in obj
    assert base64.b64decode(obj["value_b64"]) == binary
    assert entry_value(obj) == binary


def test_get_json_of_a_missing_key_is_an_error(nats_url: str, hist_bucket: str) -> None:
    result = run(nats_url, "get", hist_bucket, "nope", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""


def test_history_json(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "k", "one")
    ok(nats_url, "put", hist_bucket, "k", "two")
    ok(nats_url, "del", hist_bucket, "k", "-f")
    got = json.loads(ok(nats_url, "history", hist_bucket, "k", "--json"))
    assert got == [entry_json(e) for e in history_of(nats_url, hist_bucket, "k")]
    assert [(e["operation"], e.get("value")) for e in got] == [
        ("PUT", "one"),
        ("PUT", "two"),
        ("DEL", None),
    ]


def test_info_json(nats_url: str, hist_bucket: str) -> None:
    ok(nats_url, "put", hist_bucket, "k", "v")
    got = json.loads(ok(nats_url, "info", hist_bucket, "--json"))
    status = status_of(nats_url, hist_bucket)
    assert got["bucket"] == hist_bucket
    assert got["values"] == status.values == 1
    assert got["history"] == 5
    assert got["storage"] == "file"
    assert got["stream_name"] == f"KV_{hist_bucket}"
    assert got["created"] == format_utc(status.created)


def test_ls_json(nats_url: str, hist_bucket: str) -> None:
    names = json.loads(ok(nats_url, "ls", "-n", "--json"))
    assert hist_bucket in names
    buckets = json.loads(ok(nats_url, "ls", "--json"))
    assert hist_bucket in [b["bucket"] for b in buckets]

    assert json.loads(ok(nats_url, "ls", hist_bucket, "--json")) == []
    for key in ("b.1", "a", "b.2"):
        ok(nats_url, "put", hist_bucket, key, f"v-{key}")
    assert sorted(json.loads(ok(nats_url, "ls", hist_bucket, "--json"))) == ["a", "b.1", "b.2"]
    assert sorted(json.loads(ok(nats_url, "ls", hist_bucket, "b.*", "--json"))) == ["b.1", "b.2"]
    verbose = json.loads(ok(nats_url, "ls", hist_bucket, "-v", "--json"))
    assert sorted((e["key"], e["value"]) for e in verbose) == [
        ("a", "v-a"),
        ("b.1", "v-b.1"),
        ("b.2", "v-b.2"),
    ]
