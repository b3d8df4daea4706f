"""Where the Key/Value layer translates errors: one mapping, used by every operation.

The layers below raise what they know: the client ``NoRespondersError`` and
``MaxPayloadError``, JetStream an :class:`~natskv.APIError` subclass picked by the
server's ``err_code``. A KV operation turns those into the KV error of its bucket (and
key) here, never in an ``except`` clause of its own, so one condition has one error
everywhere:

* :func:`kv_error` (pure) maps one exception; :func:`translate` is the same as a
  context manager (``with translate(bucket, key): ...``), for code off the hot paths.
* :func:`recover_no_responders` handles the one condition that needs the server to
  tell: a request to the stream that met no responders. The message was stored nowhere,
  so it is retried with a short backoff within the operation's timeout (in a cluster only
  the stream leader listens, and electing one takes seconds). ``STREAM.INFO`` decides
  first: a stream the server says is absent is :class:`BucketNotFoundError` at once;
  present or unknown (no answer) is retried, and if it never answers,
  :class:`NoStreamResponseError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from natskv.errors import (
    BucketExistsError,
    BucketNotFoundError,
    JetStreamError,
    KeyNotFoundError,
    MaxPayloadError,
    MessageSizeExceededError,
    NatsError,
    NoMessageFoundError,
    NoRespondersError,
    NoStreamResponseError,
    StreamNameInUseError,
    StreamNotFoundError,
    TimeoutError,
    ValueTooLargeError,
    WrongLastSequenceError,
    WrongRevisionError,
)
from natskv.jetstream import JetStream
from natskv.kv._mapping import parse_wrong_last_sequence

__all__ = ["kv_error", "recover_no_responders", "translate"]

T = TypeVar("T")

# Backoff between retries after no responders: quick at first (a leader stepping down
# is back within milliseconds), then every quarter second like nats.go's publish retry.
_FIRST_DELAY = 0.025
_MAX_DELAY = 0.25
# STREAM.INFO answers within a round trip when the meta layer is up; beyond this the
# answer is "unknown" and the retries go on.
_INFO_TIMEOUT = 1.0


def kv_error(
    exc: BaseException,
    bucket: str,
    key: str = "",
    *,
    expected: int | None = None,
    revision: int | None = None,
) -> BaseException:
    """The KV error for ``exc``, met by an operation on ``bucket`` (and ``key``).

    ``expected`` is the revision a compare-and-set expected, ``revision`` the one a read
    asked for. Returns ``exc`` itself when it has no KV meaning (a timeout, a closed
    connection, an API error of another kind). Raise the result ``from exc``.
    """
    if isinstance(exc, StreamNotFoundError):
        return BucketNotFoundError(bucket)
    if isinstance(exc, NoMessageFoundError):
        if revision is not None:
            return KeyNotFoundError(key, f"key {key!r} has no revision {revision}")
        return KeyNotFoundError(key)
    if isinstance(exc, WrongLastSequenceError):
        return WrongRevisionError(key, expected, parse_wrong_last_sequence(exc.description))
    if isinstance(exc, ValueTooLargeError):
        return exc
    if isinstance(exc, MessageSizeExceededError):
        return ValueTooLargeError(f"value for key {key!r} exceeds the bucket's max value size")
    if isinstance(exc, MaxPayloadError):
        # the value alone was checked before sending; with the header block it did not fit
        return ValueTooLargeError(f"value for key {key!r}: {exc}")
    if isinstance(exc, StreamNameInUseError):
        return BucketExistsError(bucket, exc.description)
    return exc


@contextmanager
def translate(
    bucket: str, key: str = "", *, expected: int | None = None, revision: int | None = None
) -> Iterator[None]:
    """:func:`kv_error` around a block: ``with translate(store.bucket, key): ...``."""
    try:
        yield
    except NatsError as exc:
        mapped = kv_error(exc, bucket, key, expected=expected, revision=revision)
        if mapped is exc:
            raise
        raise mapped from exc


async def recover_no_responders(
    js: JetStream,
    bucket: str,
    attempt: Callable[[float], Awaitable[T]],
    *,
    cause: NoRespondersError,
    timeout: float,
    subject: str = "",
) -> T:
    """Retry ``attempt(timeout_left)`` after ``cause``, or raise what the server says.

    Raises :class:`BucketNotFoundError` when the bucket's stream is absent, and
    :class:`NoStreamResponseError` when the attempts still meet no responders at the end
    of ``timeout``. Any other error of an attempt propagates (a timeout too: a responder
    got that attempt, so it may have been stored).
    """
    stream = f"KV_{bucket}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        await js.stream_info(stream, timeout=min(timeout, _INFO_TIMEOUT))
    except StreamNotFoundError as gone:
        raise BucketNotFoundError(bucket) from gone
    except (TimeoutError, JetStreamError):
        pass  # unknown (no meta leader, say): the retries tell
    last = cause
    delay = _FIRST_DELAY
    while deadline - loop.time() > delay:
        await asyncio.sleep(delay)
        try:
            return await attempt(deadline - loop.time())
        except NoRespondersError as exc:
            last = exc
        # a timeout propagates: a responder got that attempt, so it may have been stored
        delay = min(delay * 2, _MAX_DELAY)
    raise NoStreamResponseError(stream, subject) from last
