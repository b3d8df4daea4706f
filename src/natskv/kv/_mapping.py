"""The Key/Value <-> JetStream mapping, written once.

A bucket ``b`` is the stream ``KV_b``; key ``k`` is the subject ``$KV.b.k``; delete and purge
markers are messages with a ``KV-Operation`` header (or a server-written ``Nats-Marker-Reason``).
Everything here is a constant or a pure function: no I/O, nothing sent (wire reference
sections 4.1, 4.2, 4.4, 4.5, 4.8 and 5).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from natskv.errors import (
    BadBucketError,
    InvalidBucketNameError,
    InvalidConfigError,
    InvalidKeyError,
    InvalidRevisionError,
)
from natskv.kv._entry import KVOperation

if TYPE_CHECKING:
    from natskv.kv._config import KVConfig, KVSource

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
    "datetime_from_unix_nanos",
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

STREAM_PREFIX = "KV_"
SUBJECT_PREFIX = "$KV."

KV_OPERATION = "KV-Operation"
NATS_ROLLUP = "Nats-Rollup"
ROLLUP_SUBJECT = "sub"
EXPECTED_LAST_SUBJECT_SEQUENCE = "Nats-Expected-Last-Subject-Sequence"
NATS_TTL = "Nats-TTL"
MARKER_REASON = "Nats-Marker-Reason"
NATS_SEQUENCE = "Nats-Sequence"
NATS_TIMESTAMP = "Nats-Time-Stamp"
NATS_SUBJECT = "Nats-Subject"
NATS_STREAM = "Nats-Stream"
NATS_MSG_SIZE = "Nats-Msg-Size"

MAX_HISTORY = 64
# Revisions are stream sequences: uint64 on the server.
MAX_REVISION = 2**64 - 1
# Stream names are capped at 255 characters and the stream is "KV_" + bucket.
MAX_BUCKET_NAME = 252
# nats-server's default max_control_line (MAX_CONTROL_LINE_SIZE, server/const.go), and the
# cap natskv's parser puts on every line it reads: a subject has to fit in one such line.
MAX_CONTROL_LINE = 4096

_RESERVED_METADATA_PREFIX = "_nats."
_NS_PER_US = 1_000
_NS_PER_S = 1_000_000_000
_DEFAULT_DUPLICATE_WINDOW_NS = 120 * _NS_PER_S
_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)

# ---------------------------------------------------------------------------------------------
# Names, keys and filters
# ---------------------------------------------------------------------------------------------

_BUCKET_RE = re.compile(r"[a-zA-Z0-9_-]+")
_KEY_CHARS_RE = re.compile(r"[-/_=.a-zA-Z0-9]+")
# One regex encodes every key rule: allowed characters, no leading/trailing dot, no "..".
_KEY_RE = re.compile(r"[-/_=a-zA-Z0-9]+(?:\.[-/_=a-zA-Z0-9]+)*")
_FILTER_TOKEN = r"(?:[-/_=a-zA-Z0-9]+|\*)"
_FILTER_RE = re.compile(rf"{_FILTER_TOKEN}(?:\.{_FILTER_TOKEN})*(?:\.>)?|>")
_WRONG_LAST_SEQ_RE = re.compile(r"wrong last sequence: ([0-9]+)")


def validate_bucket_name(name: object) -> str:
    """Return ``name`` if it is a valid bucket name, else raise :class:`InvalidBucketNameError`."""
    if type(name) is str and len(name) <= MAX_BUCKET_NAME and _BUCKET_RE.fullmatch(name):
        return name
    if not isinstance(name, str):
        raise InvalidBucketNameError(name, f"must be a str, not {type(name).__name__}")
    if not name:
        raise InvalidBucketNameError(name, "must not be empty")
    if len(name) > MAX_BUCKET_NAME:
        raise InvalidBucketNameError(
            name, f"must be at most {MAX_BUCKET_NAME} characters, got {len(name)}"
        )
    if not _BUCKET_RE.fullmatch(name):
        raise InvalidBucketNameError(name, "may only contain A-Z, a-z, 0-9, '-' and '_'")
    return str.__str__(name)  # a str subclass (e.g. a str Enum) becomes a plain str


def _too_long(text: str, max_length: int, what: str) -> InvalidKeyError:
    if max_length >= MAX_CONTROL_LINE:
        room = f"a NATS control line holds {MAX_CONTROL_LINE} bytes"
    else:
        room = (
            f"{max_length} fit in a {MAX_CONTROL_LINE}-byte NATS control line with the "
            "bucket's subject prefix, a reply inbox and the sizes"
        )
    return InvalidKeyError(text, f"{what} is {len(text)} characters long; {room}")


def validate_key(key: object, max_length: int = MAX_CONTROL_LINE) -> str:
    """Return ``key`` if it is a valid key, else raise :class:`InvalidKeyError`.

    Keys are dot-separated tokens of ``A-Z a-z 0-9 - / _ =``: no empty token, so no
    leading or trailing dot and no ``..`` (the nats.go rule). ``max_length`` is the
    longest key the bucket can send and receive (:func:`max_key_length`).
    """
    if type(key) is str and len(key) <= max_length and _KEY_RE.fullmatch(key):
        return key
    if not isinstance(key, str):
        raise InvalidKeyError(key, f"must be a str, not {type(key).__name__}")
    if not key:
        raise InvalidKeyError(key, "must not be empty")
    if len(key) > max_length:
        raise _too_long(key, max_length, "the key")
    if not _KEY_CHARS_RE.fullmatch(key):
        raise InvalidKeyError(key, "may only contain A-Z, a-z, 0-9, '-', '/', '_', '=' and '.'")
    if key[0] == "." or key[-1] == ".":
        raise InvalidKeyError(key, "must not start or end with '.'")
    if ".." in key:
        raise InvalidKeyError(key, "must not contain an empty token ('..')")
    # Only a str subclass whose text is valid gets here.
    return str.__str__(key)


def validate_key_filter(key_filter: object, max_length: int = MAX_CONTROL_LINE) -> str:
    """Return a valid watch/list key filter unchanged, else raise :class:`InvalidKeyError`.

    A filter is a key whose tokens may also be ``*`` (one whole token) and whose last token
    may be ``>``. Unlike nats.go's regex, ``a*b`` and ``a>`` are rejected: the server would
    treat them as literal characters, never as wildcards, so they are almost always a mistake.
    ``max_length`` is as for :func:`validate_key`.
    """
    if (
        type(key_filter) is str
        and len(key_filter) <= max_length
        and _FILTER_RE.fullmatch(key_filter)
    ):
        return key_filter
    if not isinstance(key_filter, str):
        raise InvalidKeyError(
            key_filter, f"a key filter must be a str, not {type(key_filter).__name__}"
        )
    if not key_filter:
        raise InvalidKeyError(key_filter, "a key filter must not be empty")
    if len(key_filter) > max_length:
        raise _too_long(key_filter, max_length, "the key filter")
    if _FILTER_RE.fullmatch(key_filter):
        return str.__str__(key_filter)
    if key_filter[0] == "." or key_filter[-1] == ".":
        reason = "a key filter must not start or end with '.'"
    elif ".." in key_filter:
        reason = "a key filter must not contain an empty token ('..')"
    elif ">" in key_filter:
        reason = "'>' must be the whole last token of a key filter"
    elif "*" in key_filter:
        reason = "'*' must be a whole token of a key filter"
    else:
        reason = "a key filter may only contain A-Z, a-z, 0-9, '-', '/', '_', '=', '.', '*' and '>'"
    raise InvalidKeyError(key_filter, reason)


# Digits of the numbers in a protocol line: a message size (nats-server caps max_payload
# at 64 MiB, 8 digits) and any uint64 (sequences, counts, sids, request tokens).
_SIZE_DIGITS = 8
_UINT64_DIGITS = 20
# An ordered consumer's name is a NUID.
_CONSUMER_NAME = 22
# The v2 ack subject inserts a domain and an account hash: room for two 64-byte tokens.
_ACK_EXTRA_TOKENS = 2 * 65


def max_key_length(
    *, read_prefix: str, write_prefix: str, api_prefix: str, stream: str, inbox_length: int
) -> int:
    """The longest key whose every protocol line fits :data:`MAX_CONTROL_LINE` bytes.

    A key appears in lines natskv sends and in one it receives:

    * ``HPUB <write_prefix><key> <reply> <header size> <total size>`` (a write),
      ``PUB <api>.DIRECT.GET.<stream>.<read_prefix><key> <reply> <size>`` (a Direct Get)
      and ``PUB <api>.CONSUMER.CREATE.<stream>.<name>.<read_prefix><key> ...`` (a watcher
      of one key). The reply is an inbox (``inbox_length`` characters) and ``.<token>``.
      nats-server refuses a longer line with ``maximum control line exceeded`` and closes
      the connection.
    * ``HMSG <read_prefix><key> <sid> $JS.ACK.<stream>.<consumer>.<5 numbers> <sizes>``: a
      watcher's (and keys() and history()'s) delivery, which natskv's parser caps alike.

    Keys are ASCII (see :func:`validate_key`), so characters are bytes. Zero or less means
    that no key fits these prefixes.
    """
    direct = f"{api_prefix}.DIRECT.GET.{stream}.{read_prefix}"
    consumer = f"{api_prefix}.CONSUMER.CREATE.{stream}.{'c' * _CONSUMER_NAME}.{read_prefix}"
    reply = inbox_length + 1 + _UINT64_DIGITS
    sizes = 2 * (1 + _SIZE_DIGITS)
    longest = max(len(write_prefix), len(direct), len(consumer))
    sent = len("HPUB ") + longest + 1 + reply + sizes
    ack = (
        len("$JS.ACK.")
        + _ACK_EXTRA_TOKENS
        + len(stream)
        + 1
        + _CONSUMER_NAME
        + 5 * (1 + _UINT64_DIGITS)
    )
    received = len("HMSG ") + len(read_prefix) + 1 + _UINT64_DIGITS + 1 + ack + sizes
    return MAX_CONTROL_LINE - max(sent, received)


def validate_revision(revision: object, *, expected: bool = False) -> int:
    """Return ``revision`` as an int if it is a valid one, else raise
    :class:`InvalidRevisionError`.

    A revision to read is a stream sequence, 1 to 2**64 - 1. An ``expected`` revision (the
    compare-and-set of update, delete, purge) may also be 0: the key has no message yet.
    """
    if type(revision) is int and (0 if expected else 1) <= revision <= MAX_REVISION:
        return revision
    if isinstance(revision, bool) or not isinstance(revision, int):
        raise InvalidRevisionError(revision, f"must be an int, not {type(revision).__name__}")
    if revision > MAX_REVISION:
        raise InvalidRevisionError(revision, "revisions are stream sequences, below 2**64")
    if expected and revision < 0:
        raise InvalidRevisionError(
            revision, "an expected revision is 0 (no message yet) or a key's revision"
        )
    if revision < 1:
        raise InvalidRevisionError(revision, "revisions start at 1")
    return int(revision)  # an int subclass (an IntEnum, say) becomes a plain int


def stream_name(bucket: str) -> str:
    """``KV_<bucket>``. Does not validate: validate names where they enter the library."""
    return STREAM_PREFIX + bucket


def subject_prefix(bucket: str) -> str:
    """``$KV.<bucket>.``: the prefix of every key subject of the bucket."""
    return f"{SUBJECT_PREFIX}{bucket}."


def key_subject(bucket: str, key: str) -> str:
    """``$KV.<bucket>.<key>``. Does not validate (hot path): validate the key first."""
    return f"{SUBJECT_PREFIX}{bucket}.{key}"


def _bucket_subjects(bucket: str) -> str:
    return f"{SUBJECT_PREFIX}{bucket}.>"


def bucket_from_stream(name: str) -> str | None:
    """The bucket name of stream ``KV_<bucket>``, or ``None`` if ``name`` is not such a stream."""
    if name.startswith(STREAM_PREFIX):
        bucket = name[len(STREAM_PREFIX) :]
        if bucket and _BUCKET_RE.fullmatch(bucket):
            return bucket
    return None


# ---------------------------------------------------------------------------------------------
# Messages -> entries
# ---------------------------------------------------------------------------------------------

_PUT = KVOperation.PUT
_OPERATIONS = {"DEL": KVOperation.DEL, "PURGE": KVOperation.PURGE}
# Server-written limit markers (ADR-43): MaxAge and Purge read as a purge, Remove as a delete.
_MARKER_OPERATIONS = {
    "MaxAge": KVOperation.PURGE,
    "Purge": KVOperation.PURGE,
    "Remove": KVOperation.DEL,
}


def operation_from_headers(headers: Mapping[str, str] | None) -> KVOperation:
    """The operation of a stored message, from its (case-sensitive) header names.

    ``KV-Operation: DEL|PURGE`` wins; otherwise ``Nats-Marker-Reason`` ``MaxAge``/``Purge``
    is a purge and ``Remove`` a delete; anything else is a put.
    """
    if not headers:
        return _PUT
    op = headers.get(KV_OPERATION)
    if op is not None:
        found = _OPERATIONS.get(op)
        if found is not None:
            return found
    reason = headers.get(MARKER_REASON)
    if reason is not None:
        return _MARKER_OPERATIONS.get(reason, _PUT)
    return _PUT


def parse_wrong_last_sequence(description: str) -> int | None:
    """The subject's actual revision from ``wrong last sequence: 7`` (error 10071), if present."""
    match = _WRONG_LAST_SEQ_RE.search(description)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------------
