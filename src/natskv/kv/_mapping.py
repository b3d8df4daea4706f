"""The Key/Value <-> JetStream mapping, written once.

A bucket ``b`` is the stream ``KV_b``; key ``k`` is the subject ``$KV.b.k``; delete and purge
markers are messages with a ``KV-Operation`` header (or a server-written ``Nats-Marker-Reason``).
Everything is a constant or a pure function: no I/O, nothing sent (wire reference sections
4.1, 4.2, 4.4, 4.5, 4.8 and 5).

This module is the bucket configuration's mapping to a stream configuration and back
(:func:`stream_config`, :func:`kv_config_from_stream`); the name and key rules are
``_names``, the headers and their TTL and timestamp formats ``_headers``. Both are
re-exported here, so that ``_mapping`` stays the one place the rest of ``kv`` imports
the mapping from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from natskv.errors import BadBucketError, InvalidConfigError
from natskv.kv._config import (
    MAX_HISTORY,
    KVConfig,
    KVSource,
    Placement,
    RePublish,
    StorageType,
    SubjectTransform,
)
from natskv.kv._headers import (
    EXPECTED_LAST_SUBJECT_SEQUENCE,
    KV_OPERATION,
    MARKER_REASON,
    NATS_MSG_SIZE,
    NATS_ROLLUP,
    NATS_SEQUENCE,
    NATS_STREAM,
    NATS_SUBJECT,
    NATS_TIMESTAMP,
    NATS_TTL,
    ROLLUP_SUBJECT,
    datetime_from_unix_nanos,
    format_timestamp,
    format_ttl,
    operation_from_headers,
    parse_timestamp,
    parse_wrong_last_sequence,
)
from natskv.kv._names import (
    MAX_BUCKET_NAME,
    MAX_CONTROL_LINE,
    MAX_REVISION,
    STREAM_PREFIX,
    SUBJECT_PREFIX,
    bucket_from_stream,
    bucket_subjects,
    key_subject,
    max_key_length,
    stream_name,
    subject_prefix,
    validate_bucket_name,
    validate_key,
    validate_key_filter,
    validate_revision,
)

__all__ = [
    "EXPECTED_LAST_SUBJECT_SEQUENCE",
    "KV_OPERATION",
    "MARKER_REASON",
    "MAX_BUCKET_NAME",
    "MAX_CONTROL_LINE",
    "MAX_HISTORY",
    "MAX_REVISION",
    "NATS_MSG_SIZE",
    "NATS_ROLLUP",
    "NATS_SEQUENCE",
    "NATS_STREAM",
    "NATS_SUBJECT",
    "NATS_TIMESTAMP",
    "NATS_TTL",
    "ROLLUP_SUBJECT",
    "STREAM_PREFIX",
    "SUBJECT_PREFIX",
    "bucket_from_stream",
    "bucket_subjects",
    "datetime_from_unix_nanos",
    "format_timestamp",
    "format_ttl",
    "is_kv_stream",
    "key_subject",
    "kv_config_from_stream",
    "max_key_length",
    "operation_from_headers",
    "parse_timestamp",
    "parse_wrong_last_sequence",
    "stream_config",
    "stream_name",
    "strip_reserved_metadata",
    "subject_prefix",
    "validate_bucket_name",
    "validate_key",
    "validate_key_filter",
    "validate_revision",
]

_RESERVED_METADATA_PREFIX = "_nats."
_NS_PER_US = 1_000
_NS_PER_S = 1_000_000_000
_DEFAULT_DUPLICATE_WINDOW_NS = 120 * _NS_PER_S


def _nanos(value: timedelta) -> int:
    return ((value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds) * _NS_PER_US


def _from_nanos(ns: int) -> timedelta:
    return timedelta(microseconds=ns // _NS_PER_US)


def _source_stream_name(name: str) -> tuple[str, str]:
    """(stream name, bucket name) of a mirror/source given as a bucket or a ``KV_`` stream."""
    if name.startswith(STREAM_PREFIX):
        return name, name[len(STREAM_PREFIX) :]
    return STREAM_PREFIX + name, name


def _source_dict(source: KVSource, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if source.start_seq is not None:
        out["opt_start_seq"] = source.start_seq
    if source.start_time is not None:
        out["opt_start_time"] = format_timestamp(source.start_time)
    if source.filter_subject is not None:
        out["filter_subject"] = source.filter_subject
    if source.subject_transforms:
        out["subject_transforms"] = [
            {"src": t.src, "dest": t.dest} for t in source.subject_transforms
        ]
    if source.domain is not None:
        out["external"] = {"api": f"$JS.{source.domain}.API"}
    elif source.api_prefix is not None:
        external = {"api": source.api_prefix}
        if source.deliver_prefix is not None:
            external["deliver"] = source.deliver_prefix
        out["external"] = external
    return out


def _filter_transform_dest(filter_subject: str, src_bucket: str, bucket: str) -> str | None:
    """The transform destination that moves ``$KV.<src>.<rest>`` to ``$KV.<bucket>.<rest>``.

    The server allows no ``*`` in a destination, so the n-th ``*`` of the filter becomes
    ``{{wildcard(n)}}``; ``>`` stays as is. ``None`` if the filter is not under the source.
    """
    src_prefix = subject_prefix(src_bucket)
    if not filter_subject.startswith(src_prefix) or len(filter_subject) == len(src_prefix):
        return None
    tokens = filter_subject[len(src_prefix) :].split(".")
    n = 0
    for i, token in enumerate(tokens):
        if token == "*":
            n += 1
            tokens[i] = f"{{{{wildcard({n})}}}}"
    return subject_prefix(bucket) + ".".join(tokens)


def _kv_source_dict(source: KVSource, bucket: str) -> dict[str, Any]:
    """A ``sources`` entry: ``KV_`` prefix and the ``$KV.<src>.>`` -> ``$KV.<b>.>`` transform.

    As in nats.go: user transforms are kept verbatim and the name is not prefixed (full
    control, e.g. a non-KV stream); an external source of a same-named bucket needs no
    transform. The server rejects ``filter_subject`` together with transforms, so a filter
    on ``$KV.<src>.`` becomes the transform's source instead.
    """
    if source.subject_transforms:
        return _source_dict(source, source.name)
    name, src_bucket = _source_stream_name(source.name)
    out = _source_dict(source, name)
    if (source.domain is None and source.api_prefix is None) or src_bucket != bucket:
        flt = source.filter_subject
        if flt is None:
            src, dest = bucket_subjects(src_bucket), bucket_subjects(bucket)
        else:
            filtered = _filter_transform_dest(flt, src_bucket, bucket)
            if filtered is None:
                raise InvalidConfigError(
                    f"source {source.name!r}: filter_subject {flt!r} must start with "
                    f"{subject_prefix(src_bucket)!r}, or give subject_transforms explicitly"
                )
            src, dest = flt, filtered
            del out["filter_subject"]
        out["subject_transforms"] = [{"src": src, "dest": dest}]
    return out


def stream_config(config: KVConfig, *, api_level: int = 0) -> dict[str, Any]:
    """The JSON-ready StreamConfig for a bucket (wire reference 4.2).

    ``api_level`` is the server's JetStream API level (``$JS.API.INFO`` -> ``api.level``);
    limit markers need level 1 (nats-server 2.11).
    """
    bucket = config.bucket
    mirror = config.mirror
    ttl_ns = _nanos(config.ttl) if config.ttl is not None else 0
    cfg: dict[str, Any] = {"name": STREAM_PREFIX + bucket}
    if config.description:
        cfg["description"] = config.description
    if mirror is None:
        cfg["subjects"] = [bucket_subjects(bucket)]
    cfg.update(
        retention="limits",
        max_consumers=-1,
        max_msgs=-1,
        max_bytes=config.max_bytes,
        discard="new",
        max_age=ttl_ns,
        max_msgs_per_subject=config.history,
        max_msg_size=config.max_value_size,
        storage=config.storage.value,
        num_replicas=config.replicas,
        duplicate_window=(
            ttl_ns if 0 < ttl_ns < _DEFAULT_DUPLICATE_WINDOW_NS else _DEFAULT_DUPLICATE_WINDOW_NS
        ),
        deny_delete=True,
        deny_purge=False,
        allow_rollup_hdrs=True,
        compression="s2" if config.compression else "none",
        allow_direct=True,
        mirror_direct=mirror is not None,
    )
    if config.placement is not None:
        placement: dict[str, Any] = {}
        if config.placement.cluster is not None:
            placement["cluster"] = config.placement.cluster
        if config.placement.tags:
            placement["tags"] = list(config.placement.tags)
        cfg["placement"] = placement
    if config.republish is not None:
        republish: dict[str, Any] = {
            "src": config.republish.source,
            "dest": config.republish.destination,
        }
        if config.republish.headers_only:
            republish["headers_only"] = True
        cfg["republish"] = republish
    if mirror is not None:
        cfg["mirror"] = _source_dict(mirror, _source_stream_name(mirror.name)[0])
    elif config.sources:
        cfg["sources"] = [_kv_source_dict(s, bucket) for s in config.sources]
    if config.metadata:
        cfg["metadata"] = dict(config.metadata)
    if config.limit_marker_ttl is not None:
        if mirror is not None:
            raise InvalidConfigError("limit_marker_ttl cannot be used on a mirror bucket")
        if api_level < 1:
            raise InvalidConfigError(
                "limit_marker_ttl requires nats-server 2.11 or newer (JetStream API level >= 1, "
                f"this server reports {api_level})"
            )
        cfg["allow_msg_ttl"] = True
        cfg["subject_delete_marker_ttl"] = _nanos(config.limit_marker_ttl)
    return cfg


def strip_reserved_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """``metadata`` without the keys the server reserves for itself (``_nats.*``)."""
    if not metadata:
        return {}
    return {k: v for k, v in metadata.items() if not k.startswith(_RESERVED_METADATA_PREFIX)}


def is_kv_stream(stream_cfg: Mapping[str, Any]) -> bool:
    """Whether a StreamConfig has the shape of a Key/Value bucket.

    The name is ``KV_<bucket>`` and ``max_msgs_per_subject >= 1`` (the nats.go rule); a
    bucket that is not a mirror must also listen on exactly ``$KV.<bucket>.>``.
    """
    name = stream_cfg.get("name")
    if not isinstance(name, str):
        return False
    bucket = bucket_from_stream(name)
    if bucket is None:
        return False
    history = stream_cfg.get("max_msgs_per_subject")
    if not isinstance(history, int) or isinstance(history, bool) or history < 1:
        return False
    if stream_cfg.get("mirror"):
        return True
    return stream_cfg.get("subjects") == [bucket_subjects(bucket)]


def _kv_source_from_dict(raw: Mapping[str, Any], bucket: str | None) -> KVSource:
    """The inverse of :func:`_source_dict` / :func:`_kv_source_dict`.

    ``bucket`` is the sourcing bucket (``None`` for a mirror). Names come back as bucket
    names when they carry the ``KV_`` prefix and the transforms are the generated ones,
    so ``KVSource("x")`` and ``KVSource("KV_x")`` both read back as ``KVSource("x")``.
    """
    name = str(raw.get("name", ""))
    external = raw.get("external") or {}
    api = external.get("api") or None
    deliver = external.get("deliver") or None
    domain: str | None = None
    if api is not None and deliver is None:
        m = re.fullmatch(r"\$JS\.([^.*> ]+)\.API", api)
        if m:
            domain, api = m.group(1), None
    start_time_raw = raw.get("opt_start_time")
    start_time = parse_timestamp(start_time_raw) if start_time_raw else None
    filter_subject = raw.get("filter_subject") or None
    transforms = tuple(
        SubjectTransform(src=t.get("src", ""), dest=t.get("dest", ""))
        for t in raw.get("subject_transforms") or ()
    )
    is_kv_name = name.startswith(STREAM_PREFIX) and len(name) > len(STREAM_PREFIX)
    if is_kv_name:
        src_bucket = name[len(STREAM_PREFIX) :]
        if bucket is None or not transforms:
            name = src_bucket
        elif len(transforms) == 1 and filter_subject is None:
            t = transforms[0]
            if t.dest == _filter_transform_dest(t.src, src_bucket, bucket):
                name, transforms = src_bucket, ()
                if t.src != bucket_subjects(src_bucket):
                    filter_subject = t.src
    return KVSource(
        name=name,
        domain=domain,
        api_prefix=api,
        deliver_prefix=deliver,
        filter_subject=filter_subject,
        subject_transforms=transforms,
        start_seq=raw.get("opt_start_seq") or None,
        start_time=start_time,
    )


def kv_config_from_stream(stream_cfg: Mapping[str, Any]) -> KVConfig:
    """The bucket configuration a StreamConfig describes (the inverse of :func:`stream_config`).

    Reserved ``_nats.*`` metadata is dropped. Raises :class:`BadBucketError` when the stream
    is not a valid Key/Value bucket.
    """
    name = str(stream_cfg.get("name", ""))
    bucket = bucket_from_stream(name)
    if bucket is None:
        raise BadBucketError(name, "the stream name does not start with 'KV_'")
    try:
        placement_raw = stream_cfg.get("placement")
        placement = (
            Placement(
                cluster=placement_raw.get("cluster") or None,
                tags=tuple(placement_raw.get("tags") or ()),
            )
            if placement_raw
            else None
        )
        republish_raw = stream_cfg.get("republish")
        republish = (
            RePublish(
                destination=republish_raw.get("dest", ""),
                source=republish_raw.get("src") or ">",
                headers_only=bool(republish_raw.get("headers_only", False)),
            )
            if republish_raw
            else None
        )
        mirror_raw = stream_cfg.get("mirror")
        marker_ttl_ns = int(stream_cfg.get("subject_delete_marker_ttl") or 0)
        metadata = strip_reserved_metadata(stream_cfg.get("metadata"))
        return KVConfig(
            bucket=bucket,
            description=stream_cfg.get("description") or "",
            max_value_size=int(stream_cfg.get("max_msg_size", -1)),
            history=int(stream_cfg.get("max_msgs_per_subject", 0)),
            ttl=_from_nanos(int(stream_cfg.get("max_age") or 0)) or None,
            max_bytes=int(stream_cfg.get("max_bytes", -1)),
            storage=StorageType(stream_cfg.get("storage") or "file"),
            replicas=int(stream_cfg.get("num_replicas") or 1),
            placement=placement,
            republish=republish,
            mirror=_kv_source_from_dict(mirror_raw, None) if mirror_raw else None,
            sources=tuple(_kv_source_from_dict(s, bucket) for s in stream_cfg.get("sources") or ()),
            compression=(stream_cfg.get("compression") or "none") != "none",
            metadata=metadata or None,
            limit_marker_ttl=_from_nanos(marker_ttl_ns) if marker_ttl_ns > 0 else None,
        )
    except (ValueError, TypeError, AttributeError) as err:
        raise BadBucketError(bucket, str(err)) from err
