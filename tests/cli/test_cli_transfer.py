"""``natskv export`` and ``natskv import``: a bucket as JSON lines and back, streamed, with a
progress bar only on a terminal."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import history_of, lib, ok, run, status_of
from tests.cli.terminal import Terminal

import natskv
from natskv.cli._json import entry_json
from natskv.cli._transfer import CHUNK

_ENTRY = "import sys; from natskv.cli import main; main(sys.argv[1:])"

_VALUES: dict[str, bytes] = {
    "text": b"plain",
    "unicode": "héllo wörld ✓".encode(),
    "controls": b"\x1b[31mred\n\ttab\x00",
    "binary": bytes(range(256)),
    "empty": b"",
    "nested.key.path": b'{"json": true}',
}


@pytest.fixture
def target(nats_url: str) -> Iterator[str]:
    """A second, empty bucket (history 5), dropped after the test."""
    name = "cli_target_" + uuid.uuid4().hex[:8]
    ok(nats_url, "add", name, "--history", "5")
    yield name

    async def drop(kv: natskv.KVContext) -> None:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(name)

    lib(nats_url, drop)


def _fill(url: str, bucket: str) -> None:
    async def work(kv: natskv.KVContext) -> None:
        store = await kv.get_store(bucket)
        for key, value in _VALUES.items():
            await store.put(key, value)
        await store.put("text", b"plain, second revision")
        await store.put("deleted", b"soon gone")
        await store.delete("deleted")
        await store.put("purged", b"soon gone")
        await store.purge("purged")

    lib(url, work)


def _contents(url: str, bucket: str) -> dict[str, bytes]:
    async def work(kv: natskv.KVContext) -> dict[str, bytes]:
        store = await kv.get_store(bucket)
        return {key: await store.get(key) async for key in store.keys()}

    return lib(url, work)


def _latest(url: str, bucket: str) -> list[natskv.KVEntry[bytes]]:
    async def work(kv: natskv.KVContext) -> list[natskv.KVEntry[bytes]]:
        store = await kv.get_store(bucket)
        async with store.watch() as watcher:
            return await watcher.initial_values()

    return lib(url, work)


def test_export_writes_the_latest_entry_of_every_key(nats_url: str, hist_bucket: str) -> None:
    _fill(nats_url, hist_bucket)
    result = run(nats_url, "export", hist_bucket)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # no terminal: no progress bar
    lines = [json.loads(line) for line in result.stdout_bytes.splitlines()]
    assert lines == [entry_json(e) for e in _latest(nats_url, hist_bucket)]
    by_key = {line["key"]: line for line in lines}
    assert by_key["text"]["value"] == "plain, second revision"
    assert by_key["deleted"]["operation"] == "DEL"
    assert by_key["purged"]["operation"] == "PURGE"
    assert "value_b64" in by_key["binary"]


def test_export_then_import_gives_the_same_keys_and_values(
    nats_url: str, hist_bucket: str, target: str, tmp_path: Path
) -> None:
    _fill(nats_url, hist_bucket)
    dump = tmp_path / "dump.jsonl"
    assert ok(nats_url, "export", hist_bucket, str(dump)) == ""
    assert ok(nats_url, "import", target, str(dump)) == ""
    source = _contents(nats_url, hist_bucket)
    assert source == {**_VALUES, "text": b"plain, second revision"}
    assert _contents(nats_url, target) == source
    # the markers came along as markers
    assert [e.operation for e in history_of(nats_url, target, "deleted")] == [
        natskv.KVOperation.DEL
    ]
    assert [e.operation for e in history_of(nats_url, target, "purged")] == [
        natskv.KVOperation.PURGE
    ]


def test_export_and_import_through_a_pipe(nats_url: str, hist_bucket: str, target: str) -> None:
    _fill(nats_url, hist_bucket)
    dump = run(nats_url, "export", hist_bucket, "-").stdout_bytes
    result = run(nats_url, "import", target, input=dump)
    assert result.exit_code == 0, result.stderr
    assert _contents(nats_url, target) == _contents(nats_url, hist_bucket)


def test_export_history_replays_the_revisions(nats_url: str, hist_bucket: str, target: str) -> None:
    _fill(nats_url, hist_bucket)
    dump = ok(nats_url, "export", hist_bucket, "--history")
    assert [json.loads(line)["value"] for line in dump.splitlines() if '"text"' in line] == [
        "plain",
        "plain, second revision",
    ]
    ok(nats_url, "import", target, input=dump)
    assert _contents(nats_url, target) == _contents(nats_url, hist_bucket)
    assert [e.value for e in history_of(nats_url, target, "text")] == [
        b"plain",
        b"plain, second revision",
    ]


def test_import_stops_at_a_bad_line(nats_url: str, target: str) -> None:
    lines = [
        json.dumps({"key": "one", "value": "1"}),
        "",
        json.dumps({"key": "two", "value_b64": "Mg=="}),
        json.dumps({"key": "three", "operation": "SET", "value": "3"}),
        json.dumps({"key": "four", "value": "4"}),
    ]
    result = run(nats_url, "import", target, input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    assert result.stderr == (
        "natskv: error: line 4: 'operation' must be PUT, DEL or PURGE, not 'SET' "
        "(2 records were imported before it)\n"
    )
    assert _contents(nats_url, target) == {"one": b"1", "two": b"2"}
    for bad, message in (
        ("not json", "line 1: not JSON"),
        ("[1]", "line 1: expected a JSON object"),
        ('{"value": "x"}', "line 1: 'key' must be a non-empty string"),
        ('{"key": "k", "value_b64": "@@"}', "line 1: 'value_b64' is not base64"),
        ('{"key": "k", "value": 3}', "line 1: 'value' must be a string"),
    ):
        result = run(nats_url, "import", target, input=bad + "\n")
        assert result.exit_code == 1
        assert result.stderr.startswith(f"natskv: error: {message}"), result.stderr
    # one record before the bad line is said in the singular
    result = run(nats_url, "import", target, input='{"key": "five", "value": "5"}\n[5]\n')
    assert result.exit_code == 1
    assert result.stderr == (
        "natskv: error: line 2: expected a JSON object (1 record was imported before it)\n"
    )


def test_import_of_an_invalid_key_names_its_lines(nats_url: str, target: str) -> None:
    result = run(nats_url, "import", target, input='{"key": "bad key"}\n')
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: lines 1-1: ")
    assert _contents(nats_url, target) == {}


def test_import_into_a_missing_bucket(nats_url: str, bucket: str) -> None:
    result = run(nats_url, "import", bucket, input='{"key": "k", "value": "v"}\n')
    assert result.exit_code == 1
    assert result.stderr == f"natskv: error: bucket not found: '{bucket}'\n"


def test_export_to_an_unwritable_file(nats_url: str, hist_bucket: str, tmp_path: Path) -> None:
    result = run(nats_url, "export", hist_bucket, str(tmp_path / "missing" / "dump.jsonl"))
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: cannot open ")


def test_import_100000_keys(nats_url: str, target: str, tmp_path: Path) -> None:
    n = 100_000
    dump = tmp_path / "big.jsonl"
    with dump.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"key": f"k.{i}", "value": f"value {i}"}) + "\n")
    result = run(nats_url, "import", target, str(dump))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert status_of(nats_url, target).values == n
    # every key arrived once, with its own value
    latest = _latest(nats_url, target)
    assert len(latest) == n
    assert {e.key: e.value for e in latest} == {f"k.{i}": f"value {i}".encode() for i in range(n)}
    assert {e.operation for e in latest} == {natskv.KVOperation.PUT}


def _natskv(*args: str, **popen: Any) -> subprocess.Popen[bytes]:
    """``natskv <args>`` as a process of its own (its output is a real pipe, no terminal)."""
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL"}
    return subprocess.Popen([sys.executable, "-c", _ENTRY, *args], env=env, **popen)


def test_export_piped_into_import_is_silent(nats_url: str, hist_bucket: str, target: str) -> None:
    """``natskv export a | natskv import b``: two processes, no terminal, nothing on STDERR."""
    _fill(nats_url, hist_bucket)
    exporter = _natskv(
        "-s", nats_url, "export", hist_bucket, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    importer = _natskv(
        "-s", nats_url, "import", target, stdin=exporter.stdout, stderr=subprocess.PIPE
    )
    assert exporter.stdout is not None
    exporter.stdout.close()  # the importer holds the read end now
    _, import_errors = importer.communicate(timeout=60)
    _, export_errors = exporter.communicate(timeout=60)
    assert (exporter.returncode, export_errors) == (0, b"")
    assert (importer.returncode, import_errors) == (0, b"")
    assert _contents(nats_url, target) == _contents(nats_url, hist_bucket)


def test_import_streams_its_input(nats_url: str, target: str) -> None:
    """Records are written while the input is still open, not after it ends: a few records
    as soon as the writer pauses, a full chunk while it waits (a blocking read of the pipe
    used to hold them unsent until more input came)."""
    importer = _natskv(
        "-s", nats_url, "import", target, stdin=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdin = importer.stdin
    assert stdin is not None

    def write(first: int, count: int) -> None:
        for i in range(first, first + count):
            stdin.write(json.dumps({"key": f"k.{i}", "value": str(i)}).encode() + b"\n")
        stdin.flush()

    def wait_for_values(n: int) -> None:
        deadline = time.monotonic() + 30
        while status_of(nats_url, target).values < n:
            assert importer.poll() is None, importer.stderr.read() if importer.stderr else ""
            assert time.monotonic() < deadline, f"{n} records never arrived"
            time.sleep(0.05)
        assert importer.poll() is None  # still reading: the input has not ended

    try:
        write(0, 3)
        wait_for_values(3)
        write(3, CHUNK)
        wait_for_values(CHUNK + 3)
        stdin.write(b'{"key": "last", "value": "end"}\n')
        _, errors = importer.communicate(timeout=60)
    finally:
        if importer.poll() is None:
            importer.kill()
            importer.communicate()  # and close the pipes
    assert (importer.returncode, errors) == (0, b"")
    assert status_of(nats_url, target).values == CHUNK + 4


def test_progress_bars_under_a_pseudo_terminal(
    nats_url: str, hist_bucket: str, target: str, tmp_path: Path
) -> None:
    _fill(nats_url, hist_bucket)
    count = len(_latest(nats_url, hist_bucket))
    dump = tmp_path / "dump.jsonl"
    term = Terminal(["-s", nats_url, "export", hist_bucket, str(dump)])
    try:
        assert term.finish() == 0, term.output
    finally:
        term.kill()
    assert f"export {hist_bucket}".encode() in term.text
    assert f"{count}/{count} entries".encode() in term.text
    assert len(dump.read_text().splitlines()) == count

    term = Terminal(["-s", nats_url, "import", target, str(dump)])
    try:
        assert term.finish() == 0, term.output
    finally:
        term.kill()
    assert f"import {target}".encode() in term.text
    assert f"{count}/{count} records".encode() in term.text
    assert _contents(nats_url, target) == _contents(nats_url, hist_bucket)


def test_no_progress_bar_among_lines_exported_to_the_terminal(
    nats_url: str, hist_bucket: str
) -> None:
    """Without FILE on a terminal, the lines are the whole output: the bar, drawn on
    STDERR (the same terminal), would be drawn among them, the first line after it."""
    _fill(nats_url, hist_bucket)
    term = Terminal(["-s", nats_url, "export", hist_bucket])
    try:
        assert term.finish() == 0, term.output
    finally:
        term.kill()
    shown = [json.loads(line)["key"] for line in term.text.decode().splitlines()]
    assert shown == [entry.key for entry in _latest(nats_url, hist_bucket)]


def test_no_progress_bar_while_the_lines_are_typed(nats_url: str, target: str) -> None:
    """Without FILE, an import reads a terminal's lines as they are typed: no bar is drawn
    over them."""
    term = Terminal(["-s", nats_url, "import", target])
    try:
        term.write(b'{"key": "typed", "value": "at the terminal"}\n\x04')
        assert term.finish() == 0, term.output
    finally:
        term.kill()
    assert b"records" not in term.text
    assert _contents(nats_url, target) == {"typed": b"at the terminal"}