# Per-key TTL
# ---------------------------------------------------------------------------------------------


def format_ttl(ttl: timedelta | int | float | str) -> str:
    """The ``Nats-TTL`` header value: ``"never"`` or whole seconds such as ``"90s"``.

    Numbers are seconds. The server keeps whole seconds only and rejects anything under
    one second, so a fractional or sub-second TTL raises :class:`InvalidConfigError` here
    rather than being silently truncated.
    """
    if isinstance(ttl, str):
        if ttl.strip().lower() == "never":
            return "never"
        raise InvalidConfigError(
            f"invalid TTL {ttl!r}: give a timedelta, a number of seconds or 'never'"
        )
    if isinstance(ttl, timedelta):
        micros = (ttl.days * 86_400 + ttl.seconds) * 1_000_000 + ttl.microseconds
        if micros % 1_000_000:
            raise InvalidConfigError(
                f"invalid TTL {ttl}: per-key TTLs have whole-second resolution"
            )
        seconds = micros // 1_000_000
    elif isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise InvalidConfigError(
            f"invalid TTL {ttl!r}: give a timedelta, a number of seconds or 'never'"
        )
    elif isinstance(ttl, float):
        if not ttl.is_integer():
            raise InvalidConfigError(
                f"invalid TTL {ttl!r}: per-key TTLs have whole-second resolution"
            )
        seconds = int(ttl)
    else:
        seconds = ttl
    if seconds < 1:
        raise InvalidConfigError(f"invalid TTL {ttl!r}: a per-key TTL must be at least 1 second")
    return f"{seconds}s"


