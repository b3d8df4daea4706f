"""Requests from other threads against a real server (the sync API's hot path): sent
straight from the thread when the socket allows, through the loop otherwise, and every
byte in order either way (large payloads make sends partial)."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

import natskv
from natskv.client._writer import Writer
from natskv.server import EmbeddedServer


async def _echo(nc: natskv.Connection, subject: str) -> natskv.Subscription:
    async def answer(msg: natskv.Msg) -> None:
        await nc.publish(msg.reply or "", msg.data)

    return await nc.subscribe(subject, cb=answer)


async def test_requests_from_many_threads_get_their_own_replies(nats_url: str) -> None:
    async with await natskv.connect(nats_url) as server, await natskv.connect(nats_url) as nc:
        await _echo(server, "echo.small")
        await server.flush()
        await nc.request("echo.small", b"warm", timeout=5)  # the reply inbox exists
        ll = nc.lowlevel
        errors: list[BaseException] = []
        results: dict[tuple[int, int], bytes] = {}

        def ask(n: int) -> None:
            try:
                for i in range(50):
                    body = b"%d.%d" % (n, i)
                    results[(n, i)] = (
                        ll.request_threadsafe("echo.small", body, timeout=10).wait().data
                    )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            await asyncio.to_thread(t.join, 60)
        assert not errors
        assert results == {(n, i): b"%d.%d" % (n, i) for n in range(16) for i in range(50)}
        # the plain TCP socket let threads write themselves (some, at least)
        assert nc._writer.thread_msgs_out > 0
        assert nc.msgs_out >= 16 * 50


async def test_large_payloads_from_threads_arrive_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """6 MB sends go partial (a loopback socket buffers at most 4 MB): the loop writes the
    rest before anything else, so no frame is cut into by another."""
    tails: list[int] = []
    real = Writer._write_tail

    def write_tail(self: Writer) -> None:
        tails.append(len(self._tail))
        real(self)

    monkeypatch.setattr(Writer, "_write_tail", write_tail)
    with EmbeddedServer(durable=False, max_payload=8 * 1024 * 1024) as srv:
        async with await natskv.connect(srv.url) as server, await natskv.connect(srv.url) as nc:
            await _echo(server, "echo.big")
            await server.flush()
            await nc.request("echo.big", b"warm", timeout=5)
            bodies = [os.urandom(6_000_000) for _ in range(3)]
            got: dict[int, bytes] = {}
            errors: list[BaseException] = []

            def ask(n: int) -> None:
                try:
                    for _ in range(2):
                        reply = nc.lowlevel.request_threadsafe("echo.big", bodies[n], timeout=30)
                        got[n] = reply.wait().data
                        assert got[n] == bodies[n]
                except BaseException as exc:
                    errors.append(exc)

            # alone in flight, a thread sends its request itself (partially, then the tail)
            alone = nc.lowlevel.request_threadsafe
            assert (await asyncio.to_thread(lambda: alone("echo.big", bodies[0]).wait())).data == (
                bodies[0]
            )
            threads = [threading.Thread(target=ask, args=(n,)) for n in range(3)]
            for t in threads:
                t.start()
            for _ in range(10):  # the loop writes at the same time
                assert (await nc.request("echo.big", b"from the loop", timeout=30)).data == (
                    b"from the loop"
                )
            for t in threads:
                await asyncio.to_thread(t.join, 60)
            assert not errors
            assert got == dict(enumerate(bodies))
            assert nc.is_connected
    assert tails, "no send was partial: the test did not exercise the loop's tail write"


async def test_a_thread_request_without_responders_and_one_that_times_out(
    nats_url: str,
) -> None:
    async with await natskv.connect(nats_url) as nc:
        sub = await nc.subscribe("silent")  # listens, never answers
        with pytest.raises(natskv.TimeoutError):  # and makes the reply inbox
            await nc.request("silent", b"", timeout=0.05)
        reply = nc.lowlevel.request_threadsafe("nobody.here", b"", timeout=5)
        with pytest.raises(natskv.NoRespondersError):
            await asyncio.to_thread(reply.wait)
        reply = nc.lowlevel.request_threadsafe("silent", b"", timeout=0.2)
        with pytest.raises(natskv.TimeoutError):
            await asyncio.to_thread(reply.wait)
        assert not [t for t in nc._mux.futs if t.startswith("t")]  # nothing left waiting
        await sub.unsubscribe()
