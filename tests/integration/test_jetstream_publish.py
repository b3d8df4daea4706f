"""JetStream publish against a real nats-server: the acknowledgement, deduplication, the
expectation headers, per-message TTL, and a subject no stream listens on."""

from __future__ import annotations

import uuid

import pytest
from tests.integration.helpers import js_config, js_name

import natskv
from natskv.errors import APIError


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
    name = js_name("TTL")
    await js.create_stream(js_config(name))
    try:
        with pytest.raises(APIError) as ei:
            await js.publish(f"{name}.a", b"x", ttl="5s")
        assert ei.value.err_code == 10166
    finally:
        await js.delete_stream(name)
    await js.create_stream(js_config(name, allow_msg_ttl=True))
    try:
        ack = await js.publish(f"{name}.a", b"x", ttl="5s")
        got = await js.direct_get(name, seq=ack.seq)
        assert got.headers["Nats-TTL"] == "5s"
    finally:
        await js.delete_stream(name)


async def test_publish_without_stream_has_no_responders(js: natskv.JetStream) -> None:
    with pytest.raises(natskv.NoRespondersError):
        await js.publish(f"nostream_{uuid.uuid4().hex}.x", b"x")
