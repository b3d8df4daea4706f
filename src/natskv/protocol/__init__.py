"""The NATS client protocol, sans-IO: a parser (bytes in, events out) and an encoder.

Nothing here touches sockets or asyncio; the client layer moves bytes between a
transport and these functions.

``Parser`` is the compiled parser when it was built at install time (a C compiler was
there), else the pure-Python one; both give the same events and errors.
``PARSER_IMPL`` says which: ``"c"`` or ``"python"``. ``NATSKV_PURE_PYTHON=1`` in the
environment selects the pure one.
"""

from natskv.protocol._encoder import (
    CRLF,
    PING_CMD,
    PONG_CMD,
    check_subject,
    encode_connect,
    encode_hpub,
    encode_pub,
    encode_sub,
    encode_unsub,
    hpub_head,
    pub_head,
)
from natskv.protocol._events import OK, PING, PONG, Err, Event, Info, Msg, Ok, Ping, Pong
from natskv.protocol._headers import HEADER_LINE, encode_headers, parse_headers
from natskv.protocol._impl import PARSER_IMPL, Parser
from natskv.protocol._parser import MAX_CONTROL_LINE

__all__ = [
    "CRLF",
    "HEADER_LINE",
    "MAX_CONTROL_LINE",
    "OK",
    "PARSER_IMPL",
    "PING",
    "PING_CMD",
    "PONG",
    "PONG_CMD",
    "Err",
    "Event",
    "Info",
    "Msg",
    "Ok",
    "Parser",
    "Ping",
    "Pong",
    "check_subject",
    "encode_connect",
    "encode_headers",
    "encode_hpub",
    "encode_pub",
    "encode_sub",
    "encode_unsub",
    "hpub_head",
    "parse_headers",
    "pub_head",
]
