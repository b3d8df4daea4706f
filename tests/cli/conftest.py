"""Fixtures of the CLI tests: buckets made and dropped around each test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from tests.cli.helpers import lib, ok

import natskv


@pytest.fixture
def bucket(nats_url: str) -> Iterator[str]:
    """A unique bucket name; the bucket is deleted after the test if it was created."""
    name = "cli_" + uuid.uuid4().hex[:10]
    yield name

    async def drop(kv: natskv.KVContext) -> None:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(name)

    lib(nats_url, drop)


@pytest.fixture
def hist_bucket(nats_url: str, bucket: str) -> str:
    """``bucket``, created with history 5."""
    ok(nats_url, "add", bucket, "--history", "5")
    return bucket
