"""The bucket status screen: ``nats kv info``, also printed by ``kv add`` and ``kv edit``.

:class:`StatusView` holds what the screen shows; :func:`status_text` lays it out as
natscli's ``columns.Writer`` does (``columns/columns.go``): a heading, section titles and
labels right-aligned to the longest one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from natskv.cli._scalars import (
    MAX_INT64,
    NEVER,
    Duration,
    format_duration_ns,
    format_ibytes,
    format_number,
    format_time,
    to_ns,
)
from natskv.cli._text import encode_output, raw_text

__all__ = [
    "ClusterInfo",
    "ReplicaInfo",
    "RepublishInfo",
    "SourceInfo",
    "StatusView",
    "status_text",
]

_UNLIMITED: Final = "unlimited"


@dataclass(frozen=True)
class RepublishInfo:
    """Stream RePublish config."""

    source: str
    destination: str
    headers_only: bool = False


@dataclass(frozen=True)
class SourceInfo:
    """A mirror or source of the bucket's stream.

    ``name`` is the stream name (``KV_`` is stripped for display),
    ``external_api`` the external API prefix when the source is external
    (``None`` otherwise), ``active`` the time since last contact (``None``,
    ``<= 0`` or ``>= MaxInt64`` ns shows ``never``), ``lag`` in messages.
    """

    name: str
    external_api: str | None = None
    active: Duration | None = None
    lag: int = 0


@dataclass(frozen=True)
class ReplicaInfo:
    """A peer in the stream's cluster information."""

    name: str
    current: bool = True
    offline: bool = False
    active: Duration | None = None
    lag: int = 0


@dataclass(frozen=True)
class ClusterInfo:
    """Stream cluster information.

    A single server also reports it (empty ``name``, the server as
    ``leader``), so natscli prints this section there too.
    """

    name: str = ""
    leader: str = ""
    replicas: tuple[ReplicaInfo, ...] = ()