# ---------------------------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------------------------

_RFC3339_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
# Go's time.Time.String(): "2006-01-02 15:04:05.999999999 +0000 UTC" (maybe " m=+0.001").
_GO_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))? ([+-])([0-9]{2})([0-9]{2})(?: [A-Za-z0-9+-]+)?(?: m=[+-][0-9.]+)?"
)


def _micros(fraction: str | None) -> int:
    if not fraction:
        return 0
    return int(fraction[:6].ljust(6, "0"))


def parse_timestamp(value: str) -> datetime:
    """An aware UTC datetime from ``Nats-Time-Stamp``.

    Accepts RFC 3339 (``2024-05-01T12:34:56.123456789Z`` or with an offset such as
    ``+02:00``) and the Go ``time.String()`` form older servers sent
    (``2006-01-02 15:04:05.999999999 +0000 UTC``). Nanoseconds are truncated to
    microseconds. Raises :class:`ValueError` for anything else.
    """
    # Fast path: what every current server sends, "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z",
    # rewritten into the one form datetime.fromisoformat accepts on every Python >= 3.7
    # ("...SS.ffffff+00:00", which also yields the timezone.utc singleton).
    n = len(value)
    if 20 <= n <= 30 and value[-1] == "Z" and value[10] == "T" and value[4] == "-":
        if n == 20:
            iso = value[:19] + ".000000+00:00"
        elif value[19] == "." and n > 21:
            iso = value[:20] + (value[20:-1] + "00000")[:6] + "+00:00"
        else:
            iso = ""
        if iso and iso.isascii():
            try:
                return datetime.fromisoformat(iso)
            except ValueError:
                pass  # the slow path explains what is wrong
    return _parse_timestamp_slow(value)


