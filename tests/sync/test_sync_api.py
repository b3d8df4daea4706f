"""``natskv.sync``: the async API without ``async``, on a real server.

Checked here: the sync quick start prints what the async one does; the generated module is
what the async source gives; many threads share one connection with exact CAS counters;
watchers and key scans are plain iterators that release their consumer when left; errors
are the async API's classes; it works where an event loop already runs in the thread.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.test_quickstart import _check_output

import natskv
import natskv.sync

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sync_store(sync_kv_store: natskv.sync.KVStore) -> natskv.sync.KVStore:
    """The plugin's fresh bucket (history 5, memory, from the module's kv_config marker)."""
    return sync_kv_store


pytestmark = pytest.mark.kv_config(history=5, storage="memory")


def _consumer_count(store: natskv.sync.KVStore) -> int:
    return store.js.stream_info(store.stream).state.consumer_count


def _wait_for(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.02)


def test_the_generated_module_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_sync.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sync_quick_start_prints_what_the_async_one_does(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL"}
    env["HOME"] = str(tmp_path)  # the embedded server's data: fresh, so the bucket is new
    env["NATSKV_HOME"] = str(tmp_path / "natskv")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart_sync.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    _check_output(result.stdout)


def test_key_operations_and_errors_are_the_async_apis(sync_store: natskv.sync.KVStore) -> None:
    rev = sync_store.put("a", b"1")
    assert sync_store.get("a") == b"1"
    entry = sync_store.get_entry("a")
    assert isinstance(entry, natskv.KVEntry) and entry.revision == rev
    assert sync_store.update("a", b"2", rev) == rev + 1
    with pytest.raises(natskv.WrongRevisionError):
        sync_store.update("a", b"3", rev)
    with pytest.raises(natskv.KeyExistsError):
        sync_store.create("a", b"x")
    sync_store.delete("a")
    with pytest.raises(natskv.KeyDeletedError):
        sync_store.get("a")
    with pytest.raises(natskv.InvalidKeyError):
        sync_store.put("bad key", b"x")
    assert sync_store.put_many([("b", b"1"), ("c", b"2")]) == [rev + 3, rev + 4]
    assert sorted(sync_store.keys()) == ["b", "c"]
    assert sorted(sync_store.list_keys()) == ["b", "c"]
    assert [e.revision for e in sync_store.history("a")] == [rev, rev + 1, rev + 2]
    assert set(sync_store.get_many(["b", "c"])) == {"b", "c"}
    assert sync_store.status().values == 5
    result = sync_store.try_create("b", b"again")
    assert not result.ok and isinstance(result.error, natskv.KeyExistsError)


def test_sixteen_threads_share_one_connection_and_cas_counters_end_exact(
    sync_store: natskv.sync.KVStore,
) -> None:
    threads, increments, counters = 16, 25, 4
    for c in range(counters):
        sync_store.put(f"counter.{c}", b"0")
    errors: list[BaseException] = []

    def bump(n: int) -> None:
        try:
            for i in range(increments):
                key = f"counter.{(n + i) % counters}"
                sync_store.update_with(key, lambda v: str(int(v) + 1).encode(), retries=1000)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=bump, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not errors
    total = sum(int(sync_store.get(f"counter.{c}")) for c in range(counters))
    assert total == threads * increments


def test_a_watcher_is_an_iterator_released_when_the_loop_is_left(
    sync_store: natskv.sync.KVStore,
) -> None:
    sync_store.put("k", b"v")
    for _ in range(3):
        for entry in sync_store.watch():
            assert entry.key == "k"
            break
    _wait_for(lambda: _consumer_count(sync_store) == 0)

    with sync_store.watch() as w:
        assert [e.key for e in w.initial_values()] == ["k"]
        assert w.caught_up
        assert _consumer_count(sync_store) == 1
    _wait_for(lambda: _consumer_count(sync_store) == 0)


def test_a_key_scan_left_early_releases_its_consumer(sync_store: natskv.sync.KVStore) -> None:
    sync_store.put_many([(f"k{i}", b"v") for i in range(50)])
    for key in sync_store.keys():
        assert key.startswith("k")
        break
    _wait_for(lambda: _consumer_count(sync_store) == 0)


def test_a_watcher_read_by_another_thread_sees_changes(sync_store: natskv.sync.KVStore) -> None:
    seen: list[str] = []
    with sync_store.watch(updates_only=True) as w:

        def read() -> None:
            for entry in w:
                seen.append(entry.key)
                if len(seen) == 3:
                    return

        reader = threading.Thread(target=read)
        reader.start()
        for k in ("a", "b", "c"):
            sync_store.put(k, b"1")
        reader.join(10)
    assert seen == ["a", "b", "c"]


def test_it_works_inside_a_running_event_loop(nats_url: str, bucket_name: str) -> None:
    """As in a notebook: sync calls made from code running on an event loop's thread."""

    async def cell() -> bytes:
        with natskv.sync.connect(nats_url) as nc:
            kv = natskv.sync.KVContext(natskv.sync.JetStream(nc))
            store = kv.create_store(natskv.KVConfig(bucket=bucket_name, storage="memory"))
            try:
                store.put("k", b"from a loop")
                return store.get("k")
            finally:
                kv.delete_store(bucket_name)

    assert asyncio.run(cell()) == b"from a loop"


def test_a_closed_connection_refuses_calls(nats_url: str) -> None:
    nc = natskv.sync.connect(nats_url)
    js = natskv.sync.JetStream(nc)
    nc.close()
    assert nc.is_closed
    with pytest.raises(natskv.ConnectionClosedError):
        js.account_info()


def test_hot_operations_go_from_the_calling_thread_with_the_same_results_and_errors(
    sync_nc: natskv.sync.Connection, sync_store: natskv.sync.KVStore
) -> None:
    """put, get and get_entry are planned (kv._plan): sent from this thread, finished here."""
    writer = sync_nc._async._writer
    before = writer.thread_msgs_out
    rev = sync_store.put("hot", b"v")
    assert sync_store.get("hot") == b"v"
    assert sync_store.get_entry("hot").revision == rev
    assert sync_store.get("missing", default=None) is None
    with pytest.raises(natskv.KeyNotFoundError):
        sync_store.get_entry("missing")
    sync_store.delete("hot")
    with pytest.raises(natskv.KeyDeletedError):
        sync_store.get("hot")
    assert sync_store.get("hot", default=b"gone") == b"gone"
    assert writer.thread_msgs_out - before >= 6  # they did not hop through the loop
    # a value over the server's limit is refused in KV terms, as the async API does
    too_big = b"x" * (sync_nc.max_payload + 1)
    with pytest.raises(natskv.ValueTooLargeError):
        sync_store.put("big", too_big)
