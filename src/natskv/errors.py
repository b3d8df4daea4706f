"""The natskv exception tree, shared by every layer.

Every error natskv raises derives from :class:`NatsError`. Each layer translates what it
meets at one boundary: the client classifies the server's ``-ERR`` lines with
:func:`server_error_from` (one table), JetStream turns an API reply's ``err_code`` into a
class through a registry (:func:`api_error_from`; each :class:`APIError` subclass lists
the codes it stands for in ``err_codes``), and the Key/Value layer maps those onto its own
classes in ``natskv.kv._errors``, with ``raise ... from`` so the original error stays
visible as ``__cause__``.

::

    NatsError
    ├── ConnectionClosedError   the connection is closed for this call
    ├── NatsConnectionError     could not connect / lost the connection (also OSError)
    │   ├── ConnectionLostError       the socket went while a request was in flight: it may
    │   │                             have reached the server; retriable once reconnected
    │   └── ReconnectBufferFullError  disconnected, and the message would take the
    │                                 reconnect buffer over its bound; nothing was queued
    ├── AuthorizationError      the server rejected our credentials or a permission
    ├── ProtocolError           the peer broke the NATS protocol (bad control line, size ...)
    ├── TimeoutError            no answer in time (also the built-in TimeoutError)
    ├── NoRespondersError       nobody is subscribed to the request subject (status 503)
    │   └── NoStreamResponseError(stream)  retried, still no answer, the stream is not
    │                                      known to be gone: temporary (also JetStreamError)
    ├── MaxPayloadError         a message exceeds the server's max_payload (ValueError)
    ├── SlowConsumerError       a subscription's pending limit was exceeded
    ├── BadSubjectError         an empty, malformed or too long subject (also ValueError)
    └── JetStreamError
        ├── APIError(code, err_code, description)     an err_code with no class of its own
        │   ├── JetStreamNotEnabledError    10039, 10076 (and no API responders)
        │   ├── BadRequestError             10003
        │   ├── ClusterUnavailableError     10008  temporary
        │   ├── ConsumerNotFoundError       10014
        │   ├── ConsumerExistsError         10013, 10148
        │   ├── InsufficientResourcesError  10023, 10028, 10047
        │   ├── NoMessageFoundError         10037 / direct get 404
        │   ├── StreamConfigError           10052
        │   ├── MessageSizeExceededError    10054
        │   ├── StreamNameInUseError        10058
        │   ├── StreamNotFoundError         10059
        │   ├── WrongLastSequenceError      10071, 10164
        │   ├── StreamStoreFailedError      10077  (e.g. maximum bytes exceeded)
        │   ├── HeaderSizeExceededError     10097
        │   ├── RollupFailedError           10111
        │   ├── StreamOfflineError          10118, 10194
        │   ├── LastSequenceNotReadyError   10163  temporary
        │   ├── MessageTTLInvalidError      10165
        │   ├── MessageTTLDisabledError     10166
        │   └── TooManyRequestsError        10167  temporary
        ├── ConsumerGapError    internal: an ordered consumer saw a gap (recovered)
        └── KeyValueError
            ├── KeyNotFoundError(key)
            │   └── KeyDeletedError(key, revision, operation)
            ├── KeyExistsError(key, revision)
            ├── WrongRevisionError(key, expected, actual)      server codes 10071 and 10164
            ├── BucketNotFoundError(bucket)   the stream is known to be absent
            ├── BucketExistsError(bucket)
            ├── BadBucketError(bucket)       a stream that is not a KV bucket
            ├── InvalidKeyError(key)         (also ValueError)
            ├── InvalidBucketNameError(name) (also ValueError)
            ├── InvalidRevisionError(revision) (also ValueError)
            ├── InvalidConfigError   (also ValueError)
            ├── TTLNotSupportedError         per-key TTL where the bucket has none
            ├── ValueTooLargeError   (also MaxPayloadError and ValueError)
            └── DecodeError(bucket, key, revision, type, raw)  (also ValueError)

Every error named "also ValueError" (and :class:`InvalidKeyError` & co.) is raised before
anything is sent.
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

__all__ = [
    "APIError",
    "AuthorizationError",
    "BadBucketError",
    "BadRequestError",
    "BadSubjectError",
    "BucketExistsError",
    "BucketNotFoundError",
    "ClusterUnavailableError",
    "ConnectionClosedError",
    "ConnectionLostError",
    "ConsumerExistsError",
    "ConsumerGapError",
    "ConsumerNotFoundError",
    "DecodeError",
    "HeaderSizeExceededError",
    "InsufficientResourcesError",
    "InvalidBucketNameError",
    "InvalidConfigError",
    "InvalidKeyError",
    "InvalidRevisionError",
    "JetStreamError",
    "JetStreamNotEnabledError",
    "KeyDeletedError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValueError",
    "LastSequenceNotReadyError",
    "MaxPayloadError",
    "MessageSizeExceededError",
    "MessageTTLDisabledError",
    "MessageTTLInvalidError",
    "NatsConnectionError",
    "NatsError",
    "NoMessageFoundError",
    "NoRespondersError",
    "NoStreamResponseError",
    "ProtocolError",
    "ReconnectBufferFullError",
    "RollupFailedError",
    "SlowConsumerError",
    "StreamConfigError",
    "StreamNameInUseError",
    "StreamNotFoundError",
    "StreamOfflineError",
    "StreamStoreFailedError",
    "TTLNotSupportedError",
    "TimeoutError",
    "TooManyRequestsError",
    "ValueTooLargeError",
    "WrongLastSequenceError",
    "WrongRevisionError",
    "api_error_from",
    "server_error_from",
]


class NatsError(Exception):
    """Base class of every error raised by natskv."""


class ConnectionClosedError(NatsError):
    """The connection is closed (or draining), so the operation cannot run."""


class NatsConnectionError(NatsError, OSError):
    """Connecting failed, or the connection was lost and could not be restored."""


class ConnectionLostError(NatsConnectionError):
    """The connection was lost while a request waited for its reply.

    Raised at once, not after the request's timeout. The request had been written to the
    lost socket, so the server may have received and acted on it: retry it once the
    connection is back if it is safe to repeat (a read, a compare-and-set write), and
    check before repeating one that is not. Requests that were still in the client's write
    buffer had never left it; they are not failed but sent after the reconnect.
    """


class ReconnectBufferFullError(NatsConnectionError):
    """Disconnected, and the message would take the buffer of writes waiting for the
    reconnect over ``reconnect_buffer_size`` bytes; nothing was queued (what is already
    buffered stays, and goes out after the reconnect)."""


class AuthorizationError(NatsError):
    """The server rejected the credentials, or a permission was violated."""


class ProtocolError(NatsError):
    """The byte stream broke the NATS protocol (oversized control line, bad size, unknown op)."""


class TimeoutError(NatsError, builtins.TimeoutError):
    """No reply arrived in time. Also a built-in :class:`TimeoutError`."""


class NoRespondersError(NatsError):
    """The request subject has no subscriber (the server answered with status 503)."""

    def __init__(self, subject: str = "", message: str | None = None) -> None:
        self.subject = subject
        if message is None:
            message = f"no responders for {subject!r}" if subject else "no responders"
        super().__init__(message)


class MaxPayloadError(NatsError, ValueError):
    """A message is larger than the server's ``max_payload``; nothing was sent."""


