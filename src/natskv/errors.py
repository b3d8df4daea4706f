"""The natskv exception tree, shared by every layer.

Every error natskv raises derives from :class:`NatsError`. Server-decided JetStream
failures carry the server's ``code``, ``err_code`` and ``description``; the Key/Value
layer translates the ones it understands into specific classes with ``raise ... from``
so the original API error stays visible as ``__cause__``.

::

    NatsError
    ├── ConnectionClosedError   the connection is closed for this call
    ├── NatsConnectionError     could not connect / lost the connection (also OSError)
    ├── AuthorizationError      the server rejected our credentials or a permission
    ├── ProtocolError           the peer broke the NATS protocol (bad control line, size ...)
    ├── TimeoutError            no answer in time (also the built-in TimeoutError)
    ├── NoRespondersError       nobody is subscribed to the request subject (status 503)
    ├── MaxPayloadError         a message exceeds the server's max_payload (ValueError)
    ├── SlowConsumerError       a subscription's pending limit was exceeded
    ├── BadSubjectError         an empty, malformed or too long subject (also ValueError)
    └── JetStreamError
        ├── JetStreamNotEnabledError    JetStream is not enabled for the account or server
        ├── APIError(code, err_code, description)
        │   ├── StreamNotFoundError     10059
        │   └── NoMessageFoundError     10037 / direct get 404
        ├── ConsumerGapError    internal: an ordered consumer saw a gap (recovered)
        └── KeyValueError
            ├── KeyNotFoundError(key)
            │   └── KeyDeletedError(key, revision, operation)
            ├── KeyExistsError(key, revision)
            ├── WrongRevisionError(key, expected, actual)      server codes 10071 and 10164
            ├── BucketNotFoundError(bucket)
            ├── BucketExistsError(bucket)
            ├── BadBucketError(bucket)       a stream that is not a KV bucket
            ├── InvalidKeyError(key)         (also ValueError)
            ├── InvalidBucketNameError(name) (also ValueError)
            ├── InvalidConfigError   (also ValueError)
            ├── TTLNotSupportedError         per-key TTL where the bucket or operation has none
            ├── ValueTooLargeError   (also MaxPayloadError and ValueError)
            └── DecodeError(bucket, key, revision, type, raw)  (also ValueError)
"""

from __future__ import annotations

import builtins
from typing import Any

__all__ = [
    "APIError",
    "AuthorizationError",
    "BadBucketError",
    "BadSubjectError",
    "BucketExistsError",
    "BucketNotFoundError",
    "ConnectionClosedError",
    "ConsumerGapError",
    "DecodeError",
    "InvalidBucketNameError",
    "InvalidConfigError",
    "InvalidKeyError",
    "JetStreamError",
    "JetStreamNotEnabledError",
    "KeyDeletedError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValueError",
    "MaxPayloadError",
    "NatsConnectionError",
    "NatsError",
    "NoMessageFoundError",
    "NoRespondersError",
    "ProtocolError",
    "SlowConsumerError",
    "StreamNotFoundError",
    "TTLNotSupportedError",
    "TimeoutError",
    "ValueTooLargeError",
    "WrongRevisionError",
    "api_error_from",
]


class NatsError(Exception):
    """Base class of every error raised by natskv."""


class ConnectionClosedError(NatsError):
    """The connection is closed (or draining), so the operation cannot run."""


class NatsConnectionError(NatsError, OSError):
    """Connecting failed, or the connection was lost and could not be restored."""


class AuthorizationError(NatsError):
    """The server rejected the credentials, or a permission was violated."""


class ProtocolError(NatsError):
    """The byte stream broke the NATS protocol (oversized control line, bad size, unknown op)."""


class TimeoutError(NatsError, builtins.TimeoutError):
    """No reply arrived in time. Also a built-in :class:`TimeoutError`."""


class NoRespondersError(NatsError):
    """The request subject has no subscriber (the server answered with status 503)."""

    def __init__(self, subject: str = "") -> None:
        self.subject = subject
        super().__init__(f"no responders for {subject!r}" if subject else "no responders")


class MaxPayloadError(NatsError, ValueError):
    """A message is larger than the server's ``max_payload``; nothing was sent."""


class SlowConsumerError(NatsError):
    """A subscription fell behind and exceeded its pending limits."""


class BadSubjectError(NatsError, ValueError):
    """A subject is empty, contains whitespace, or makes a control line longer than the
    server's ``max_control_line``; nothing was sent."""


class JetStreamError(NatsError):
    """Base class of JetStream errors."""


class JetStreamNotEnabledError(JetStreamError):
    """JetStream is not enabled on this server or for this account."""


class APIError(JetStreamError):
    """A JetStream API call failed; ``code``, ``err_code``, ``description`` are the server's."""

    def __init__(self, code: int, err_code: int = 0, description: str = "") -> None:
        self.code = code
        self.err_code = err_code
        self.description = description
        super().__init__(
            f"{description or 'JetStream API error'} (code={code}, err_code={err_code})"
        )


class StreamNotFoundError(APIError):
    """The stream does not exist (err_code 10059)."""


class NoMessageFoundError(APIError):
    """No message matched (err_code 10037, or a direct get 404)."""


class ConsumerGapError(JetStreamError):
    """An ordered consumer detected a sequence gap; it is recreated transparently."""


_API_ERRORS: dict[int, type[APIError]] = {
    10059: StreamNotFoundError,
    10037: NoMessageFoundError,
}


def api_error_from(error: dict[str, Any]) -> APIError | JetStreamNotEnabledError:
    """Build the most specific error for a JetStream API ``error`` object."""
    code = int(error.get("code", 0) or 0)
    err_code = int(error.get("err_code", 0) or 0)
    description = str(error.get("description", "") or "")
    if err_code in (10039, 10076):
        return JetStreamNotEnabledError(description or "JetStream not enabled")
    cls = _API_ERRORS.get(err_code, APIError)
    return cls(code, err_code, description)


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
    """No bucket of that name exists."""

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


class InvalidKeyError(KeyValueError, ValueError):
    """The key is not a valid Key/Value key; nothing was sent."""

    def __init__(self, key: object, reason: str = "") -> None:
        self.key = key
        super().__init__(f"invalid key {key!r}" + (f": {reason}" if reason else ""))


class InvalidBucketNameError(KeyValueError, ValueError):
    """The bucket name is not valid; nothing was sent."""

    def __init__(self, name: object, reason: str = "") -> None:
        self.name = name
        super().__init__(f"invalid bucket name {name!r}" + (f": {reason}" if reason else ""))


class InvalidConfigError(KeyValueError, ValueError):
    """A bucket configuration or option combination is not valid; nothing was sent."""


class TTLNotSupportedError(KeyValueError, ValueError):
    """A per-key TTL was given where it is not allowed (put/update/delete) or not enabled."""


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