def _parse_timestamp_slow(value: str) -> datetime:
    match = _RFC3339_RE.fullmatch(value)
    try:
        if match:
            year, month, day, hour, minute, second, fraction, zulu, sign, oh, om = match.groups()
            offset = 0 if zulu else int(oh) * 60 + int(om)
        else:
            match = _GO_TIME_RE.fullmatch(value)
            if not match:
                raise ValueError("not RFC 3339 or Go time format")
            year, month, day, hour, minute, second, fraction, sign, oh, om = match.groups()
            offset = int(oh) * 60 + int(om)
        if sign == "-":
            offset = -offset
        tz = _UTC if offset == 0 else timezone(timedelta(minutes=offset))
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            _micros(fraction),
            tz,
        )
    except ValueError as err:
        raise ValueError(f"invalid timestamp {value!r}: {err}") from None
    return parsed if tz is _UTC else parsed.astimezone(_UTC)


def datetime_from_unix_nanos(ns: int) -> datetime:
    """An aware UTC datetime from Unix nanoseconds (truncated to microseconds)."""
    return _EPOCH + timedelta(0, ns // _NS_PER_S, (ns // _NS_PER_US) % 1_000_000)


def _format_timestamp(value: datetime) -> str:
    return value.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------------------------------------
# Bucket config <-> stream config
# ---------------------------------------------------------------------------------------------


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
        out["opt_start_time"] = _format_timestamp(source.start_time)
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
            src, dest = _bucket_subjects(src_bucket), _bucket_subjects(bucket)
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
        cfg["subjects"] = [_bucket_subjects(bucket)]
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
    return stream_cfg.get("subjects") == [_bucket_subjects(bucket)]


def _kv_source_from_dict(raw: Mapping[str, Any], bucket: str | None) -> KVSource:
    """The inverse of :func:`_source_dict` / :func:`_kv_source_dict`.

    ``bucket`` is the sourcing bucket (``None`` for a mirror). Names come back as bucket
    names when they carry the ``KV_`` prefix and the transforms are the generated ones,
    so ``KVSource("x")`` and ``KVSource("KV_x")`` both read back as ``KVSource("x")``.
    """
    from natskv.kv._config import KVSource, SubjectTransform

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
                if t.src != _bucket_subjects(src_bucket):
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
    from natskv.kv._config import KVConfig, Placement, RePublish, StorageType

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
