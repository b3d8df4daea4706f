"""Key and bucket names: the rules they follow and the names made of them.

A bucket ``b`` is the stream ``KV_b``; its keys are the subjects ``$KV.b.<key>``. Keys are
dot-separated tokens (the nats.go rule, ``..`` included), bucket names are at most 252
characters (a stream name holds 255), and every subject made of a key has to fit one NATS
control line. Constants and pure functions only (wire reference section 5.1).
"""

from __future__ import annotations

import re

from natskv.errors import InvalidBucketNameError, InvalidKeyError, InvalidRevisionError

__all__ = [
    "MAX_BUCKET_NAME",
    "MAX_CONTROL_LINE",
    "MAX_REVISION",
    "STREAM_PREFIX",
    "SUBJECT_PREFIX",
    "bucket_from_stream",
    "bucket_subjects",
    "key_subject",
    "max_key_length",
    "stream_name",
    "subject_prefix",
    "validate_bucket_name",
    "validate_key",
    "validate_key_filter",
    "validate_revision",
]

STREAM_PREFIX = "KV_"
SUBJECT_PREFIX = "$KV."

# Revisions are stream sequences: uint64 on the server.
MAX_REVISION = 2**64 - 1
# Stream names are capped at 255 characters and the stream is "KV_" + bucket.
MAX_BUCKET_NAME = 252
# nats-server's default max_control_line (MAX_CONTROL_LINE_SIZE, server/const.go), and the
# cap natskv's parser puts on every line it reads: a subject has to fit in one such line.
MAX_CONTROL_LINE = 4096

_BUCKET_RE = re.compile(r"[a-zA-Z0-9_-]+")
_KEY_CHARS_RE = re.compile(r"[-/_=.a-zA-Z0-9]+")
# One regex encodes every key rule: allowed characters, no leading/trailing dot, no "..".
_KEY_RE = re.compile(r"[-/_=a-zA-Z0-9]+(?:\.[-/_=a-zA-Z0-9]+)*")
_FILTER_TOKEN = r"(?:[-/_=a-zA-Z0-9]+|\*)"
_FILTER_RE = re.compile(rf"{_FILTER_TOKEN}(?:\.{_FILTER_TOKEN})*(?:\.>)?|>")


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


def bucket_subjects(bucket: str) -> str:
    """``$KV.<bucket>.>``: every key subject of the bucket (its stream's subjects)."""
    return f"{SUBJECT_PREFIX}{bucket}.>"


def bucket_from_stream(name: str) -> str | None:
    """The bucket name of stream ``KV_<bucket>``, or ``None`` if ``name`` is not such a stream."""
    if name.startswith(STREAM_PREFIX):
        bucket = name[len(STREAM_PREFIX) :]
        if bucket and _BUCKET_RE.fullmatch(bucket):
            return bucket
    return None
