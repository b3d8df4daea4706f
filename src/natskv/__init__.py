"""natskv: a fast, typed NATS JetStream Key/Value store for Python.

Quick start::

    import natskv

    async with natskv.EmbeddedServer() as server:          # or any NATS server URL
        async with await natskv.connect(server.url) as nc:
            kv = natskv.KVContext(natskv.JetStream(nc))
            store = await kv.create_store("shop_orders")
            await store.put("order-1", ShopOrder(id=1))
            entry = await store.get_entry("order-1", ShopOrder)

The layers, each importing only those below it: ``protocol`` (sans-IO NATS protocol),
``client`` (asyncio connection), ``jetstream``, ``kv``; ``server`` runs an embedded
nats-server and ``cli`` is the ``natskv`` command.
"""

import logging

from natskv._version import __version__
from natskv.client import Connection, ConnectionState, Msg, Subscription, connect
from natskv.errors import (
    APIError,
    AuthorizationError,
    BadBucketError,
    BadSubjectError,
    BucketExistsError,
    BucketNotFoundError,
    ConnectionClosedError,
    ConnectionLostError,
    DecodeError,
    InvalidBucketNameError,
    InvalidConfigError,
    InvalidKeyError,
    InvalidRevisionError,
    JetStreamError,
    JetStreamNotEnabledError,
    KeyDeletedError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValueError,
    MaxPayloadError,
    NatsConnectionError,
    NatsError,
    NoRespondersError,
    NoStreamResponseError,
    ProtocolError,
    ReconnectBufferFullError,
    SlowConsumerError,
    StreamNotFoundError,
    TimeoutError,
    TTLNotSupportedError,
    ValueTooLargeError,
    WrongRevisionError,
)
from natskv.jetstream import JetStream, PubAck, StreamInfo
from natskv.kv import (
    Codec,
    CodecRegistry,
    KVConfig,
    KVContext,
    KVEntry,
    KVOperation,
    KVResult,
    KVScan,
    KVSource,
    KVStatus,
    KVStore,
    KVWatcher,
    Placement,
    RePublish,
    StorageType,
)
from natskv.server import EmbeddedServer, ServerNotFoundError, ServerStartError

# natskv logs on "natskv.client", "natskv.jetstream" and "natskv.kv" and leaves handlers to
# the application (the logging HOWTO's advice for libraries): configure logging to see them.
logging.getLogger("natskv").addHandler(logging.NullHandler())

__all__ = [
    "APIError",
    "AuthorizationError",
    "BadBucketError",
    "BadSubjectError",
    "BucketExistsError",
    "BucketNotFoundError",
    "Codec",
    "CodecRegistry",
    "Connection",
    "ConnectionClosedError",
    "ConnectionLostError",
    "ConnectionState",
    "DecodeError",
    "EmbeddedServer",
    "InvalidBucketNameError",
    "InvalidConfigError",
    "InvalidKeyError",
    "InvalidRevisionError",
    "JetStream",
    "JetStreamError",
    "JetStreamNotEnabledError",
    "KVConfig",
    "KVContext",
    "KVEntry",
    "KVOperation",
    "KVResult",
    "KVSource",
    "KVStatus",
    "KVStore",
    "KVScan",
    "KVWatcher",
    "KeyDeletedError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValueError",
    "MaxPayloadError",
    "Msg",
    "NatsConnectionError",
    "NatsError",
    "NoRespondersError",
    "NoStreamResponseError",
    "Placement",
    "ProtocolError",
    "PubAck",
    "RePublish",
    "ReconnectBufferFullError",
    "ServerNotFoundError",
    "ServerStartError",
    "SlowConsumerError",
    "StorageType",
    "StreamInfo",
    "StreamNotFoundError",
    "Subscription",
    "TTLNotSupportedError",
    "TimeoutError",
    "ValueTooLargeError",
    "WrongRevisionError",
    "__version__",
    "connect",
]
