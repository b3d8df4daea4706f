"""Bucket configuration: frozen, validated at construction, never sent from here.

:func:`natskv.kv._mapping.stream_config` turns a :class:`KVConfig` into the StreamConfig
JSON; :func:`natskv.kv._mapping.kv_config_from_stream` reads one back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from types import MappingProxyType
from typing import Literal

from natskv.errors import InvalidBucketNameError, InvalidConfigError
from natskv.kv._names import STREAM_PREFIX, validate_bucket_name

__all__ = [
    "KVConfig",
    "KVSource",
    "Placement",
    "RePublish",
    "StorageType",
    "SubjectTransform",
]

MAX_HISTORY = 64
MAX_REPLICAS = 5
MAX_DESCRIPTION_BYTES = 4 * 1024
MAX_METADATA_BYTES = 128 * 1024
_MIN_TTL = timedelta(milliseconds=100)
_MIN_MARKER_TTL = timedelta(seconds=1)
_RESERVED_METADATA_PREFIX = "_nats."
# Stream and domain names are single subject tokens: no whitespace, '.', '*' or '>'.
_NAME_TOKEN_RE = re.compile(r"[^\s.*>]+")
_MAX_STREAM_NAME = 255

_set = object.__setattr__


class StorageType(str, Enum):
    """Where the bucket's stream keeps its messages."""

    FILE = "file"
    MEMORY = "memory"

    def __str__(self) -> str:
        return self.value


def _subject(owner: str, value: object) -> str:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise InvalidConfigError(f"{owner} must be a non-empty subject without whitespace")
    return value