@dataclass(frozen=True)
class StatusView:
    """Everything ``nats kv info`` shows.

    ``history``/``values`` are counts, ``bucket_size`` the stream bytes,
    ``max_bucket_size``/``max_value_size`` ``-1`` for unlimited,
    ``max_age_seconds`` ``None``/``<= 0`` for unlimited, ``limit_marker_ttl``
    ``None``/``<= 0`` when per-key TTLs are off.  ``metadata`` is the stream
    metadata; ``_nats.*`` keys are hidden.  When ``backing_store`` is not
    ``JetStream`` only the first rows are shown, as natscli has no stream
    info then. ``replicas`` and ``sync_policy`` (natskv's own rows, after ``Storage``;
    natscli has neither) are shown when set.
    """

    bucket: str
    created: datetime | None
    history: int
    values: int
    compressed: bool = False
    limit_marker_ttl: Duration | None = None
    backing_store: str = "JetStream"
    description: str = ""
    bucket_size: int = 0
    max_bucket_size: int = -1
    max_value_size: int = -1
    max_age_seconds: Duration | None = None
    stream_name: str = ""
    storage: str = "File"
    republish: RepublishInfo | None = None
    mirror: SourceInfo | None = None
    sources: tuple[SourceInfo, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    cluster: ClusterInfo | None = None
    replicas: int | None = None
    sync_policy: str | None = None


class _Columns:
    """natscli ``columns.Writer``: heading, section titles, right-aligned labels."""

    def __init__(self, heading: str) -> None:
        self.heading = heading
        # (is_title, label or title text, value)
        self.items: list[tuple[bool, str, str]] = []

    def title(self, text: str) -> None:
        self.items.append((True, text, ""))

    def row(self, label: str, value: str) -> None:
        self.items.append((False, label.removesuffix(":"), value))

    def render(self) -> str:
        # natscli measures the longest label in bytes but pads by runes
        longest = max(
            (len(label.encode("utf-8")) for is_title, label, _ in self.items if not is_title),
            default=0,
        )
        out: list[str] = []
        if self.heading:
            out.append(self.heading + "\n\n")
        prev_title = False
        for idx, (is_title, text, value) in enumerate(self.items):
            if is_title:
                if idx != 0 and not prev_title:
                    out.append("\n")
                out.append((text if text.endswith(":") else text + ":") + "\n\n")
            else:
                pad = max(longest - len(text) + 2, 0)
                if text == "":  # continuation line, no label and no colon
                    out.append(" " * (pad + 1) + f" {value}\n")
                else:
                    out.append(" " * pad + f"{text}: {value}\n")
            prev_title = is_title
        return "".join(out)


def _positive_ns(value: Duration | None) -> int | None:
    if value is None:
        return None
    ns = to_ns(value)
    return ns if ns > 0 else None


def _seen_ago(active: Duration | None) -> str | None:
    """How long ago a peer was last seen; ``None`` when never (zero, negative or MaxInt64)."""
    ns = _positive_ns(active)
    if ns is None or ns >= MAX_INT64:
        return None
    return format_duration_ns(ns)


def _last_seen(active: Duration | None) -> str:
    return _seen_ago(active) or NEVER


def _trim_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


def _shorten_metadata(value: str, screen_width: int) -> str:
    if len(value) > screen_width and screen_width > 20:
        keep = screen_width // 2 - 10
        # natscli cuts bytes, not characters
        raw = encode_output(value)
        return f"{raw_text(raw[:keep])} ... {raw_text(raw[len(raw) - keep :])}"
    return value


def _size_limit(size: int) -> str:
    return _UNLIMITED if size == -1 else format_ibytes(size)


def _source_rows(cols: _Columns, label: str, source: SourceInfo) -> None:
    cols.row(label, _trim_prefix(source.name, "KV_"))
    if source.external_api is not None:
        cols.row("External API", source.external_api)
    cols.row("Last Seen", _last_seen(source.active))
    cols.row("Lag", format_number(source.lag))


def _replica_state(replica: ReplicaInfo) -> str:
    state = [replica.name, "current" if replica.current else "outdated"]
    if replica.offline:
        state.append("OFFLINE")
    seen = _seen_ago(replica.active)
    state.append("not seen" if seen is None else f"seen {seen} ago")
    if replica.lag > 1:
        state.append(f"{format_number(replica.lag)} operations behind")
    elif replica.lag == 1:
        state.append("1 operation behind")
    return ", ".join(state)


def status_text(status: StatusView, *, screen_width: int = 80) -> str:
    """Full stdout of ``nats kv info`` (and of ``kv add``/``kv edit``).

    ``screen_width`` is natscli's metadata truncation width: 80 when stdout
    is not a terminal, else the terminal width minus 30 (at least 10).
    """
    jetstream = status.backing_store == "JetStream"
    heading = f"Information for Key-Value Store Bucket {status.bucket}"
    if jetstream and status.created is not None:
        heading += f" created {format_time(status.created)}"
    cols = _Columns(heading)

    cols.title("Configuration")
    cols.row("Bucket Name", status.bucket)
    cols.row("History Kept", format_number(status.history))
    cols.row("Values Stored", format_number(status.values))
    cols.row("Compressed", "true" if status.compressed else "false")
    marker_ns = _positive_ns(status.limit_marker_ttl)
    cols.row("Per-Key TTL Supported", "true" if marker_ns is not None else "false")
    if marker_ns is not None:
        cols.row("Limit Marker TTL", format_duration_ns(marker_ns))
    cols.row("Backing Store Kind", status.backing_store)

    if not jetstream:
        return cols.render()

    if status.description:
        cols.row("Description", status.description)
    cols.row("Bucket Size", format_ibytes(status.bucket_size))
    cols.row("Maximum Bucket Size", _size_limit(status.max_bucket_size))
    cols.row("Maximum Value Size", _size_limit(status.max_value_size))
    max_age_ns = _positive_ns(status.max_age_seconds)
    cols.row("Maximum Age", _UNLIMITED if max_age_ns is None else format_duration_ns(max_age_ns))
    cols.row("JetStream Stream", status.stream_name)
    cols.row("Storage", status.storage)
    if status.replicas is not None:
        cols.row("Replicas", format_number(status.replicas))
    if status.sync_policy is not None:
        cols.row("Sync Policy", status.sync_policy)
    if status.republish is not None:
        repub = status.republish
        label = "Republishing Headers" if repub.headers_only else "Republishing"
        cols.row(label, f"{repub.source} to {repub.destination}")

    if status.mirror is not None:
        cols.title("Mirror Information")
        _source_rows(cols, "Origin Bucket", status.mirror)

    if status.sources:
        cols.title("Sources Information")
        for source in status.sources:
            _source_rows(cols, "Source Bucket", source)

    meta = {k: v for k, v in status.metadata.items() if not k.startswith("_nats.")}
    if meta:
        cols.title("Metadata")
        for meta_key in sorted(meta):
            cols.row(meta_key, _shorten_metadata(meta[meta_key], screen_width))

    if status.cluster is not None:
        cluster = status.cluster
        cols.title("Cluster Information")
        cols.row("Name", cluster.name)
        cols.row("Leader", cluster.leader)
        for replica in cluster.replicas:
            cols.row("Replica", _replica_state(replica))

    return cols.render()
