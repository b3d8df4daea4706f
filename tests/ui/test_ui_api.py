"""The UI's JSON API and live events against a real nats-server (token given)."""

from __future__ import annotations

import asyncio
import base64
import uuid

import pytest
from tests.ui.helpers import Client, read_events

import natskv
from natskv.ui import UIServer
from natskv.ui._keys import MAX_LIMIT


async def _all_pages(client: Client, bucket: str, limit: int, **params: str) -> list[list[str]]:
    pages, offset = [], 0
    while True:
        reply = await client.get(
            f"/api/buckets/{bucket}/keys", {"offset": offset, "limit": limit, **params}
        )
        assert reply.status == 200, reply
        page = reply.json()
        pages.append(page["keys"])
        if not page["more"]:
            assert page["total"] == offset + len(page["keys"])
            return pages
        assert page["total"] is None
        offset += limit


async def test_the_buckets_table_is_what_ls_lists(
    client: Client, kv: natskv.KVContext, cleanup: list[str]
) -> None:
    name = "ui_ls_" + uuid.uuid4().hex[:10]
    cleanup.append(name)
    store = await kv.create_store(natskv.KVConfig(bucket=name, description="<b>desc</b>"))
    for i in range(3):
        await store.put(f"k{i}", b"value")
    rows = (await client.get("/api/buckets")).json()["buckets"]
    statuses = {s.bucket: s async for s in kv.store_statuses()}
    assert {r["bucket"] for r in rows} == set(statuses)
    assert [r["bytes"] for r in rows] == sorted(r["bytes"] for r in rows)  # as `ls` orders
    row = next(r for r in rows if r["bucket"] == name)
    assert row["description"] == "<b>desc</b>" and row["values"] == 3
    assert row["last_update"] is not None and row["created"] is not None


async def test_a_buckets_status(client: Client, kv: natskv.KVContext, cleanup: list[str]) -> None:
    name = "ui_status_" + uuid.uuid4().hex[:10]
    cleanup.append(name)
    await kv.create_store(natskv.KVConfig(bucket=name, history=7, ttl=3600, storage="memory"))
    status = (await client.get(f"/api/buckets/{name}")).json()
    assert status["bucket"] == name and status["stream"] == f"KV_{name}"
    assert (status["history"], status["ttl"], status["storage"]) == (7, 3600.0, "memory")
    assert (await client.get("/api/buckets/no_such_bucket")).status == 404
    bad = await client.get("/api/buckets/bad.name")
    assert bad.status == 400 and bad.json()["type"] == "InvalidBucketNameError"


async def test_key_pages_cover_the_listing_once(client: Client, kv_store: natskv.KVStore) -> None:
    await kv_store.put_many((f"k.{i:04d}", b"v") for i in range(2500))
    pages = await _all_pages(client, kv_store.bucket, MAX_LIMIT)
    assert [len(p) for p in pages] == [1000, 1000, 500]
    assert [k for p in pages for k in p] == await kv_store.list_keys()
    # a page size that divides the listing: the last full page says there is no more
    await kv_store.put_many((f"k.{i:04d}", b"v") for i in range(2500, 3000))
    assert [len(p) for p in await _all_pages(client, kv_store.bucket, 1000)] == [1000] * 3


@pytest.mark.timeout(240)
async def test_paging_holds_for_100000_keys(client: Client, kv_store: natskv.KVStore) -> None:
    keys = [f"key.{i:06d}" for i in range(100_000)]
    await kv_store.put_many((k, b"v") for k in keys)
    url = f"/api/buckets/{kv_store.bucket}/keys"
    first = await client.get(url, {"limit": 100})
    last = await client.get(url, {"offset": 99_900, "limit": 100})
    # each page holds its own keys and nothing else: the listing is never sent whole
    assert first.json()["keys"] == keys[:100] and first.json()["more"] is True
    assert last.json()["keys"] == keys[-100:]
    assert (last.json()["more"], last.json()["total"]) == (False, 100_000)
    assert len(last.body) < 4000
    for offset in (100_000, 150_000):  # past the end: no keys, and still the true total
        beyond = (await client.get(url, {"offset": offset, "limit": 100})).json()
        assert (beyond["keys"], beyond["more"], beyond["total"]) == ([], False, 100_000)


