"""Request/reply over the muxed inbox, against a real nats-server."""

from __future__ import annotations

import asyncio
import builtins

import pytest

import natskv


async def _responder(nc: natskv.Connection, subject: str, prefix: bytes = b"re:") -> None:
    def answer(msg: natskv.Msg) -> None:
        assert msg.reply
        nc.lowlevel.publish_nowait(msg.reply, prefix + msg.data, headers=msg.headers or None)

    await nc.subscribe(subject, cb=answer)
    await nc.flush()


async def test_request_with_responder(nc: natskv.Connection) -> None:
    await _responder(nc, "rr.echo")
    reply = await nc.request("rr.echo", b"ping", timeout=5)
    assert reply.data == b"re:ping"
    assert reply.subject.startswith("_INBOX.")
    assert nc._mux.futs == {}


async def test_request_with_headers(nc: natskv.Connection) -> None:
    await _responder(nc, "rr.headers")
    reply = await nc.request("rr.headers", b"x", headers={"Trace": "abc"}, timeout=5)
    assert reply.data == b"re:x"
    assert reply.headers == {"Trace": "abc"}


async def test_responder_on_another_connection(nats_url: str, nc: natskv.Connection) -> None:
    async with await natskv.connect(nats_url) as server_side:

        async def answer(msg: natskv.Msg) -> None:
            await server_side.publish(msg.reply or "", msg.data.upper())

        await server_side.subscribe("rr.other", cb=answer)
        await server_side.flush()
        reply = await nc.request("rr.other", b"hello", timeout=5)
        assert reply.data == b"HELLO"


async def test_many_concurrent_requests_each_get_their_reply(nc: natskv.Connection) -> None:
    await _responder(nc, "rr.many")
    n = 1000
    replies = await asyncio.gather(
        *(nc.request("rr.many", str(i).encode(), timeout=30) for i in range(n))
    )
    assert [r.data for r in replies] == [f"re:{i}".encode() for i in range(n)]
    assert nc._mux.futs == {}


async def test_concurrent_requests_answered_out_of_order(nc: natskv.Connection) -> None:
    held: list[natskv.Msg] = []
    all_in = asyncio.Event()

    def collect(msg: natskv.Msg) -> None:
        held.append(msg)
        if len(held) == 50:
            all_in.set()

    await nc.subscribe("rr.reverse", cb=collect)
    await nc.flush()
    tasks = [
        asyncio.create_task(nc.request("rr.reverse", str(i).encode(), timeout=10))
        for i in range(50)
    ]
    await asyncio.wait_for(all_in.wait(), 10)
    for msg in reversed(held):  # answer the last request first
        nc.lowlevel.publish_nowait(msg.reply or "", b"answer-" + msg.data)
    replies = await asyncio.gather(*tasks)
    assert [r.data for r in replies] == [f"answer-{i}".encode() for i in range(50)]


async def test_no_responders(nc: natskv.Connection) -> None:
    with pytest.raises(natskv.NoRespondersError) as info:
        await nc.request("rr.nobody.home", b"x", timeout=5)
    assert info.value.subject == "rr.nobody.home"
    assert "rr.nobody.home" in str(info.value)
    assert nc._mux.futs == {}
    assert nc.is_connected


async def test_request_timeout(nc: natskv.Connection) -> None:
    # a subscriber that never answers: the server has a responder, so no 503
    await nc.subscribe("rr.silent", cb=lambda m: None)
    await nc.flush()
    with pytest.raises(natskv.TimeoutError) as info:
        await nc.request("rr.silent", b"x", timeout=0.1)
    assert isinstance(info.value, builtins.TimeoutError)
    assert "rr.silent" in str(info.value)
    assert nc._mux.futs == {}


async def test_request_timeout_defaults_to_connection_setting(nats_url: str) -> None:
    async with await natskv.connect(nats_url, request_timeout=0.1) as nc:
        await nc.subscribe("rr.silent2", cb=lambda m: None)
        await nc.flush()
        with pytest.raises(natskv.TimeoutError):
            await nc.request("rr.silent2", b"x")
        assert nc._mux.futs == {}


async def test_late_reply_after_timeout_is_ignored(nc: natskv.Connection) -> None:
    held: list[natskv.Msg] = []
    await nc.subscribe("rr.late", cb=held.append)
    await nc.flush()
    with pytest.raises(natskv.TimeoutError):
        await nc.request("rr.late", b"1", timeout=0.05)
    assert len(held) == 1
    nc.lowlevel.publish_nowait(held[0].reply or "", b"too late")
    await nc.flush()
    assert nc._mux.futs == {}
    # later requests are not confused by the late reply
    await _responder(nc, "rr.late.ok")
    assert (await nc.request("rr.late.ok", b"2", timeout=5)).data == b"re:2"