def _optional_token(owner: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _NAME_TOKEN_RE.fullmatch(value):
        raise InvalidConfigError(
            f"{owner} must be a non-empty name without whitespace, '.', '*' or '>'"
        )
    return value


def _size_limit(owner: str, value: object) -> int:
    """-1 (unlimited) or a positive number of bytes; 0 means unlimited as in nats.go."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfigError(f"{owner} must be an int, not {type(value).__name__}")
    if value == 0:
        return -1
    if value < -1:
        raise InvalidConfigError(f"{owner} must be -1 (unlimited) or positive, got {value}")
    return value


def _duration(owner: str, value: object, minimum: timedelta) -> timedelta | None:
    """A timedelta or seconds; 0 / None mean "not set"."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        td = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise InvalidConfigError(f"{owner} must be finite, got {value!r}")
        td = timedelta(seconds=value)
    else:
        raise InvalidConfigError(
            f"{owner} must be a timedelta or a number of seconds, not {type(value).__name__}"
        )
    if not td:
        return None
    if td < timedelta(0):
        raise InvalidConfigError(f"{owner} must not be negative, got {td}")
    if td < minimum:
        raise InvalidConfigError(f"{owner} must be 0 (none) or at least {minimum}, got {td}")
    return td


@dataclass(frozen=True)
class SubjectTransform:
    """A stream subject transform: messages on ``src`` are stored as ``dest``."""

    src: str
    dest: str

    def __post_init__(self) -> None:
        _subject("SubjectTransform.src", self.src)
        _subject("SubjectTransform.dest", self.dest)


@dataclass(frozen=True, init=False)
class Placement:
    """Where the bucket's replicas are placed: a cluster name and/or server tags."""

    cluster: str | None
    tags: tuple[str, ...]

    def __init__(self, cluster: str | None = None, tags: Iterable[str] = ()) -> None:
        if cluster is not None and (not isinstance(cluster, str) or not cluster):
            raise InvalidConfigError("Placement.cluster must be a non-empty str or None")
        if isinstance(tags, str):
            raise InvalidConfigError("Placement.tags must be a sequence of str, not a str")
        tags = tuple(tags)
        if not all(isinstance(t, str) and t for t in tags):
            raise InvalidConfigError("Placement.tags must all be non-empty str")
        _set(self, "cluster", cluster)
        _set(self, "tags", tags)


@dataclass(frozen=True)
class RePublish:
    """Republish stored messages matching ``source`` (default all) to ``destination``.

    ``destination`` comes first because it has no default. With ``headers_only`` the
    republished message carries the headers and a ``Nats-Msg-Size`` header, not the value.
    """

    destination: str
    source: str = ">"
    headers_only: bool = False

    def __post_init__(self) -> None:
        _subject("RePublish.destination", self.destination)
        _subject("RePublish.source", self.source)
        if not isinstance(self.headers_only, bool):
            raise InvalidConfigError("RePublish.headers_only must be a bool")


@dataclass(frozen=True, init=False)
class KVSource:
    """The origin of a mirror bucket, or one of the buckets a bucket sources from.

    ``name`` is a bucket name or its ``KV_`` stream name. ``domain`` (a JetStream domain)
    or ``api_prefix``/``deliver_prefix`` reach a bucket in another domain or account.
    ``filter_subject`` is a full subject (``$KV.<origin>.prefs.>``). Without
    ``subject_transforms`` a source is mapped from ``$KV.<origin>.>`` to this bucket's
    subjects automatically; with them, they are sent verbatim and ``name`` must be the
    full stream name (any stream, not only a bucket).
    """

    name: str
    domain: str | None
    api_prefix: str | None
    deliver_prefix: str | None
    filter_subject: str | None
    subject_transforms: tuple[SubjectTransform, ...]
    start_seq: int | None
    start_time: datetime | None

    def __init__(
        self,
        name: str,
        domain: str | None = None,
        api_prefix: str | None = None,
        deliver_prefix: str | None = None,
        filter_subject: str | None = None,
        subject_transforms: Iterable[SubjectTransform] = (),
        start_seq: int | None = None,
        start_time: datetime | None = None,
    ) -> None:
        if isinstance(subject_transforms, SubjectTransform):
            subject_transforms = (subject_transforms,)
        transforms = tuple(subject_transforms)
        if not all(isinstance(t, SubjectTransform) for t in transforms):
            raise InvalidConfigError("KVSource.subject_transforms must hold SubjectTransform")
        if not isinstance(name, str) or not name:
            raise InvalidConfigError("KVSource.name must be a non-empty str")
        if transforms:
            if len(name) > _MAX_STREAM_NAME or not _NAME_TOKEN_RE.fullmatch(name):
                raise InvalidConfigError(f"KVSource.name {name!r} is not a valid stream name")
        else:
            bucket = name[len(STREAM_PREFIX) :] if name.startswith(STREAM_PREFIX) else name
            try:
                validate_bucket_name(bucket)
            except InvalidBucketNameError as err:
                raise InvalidBucketNameError(name, f"KVSource.name: {err}") from err
        domain = _optional_token("KVSource.domain", domain)
        if api_prefix is not None:
            _subject("KVSource.api_prefix", api_prefix)
        if deliver_prefix is not None:
            _subject("KVSource.deliver_prefix", deliver_prefix)
        if domain is not None and api_prefix is not None:
            raise InvalidConfigError("KVSource: give domain or api_prefix, not both")
        if deliver_prefix is not None and api_prefix is None:
            raise InvalidConfigError("KVSource.deliver_prefix needs api_prefix")
        if filter_subject is not None:
            _subject("KVSource.filter_subject", filter_subject)
            if transforms:
                raise InvalidConfigError(
                    "KVSource: filter_subject and subject_transforms are mutually exclusive "
                    "(put the filter in a transform's src)"
                )
        if start_seq is not None:
            if isinstance(start_seq, bool) or not isinstance(start_seq, int) or start_seq < 0:
                raise InvalidConfigError("KVSource.start_seq must be a positive int")
            start_seq = start_seq or None
        if start_time is not None:
            if not isinstance(start_time, datetime):
                raise InvalidConfigError("KVSource.start_time must be a datetime")
            if start_time.tzinfo is None or start_time.utcoffset() is None:
                raise InvalidConfigError("KVSource.start_time must be timezone-aware")
        _set(self, "name", name)
        _set(self, "domain", domain)
        _set(self, "api_prefix", api_prefix)
        _set(self, "deliver_prefix", deliver_prefix)
        _set(self, "filter_subject", filter_subject)
        _set(self, "subject_transforms", transforms)
        _set(self, "start_seq", start_seq)
        _set(self, "start_time", start_time)


@dataclass(frozen=True, init=False)
class KVConfig:
    """A bucket's configuration (wire reference 4.2 and 5.2).

    Normalised at construction: ``storage`` may be given as ``"file"``/``"memory"``,
    ``ttl`` and ``limit_marker_ttl`` as seconds (0 means none), ``sources`` as any
    iterable, ``max_value_size``/``max_bytes`` 0 as -1 (unlimited), an empty ``metadata``
    as ``None``. ``metadata`` is kept as a read-only mapping; it takes part in ``==`` but
    not in ``hash()``, so configs are hashable.
    """

    bucket: str
    description: str
    max_value_size: int
    history: int
    ttl: timedelta | None
    max_bytes: int
    storage: StorageType
    replicas: int
    placement: Placement | None
    republish: RePublish | None
    mirror: KVSource | None
    sources: tuple[KVSource, ...]
    compression: bool
    metadata: Mapping[str, str] | None = field(hash=False)
    limit_marker_ttl: timedelta | None

    def __init__(
        self,
        bucket: str,
        description: str = "",
        max_value_size: int = -1,
        history: int = 1,
        ttl: timedelta | float | None = None,
        max_bytes: int = -1,
        storage: StorageType | Literal["file", "memory"] = StorageType.FILE,
        replicas: int = 1,
        placement: Placement | None = None,
        republish: RePublish | None = None,
        mirror: KVSource | None = None,
        sources: Iterable[KVSource] = (),
        compression: bool = False,
        metadata: Mapping[str, str] | None = None,
        limit_marker_ttl: timedelta | float | None = None,
    ) -> None:
        bucket = validate_bucket_name(bucket)

        if description is None:
            description = ""
        if not isinstance(description, str):
            raise InvalidConfigError("description must be a str")
        if len(description.encode()) > MAX_DESCRIPTION_BYTES:
            raise InvalidConfigError(
                f"description must be at most {MAX_DESCRIPTION_BYTES} bytes (UTF-8)"
            )

        max_value_size = _size_limit("max_value_size", max_value_size)
        max_bytes = _size_limit("max_bytes", max_bytes)

        if isinstance(history, bool) or not isinstance(history, int):
            raise InvalidConfigError(f"history must be an int, not {type(history).__name__}")
        if not 1 <= history <= MAX_HISTORY:
            raise InvalidConfigError(f"history must be between 1 and {MAX_HISTORY}, got {history}")

        if isinstance(replicas, bool) or not isinstance(replicas, int):
            raise InvalidConfigError(f"replicas must be an int, not {type(replicas).__name__}")
        if not 1 <= replicas <= MAX_REPLICAS:
            raise InvalidConfigError(
                f"replicas must be between 1 and {MAX_REPLICAS}, got {replicas}"
            )

        ttl_td = _duration("ttl", ttl, _MIN_TTL)
        marker_ttl = _duration("limit_marker_ttl", limit_marker_ttl, _MIN_MARKER_TTL)

        if isinstance(storage, str) and not isinstance(storage, StorageType):
            try:
                storage = StorageType(storage.lower())
            except ValueError:
                raise InvalidConfigError(
                    f"storage must be 'file' or 'memory', got {storage!r}"
                ) from None
        elif not isinstance(storage, StorageType):
            raise InvalidConfigError(f"storage must be a StorageType, got {storage!r}")

        if placement is not None and not isinstance(placement, Placement):
            raise InvalidConfigError("placement must be a Placement")
        if republish is not None and not isinstance(republish, RePublish):
            raise InvalidConfigError("republish must be a RePublish")
        if mirror is not None and not isinstance(mirror, KVSource):
            raise InvalidConfigError("mirror must be a KVSource")
        if isinstance(sources, (str, KVSource)):
            raise InvalidConfigError("sources must be a sequence of KVSource")
        sources = tuple(sources)
        if not all(isinstance(s, KVSource) for s in sources):
            raise InvalidConfigError("sources must hold KVSource")
        if mirror is not None and sources:
            raise InvalidConfigError("a bucket cannot be both a mirror and have sources")
        if mirror is not None and marker_ttl is not None:
            raise InvalidConfigError("limit_marker_ttl cannot be used on a mirror bucket")

        if not isinstance(compression, bool):
            raise InvalidConfigError("compression must be a bool")

        frozen_md: Mapping[str, str] | None = None
        if metadata:
            md = dict(metadata)
            size = 0
            for k, v in md.items():
                if not isinstance(k, str) or not isinstance(v, str) or not k:
                    raise InvalidConfigError(
                        "metadata keys and values must be str (keys non-empty)"
                    )
                if k.startswith(_RESERVED_METADATA_PREFIX):
                    raise InvalidConfigError(
                        f"metadata key {k!r} is reserved for the server ('_nats.' prefix)"
                    )
                size += len(k.encode()) + len(v.encode())
            if size > MAX_METADATA_BYTES:
                raise InvalidConfigError(
                    f"metadata must be at most {MAX_METADATA_BYTES} bytes in total, got {size}"
                )
            frozen_md = MappingProxyType(md)

        _set(self, "bucket", bucket)
        _set(self, "description", description)
        _set(self, "max_value_size", max_value_size)
        _set(self, "history", history)
        _set(self, "ttl", ttl_td)
        _set(self, "max_bytes", max_bytes)
        _set(self, "storage", storage)
        _set(self, "replicas", replicas)
        _set(self, "placement", placement)
        _set(self, "republish", republish)
        _set(self, "mirror", mirror)
        _set(self, "sources", sources)
        _set(self, "compression", compression)
        _set(self, "metadata", frozen_md)
        _set(self, "limit_marker_ttl", marker_ttl)

    @property
    def stream_name(self) -> str:
        """The bucket's stream, ``KV_<bucket>``."""
        return STREAM_PREFIX + self.bucket