async def test_keys_filter_by_subject_or_by_text(client: Client, kv_store: natskv.KVStore) -> None:
    for key in ("orders.eu.1", "orders.us.2", "users.eu.3", "orders.eu.4"):
        await kv_store.put(key, b"v")
    url = f"/api/buckets/{kv_store.bucket}/keys"
    by_subject = (await client.get(url, {"filter": "orders.*.>"})).json()
    assert by_subject["keys"] == ["orders.eu.1", "orders.us.2", "orders.eu.4"]
    assert by_subject["filter"] == {"kind": "subject", "subject": "orders.*.>"}
    by_text = (await client.get(url, {"filter": "eu"})).json()
    assert by_text["keys"] == ["orders.eu.1", "users.eu.3", "orders.eu.4"]
    assert by_text["filter"]["kind"] == "text"
    paged = (await client.get(url, {"filter": "eu", "offset": 1, "limit": 1})).json()
    assert (paged["keys"], paged["more"]) == (["users.eu.3"], True)


async def test_bad_paging_parameters_are_refused(client: Client, kv_store: natskv.KVStore) -> None:
    url = f"/api/buckets/{kv_store.bucket}/keys"
    for params in ({"limit": 0}, {"limit": MAX_LIMIT + 1}, {"offset": -1}, {"offset": "x"}):
        reply = await client.get(url, params)
        assert reply.status == 400, params
        assert reply.json()["type"] == "BadRequest"
    bad_filter = await client.get(url, {"filter": "a.>.b"})
    assert bad_filter.status == 400 and bad_filter.json()["type"] == "InvalidKeyError"


async def test_deleted_keys_are_not_listed(client: Client, kv_store: natskv.KVStore) -> None:
    for key in ("a", "b", "c"):
        await kv_store.put(key, b"v")
    await kv_store.delete("b")
    await kv_store.purge("c")
    page = (await client.get(f"/api/buckets/{kv_store.bucket}/keys")).json()
    assert page["keys"] == ["a"]


async def test_an_entry_with_its_value_rendered(client: Client, kv_store: natskv.KVStore) -> None:
    await kv_store.put("doc", b'{"a":1}')
    await kv_store.put("bin", b"\x00\xff")
    url = f"/api/buckets/{kv_store.bucket}/entry"
    doc = (await client.get(url, {"key": "doc"})).json()
    assert (doc["key"], doc["revision"], doc["operation"], doc["size"]) == ("doc", 1, "PUT", 7)
    assert doc["value"]["kind"] == "json" and doc["value"]["json"] == '{\n  "a": 1\n}'
    binary = (await client.get(url, {"key": "bin"})).json()
    assert binary["value"]["kind"] == "binary"
    assert binary["value"]["hex"].startswith("00000000: 00ff")


@pytest.mark.kv_config(history=5)
async def test_an_earlier_revision_and_the_history(
    client: Client, kv_store: natskv.KVStore
) -> None:
    first = await kv_store.put("k", b"one")
    await kv_store.put("k", b"two")
    await kv_store.delete("k")
    base = f"/api/buckets/{kv_store.bucket}"
    old = (await client.get(f"{base}/entry", {"key": "k", "revision": first})).json()
    assert old["value"]["text"] == "one" and old["revision"] == first
    history = (await client.get(f"{base}/history", {"key": "k"})).json()["history"]
    assert [(h["operation"], h["preview"]) for h in history] == [
        ("PUT", "one"),
        ("PUT", "two"),
        ("DEL", ""),
    ]
    assert (await client.get(f"{base}/history", {"key": "never"})).json()["history"] == []


async def test_a_deleted_or_missing_key_is_404_with_what_is_known(
    client: Client, kv_store: natskv.KVStore
) -> None:
    await kv_store.put("gone", b"v")
    marker = await kv_store.delete("gone")
    url = f"/api/buckets/{kv_store.bucket}/entry"
    gone = await client.get(url, {"key": "gone"})
    assert gone.status == 404
    assert gone.json()["type"] == "KeyDeletedError"
    assert (gone.json()["revision"], gone.json()["operation"]) == (marker, "DEL")
    missing = await client.get(url, {"key": "never"})
    assert missing.status == 404 and missing.json()["type"] == "KeyNotFoundError"
    assert (await client.get(url)).status == 400  # no key at all
    bad = await client.get(url, {"key": "a b"})
    assert bad.status == 400 and bad.json()["type"] == "InvalidKeyError"


