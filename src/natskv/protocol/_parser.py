"""Sans-IO NATS protocol parser: bytes in, events out.

``Parser.feed(data)`` returns the complete events found so far and keeps any partial
control line or payload for the next call. Control lines are capped (4096 bytes by
default) and sizes are checked, so a bad peer raises :class:`ProtocolError` instead of
making the parser wait or grow forever.

A payload that spans many reads is gathered as a list of chunks and joined once, so a
1 MiB value arriving in 64 KiB reads is not copied sixteen times.
"""

from __future__ import annotations

import json

from natskv.errors import ProtocolError
from natskv.protocol._events import OK, PING, PONG, Err, Event, Info, Msg

__all__ = ["MAX_CONTROL_LINE", "Parser"]

MAX_CONTROL_LINE = 4096

_CRLF = b"\r\n"
# First bytes of the operations, both cases (the protocol is case-insensitive).
_M = frozenset(b"Mm")
_H = frozenset(b"Hh")
_P = frozenset(b"Pp")
_I = frozenset(b"Ii")
_PLUS = ord("+")
# The operation name may be followed by a space or a tab.
_MSG_OPS = frozenset((b"MSG ", b"MSG\t"))
_HMSG_OPS = frozenset((b"HMSG ", b"HMSG\t"))
_INFO_OPS = frozenset((b"INFO ", b"INFO\t"))
_ERR_SEPS = frozenset(b" \t")
_MINUS = ord("-")


class Parser:
    """Incremental parser for the server-to-client side of the NATS protocol."""

    __slots__ = (
        "_buf",
        "_chunks",
        "_have",
        "_head",
        "_need",
        "max_control_line",
        "max_payload",
    )

    def __init__(
        self, *, max_control_line: int = MAX_CONTROL_LINE, max_payload: int = 64 * 1024 * 1024
    ) -> None:
        self.max_control_line = max_control_line
        self.max_payload = max_payload
        self._buf = b""
        # A message whose control line is parsed but whose payload is incomplete:
        # (subject, sid, reply, header_len or -1, total_len)
        self._head: tuple[str, int, str | None, int, int] | None = None
        self._chunks: list[bytes] = []
        self._have = 0
        self._need = 0

    def reset(self) -> None:
        """Forget any partial input (used when a connection is replaced)."""
        self._buf = b""
        self._head = None
        self._chunks = []
        self._have = 0
        self._need = 0

    def feed(self, data: bytes) -> list[Event]:
        """Consume ``data`` and return every event it completes, in order."""
        events: list[Event] = []
        head = self._head
        if head is not None:
            self._chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return events
            buf = b"".join(self._chunks)
            self._chunks = []
            self._head = None
            need = self._need
            events.append(self._complete(buf, 0, head))
            pos = need
        else:
            buf = self._buf + data if self._buf else data
            pos = 0
        n = len(buf)
        find = buf.find
        startswith = buf.startswith
        append = events.append
        maxline = self.max_control_line
        max_payload = self.max_payload
        while pos < n:
            end = find(_CRLF, pos)
            if end < 0:
                # Fail as soon as the partial line cannot fit any more; a trailing CR may
                # still be the first half of the CRLF ending a line of exactly ``maxline``.
                if n - pos > maxline and (n - pos > maxline + 1 or buf[n - 1] != 13):
                    raise ProtocolError(f"control line longer than {maxline} bytes")
                break
            if end - pos > maxline:
                raise ProtocolError(f"control line longer than {maxline} bytes")
            # The common case first: an upper-case MSG or HMSG with single spaces.
            first = buf[pos]
            if first == 77 and startswith(b"MSG ", pos):
                args = buf[pos + 4 : end].split()
                hmsg = False
            elif first == 72 and startswith(b"HMSG ", pos):
                args = buf[pos + 5 : end].split()
                hmsg = True
            else:
                if first in _M and buf[pos : pos + 4].upper() in _MSG_OPS:
                    args = buf[pos + 4 : end].split()
                    hmsg = False
                elif first in _H and buf[pos : pos + 5].upper() in _HMSG_OPS:
                    args = buf[pos + 5 : end].split()
                    hmsg = True
                elif first in _M or first in _H:
                    raise ProtocolError(f"unknown protocol operation: {buf[pos:end][:32]!r}")
                else:
                    append(_control_event(buf[pos:end]))
                    pos = end + 2
                    continue
            nargs = len(args)
            if hmsg:
                # HMSG <subject> <sid> [reply] <#header bytes> <#total bytes>
                if nargs == 5:
                    subject_b, sid_b, reply_b, hlen_b, size_b = args
                elif nargs == 4:
                    subject_b, sid_b, hlen_b, size_b = args
                    reply_b = None
                else:
                    raise ProtocolError(f"malformed HMSG: {buf[pos:end][:64]!r}")
                # isdigit() (ASCII only for bytes) rejects what int() would also take:
                # signs, underscores ("1_0"), and so on.
                if not (sid_b.isdigit() and hlen_b.isdigit() and size_b.isdigit()):
                    raise ProtocolError(f"malformed HMSG: {buf[pos:end][:64]!r}")
                try:
                    sid, hlen, size = int(sid_b), int(hlen_b), int(size_b)
                except ValueError:  # more digits than int() takes (a line over 4300 bytes)
                    raise ProtocolError(f"malformed HMSG: {buf[pos:end][:64]!r}") from None
                if hlen > size:
                    raise ProtocolError(f"bad header size {hlen} for total size {size}")
            else:
                # MSG <subject> <sid> [reply] <#bytes>
                if nargs == 4:
                    subject_b, sid_b, reply_b, size_b = args
                elif nargs == 3:
                    subject_b, sid_b, size_b = args
                    reply_b = None
                else:
                    raise ProtocolError(f"malformed MSG: {buf[pos:end][:64]!r}")
                if not (sid_b.isdigit() and size_b.isdigit()):
                    raise ProtocolError(f"malformed MSG: {buf[pos:end][:64]!r}")
                try:
                    sid, size = int(sid_b), int(size_b)
                except ValueError:  # more digits than int() takes (a line over 4300 bytes)
                    raise ProtocolError(f"malformed MSG: {buf[pos:end][:64]!r}") from None
                hlen = -1
            try:
                subject = subject_b.decode()
                reply = None if reply_b is None else reply_b.decode()
            except UnicodeDecodeError:
                op = "HMSG" if hmsg else "MSG"
                raise ProtocolError(f"malformed {op}: {buf[pos:end][:64]!r}") from None
            if size > max_payload:
                raise ProtocolError(f"bad payload size: {size}")
            start = end + 2
            stop = start + size
            if stop + 2 <= n:
                if buf[stop] != 13 or buf[stop + 1] != 10:
                    raise ProtocolError("payload not followed by CRLF")
                if hlen < 0:
                    append(Msg(subject, sid, reply, buf[start:stop]))
                else:
                    hstop = start + hlen
                    append(Msg(subject, sid, reply, buf[hstop:stop], buf[start:hstop]))
                pos = stop + 2
                continue
            # Incomplete payload: keep the parsed head and gather chunks until it is whole.
            self._head = (subject, sid, reply, hlen, size)
            rest = buf[start:]
            self._chunks = [rest]
            self._have = len(rest)
            self._need = size + 2
            self._buf = b""
            return events
        self._buf = buf[pos:] if pos < n else b""
        return events

    def _complete(self, buf: bytes, start: int, head: tuple[str, int, str | None, int, int]) -> Msg:
        subject, sid, reply, hlen, size = head
        stop = start + size
        if buf[stop : stop + 2] != _CRLF:
            raise ProtocolError("payload not followed by CRLF")
        if hlen < 0:
            return Msg(subject, sid, reply, buf[start:stop])
        hstop = start + hlen
        return Msg(subject, sid, reply, buf[hstop:stop], buf[start:hstop])


