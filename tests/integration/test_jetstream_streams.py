"""JetStream admin against a real nats-server: the API helper and its errors, streams
(create, info, update, delete, names, list, purge), consumers, and the API models."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import msgspec
import pytest
from tests.integration.helpers import js_config, js_name, publish_n

import natskv
from natskv.errors import APIError, ConsumerNotFoundError, StreamNameInUseError, StreamNotFoundError
from natskv.jetstream import AccountInfo, ConsumerConfig, StreamInfo

# -- API helper and errors --------------------------------------------------------------


async def test_api_level_is_at_least_one(js: natskv.JetStream) -> None:
    assert await js.api_level() >= 1


async def test_api_request_decodes_typed_model(js: natskv.JetStream) -> None:
    info = await js.api_request("INFO", response_type=AccountInfo)
    assert isinstance(info, AccountInfo)
    assert info.api.level >= 1
    assert info.api.total >= 1


async def test_api_request_raises_api_error_with_server_fields(js: natskv.JetStream) -> None:
    missing = js_name("MISSING")
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
        await js.create_stream(js_config(stream, max_msgs=7))
    assert ei.value.err_code == 10058


async def test_stream_info_of_missing_stream(js: natskv.JetStream) -> None:
    with pytest.raises(StreamNotFoundError) as ei:
        await js.stream_info(js_name("MISSING"))
    assert ei.value.err_code == 10059


async def test_api_request_without_jetstream_responders(nc: natskv.Connection) -> None:
    js = natskv.JetStream(nc, domain="no_such_domain", timeout=2.0)
    with pytest.raises(natskv.JetStreamNotEnabledError):
        await js.api_level()


# -- streams ----------------------------------------------------------------------------


async def test_create_info_update_delete_stream(js: natskv.JetStream) -> None:
    name = js_name()
    info = await js.create_stream(js_config(name, max_age=3_600_000_000_000))
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
        again = await js.create_stream(js_config(name, max_age=3_600_000_000_000))
        assert again.name == name
        assert again.created == info.created

        # a different config under the same name is refused
        with pytest.raises(APIError) as ei:
            await js.create_stream(js_config(name, max_age=60_000_000_000))
        assert ei.value.err_code == 10058

        updated = await js.update_stream(
            js_config(name, max_age=3_600_000_000_000, description="now described")
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
        await js.update_stream(js_config(js_name("MISSING")))


async def test_stream_names_and_list(js: natskv.JetStream) -> None:
    a, b = js_name("LA"), js_name("LB")
    await js.create_stream(js_config(a))
    await js.create_stream(js_config(b))
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
    await publish_n(js, stream, ["a", "b", "a", "c"])
    assert await js.purge_stream(stream) == 4
    info = await js.stream_info(stream)
    assert info.state.messages == 0
    assert info.state.first_seq == 5


async def test_purge_with_subject_filter(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a", "b", "a", "c", "a"])
    assert await js.purge_stream(stream, subject=f"{stream}.a") == 3
    info = await js.stream_info(stream, subjects_filter=">")
    assert info.state.messages == 2
    assert info.state.subjects == {f"{stream}.b": 1, f"{stream}.c": 1}


async def test_purge_keep(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a", "a", "a", "a", "b"])
    assert await js.purge_stream(stream, subject=f"{stream}.a", keep=1) == 3
    info = await js.stream_info(stream, subjects_filter=">")
    assert info.state.subjects == {f"{stream}.a": 1, f"{stream}.b": 1}
    # the one kept is the newest
    last = await js.direct_get_last(stream, f"{stream}.a")
    assert last.headers["Nats-Sequence"] == "4"


async def test_purge_up_to_seq(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a", "b", "c", "d", "e"])
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
    await publish_n(js, stream, ["x.1", "x.2", "x.1", "y"])
    info = await js.stream_info(stream, subjects_filter=f"{stream}.x.*")
    assert info.state.subjects == {f"{stream}.x.1": 2, f"{stream}.x.2": 1}
    assert info.state.num_subjects == 3


# -- consumers --------------------------------------------------------------------------


async def test_create_info_delete_consumer(js: natskv.JetStream, stream: str) -> None:
    await publish_n(js, stream, ["a", "b", "a"])
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
    await publish_n(js, stream, ["a", "b", "c"])
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


# -- models and their decoders ----------------------------------------------------------


async def test_models_encode_durations_as_int_nanoseconds() -> None:
    cfg = ConsumerConfig(idle_heartbeat=5_000_000_000, ack_wait=30_000_000_000)
    wire = msgspec.json.decode(msgspec.json.encode(cfg))
    assert wire["idle_heartbeat"] == 5_000_000_000
    assert wire["ack_wait"] == 30_000_000_000


async def test_deletes_do_not_grow_the_reply_decoder_cache(js: natskv.JetStream) -> None:
    # every reply type gets one cached msgspec decoder: a response class made per call
    # would add one per delete, without bound
    from natskv.jetstream import _context

    sizes = []
    for _ in range(5):
        name = js_name()
        await js.create_stream(js_config(name))
        cfg = ConsumerConfig(name="c", deliver_subject=js.nc.new_inbox())
        await js.create_consumer(name, cfg)
        assert await js.delete_consumer(name, "c") is True
        assert await js.delete_stream(name) is True
        sizes.append(len(_context._decoders))
    assert sizes == [sizes[0]] * 5