@pytest.mark.kv_config(history=5)
async def test_put_delete_and_purge(client: Client, kv_store: natskv.KVStore) -> None:
    base = f"/api/buckets/{kv_store.bucket}"
    put = await client.post(f"{base}/put", {"key": "k", "value": "<b>héllo</b>"})
    assert put.status == 200
    assert await kv_store.get("k") == "<b>héllo</b>".encode()
    assert put.json() == {"key": "k", "revision": (await kv_store.get_entry("k")).revision}
    raw = base64.b64encode(b"\x00\x01binary").decode()
    await client.post(f"{base}/put", {"key": "b", "value": raw, "encoding": "base64"})
    assert await kv_store.get("b") == b"\x00\x01binary"

    deleted = await client.post(f"{base}/delete", {"key": "k"})
    assert deleted.status == 200
    with pytest.raises(natskv.KeyDeletedError) as info:
        await kv_store.get("k")
    assert info.value.revision == deleted.json()["revision"]
    assert len([e async for e in kv_store.history("k")]) == 2  # delete keeps the history

    purged = await client.post(f"{base}/purge", {"key": "k"})
    assert purged.status == 200
    history = [e async for e in kv_store.history("k")]
    assert [e.operation for e in history] == [natskv.KVOperation.PURGE]


async def test_bad_writes_are_refused_before_anything_is_sent(
    client: Client, kv_store: natskv.KVStore
) -> None:
    base = f"/api/buckets/{kv_store.bucket}"
    for body in (
        {"value": "v"},
        {"key": "", "value": "v"},
        {"key": "k"},
        {"key": "k", "value": 5},
        {"key": "k", "value": "v", "encoding": "rot13"},
        {"key": "k", "value": "not base64!", "encoding": "base64"},
        ["not", "an", "object"],
    ):
        reply = await client.post(f"{base}/put", body)
        assert reply.status == 400, body
    invalid_key = await client.post(f"{base}/put", {"key": "a b", "value": "v"})
    assert invalid_key.status == 400 and invalid_key.json()["type"] == "InvalidKeyError"
    broken = await client.request(
        "POST", f"{base}/put", headers={"Content-Type": "application/json"}, body=b"{oops"
    )
    assert broken.status == 400
    assert await kv_store.list_keys() == []
    # no such bucket: nothing to write to
    gone = await client.post("/api/buckets/no_such_bucket/put", {"key": "k", "value": "v"})
    assert gone.status == 404 and gone.json()["type"] == "BucketNotFoundError"


async def test_live_events_report_changes_from_another_connection(
    client: Client, kv_store: natskv.KVStore, nats_url: str
) -> None:
    started = asyncio.Event()
    path = client.url(f"/api/buckets/{kv_store.bucket}/events")
    reading = asyncio.ensure_future(read_events(client.port, path, 4, started=started))
    await asyncio.wait_for(started.wait(), 10)
    async with await natskv.connect(nats_url) as other:
        store = await natskv.KVContext(natskv.JetStream(other)).get_store(kv_store.bucket)
        put = await store.put("greeting", b"hello\nthere")
        deleted = await store.delete("greeting")
        await store.purge("greeting")
    events = await asyncio.wait_for(reading, 10)
    assert [name for name, _ in events] == ["ready", "change", "change", "change"]
    changes = [data for _, data in events[1:]]
    assert [(c["key"], c["operation"]) for c in changes] == [
        ("greeting", "PUT"),
        ("greeting", "DEL"),
        ("greeting", "PURGE"),
    ]
    assert (changes[0]["revision"], changes[0]["preview"], changes[0]["size"]) == (
        put,
        "hello there",
        11,
    )
    assert changes[1]["revision"] == deleted


async def test_events_of_an_unknown_bucket_are_404(client: Client) -> None:
    reply = await client.get("/api/buckets/no_such_bucket/events")
    assert reply.status == 404 and reply.json()["type"] == "BucketNotFoundError"


async def test_nats_errors_are_json_with_a_502(kv: natskv.KVContext, nc: natskv.Connection) -> None:
    async with UIServer(kv) as server:
        client = Client(server.port, server.token)
        await nc.close()
        reply = await client.get("/api/buckets")
        assert reply.status == 502
        assert reply.json()["type"] == "ConnectionClosedError"
