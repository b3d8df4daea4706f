"""Requests from other threads (``lowlevel.request_threadsafe``, the sync API's hot path),
over a mock transport: they leave in batches from the loop thread, and each reply wakes
its own thread; errors reach the thread that asked."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import natskv
from natskv.client import MockNetwork, MockTransport

URL = "nats://mock:4222"


async def _connected(**options: Any) -> tuple[natskv.Connection, MockTransport]:
    network = MockNetwork()
    return await network.serve(natskv.connect(URL, dialer=network, **options))


async def test_requests_from_threads_leave_in_one_write_and_each_reply_wakes_its_thread() -> None:
    nc, server = await _connected()
    try:
        n = 8
        barrier = threading.Barrier(n)
        results: dict[int, bytes] = {}
        replies = []

        def ask(i: int) -> None:
            barrier.wait()
            reply = nc.lowlevel.request_threadsafe(f"svc.{i}", b"q%d" % i, timeout=5)
            replies.append(reply)
            results[i] = reply.wait().data

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        writes_before = len(server.writes)
        subjects: dict[bytes, bytes] = {}
        while len(subjects) < n:
            line, _ = await server.read_msg(skip=(b"SUB",))
            subject, reply_to = line.split()[1:3]
            subjects[subject] = reply_to
        # a batch of requests queued by many threads goes out in few writes, not one each
        assert len(server.writes) - writes_before < n
        for subject, reply_to in subjects.items():
            server.send(b"MSG %s 1 %d\r\n%s\r\n" % (reply_to, len(subject), subject))
        for t in threads:
            await asyncio.to_thread(t.join, 5)
        assert results == {i: b"svc.%d" % i for i in range(n)}
        assert nc._mux.futs == {}
    finally:
        await nc.close()


async def test_a_thread_request_times_out_with_natskv_timeout_error() -> None:
    nc, _ = await _connected()
    try:
        reply = nc.lowlevel.request_threadsafe("svc.slow", b"", timeout=0.05)
        with pytest.raises(natskv.TimeoutError):
            await asyncio.to_thread(reply.wait)
        assert nc._mux.futs == {}
    finally:
        await nc.close()


async def test_a_refused_request_fails_in_its_thread_and_the_connection_stays() -> None:
    nc, _ = await _connected()
    try:
        reply = nc.lowlevel.request_threadsafe("bad subject", b"", timeout=5)
        with pytest.raises(natskv.BadSubjectError):
            await asyncio.to_thread(reply.wait)
        assert nc.is_connected
    finally:
        await nc.close()


async def test_closing_the_connection_fails_waiting_threads() -> None:
    nc, server = await _connected()
    reply = nc.lowlevel.request_threadsafe("svc", b"", timeout=30)
    await server.read_msg(skip=(b"SUB",))
    waiting = asyncio.create_task(asyncio.to_thread(reply.wait))
    await nc.close()
    with pytest.raises(natskv.ConnectionClosedError):
        await asyncio.wait_for(waiting, 5)
