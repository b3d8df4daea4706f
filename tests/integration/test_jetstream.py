"""The JetStream layer against a real nats-server: API helper, streams, publish, reads."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import msgspec
import pytest

import natskv
from natskv.client import Msg
from natskv.errors import (
    APIError,
    ConsumerNotFoundError,
    NoMessageFoundError,
    StreamNameInUseError,
    StreamNotFoundError,
)
from natskv.jetstream import (
    AccountInfo,
    ConsumerConfig,
    PubAck,
    StoredMessage,
    StreamInfo,
)

# -- helpers ----------------------------------------------------------------------------


def _name(prefix: str = "S") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _config(name: str, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "name": name,
        "subjects": [f"{name}.>"],
        "storage": "memory",
        "allow_direct": True,
    }
    cfg.update(extra)
    return cfg


@pytest.fixture
async def stream(js: natskv.JetStream) -> AsyncIterator[str]:
    """A fresh memory stream listening on ``<name>.>``, deleted after the test."""
    name = _name()
    await js.create_stream(_config(name))
    try:
        yield name
    finally:
        with contextlib.suppress(natskv.NatsError):
            await js.delete_stream(name)


async def _publish_n(js: natskv.JetStream, stream: str, subjects: list[str]) -> list[PubAck]:
    return [await js.publish(f"{stream}.{s}", f"m{i}".encode()) for i, s in enumerate(subjects)]


# -- API helper and errors --------------------------------------------------------------


async def test_api_level_is_at_least_one(js: natskv.JetStream) -> None:
    assert await js.api_level() >= 1


async def test_api_request_decodes_typed_model(js: natskv.JetStream) -> None:
    info = await js.api_request("INFO", response_type=AccountInfo)
    assert isinstance(info, AccountInfo)
    assert info.api.level >= 1
    assert info.api.total >= 1


async def test_api_request_raises_api_error_with_server_fields(js: natskv.JetStream) -> None:
    missing = _name("MISSING")
    with pytest.raises(StreamNotFoundError) as ei:
        await js.api_request(f"STREAM.INFO.{missing}", response_type=StreamInfo)
    err = ei.value
    assert isinstance(err, APIError)
    assert isinstance(err, natskv.NatsError)
    assert err.code == 404
    assert err.err_code == 10059
    assert "stream not found" in err.description


async def test_api_request_error_class_comes_from_the_code_registry(
    js: natskv.JetStream, stream: str
) -> None:
    with pytest.raises(ConsumerNotFoundError) as ei:
        await js.consumer_info(stream, "no-such-consumer")
    assert isinstance(ei.value, APIError)
    assert ei.value.code == 404
    assert ei.value.err_code == 10014


async def test_stream_name_in_use_has_its_own_class(js: natskv.JetStream, stream: str) -> None:
    with pytest.raises(StreamNameInUseError) as ei:
        await js.create_stream(_config(stream, max_msgs=7))
    assert ei.value.err_code == 10058


async def test_stream_info_of_missing_stream(js: natskv.JetStream) -> None:
    with pytest.raises(StreamNotFoundError) as ei:
        await js.stream_info(_name("MISSING"))
    assert ei.value.err_code == 10059


# -- streams ----------------------------------------------------------------------------


async def test_create_info_update_delete_stream(js: natskv.JetStream) -> None:
    name = _name()
    info = await js.create_stream(_config(name, max_age=3_600_000_000_000))
    try:
        assert info.did_create is True
        assert info.name == name
        assert info.config["subjects"] == [f"{name}.>"]
        assert info.created_at.tzinfo is not None
        assert abs((datetime.now(timezone.utc) - info.created_at).total_seconds()) < 300

        # durations are integer nanoseconds in the typed models
        assert info.config["max_age"] == 3_600_000_000_000
        assert type(info.config["max_age"]) is int
        assert type(info.config["duplicate_window"]) is int
        assert info.config["duplicate_window"] == 120_000_000_000

        # the same config again is idempotent
        again = await js.create_stream(_config(name, max_age=3_600_000_000_000))
        assert again.name == name
        assert again.created == info.created

        # a different config under the same name is refused
        with pytest.raises(APIError) as ei:
            await js.create_stream(_config(name, max_age=60_000_000_000))
        assert ei.value.err_code == 10058

        updated = await js.update_stream(
            _config(name, max_age=3_600_000_000_000, description="now described")
        )
        assert updated.config["description"] == "now described"
        fetched = await js.stream_info(name)
        assert fetched.config["description"] == "now described"
        assert fetched.state.messages == 0
    finally:
        assert await js.delete_stream(name) is True
    with pytest.raises(StreamNotFoundError):
        await js.stream_info(name)
    with pytest.raises(StreamNotFoundError):
        await js.delete_stream(name)


async def test_update_missing_stream(js: natskv.JetStream) -> None:
    with pytest.raises(StreamNotFoundError):
        await js.update_stream(_config(_name("MISSING")))


async def test_stream_names_and_list(js: natskv.JetStream) -> None:
    a, b = _name("LA"), _name("LB")
    await js.create_stream(_config(a))
    await js.create_stream(_config(b))
    try:
        names = [n async for n in js.stream_names()]
        assert a in names and b in names
        only_a = [n async for n in js.stream_names(subject=f"{a}.x")]
        assert only_a == [a]

        infos = {i.name: i async for i in js.streams()}
        assert a in infos and b in infos
        assert isinstance(infos[a], StreamInfo)
        assert infos[a].config["subjects"] == [f"{a}.>"]
        only_b = [i.name async for i in js.streams(subject=f"{b}.>")]
        assert only_b == [b]
    finally:
        await js.delete_stream(a)
        await js.delete_stream(b)


async def test_stream_names_pages_past_the_server_limit(js: natskv.JetStream) -> None:
    # STREAM.NAMES pages at 1024 and STREAM.LIST at 256: create enough to need two pages.
    tag = uuid.uuid4().hex[:8]
    names = [f"P{tag}_{i}" for i in range(260)]
    for n in names:
        await js.create_stream({"name": n, "subjects": [f"pg{tag}.{n}"], "storage": "memory"})
    try:
        listed = [i.name async for i in js.streams(subject=f"pg{tag}.>")]
        assert sorted(listed) == sorted(names)
        assert len(listed) == len(set(listed))
        named = [n async for n in js.stream_names(subject=f"pg{tag}.>")]
        assert sorted(named) == sorted(names)
    finally:
        for n in names:
            await js.delete_stream(n)


async def test_purge_whole_stream(js: natskv.JetStream, stream: str) -> None:
    await _publish_n(js, stream, ["a", "b", "a", "c"])
    assert await js.purge_stream(stream) == 4
    info = await js.stream_info(stream)
    assert info.state.messages == 0
    assert info.state.first_seq == 5


async def test_purge_with_subject_filter(js: natskv.JetStream, stream: str) -> None:
    await _publish_n(js, stream, ["a", "b", "a", "c", "a"])
    assert await js.purge_stream(stream, subject=f"{stream}.a") == 3
    info = await js.stream_info(stream, subjects_filter=">")
    assert info.state.messages == 2
    assert info.state.subjects == {f"{stream}.b": 1, f"{stream}.c": 1}


async def test_purge_keep(js: natskv.JetStream, stream: str) -> None:
    await _publish_n(js, stream, ["a", "a", "a", "a", "b"])
    assert await js.purge_stream(stream, subject=f"{stream}.a", keep=1) == 3
    info = await js.stream_info(stream, subjects_filter=">")
    assert info.state.subjects == {f"{stream}.a": 1, f"{stream}.b": 1}
    # the one kept is the newest
    last = await js.direct_get_last(stream, f"{stream}.a")
    assert last.headers["Nats-Sequence"] == "4"


async def test_purge_up_to_seq(js: natskv.JetStream, stream: str) -> None:
    await _publish_n(js, stream, ["a", "b", "c", "d", "e"])
    # seq is exclusive: everything below 4 goes
    assert await js.purge_stream(stream, seq=4) == 3
    info = await js.stream_info(stream)
    assert info.state.first_seq == 4
    assert info.state.messages == 2


async def test_purge_seq_and_keep_are_exclusive(js: natskv.JetStream, stream: str) -> None:
    sent = js.nc.msgs_out
    with pytest.raises(ValueError):
        await js.purge_stream(stream, seq=2, keep=1)
    assert js.nc.msgs_out == sent


async def test_stream_info_subjects_filter(js: natskv.JetStream, stream: str) -> None:
    await _publish_n(js, stream, ["x.1", "x.2", "x.1", "y"])
    info = await js.stream_info(stream, subjects_filter=f"{stream}.x.*")
    assert info.state.subjects == {f"{stream}.x.1": 2, f"{stream}.x.2": 1}
    assert info.state.num_subjects == 3


# -- publish ----------------------------------------------------------------------------


async def test_publish_returns_ack(js: natskv.JetStream, stream: str) -> None:
    ack1 = await js.publish(f"{stream}.a", b"one")
    ack2 = await js.publish(f"{stream}.a", b"two", headers={"X-Custom": "yes"})
    assert (ack1.stream, ack1.seq, ack1.duplicate) == (stream, 1, False)
    assert ack2.seq == 2
    got = await js.direct_get(stream, seq=2)
    assert got.data == b"two"
    assert got.headers["X-Custom"] == "yes"


async def test_publish_msg_id_duplicate(js: natskv.JetStream, stream: str) -> None:
    first = await js.publish(f"{stream}.a", b"x", msg_id="order-1")
    second = await js.publish(f"{stream}.a", b"x", msg_id="order-1")
    assert first.duplicate is False
    assert second.duplicate is True
    assert second.seq == first.seq
    assert (await js.stream_info(stream)).state.messages == 1


async def test_publish_expected_last_subject_sequence(js: natskv.JetStream, stream: str) -> None:
    ack = await js.publish(f"{stream}.k", b"1", expected_last_subject_sequence=0)
    await js.publish(f"{stream}.other", b"o")
    ok = await js.publish(f"{stream}.k", b"2", expected_last_subject_sequence=ack.seq)
    assert ok.seq == 3
    with pytest.raises(APIError) as ei:
        await js.publish(f"{stream}.k", b"3", expected_last_subject_sequence=ack.seq)
    assert ei.value.err_code == 10071
    assert ei.value.code == 400
    assert ei.value.description == f"wrong last sequence: {ok.seq}"
    assert (await js.stream_info(stream)).state.messages == 3


async def test_publish_expected_last_sequence(js: natskv.JetStream, stream: str) -> None:
    await js.publish(f"{stream}.a", b"1", expected_last_sequence=0)
    await js.publish(f"{stream}.b", b"2", expected_last_sequence=1)
    with pytest.raises(APIError) as ei:
        await js.publish(f"{stream}.a", b"3", expected_last_sequence=1)
    assert ei.value.err_code == 10071
    assert (await js.stream_info(stream)).state.messages == 2


async def test_publish_expected_stream(js: natskv.JetStream, stream: str) -> None:
    ack = await js.publish(f"{stream}.a", b"1", expected_stream=stream)
    assert ack.seq == 1
    with pytest.raises(APIError) as ei:
        await js.publish(f"{stream}.a", b"2", expected_stream="SOMETHING_ELSE")
    assert ei.value.err_code == 10060
    assert (await js.stream_info(stream)).state.messages == 1


async def test_publish_ttl_needs_allow_msg_ttl(js: natskv.JetStream) -> None:
    name = _name("TTL")
    await js.create_stream(_config(name))
    try:
        with pytest.raises(APIError) as ei:
            await js.publish(f"{name}.a", b"x", ttl="5s")
        assert ei.value.err_code == 10166
    finally:
        await js.delete_stream(name)
    await js.create_stream(_config(name, allow_msg_ttl=True))
    try:
        ack = await js.publish(f"{name}.a", b"x", ttl="5s")
        got = await js.direct_get(name, seq=ack.seq)
        assert got.headers["Nats-TTL"] == "5s"
    finally:
        await js.delete_stream(name)


async def test_publish_without_stream_has_no_responders(js: natskv.JetStream) -> None:
    with pytest.raises(natskv.NoRespondersError):
        await js.publish(f"nostream_{uuid.uuid4().hex}.x", b"x")


# -- direct get and MSG.GET -------------------------------------------------------------


async def test_direct_get_last_by_subject(js: natskv.JetStream, stream: str) -> None:
    await _publish_n(js, stream, ["a", "b", "a", "b"])
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
    await _publish_n(js, stream, ["a", "b", "a", "b"])
    msg = await js.direct_get(stream, seq=2)
    assert msg.headers["Nats-Subject"] == f"{stream}.b"
    assert msg.data == b"m1"
    nxt = await js.direct_get(stream, seq=2, next_by_subj=f"{stream}.a")
    assert nxt.headers["Nats-Sequence"] == "3"


async def test_direct_get_not_found(js: natskv.JetStream, stream: str) -> None:
    await _publish_n(js, stream, ["a"])
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
        await js.get_msg(_name("MISSING"), seq=1)


async def test_direct_get_batch_multi_last(js: natskv.JetStream, stream: str) -> None:
    await _publish_n(js, stream, ["a", "b", "a", "c", "b"])
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
    await _publish_n(js, stream, ["a", "b", "a", "c", "b"])
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
    await _publish_n(js, stream, ["a"] * 7)
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
    await _publish_n(js, stream, ["a"])
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


# -- consumers --------------------------------------------------------------------------


async def test_create_info_delete_consumer(js: natskv.JetStream, stream: str) -> None:
    await _publish_n(js, stream, ["a", "b", "a"])
    inbox = js.nc.new_inbox()
    cfg = ConsumerConfig(
        name="c1",
        deliver_subject=inbox,
        filter_subject=f"{stream}.a",
        idle_heartbeat=5_000_000_000,
        flow_control=True,
        inactive_threshold=60_000_000_000,
    )
    info = await js.create_consumer(stream, cfg)
    assert info.name == "c1"
    assert info.num_pending == 2
    assert info.config["idle_heartbeat"] == 5_000_000_000
    assert type(info.config["inactive_threshold"]) is int
    fetched = await js.consumer_info(stream, "c1")
    assert fetched.config["filter_subject"] == f"{stream}.a"
    assert (await js.stream_info(stream)).state.consumer_count == 1
    assert await js.delete_consumer(stream, "c1") is True
    with pytest.raises(APIError) as ei:
        await js.consumer_info(stream, "c1")
    assert ei.value.code == 404


async def test_create_consumer_with_multiple_filters(js: natskv.JetStream, stream: str) -> None:
    await _publish_n(js, stream, ["a", "b", "c"])
    cfg = ConsumerConfig(
        name="multi",
        deliver_subject=js.nc.new_inbox(),
        filter_subjects=[f"{stream}.a", f"{stream}.c"],
        inactive_threshold=60_000_000_000,
    )
    info = await js.create_consumer(stream, cfg)
    assert info.num_pending == 2
    assert info.config["filter_subjects"] == [f"{stream}.a", f"{stream}.c"]
    await js.delete_consumer(stream, "multi")


async def test_models_encode_durations_as_int_nanoseconds() -> None:
    cfg = ConsumerConfig(idle_heartbeat=5_000_000_000, ack_wait=30_000_000_000)
    wire = msgspec.json.decode(msgspec.json.encode(cfg))
    assert wire["idle_heartbeat"] == 5_000_000_000
    assert wire["ack_wait"] == 30_000_000_000


async def test_api_request_without_jetstream_responders(nc: natskv.Connection) -> None:
    js = natskv.JetStream(nc, domain="no_such_domain", timeout=2.0)
    with pytest.raises(natskv.JetStreamNotEnabledError):
        await js.api_level()


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


async def test_deletes_do_not_grow_the_reply_decoder_cache(js: natskv.JetStream) -> None:
    # every reply type gets one cached msgspec decoder: a response class made per call
    # would add one per delete, without bound
    from natskv.jetstream import _context

    sizes = []
    for _ in range(5):
        name = _name()
        await js.create_stream(_config(name))
        cfg = ConsumerConfig(name="c", deliver_subject=js.nc.new_inbox())
        await js.create_consumer(name, cfg)
        assert await js.delete_consumer(name, "c") is True
        assert await js.delete_stream(name) is True
        sizes.append(len(_context._decoders))
    assert sizes == [sizes[0]] * 5
