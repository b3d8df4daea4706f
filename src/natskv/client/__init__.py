"""The asyncio NATS client: connection, publish/subscribe, request/reply, reconnect, auth, TLS."""

from natskv.client._connect import connect
from natskv.client._connection import Connection, ConnectionState
from natskv.client._lowlevel import LowLevel
from natskv.client._mock import MockNetwork, MockTransport
from natskv.client._nuid import NUID, next_nuid
from natskv.client._options import DEFAULT_URL, ConnectOptions, ServerAddress, parse_servers
from natskv.client._status import (
    AsyncError,
    Closed,
    Disconnected,
    LameDuck,
    Reconnected,
    StatusEvent,
    StatusStream,
)
from natskv.client._subscription import Subscription
from natskv.client._transport import Dialer, TCPDialer
from natskv.protocol import Msg

__all__ = [
    "DEFAULT_URL",
    "NUID",
    "AsyncError",
    "Closed",
    "ConnectOptions",
    "Connection",
    "ConnectionState",
    "Dialer",
    "Disconnected",
    "LameDuck",
    "LowLevel",
    "MockNetwork",
    "MockTransport",
    "Msg",
    "Reconnected",
    "ServerAddress",
    "StatusEvent",
    "StatusStream",
    "Subscription",
    "TCPDialer",
    "connect",
    "next_nuid",
    "parse_servers",
]
