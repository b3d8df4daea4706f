"""The asyncio NATS client: connection, publish/subscribe, request/reply, reconnect, auth, TLS."""

from natskv.client._connection import Connection, ConnectionState, connect
from natskv.client._nuid import NUID, next_nuid
from natskv.client._options import DEFAULT_URL, ServerAddress, parse_servers
from natskv.client._subscription import Subscription
from natskv.protocol import Msg

__all__ = [
    "DEFAULT_URL",
    "NUID",
    "Connection",
    "ConnectionState",
    "Msg",
    "ServerAddress",
    "Subscription",
    "connect",
    "next_nuid",
    "parse_servers",
]
