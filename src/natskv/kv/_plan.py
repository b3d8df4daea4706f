"""A key operation as one request and a pure function of its reply.

The hot key operations (``put``, ``get``, ``get_entry``) are planned first: what to send
(a subject of the bucket, a payload, headers, a timeout) and how the reply becomes the
result. The async methods send the plan on the event loop; the sync API sends the same
plan from the calling thread and finishes it there (``natskv.sync._portal.Portal.request``),
so both run one implementation. A plan of ``None`` means the call needs more than one
request (an older server, a read by revision, ...), and takes the general path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from natskv.client import Msg

__all__ = ["RequestPlan"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RequestPlan(Generic[T]):
    """What to send, and ``finish(reply) -> result`` (pure: it may run on any thread).

    ``subject`` is built from the bucket's prefix and a validated key: it is sent without
    a second subject check."""

    subject: str
    payload: bytes
    headers: Mapping[str, str] | None
    timeout: float
    finish: Callable[[Msg], T]
