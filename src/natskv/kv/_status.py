"""Bucket status: everything ``nats kv info`` shows, from one STREAM.INFO."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from natskv.jetstream import ClusterInfo, StreamInfo, StreamSourceInfo, parse_api_time
from natskv.kv._config import KVConfig
from natskv.kv._mapping import bucket_from_stream, kv_config_from_stream, strip_reserved_metadata

__all__ = ["KVStatus"]


@dataclass(frozen=True)
class KVStatus:
    """The state and configuration of a bucket.

    ``replicas`` is the stream's replica count. ``sync_policy`` is when the server fsyncs
    an acknowledged write: ``"always"`` (before acknowledging it), ``"every 2m0s"`` (in the
    background, nats-server's default), or ``"unknown"`` when the server was not asked
    (see :meth:`KVStore.status`, whose ``monitoring_url`` lets natskv read it).
    """

    bucket: str
    values: int
    bytes: int
    history: int
    ttl: timedelta | None
    limit_marker_ttl: timedelta | None
    compressed: bool
    storage: str
    replicas: int
    max_bytes: int
    max_value_size: int
    description: str
    metadata: dict[str, str]
    created: datetime
    last_update: datetime | None
    stream_name: str
    config: KVConfig
    cluster: ClusterInfo | None = None
    mirror: StreamSourceInfo | None = None
    sources: tuple[StreamSourceInfo, ...] = ()
    republish: dict[str, Any] | None = None
    stream_info: StreamInfo | None = field(default=None, repr=False, compare=False)
    backing_store: str = "JetStream"
    sync_policy: str = "unknown"

    @property
    def is_compressed(self) -> bool:
        """Alias of ``compressed`` (nats.go naming)."""
        return self.compressed

    @classmethod
    def from_stream_info(cls, info: StreamInfo) -> KVStatus:
        cfg = info.config
        state = info.state
        name = str(cfg.get("name", ""))
        last_ts = state.last_ts
        last_update = None
        if state.last_seq and last_ts and not last_ts.startswith("0001-01-01"):
            last_update = parse_api_time(last_ts)
        kv_cfg = kv_config_from_stream(cfg)
        return cls(
            bucket=bucket_from_stream(name) or name,
            values=state.messages,
            bytes=state.bytes,
            history=int(cfg.get("max_msgs_per_subject", 1)),
            ttl=kv_cfg.ttl,
            limit_marker_ttl=kv_cfg.limit_marker_ttl,
            compressed=cfg.get("compression", "none") not in ("none", "", None),
            storage=str(cfg.get("storage", "file")),
            replicas=int(cfg.get("num_replicas", 1)),
            max_bytes=int(cfg.get("max_bytes", -1)),
            max_value_size=int(cfg.get("max_msg_size", -1)),
            description=str(cfg.get("description", "") or ""),
            metadata=strip_reserved_metadata(cfg.get("metadata")),
            created=info.created_at,
            last_update=last_update,
            stream_name=name,
            config=kv_cfg,
            cluster=info.cluster,
            mirror=info.mirror,
            sources=tuple(info.sources or ()),
            republish=cfg.get("republish"),
            stream_info=info,
        )