def _control_event(line: bytes) -> Event:
    """The event of a control line other than ``MSG``/``HMSG`` (without its CRLF).

    The compiled parser (``_cparser.c``) calls this too, so both read these lines alike.
    """
    first = line[0] if line else -1
    if first in _P:
        word = line.strip().upper()
        if word == b"PING":
            return PING
        if word == b"PONG":
            return PONG
        raise ProtocolError(f"unknown protocol operation: {line[:32]!r}")
    if first in _I:
        if line[:5].upper() not in _INFO_OPS:
            raise ProtocolError(f"unknown protocol operation: {line[:32]!r}")
        try:
            options = json.loads(line[5:])
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            raise ProtocolError(f"malformed INFO: {line[:64]!r}") from None
        if not isinstance(options, dict):
            raise ProtocolError("INFO is not a JSON object")
        return Info(options)
    if first == _PLUS:
        if line.strip().upper() != b"+OK":
            raise ProtocolError(f"unknown protocol operation: {line[:32]!r}")
        return OK
    if first == _MINUS:
        if line[:4].upper() != b"-ERR" or (len(line) > 4 and line[4] not in _ERR_SEPS):
            raise ProtocolError(f"unknown protocol operation: {line[:32]!r}")
        message = line[4:].strip().decode("utf-8", "replace")
        if len(message) >= 2 and message[0] == message[-1] == "'":
            message = message[1:-1]
        return Err(message)
    raise ProtocolError(f"unknown protocol operation: {line[:32]!r}")