async def test_cancelled_request_is_cleaned_up(nc: natskv.Connection) -> None:
    await nc.subscribe("rr.cancel", cb=lambda m: None)
    await nc.flush()
    task = asyncio.create_task(nc.request("rr.cancel", b"x", timeout=30))
    await asyncio.sleep(0)  # the task runs up to its wait for the reply
    assert len(nc._mux.futs) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert nc._mux.futs == {}


async def test_request_nowait_pipelining(nc: natskv.Connection) -> None:
    await _responder(nc, "rr.pipe")
    pending = [nc.lowlevel.request_nowait("rr.pipe", str(i).encode()) for i in range(10)]
    replies = [
        await nc.lowlevel.await_reply(tok, fut, "rr.pipe", timeout=5) for tok, fut in pending
    ]
    assert [r.data for r in replies] == [f"re:{i}".encode() for i in range(10)]
    token, _fut = nc.lowlevel.request_nowait("rr.pipe", b"dropped")
    nc.lowlevel.cancel_reply(token)
    await nc.flush()
    assert nc._mux.futs == {}


async def test_request_pending_when_closed_fails(nats_url: str) -> None:
    nc = await natskv.connect(nats_url)
    await nc.subscribe("rr.closing", cb=lambda m: None)
    await nc.flush()
    task = asyncio.create_task(nc.request("rr.closing", b"x", timeout=30))
    await asyncio.sleep(0)
    assert len(nc._mux.futs) == 1
    await nc.close()
    with pytest.raises(natskv.ConnectionClosedError):
        await task
    assert nc._mux.futs == {}


async def test_flush(nc: natskv.Connection) -> None:
    got: list[bytes] = []
    await nc.subscribe("rr.flush", cb=lambda m: got.append(m.data))
    for i in range(100):
        nc.lowlevel.publish_nowait("rr.flush", str(i).encode())
    await nc.flush()
    # the server answered our PING after processing every PUB before it, and our own
    # subscription's messages came back before the PONG
    assert len(got) == 100
    await nc.flush(timeout=5)
    await asyncio.gather(*(nc.flush() for _ in range(10)))


async def test_reply_stream(nc: natskv.Connection) -> None:
    got: list[bytes] = []
    done = asyncio.Event()

    def on_reply(msg: natskv.Msg) -> None:
        got.append(msg.data)
        if len(got) == 3:
            done.set()

    def fan_out(msg: natskv.Msg) -> None:
        for i in range(3):
            nc.lowlevel.publish_nowait(msg.reply or "", str(i).encode())

    await nc.subscribe("rr.stream", cb=fan_out)
    reply_to, close = nc.lowlevel.open_reply_stream(on_reply)
    await nc.publish("rr.stream", b"", reply=reply_to)
    await asyncio.wait_for(done.wait(), 5)
    close()
    assert got == [b"0", b"1", b"2"]


async def test_a_reply_stream_of_many_subjects_gets_every_reply(nc: natskv.Connection) -> None:
    await _responder(nc, "rr.many")
    got: list[natskv.Msg] = []
    prefix, close = nc.lowlevel.open_reply_stream(got.append, many_subjects=True)
    for i in range(20):
        nc.lowlevel.publish_nowait("rr.many", str(i).encode(), reply=f"{prefix}{i}")
    for _ in range(200):
        if len(got) == 20:
            break
        await asyncio.sleep(0.01)
    assert sorted((m.subject[len(prefix) :], m.data) for m in got) == sorted(
        (str(i), f"re:{i}".encode()) for i in range(20)
    )
    # requests still get their own replies while the stream is open
    assert (await nc.request("rr.many", b"own")).data == b"re:own"
    close()
    nc.lowlevel.publish_nowait("rr.many", b"late", reply=f"{prefix}99")
    await nc.flush()
    await asyncio.sleep(0.05)
    assert len(got) == 20  # closed: later replies are dropped


async def test_every_request_of_a_burst_times_out_and_so_do_later_ones(
    nc: natskv.Connection,
) -> None:
    # Requests made together share a deadline slot; each must still fail on time, and
    # so must requests made after that slot was swept.
    await nc.subscribe("rr.silent", cb=lambda m: None)
    await nc.flush()
    for _ in range(2):
        results = await asyncio.gather(
            *(nc.request("rr.silent", b"", timeout=0.15) for _ in range(50)),
            return_exceptions=True,
        )
        assert all(isinstance(r, natskv.TimeoutError) for r in results)
        assert not nc._mux.futs