class SlowConsumerError(NatsError):
    """A subscription fell behind and exceeded its pending limits."""


class BadSubjectError(NatsError, ValueError):
    """A subject is empty, contains whitespace, or makes a control line longer than the
    server's ``max_control_line``; nothing was sent."""


# ---------------------------------------------------------------------------------------------
# The server's -ERR lines: one table
# ---------------------------------------------------------------------------------------------

# (how the message starts, lower-cased; the class; whether the server closes the connection
# after sending it). From nats-server's client.go / auth.go / server.go sendErr calls.
_SERVER_ERRORS: tuple[tuple[str, type[NatsError], bool], ...] = (
    ("authorization violation", AuthorizationError, True),
    ("authentication timeout", AuthorizationError, True),
    ("user authentication expired", AuthorizationError, True),
    ("user authentication revoked", AuthorizationError, True),
    ("account authentication expired", AuthorizationError, True),
    ("permissions violation", AuthorizationError, False),
    ("maximum control line exceeded", ProtocolError, True),
    ("unknown protocol operation", ProtocolError, True),
    ("invalid client protocol", ProtocolError, True),
    ("maximum payload violation", MaxPayloadError, True),
    ("invalid publish subject", BadSubjectError, False),
    ("invalid subject", BadSubjectError, False),
    ("maximum subscriptions exceeded", NatsError, False),
    ("slow consumer", SlowConsumerError, True),
    ("stale connection", NatsConnectionError, True),
    ("maximum connections exceeded", NatsConnectionError, True),
    ("maximum account connections exceeded", NatsConnectionError, True),
    ("secure connection - tls required", NatsConnectionError, True),
)


