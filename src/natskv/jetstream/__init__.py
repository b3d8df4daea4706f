"""JetStream: the API request helper and typed models, streams, publish with expectations,
direct get (single and batch) and the ordered push consumer."""

from natskv.jetstream._context import (
    EXPECTED_LAST_SEQUENCE,
    EXPECTED_LAST_SUBJECT_SEQUENCE,
    EXPECTED_STREAM,
    MSG_ID,
    MSG_TTL,
    JetStream,
    StoredMessage,
    check_direct_status,
)
from natskv.jetstream._models import (
    AccountInfo,
    ApiErrorBody,
    ClusterInfo,
    ConsumerConfig,
    ConsumerInfo,
    PeerInfo,
    PubAck,
    SequenceInfo,
    StreamInfo,
    StreamSourceInfo,
    StreamState,
    parse_api_time,
)
from natskv.jetstream._ordered import Delivered, OrderedConsumer

__all__ = [
    "EXPECTED_LAST_SEQUENCE",
    "EXPECTED_LAST_SUBJECT_SEQUENCE",
    "EXPECTED_STREAM",
    "MSG_ID",
    "MSG_TTL",
    "AccountInfo",
    "ApiErrorBody",
    "ClusterInfo",
    "ConsumerConfig",
    "ConsumerInfo",
    "Delivered",
    "JetStream",
    "OrderedConsumer",
    "PeerInfo",
    "PubAck",
    "SequenceInfo",
    "StoredMessage",
    "StreamInfo",
    "StreamSourceInfo",
    "StreamState",
    "check_direct_status",
    "parse_api_time",
]
