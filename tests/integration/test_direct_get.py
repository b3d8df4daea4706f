"""Reading stored messages against a real nats-server: Direct Get (by subject, by sequence,
batches with multi_last and paging) and the leader's STREAM.MSG.GET."""

from __future__ import annotations

import uuid

import pytest
from tests.integration.helpers import js_name, publish_n

import natskv
from natskv.client import Msg
from natskv.errors import NoMessageFoundError, StreamNotFoundError
from natskv.jetstream import StoredMessage

# -- single messages --------------------------------------------------------------------


async def test_direct_get_last_by_subject(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a", "b", "a", "b"])
    msg = await js.direct_get_last(stream, f"{stream}.a")
    assert msg.data == b"m2"
    h = msg.headers
    assert h["Nats-Stream"] == stream
    assert h["Nats-Subject"] == f"{stream}.a"
    assert h["Nats-Sequence"] == "3"
    assert h["Nats-Time-Stamp"].endswith("Z")

    by_json = await js.direct_get(stream, last_by_subj=f"{stream}.b")
    assert by_json.headers["Nats-Sequence"] == "4"
    assert by_json.data == b"m3"


async def test_direct_get_by_seq_and_next_by_subject(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a", "b", "a", "b"])
    msg = await js.direct_get(stream, seq=2)
    assert msg.headers["Nats-Subject"] == f"{stream}.b"
    assert msg.data == b"m1"
    nxt = await js.direct_get(stream, seq=2, next_by_subj=f"{stream}.a")
    assert nxt.headers["Nats-Sequence"] == "3"


async def test_direct_get_not_found(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a"])
    with pytest.raises(NoMessageFoundError) as ei:
        await js.direct_get_last(stream, f"{stream}.missing")
    assert ei.value.code == 404
    with pytest.raises(NoMessageFoundError):
        await js.direct_get(stream, seq=99)
    with pytest.raises(NoMessageFoundError):
        await js.direct_get(stream, last_by_subj=f"{stream}.missing")


async def test_get_msg(js: natskv.JetStream, stream: str) -> None:
    await js.publish(f"{stream}.a", b"plain")
    await js.publish(f"{stream}.a", b"with-headers", headers={"X-One": "1"})
    await js.publish(f"{stream}.b", b"bee")
    first = await js.get_msg(stream, seq=1)
    assert isinstance(first, StoredMessage)
    assert (first.subject, first.seq, first.data, first.hdrs) == (f"{stream}.a", 1, b"plain", None)
    assert first.time

    last_a = await js.get_msg(stream, last_by_subj=f"{stream}.a")
    assert last_a.seq == 2
    assert last_a.data == b"with-headers"
    assert last_a.hdrs is not None and b"X-One: 1" in last_a.hdrs

    nxt = await js.get_msg(stream, seq=1, next_by_subj=f"{stream}.b")
    assert nxt.seq == 3

    with pytest.raises(NoMessageFoundError) as ei:
        await js.get_msg(stream, seq=50)
    assert ei.value.err_code == 10037
    with pytest.raises(StreamNotFoundError):
        await js.get_msg(js_name("MISSING"), seq=1)


# -- batches ----------------------------------------------------------------------------


async def test_direct_get_batch_multi_last(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a", "b", "a", "c", "b"])
    got: list[Msg] = []
    end = await js.direct_get_batch(
        stream,
        {"multi_last": [f"{stream}.a", f"{stream}.b", f"{stream}.missing"]},
        on_message=got.append,
    )
    assert [(m.headers["Nats-Subject"], m.data) for m in got] == [
        (f"{stream}.a", b"m2"),
        (f"{stream}.b", b"m4"),
    ]
    assert [m.headers["Nats-Sequence"] for m in got] == ["3", "5"]
    assert [m.headers["Nats-Num-Pending"] for m in got] == ["1", "0"]
    assert end.status == 204
    assert end.description == "EOB"
    assert end.data == b""
    assert end.headers["Nats-Num-Pending"] == "0"
    assert end.headers["Nats-Last-Sequence"] == "5"
    assert end.headers["Nats-UpTo-Sequence"] == "5"


async def test_direct_get_batch_multi_last_up_to_seq(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a", "b", "a", "c", "b"])
    got: list[Msg] = []
    end = await js.direct_get_batch(
        stream, {"multi_last": [f"{stream}.>"], "up_to_seq": 3}, on_message=got.append
    )
    assert sorted((m.headers["Nats-Subject"], m.data) for m in got) == [
        (f"{stream}.a", b"m2"),
        (f"{stream}.b", b"m1"),
    ]
    assert end.status == 204
    assert end.headers["Nats-UpTo-Sequence"] == "3"


async def test_direct_get_batch_paging(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a"] * 7)
    seen: list[int] = []
    seq = 1
    pages = 0
    while True:
        page: list[Msg] = []
        end = await js.direct_get_batch(stream, {"seq": seq, "batch": 3}, on_message=page.append)
        pages += 1
        seen.extend(int(m.headers["Nats-Sequence"]) for m in page)
        assert end.status == 204
        if int(end.headers["Nats-Num-Pending"]) == 0:
            break
        seq = int(end.headers["Nats-Last-Sequence"]) + 1
    assert seen == list(range(1, 8))
    assert pages == 3


async def test_direct_get_batch_nothing_matches(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a"])
    got: list[Msg] = []
    end = await js.direct_get_batch(
        stream, {"multi_last": [f"{stream}.zzz"]}, on_message=got.append
    )
    assert got == []
    assert end.status == 404


async def test_direct_get_batch_delivers_empty_bodied_messages(
    js: natskv.JetStream, stream: str
) -> None:
    # a stored message with headers but no body (like a KV delete marker) is data, not EOB
    await js.publish(f"{stream}.a", b"", headers={"KV-Operation": "DEL"})
    await js.publish(f"{stream}.b", b"")
    got: list[Msg] = []
    end = await js.direct_get_batch(stream, {"seq": 1, "batch": 10}, on_message=got.append)
    assert [m.headers["Nats-Sequence"] for m in got] == ["1", "2"]
    assert got[0].headers["KV-Operation"] == "DEL"
    assert end.status == 204


async def test_batch_direct_get_fails_at_once_when_the_connection_closes(nats_url: str) -> None:
    import asyncio

    nc = await natskv.connect(nats_url)
    js = natskv.JetStream(nc, timeout=30)
    stream = f"NOSTREAM_{uuid.uuid4().hex[:8]}"
    # a silent responder: the request is taken and never answered
    await nc.subscribe(f"$JS.API.DIRECT.GET.{stream}", cb=lambda m: None)
    await nc.flush()
    got: list[Msg] = []
    task = asyncio.create_task(
        js.direct_get_batch(stream, {"multi_last": ["a"]}, on_message=got.append)
    )
    await asyncio.sleep(0.1)
    assert not task.done()
    await nc.close()
    with pytest.raises(natskv.ConnectionClosedError):
        await asyncio.wait_for(task, 5)
    assert got == []
