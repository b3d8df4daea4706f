"""Events produced by the sans-IO parser.

``Msg`` is created once per delivered message and handed to the application as is, so it
is a slotted class with a hand-written ``__init__`` (cheaper than a frozen dataclass) and
headers parsed lazily on first access.
"""

from __future__ import annotations

from typing import Any

from natskv.errors import ProtocolError
from natskv.protocol._headers import parse_headers

__all__ = ["Err", "Info", "Msg", "Ok", "Ping", "Pong", "OK", "PING", "PONG", "Event"]


class Msg:
    """A message delivered by the server (``MSG`` or ``HMSG``).

    ``raw_headers`` is the header block exactly as received (``None`` for ``MSG``);
    ``headers``, ``status`` and ``description`` parse it on first access.
    """

    __slots__ = ("_parsed", "data", "raw_headers", "reply", "sid", "subject")

    def __init__(
        self,
        subject: str,
        sid: int,
        reply: str | None,
        data: bytes,
        raw_headers: bytes | None = None,
    ) -> None:
        self.subject = subject
        self.sid = sid
        self.reply = reply
        self.data = data
        self.raw_headers = raw_headers
        self._parsed: tuple[int | None, str, dict[str, str]] | None = None

    def _parse(self) -> tuple[int | None, str, dict[str, str]]:
        parsed = self._parsed
        if parsed is None:
            raw = self.raw_headers
            parsed = (None, "", {}) if raw is None else parse_headers(raw)
            self._parsed = parsed
        return parsed

    @property
    def headers(self) -> dict[str, str]:
        """Header fields (the first value of a repeated name wins); empty when there are none."""
        return self._parse()[2]

    @property
    def status(self) -> int | None:
        """The status code of the header line (``NATS/1.0 503``), or ``None``."""
        if self.raw_headers is None:
            return None
        return self._parse()[0]

    @property
    def description(self) -> str:
        """The status description (``Idle Heartbeat``), or an empty string."""
        return self._parse()[1]

    def header_values(self, name: str) -> list[str]:
        """Every value of a header that may repeat, in order."""
        if self.raw_headers is None:
            return []
        values: list[str] = parse_headers(self.raw_headers, multi=True)[2].get(name, [])
        return values

    def __repr__(self) -> str:
        size = len(self.data)
        hdr = ""
        if self.raw_headers is not None:
            try:
                hdr = f" headers={self.headers!r}"
            except ProtocolError:  # a repr must not raise: show the block as received
                hdr = f" raw_headers={self.raw_headers[:64]!r}"
        return f"<Msg subject={self.subject!r} reply={self.reply!r} size={size}{hdr}>"


class Info:
    """The server's ``INFO`` object."""

    __slots__ = ("options",)

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def __repr__(self) -> str:
        return f"<Info {self.options!r}>"


class Err:
    """A ``-ERR`` line; ``message`` has the surrounding quotes removed."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"<Err {self.message!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Err) and other.message == self.message

    def __hash__(self) -> int:
        return hash(("ERR", self.message))


class _Singleton:
    __slots__ = ()
    _name = ""

    def __repr__(self) -> str:
        return f"<{self._name}>"


class Ping(_Singleton):
    _name = "PING"


class Pong(_Singleton):
    _name = "PONG"


class Ok(_Singleton):
    _name = "+OK"


PING = Ping()
PONG = Pong()
OK = Ok()

Event = Msg | Info | Err | Ping | Pong | Ok