def server_error_from(message: str) -> tuple[NatsError, bool]:
    """The error for a server ``-ERR`` line (quotes removed) and whether the server closes
    the connection after it. An unknown message is a :class:`NatsError` that closes."""
    low = message.strip().lower()
    for start, cls, closes in _SERVER_ERRORS:
        if low.startswith(start):
            return cls(message), closes
    return NatsError(f"server error: {message}"), True


# ---------------------------------------------------------------------------------------------
# JetStream: errors by err_code, from a registry
# ---------------------------------------------------------------------------------------------


class JetStreamError(NatsError):
    """Base class of JetStream errors."""


# err_code -> class; filled by APIError.__init_subclass__ from each class's err_codes
_API_ERRORS: dict[int, type[APIError]] = {}


class APIError(JetStreamError):
    """A JetStream API call failed; ``code``, ``err_code``, ``description`` are the server's.

    A subclass stands for the ``err_codes`` it lists (nats-server's ``server/errors.json``);
    :func:`api_error_from` picks it. An ``err_code`` no subclass lists is a plain APIError.
    """

    err_codes: ClassVar[tuple[int, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for err_code in cls.__dict__.get("err_codes", ()):
            taken = _API_ERRORS.setdefault(err_code, cls)
            if taken is not cls:
                raise TypeError(f"err_code {err_code} is {taken.__name__}'s already")

    def __init__(self, code: int, err_code: int = 0, description: str = "") -> None:
        self.code = code
        self.err_code = err_code
        self.description = description
        super().__init__(
            f"{description or 'JetStream API error'} (code={code}, err_code={err_code})"
        )


class JetStreamNotEnabledError(APIError):
    """JetStream is not enabled on this server or for this account (10039, 10076), or
    nothing answers the JetStream API subjects (a wrong domain or prefix)."""

    err_codes = (10039, 10076)


class BadRequestError(APIError):
    """The server could not make sense of the request (10003)."""

    err_codes = (10003,)


class ClusterUnavailableError(APIError):
    """The JetStream cluster cannot answer now, e.g. without a meta leader (10008).

    Temporary: retry later.
    """

    err_codes = (10008,)


class ConsumerNotFoundError(APIError):
    """The consumer does not exist (10014)."""

    err_codes = (10014,)


class ConsumerExistsError(APIError):
    """A consumer of that name exists with another configuration (10013, 10148)."""

    err_codes = (10013, 10148)


class InsufficientResourcesError(APIError):
    """The server lacks the memory or storage asked for (10023, 10028, 10047)."""

    err_codes = (10023, 10028, 10047)


class NoMessageFoundError(APIError):
    """No message matched (err_code 10037, or a direct get 404)."""

    err_codes = (10037,)


class StreamConfigError(APIError):
    """The server refused a stream configuration (10052); the description says why."""

    err_codes = (10052,)


class MessageSizeExceededError(APIError):
    """The message is larger than the stream's ``max_msg_size`` (10054)."""

    err_codes = (10054,)


class StreamNameInUseError(APIError):
    """A stream of that name exists with a different configuration (10058)."""

    err_codes = (10058,)


class StreamNotFoundError(APIError):
    """The stream does not exist (err_code 10059)."""

    err_codes = (10059,)


class WrongLastSequenceError(APIError):
    """An expected-last-sequence header did not hold (10071 ``wrong last sequence: N``,
    or 10164 without the number, for a subject already in flight)."""

    err_codes = (10071, 10164)


class StreamStoreFailedError(APIError):
    """The stream could not store the message (10077), e.g. ``maximum bytes exceeded``."""

    err_codes = (10077,)


class HeaderSizeExceededError(APIError):
    """The message's headers exceed 64 KiB (10097)."""

    err_codes = (10097,)


class RollupFailedError(APIError):
    """A roll-up (purge marker) was refused (10111), e.g. the stream denies roll-ups."""

    err_codes = (10111,)


class StreamOfflineError(APIError):
    """The stream is offline on this server or cluster (10118, 10194)."""

    err_codes = (10118, 10194)


class LastSequenceNotReadyError(APIError):
    """The expected last sequence per subject is briefly unknown (10163). Temporary."""

    err_codes = (10163,)


class MessageTTLInvalidError(APIError):
    """The ``Nats-TTL`` header is not a valid per-message TTL (10165)."""

    err_codes = (10165,)


class MessageTTLDisabledError(APIError):
    """Per-message TTL is not enabled on the stream (10166)."""

    err_codes = (10166,)


class TooManyRequestsError(APIError):
    """The server is rate limiting this kind of request (10167). Temporary."""

    err_codes = (10167,)


def api_error_from(error: dict[str, Any]) -> APIError:
    """Build the most specific error for a JetStream API ``error`` object."""
    code = int(error.get("code", 0) or 0)
    err_code = int(error.get("err_code", 0) or 0)
    description = str(error.get("description", "") or "")
    return _API_ERRORS.get(err_code, APIError)(code, err_code, description)


class NoStreamResponseError(NoRespondersError, JetStreamError):
    """A request to a stream met no responders, also when retried within its timeout, and
    the stream is not known to be gone (it exists, or the server could not say).

    Temporary: in a cluster only the stream leader listens, so this is what a write meets
    while a new leader is elected. Nothing was stored; retrying is safe.
    """

    def __init__(self, stream: str, subject: str = "") -> None:
        self.stream = stream
        to = f" to {subject!r}" if subject else ""
        super().__init__(
            subject,
            f"stream {stream!r} did not respond{to} (no responders; it may be electing a "
            "leader): nothing was stored, try again",
        )


class ConsumerGapError(JetStreamError):
    """An ordered consumer detected a sequence gap; it is recreated transparently."""


# ---------------------------------------------------------------------------------------------
# Key/Value
# ---------------------------------------------------------------------------------------------


class KeyValueError(JetStreamError):
    """Base class of Key/Value errors."""


class KeyNotFoundError(KeyValueError):
    """The key has no value: it never existed, or (:class:`KeyDeletedError`) it was deleted."""

    def __init__(self, key: str = "", message: str | None = None) -> None:
        self.key = key
        super().__init__(message or (f"key not found: {key!r}" if key else "key not found"))


class KeyDeletedError(KeyNotFoundError):
    """The key's latest entry is a delete or purge marker at ``revision``."""

    def __init__(self, key: str, revision: int, operation: Any = None) -> None:
        self.revision = revision
        self.operation = operation
        op = getattr(operation, "value", operation) or "DEL"
        super().__init__(key, f"key {key!r} was deleted ({op} at revision {revision})")


class KeyExistsError(KeyValueError):
    """``create`` found a live value; ``revision`` is the key's current revision when known."""

    def __init__(self, key: str, revision: int | None = None) -> None:
        self.key = key
        self.revision = revision
        at = f" at revision {revision}" if revision is not None else ""
        super().__init__(f"key {key!r} exists{at}")


class WrongRevisionError(KeyValueError):
    """A compare-and-set failed: the key's revision is ``actual``, not ``expected``.

    Raised for both server codes 10071 (``wrong last sequence: N``) and 10164.
    """

    def __init__(self, key: str, expected: int | None, actual: int | None) -> None:
        self.key = key
        self.expected = expected
        self.actual = actual
        got = f", the key is at revision {actual}" if actual is not None else ""
        super().__init__(f"wrong revision for key {key!r}: expected {expected}{got}")


class BucketNotFoundError(KeyValueError):
    """No bucket of that name exists: the server said its stream is absent."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        super().__init__(f"bucket not found: {bucket!r}")


class BucketExistsError(KeyValueError):
    """A bucket of that name exists with a different configuration."""

    def __init__(self, bucket: str, detail: str = "") -> None:
        self.bucket = bucket
        super().__init__(
            f"bucket {bucket!r} already exists with a different configuration"
            + (f": {detail}" if detail else "")
        )


class BadBucketError(KeyValueError):
    """The stream exists but is not a valid Key/Value bucket."""

    def __init__(self, bucket: str, detail: str = "") -> None:
        self.bucket = bucket
        super().__init__(
            f"stream for bucket {bucket!r} is not a valid key-value bucket"
            + (f": {detail}" if detail else "")
        )


def _shown(value: object) -> str:
    """``repr(value)``, cut short: a rejected key may be thousands of characters long."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}...{text[-12:]}"


class InvalidKeyError(KeyValueError, ValueError):
    """The key is not a valid Key/Value key; nothing was sent."""

    def __init__(self, key: object, reason: str = "") -> None:
        self.key = key
        super().__init__(f"invalid key {_shown(key)}" + (f": {reason}" if reason else ""))


class InvalidBucketNameError(KeyValueError, ValueError):
    """The bucket name is not valid; nothing was sent."""

    def __init__(self, name: object, reason: str = "") -> None:
        self.name = name
        super().__init__(f"invalid bucket name {_shown(name)}" + (f": {reason}" if reason else ""))


class InvalidRevisionError(KeyValueError, ValueError):
    """A revision is not a valid stream sequence for the operation; nothing was sent."""

    def __init__(self, revision: object, reason: str = "") -> None:
        self.revision = revision
        super().__init__(f"invalid revision {revision!r}" + (f": {reason}" if reason else ""))


class InvalidConfigError(KeyValueError, ValueError):
    """A bucket configuration or option combination is not valid; nothing was sent."""


class TTLNotSupportedError(KeyValueError, ValueError):
    """A per-key TTL was given to a bucket without limit markers (server code 10166)."""


class ValueTooLargeError(KeyValueError, MaxPayloadError):
    """The value does not fit the bucket's max value size or the server's max_payload."""


class DecodeError(KeyValueError, ValueError):
    """A stored value could not be decoded into the requested type; ``raw`` holds its bytes."""

    def __init__(
        self,
        *,
        bucket: str,
        key: str,
        revision: int,
        type: Any,
        raw: bytes,
        reason: str = "",
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.revision = revision
        self.type = type
        self.raw = raw
        tname = getattr(type, "__qualname__", None) or repr(type)
        super().__init__(
            f"cannot decode {bucket} > {key} revision {revision} as {tname}"
            + (f": {reason}" if reason else "")
        )
