"""How a reply wakes the thread that waits for it (the sync API's hot path,
``lowlevel.request_threadsafe``): a wake-up per thread is reused by all its requests, so
a wake nobody waited for, many requests of one thread, a reply waited for by another
thread, an interrupted wait and a forked child must each still get their own replies."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator

import pytest

import natskv
import natskv.sync
from natskv.client._lowlevel import ThreadReply, _thread_waker


@pytest.fixture
def echo(nats_url: str) -> Iterator[natskv.sync.Connection]:
    """A second connection answering ``echo`` with the request's payload."""
    with natskv.sync.connect(nats_url) as server:
        ll = server._async.lowlevel

        def answer(msg: natskv.Msg) -> None:
            ll.publish_nowait(msg.reply or "", msg.data)

        server.subscribe("echo", cb=answer)
        server.flush()
        yield server


def _ask(nc: natskv.sync.Connection, body: bytes, subject: str = "echo") -> ThreadReply:
    return nc._async.lowlevel.request_threadsafe(subject, body, timeout=10)


def _wait_done(reply: ThreadReply) -> None:
    deadline = time.monotonic() + 10
    while not reply.done():
        assert time.monotonic() < deadline, "no reply"
        time.sleep(0.005)


def test_a_wake_left_by_an_unwaited_reply_does_not_end_the_next_wait_early(
    sync_nc: natskv.sync.Connection, echo: natskv.sync.Connection
) -> None:
    first = _ask(sync_nc, b"first")
    _wait_done(first)  # its wake-up is left for this thread, nobody read it
    for i in range(20):
        assert _ask(sync_nc, b"%d" % i).wait().data == b"%d" % i
    assert first.wait().data == b"first"


def test_one_thread_has_many_requests_in_flight_and_waits_in_any_order(
    sync_nc: natskv.sync.Connection, echo: natskv.sync.Connection
) -> None:
    replies = [_ask(sync_nc, b"%d" % i) for i in range(50)]
    order = list(range(50))[::-1]
    assert [replies[i].wait().data for i in order] == [b"%d" % i for i in order]


def test_a_reply_waited_for_by_another_thread_wakes_that_thread(
    sync_nc: natskv.sync.Connection, nats_url: str
) -> None:
    with natskv.sync.connect(nats_url) as server:
        held: list[natskv.Msg] = []
        server.subscribe("held", cb=held.append)  # answered below, once both wait
        server.flush()
        handed = _ask(sync_nc, b"handed", "held")  # asked here, waited for by `other`
        results: dict[str, bytes] = {}

        def other() -> None:
            results["other"] = handed.wait().data

        def mine() -> None:
            own = _ask(sync_nc, b"mine", "held")
            results["mine"] = own.wait().data

        threads = [threading.Thread(target=other), threading.Thread(target=mine)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(held) < 2:
            assert time.monotonic() < deadline, "the requests did not arrive"
            time.sleep(0.005)
        time.sleep(0.05)  # let both block (the result holds whatever the order)
        for msg in held:
            server.publish(msg.reply or "", msg.data)
        server.flush()
        for t in threads:
            t.join(10)
        assert results == {"other": b"handed", "mine": b"mine"}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to the main thread")
def test_an_interrupted_wait_raises_keyboard_interrupt_and_forgets_its_request(
    sync_nc: natskv.sync.Connection, nats_url: str, echo: natskv.sync.Connection
) -> None:
    assert threading.current_thread() is threading.main_thread()
    with natskv.sync.connect(nats_url) as server:
        server.subscribe("silent", cb=lambda msg: None)
        server.flush()
        reply = sync_nc._async.lowlevel.request_threadsafe("silent", b"", timeout=30)
        main = threading.main_thread().ident
        assert main is not None
        timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                reply.wait()
        finally:
            timer.join()
        assert sync_nc._async._mux.futs == {}  # a late reply would find nobody
        # the thread's next requests are answered, or time out, as before
        assert _ask(sync_nc, b"after").wait().data == b"after"
        late = sync_nc._async.lowlevel.request_threadsafe("silent", b"", timeout=0.1)
        with pytest.raises(natskv.TimeoutError):
            late.wait()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_wakeups_of_its_own() -> None:
    parent = _thread_waker()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        child = _thread_waker()
        fresh = child is not parent and getattr(child, "fd", -1) != getattr(parent, "fd", -2)
        os._exit(0 if fresh else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
