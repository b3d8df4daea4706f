"""The write side of a connection: framing checks, the write buffer and coalescing.

Every command appends its frame to a buffer and, if none is pending, schedules one
flush with ``loop.call_soon``. All frames written in the same event-loop turn leave in
one ``transport.write``; there is no fixed delay, so a request is on the wire as soon as
the requesting coroutine yields. While disconnected the buffer keeps filling and goes out,
in order, right after the next handshake. Its bound is ``reconnect_buffer_size`` bytes of
frames (control lines, headers and payloads): a message that would take it over the bound
is refused with :class:`ReconnectBufferFullError` and nothing of it is queued, while what
is already buffered stays. ``0`` turns buffering off: a publish while disconnected fails
at once. The client's own few-byte commands (the PING of a ``flush()``, UNSUB) are always
kept; subscriptions are not buffered at all but replayed from their table.

Before a message is queued it is checked against what the server enforces by closing
the connection: ``max_payload`` and ``max_control_line``. A refused message leaves
nothing behind, and the connection stays up.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterable

from natskv.errors import (
    BadSubjectError,
    ConnectionClosedError,
    MaxPayloadError,
    ReconnectBufferFullError,
)
from natskv.protocol import CRLF

__all__ = ["Writer"]

# Payloads from this size on are queued as their own item instead of being copied into
# one frame with their control line.
_LARGE = 64 * 1024


class Writer:
    """The buffered, coalescing writer of one connection (all its sockets in turn)."""

    __slots__ = (
        "_drain_waiters",
        "_hpub_line",
        "_loop",
        "_pub_line",
        "_sock",
        "_tail",
        "_thread_lock",
        "buf",
        "bytes_out",
        "closed",
        "limit",
        "max_control_line",
        "max_payload",
        "msgs_out",
        "paused",
        "pings",
        "scheduled",
        "size",
        "thread_bytes_out",
        "thread_msgs_out",
        "transport",
    )

    def __init__(
        self, loop: asyncio.AbstractEventLoop, *, limit: int, max_control_line: int
    ) -> None:
        self._loop = loop
        #: frames queued and not yet written, and their total size
        self.buf: list[bytes] = []
        self.size = 0
        self.scheduled = False
        #: the socket's transport once the handshake is done; None while disconnected
        self.transport: asyncio.Transport | None = None
        self.paused = False
        self.closed = False
        #: how many bytes may wait while disconnected
        self.limit = limit
        #: PINGs still in the buffer (their waiters survive a lost socket)
        self.pings = 0
        self.max_payload = 1024 * 1024
        self.max_control_line = max_control_line
        # the longest PUB / HPUB control line (with the op, its space and CRLF)
        self._pub_line = max_control_line + 6
        self._hpub_line = max_control_line + 7
        self.msgs_out = 0
        self.bytes_out = 0
        self._drain_waiters: list[asyncio.Future[None]] = []
        # Writes from other threads (the sync API): straight to the socket when that keeps
        # every byte in order, see send_from_thread. The lock orders them with the loop's
        # own writes; _tail is what a thread's partial send left for the loop to write.
        self._thread_lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._tail = b""
        self.thread_msgs_out = 0
        self.thread_bytes_out = 0

    # -- queueing -------------------------------------------------------------------------

    def check_open(self) -> None:
        """Raise unless a command of the client's own (PING, UNSUB) may be queued now."""
        if self.closed:
            raise ConnectionClosedError("the connection is closed")

    def _check_offline(self, adding: int) -> None:
        """Disconnected: refuse ``adding`` more bytes if closed or over the buffer's bound."""
        if self.closed:
            raise ConnectionClosedError("the connection is closed")
        if self.size + adding > self.limit:
            raise ReconnectBufferFullError(
                f"disconnected, and {adding} more bytes would take the reconnect buffer "
                f"({self.size} bytes waiting) over reconnect_buffer_size={self.limit}; "
                "nothing was queued"
            )

    def enqueue(self, data: bytes) -> None:
        """Queue a frame; it leaves with the others of this loop turn."""
        self.buf.append(data)
        self.size += len(data)
        if not self.scheduled:
            self.scheduled = True
            self._loop.call_soon(self.flush)

    def publish(
        self, subject: str, reply: str | None, payload: bytes, headers: bytes | None
    ) -> None:
        """Frame and queue one message (its subjects already checked for whitespace).

        Raises :class:`MaxPayloadError` or :class:`BadSubjectError` (control line too
        long) with nothing queued.
        """
        size = len(payload)
        head = self.head(subject, reply, size, headers)
        if self.transport is None:
            self._check_offline(len(head) + size + 2)
        if size < _LARGE:
            frame = head + payload + CRLF
            self.buf.append(frame)
            self.size += len(frame)
        else:
            self.buf += (head, payload, CRLF)
            self.size += len(head) + size + 2
        self.msgs_out += 1
        if not self.scheduled:
            self.scheduled = True
            self._loop.call_soon(self.flush)

    def head(self, subject: str, reply: str | None, size: int, headers: bytes | None) -> bytes:
        """The ``PUB`` / ``HPUB`` line (and header block) of a ``size``-byte payload.

        Raises :class:`MaxPayloadError` or :class:`BadSubjectError` (control line too long).
        """
        if headers is None:
            if size > self.max_payload:
                raise self._too_large(size)
            head = (
                f"PUB {subject} {reply} {size}\r\n" if reply else f"PUB {subject} {size}\r\n"
            ).encode()
            if len(head) > self._pub_line:
                raise self._line_too_long("PUB", head, subject, reply)
            return head
        hsize = len(headers)
        total = hsize + size
        if total > self.max_payload:
            raise self._too_large(total)
        head = (
            f"HPUB {subject} {reply} {hsize} {total}\r\n"
            if reply
            else f"HPUB {subject} {hsize} {total}\r\n"
        ).encode()
        if len(head) > self._hpub_line:
            raise self._line_too_long("HPUB", head, subject, reply)
        return head + headers

    def frame(
        self, subject: str, reply: str | None, payload: bytes, headers: bytes | None
    ) -> bytes:
        """One message's whole frame, checked as :meth:`publish` checks it (for threads)."""
        return self.head(subject, reply, len(payload), headers) + payload + CRLF

    def publish_many(self, messages: Iterable[tuple[str, bytes, str | None]]) -> int:
        """Queue ``(subject, payload, reply)`` messages, all or none; returns how many."""
        if self.transport is None:
            self._check_offline(0)
        max_payload = self.max_payload
        max_line = self._pub_line
        parts: list[bytes] = []
        append = parts.append
        for subject, payload, reply in messages:
            size = len(payload)
            if size > max_payload:
                raise self._too_large(size)
            head = (
                f"PUB {subject} {reply} {size}\r\n" if reply else f"PUB {subject} {size}\r\n"
            ).encode()
            if len(head) > max_line:
                raise self._line_too_long("PUB", head, subject, reply)
            append(head)
            append(payload)
            append(CRLF)
        count = len(parts) // 3
        if count:
            if self.transport is None:
                self._check_offline(sum(map(len, parts)))
            self.buf += parts
            self.size += sum(map(len, parts))
            self.msgs_out += count
            if not self.scheduled:
                self.scheduled = True
                self._loop.call_soon(self.flush)
        return count

    def check_command(self, line: bytes, op: str) -> None:
        """Refuse a control line (``SUB ...\r\n``) whose arguments the server would not take."""
        if len(line) > self.max_control_line + len(op) + 3:
            raise BadSubjectError(
                f"{op} arguments of {len(line) - len(op) - 3} bytes exceed the server's "
                f"max_control_line of {self.max_control_line} (the server would close "
                "the connection); nothing was sent"
            )

    def _too_large(self, size: int) -> MaxPayloadError:
        return MaxPayloadError(
            f"message of {size} bytes exceeds the server's max_payload of {self.max_payload}"
        )

    def _line_too_long(
        self, op: str, head: bytes, subject: str, reply: str | None
    ) -> BadSubjectError:
        args = len(head) - len(op) - 3
        shown = subject if len(subject) <= 40 else subject[:40] + "..."
        also = f" and a reply subject of {len(reply)}" if reply else ""
        return BadSubjectError(
            f"subject {shown!r} ({len(subject.encode())} bytes{also}) makes {op} arguments of "
            f"{args} bytes, over the server's max_control_line of {self.max_control_line} "
            "(the server would close the connection); nothing was sent"
        )

    # -- writing ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what is queued, in one write (scheduled by :meth:`enqueue`)."""
        self.scheduled = False
        transport = self.transport
        if not self.buf or transport is None:
            return
        buf = self.buf
        data = buf[0] if len(buf) == 1 else b"".join(buf)
        buf.clear()
        self.pings = 0
        self.bytes_out += self.size
        self.size = 0
        with self._thread_lock:
            if self._tail:
                data = self._take_tail() + data
            transport.write(data)

    def write_now(self, data: bytes) -> None:
        """Write ahead of the buffer (a PONG answers a PING at once); dropped when offline."""
        transport = self.transport
        if transport is not None:
            with self._thread_lock:
                if self._tail:
                    data = self._take_tail() + data
                transport.write(data)

    def attach(self, transport: asyncio.Transport, first: list[bytes]) -> None:
        """A handshake is done: write ``first`` (subscriptions to restore), then the buffer."""
        self.transport = transport
        frames = first + self.buf if first else self.buf
        if frames:
            data = b"".join(frames)
            self.bytes_out += len(data)
            transport.write(data)
        self.buf = []
        self.size = 0
        self.pings = 0
        self._sock = _plain_socket(transport)

    def detach(self) -> None:
        """The socket is gone: keep buffering until the next :meth:`attach`."""
        with self._thread_lock:
            self.transport = None
            self._sock = None
            self._tail = b""  # a frame cut in half dies with its socket
        if self.paused:
            self.resume()

    def close(self) -> None:
        """No more writes: what is queued goes out now; waiters for the socket fail."""
        self.closed = True
        transport = self.transport
        with self._thread_lock:
            self._sock = None
            tail = self._take_tail()
        if transport is not None and (self.buf or tail):
            self.bytes_out += self.size
            transport.write(tail + b"".join(self.buf))
        self.buf = []
        self.size = 0
        self.pings = 0
        self.transport = None
        closed = ConnectionClosedError("the connection was closed")
        waiters, self._drain_waiters = self._drain_waiters, []
        for w in waiters:
            if not w.done():
                w.set_exception(closed)

    def unsent_replies(self, prefix: str) -> set[str]:
        """The reply tokens (after ``prefix``) of the requests still in the buffer.

        Read when a socket is lost, never on the hot path: those requests never left the
        client, so they can go out on the next socket instead of failing. The buffer is
        walked frame by frame (PUB and HPUB lines give their sizes), so a payload that
        happens to hold the prefix is never mistaken for a reply subject.
        """
        data = b"".join(self.buf)
        marker = prefix.encode()
        cut = len(marker)
        tokens: set[str] = set()
        pos = 0
        end = len(data)
        while pos < end:
            eol = data.find(CRLF, pos)
            if eol < 0:
                break
            args = data[pos:eol].split()
            pos = eol + 2
            if not args:
                continue
            op = args[0]
            if op == b"PUB":
                reply = args[2] if len(args) == 4 else None
            elif op == b"HPUB":
                reply = args[2] if len(args) == 5 else None
            else:
                continue  # SUB, UNSUB, PING: no payload follows
            pos += int(args[-1]) + 2
            if reply is not None and reply.startswith(marker):
                tokens.add(reply[cut:].decode())
        return tokens

    # -- writes from other threads -------------------------------------------------------------

    def send_from_thread(self, frame: bytes) -> bool:
        """From a thread other than the loop's: write ``frame`` to the socket now, if that
        keeps every byte in order; False when it must go through the loop instead.

        It may when the transport is asyncio's plain TCP one (not TLS, not uvloop's) and
        nothing waits to be written, neither in this buffer nor in the transport's: then
        asyncio would itself send at once, and the lock keeps the loop's writes out while
        this one goes. What a partial send leaves is written by the loop before anything
        else. The sync API saves a wake-up of the loop thread per request this way.
        """
        sock = self._sock
        # Busy (another thread is sending, or the loop is writing): then the loop is the
        # better way, since it sends everything queued meanwhile in one write.
        if sock is None or not self._thread_lock.acquire(blocking=False):
            return False
        try:
            transport = self.transport
            if (
                self._sock is None
                or transport is None
                or self.buf
                or self._tail
                or self.paused
                or transport.get_write_buffer_size()
            ):
                return False
            try:
                sent = sock.send(frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                return False  # the loop sees the socket fail and reconnects
            self.thread_msgs_out += 1
            self.thread_bytes_out += len(frame)
            if sent == len(frame):
                return True
            self._tail = frame[sent:]
        finally:
            self._thread_lock.release()
        self._loop.call_soon_threadsafe(self._write_tail)
        return True

    def _take_tail(self) -> bytes:
        tail, self._tail = self._tail, b""
        return tail

    def _write_tail(self) -> None:
        with self._thread_lock:
            transport = self.transport
            if self._tail and transport is not None:
                transport.write(self._take_tail())

    # -- back-pressure ------------------------------------------------------------------------

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def drained(self) -> None:
        """Wait until the socket takes writes again (returns at once if it does)."""
        if not self.paused:
            return
        fut: asyncio.Future[None] = self._loop.create_future()
        self._drain_waiters.append(fut)
        await fut


def _plain_socket(transport: asyncio.Transport) -> socket.socket | None:
    """The socket of asyncio's own plain TCP transport, else None (TLS, uvloop, mocks)."""
    if type(transport).__name__ != "_SelectorSocketTransport":
        return None
    if transport.get_extra_info("sslcontext") is not None:
        return None
    sock = transport.get_extra_info("socket")
    raw = getattr(sock, "_sock", None)  # asyncio hands out a TransportSocket wrapper
    return raw if isinstance(raw, socket.socket) else None
