"""Fixtures of the CLI tests: buckets made and dropped around each test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import lib, ok

import natskv

# the connection settings natscli reads from the environment
_NATS_ENV = (
    "NATS_TIMEOUT",
    "NATS_USER",
    "NATS_PASSWORD",
    "NATS_CREDS",
    "NATS_NKEY",
    "NATS_CERT",
    "NATS_KEY",
    "NATS_CA",
    "NATS_CONTEXT",
)


@pytest.fixture(autouse=True)
def no_nats_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the developer's own natscli contexts and ``NATS_*`` settings out of the tests;
    returns the empty ``XDG_CONFIG_HOME`` a test may write contexts into."""
    config = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    for name in _NATS_ENV:
        monkeypatch.delenv(name, raising=False)
    return config


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
