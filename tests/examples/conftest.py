"""Fixtures of the example tests: the examples use fixed bucket names on the shared server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

import natskv


@pytest.fixture
async def bucket_gone(kv: natskv.KVContext) -> AsyncIterator[Callable[[str], Awaitable[None]]]:
    """``bucket_gone(name)``: make sure the bucket an example uses starts absent, and is
    deleted afterwards even if the example failed half-way."""
    names: list[str] = []

    async def forget(name: str) -> None:
        names.append(name)
        with contextlib.suppress(natskv.BucketNotFoundError):
            await kv.delete_store(name)

    yield forget
    for name in names:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(name)
