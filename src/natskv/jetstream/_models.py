"""Typed JetStream API models (msgspec Structs).

Durations on the wire are integer nanoseconds and stay integers here (``*_ns`` helpers
convert). Stream configurations are kept as plain JSON dicts in :class:`StreamInfo` so
that fields added by newer servers survive a read-modify-write round trip.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import msgspec

__all__ = [
    "AccountInfo",
    "ApiErrorBody",
    "ApiLimits",
    "ApiStats",
    "ClusterInfo",
    "ConsumerConfig",
    "ConsumerInfo",
    "LostStreamData",
    "PeerInfo",
    "PubAck",
    "SequenceInfo",
    "StreamInfo",
    "StreamListResponse",
    "StreamNamesResponse",
    "StreamPurgeResponse",
    "StreamSourceInfo",
    "StreamState",
    "SuccessResponse",
    "parse_api_time",
]


class ApiErrorBody(msgspec.Struct, omit_defaults=True):
    code: int = 0
    err_code: int = 0
    description: str = ""


class PubAck(msgspec.Struct, omit_defaults=True):
    """The acknowledgement of a JetStream publish; ``seq`` is the stream sequence."""

    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    domain: str | None = None
    error: ApiErrorBody | None = None


class ApiStats(msgspec.Struct, omit_defaults=True):
    level: int = 0
    total: int = 0
    errors: int = 0


class ApiLimits(msgspec.Struct, omit_defaults=True):
    max_memory: int = -1
    max_storage: int = -1
    max_streams: int = -1
    max_consumers: int = -1


class AccountInfo(msgspec.Struct, omit_defaults=True):
    """``$JS.API.INFO``; ``api.level`` tells the server's JetStream API level."""

    memory: int = 0
    storage: int = 0
    streams: int = 0
    consumers: int = 0
    domain: str | None = None
    api: ApiStats = msgspec.field(default_factory=ApiStats)
    limits: ApiLimits = msgspec.field(default_factory=ApiLimits)
    error: ApiErrorBody | None = None


class LostStreamData(msgspec.Struct, omit_defaults=True):
    msgs: list[int] | None = None
    bytes: int = 0


class StreamState(msgspec.Struct, omit_defaults=True):
    messages: int = 0
    bytes: int = 0
    first_seq: int = 0
    first_ts: str | None = None
    last_seq: int = 0
    last_ts: str | None = None
    consumer_count: int = 0
    deleted: list[int] | None = None
    num_deleted: int = 0
    num_subjects: int = 0
    subjects: dict[str, int] | None = None
    lost: LostStreamData | None = None


class PeerInfo(msgspec.Struct, omit_defaults=True):
    name: str = ""
    current: bool = False
    offline: bool = False
    active: int = 0
    lag: int = 0


class ClusterInfo(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    leader: str | None = None
    replicas: list[PeerInfo] | None = None


class StreamSourceInfo(msgspec.Struct, omit_defaults=True):
    name: str = ""
    external: dict[str, Any] | None = None
    lag: int = 0
    active: int = -1
    filter_subject: str | None = None


class StreamInfo(msgspec.Struct, omit_defaults=True):
    """A stream's configuration (as a JSON dict), state and placement."""

    config: dict[str, Any] = msgspec.field(default_factory=dict)
    state: StreamState = msgspec.field(default_factory=StreamState)
    created: str = ""
    ts: str | None = None
    cluster: ClusterInfo | None = None
    mirror: StreamSourceInfo | None = None
    sources: list[StreamSourceInfo] | None = None
    did_create: bool | None = None

    @property
    def name(self) -> str:
        return str(self.config.get("name", ""))

    @property
    def created_at(self) -> datetime:
        return parse_api_time(self.created)


class StreamNamesResponse(msgspec.Struct, omit_defaults=True):
    total: int = 0
    offset: int = 0
    limit: int = 0
    streams: list[str] | None = None


class StreamListResponse(msgspec.Struct, omit_defaults=True):
    total: int = 0
    offset: int = 0
    limit: int = 0
    streams: list[StreamInfo] | None = None
    missing: list[str] | None = None


class StreamPurgeResponse(msgspec.Struct, omit_defaults=True):
    success: bool = False
    purged: int = 0


class SuccessResponse(msgspec.Struct, omit_defaults=True):
    """A reply that only says whether it worked (stream and consumer deletes).

    One module-level type: the reply decoders are cached per type, so a class made per
    call would grow that cache by one each time.
    """

    success: bool = False


class SequenceInfo(msgspec.Struct, omit_defaults=True):
    consumer_seq: int = 0
    stream_seq: int = 0


class ConsumerConfig(msgspec.Struct, omit_defaults=True):
    """The consumer settings natskv uses (ordered push consumers)."""

    name: str | None = None
    durable_name: str | None = None
    description: str | None = None
    deliver_subject: str | None = None
    deliver_policy: str = "all"
    opt_start_seq: int | None = None
    opt_start_time: str | None = None
    ack_policy: str = "none"
    ack_wait: int | None = None
    max_deliver: int | None = None
    filter_subject: str | None = None
    filter_subjects: list[str] | None = None
    replay_policy: str = "instant"
    flow_control: bool | None = None
    idle_heartbeat: int | None = None
    headers_only: bool | None = None
    mem_storage: bool | None = None
    num_replicas: int | None = None
    inactive_threshold: int | None = None
    max_ack_pending: int | None = None
    max_waiting: int | None = None


class ConsumerInfo(msgspec.Struct, omit_defaults=True):
    stream_name: str = ""
    name: str = ""
    created: str = ""
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    delivered: SequenceInfo = msgspec.field(default_factory=SequenceInfo)
    ack_floor: SequenceInfo = msgspec.field(default_factory=SequenceInfo)
    num_ack_pending: int = 0
    num_redelivered: int = 0
    num_waiting: int = 0
    num_pending: int = 0
    push_bound: bool = False


def parse_api_time(value: str | None) -> datetime:
    """Parse an RFC 3339 time from the API (nanoseconds are truncated to microseconds)."""
    if not value:
        return datetime(1970, 1, 1, tzinfo=timezone.utc)
    text = value
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    main, plus, offset = text.partition("+")
    if not plus:
        # a negative offset: split at the last '-' after the time part
        idx = text.rfind("-")
        if idx > 10:
            main, offset, plus = text[:idx], text[idx + 1 :], "-"
        else:
            main, offset = text, ""
    if "." in main:
        head, frac = main.split(".", 1)
        main = f"{head}.{frac[:6]:0<6}"
    if offset:
        main = f"{main}{plus}{offset}"
    dt = datetime.fromisoformat(main)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
