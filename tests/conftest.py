"""Shared fixtures: local nats-server instances and an isolated natskv home."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import natskv
import natskv.jetstream
from natskv.server import EmbeddedServer, stop_background_server

# --- server fixtures ---


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[EmbeddedServer]:
    """One non-durable JetStream server shared by the whole test session."""
    server = EmbeddedServer(durable=False)
    server.start()
    try:
        asyncio.run(_pin_file_store(server.url))
        yield server
    finally:
        server.stop()


async def _pin_file_store(url: str) -> None:
    # nats-server 2.15 removes an account's file-store directory in the background when
    # its last stream goes, so a file bucket created right after a memory bucket is
    # deleted can fail with 10049. One permanent file stream keeps the directory.
    async with await natskv.connect(url) as nc:
        await natskv.JetStream(nc).create_stream(
            {"name": "natskv_test_pin", "subjects": ["natskv.test.pin"], "storage": "file"}
        )


@pytest.fixture
def nats_url(embedded_server: EmbeddedServer) -> str:
    """The URL of the session's shared server."""
    return embedded_server.url


@pytest.fixture
def fresh_server() -> Iterator[EmbeddedServer]:
    """A server of the test's own, free to be stopped or restarted."""
    server = EmbeddedServer(durable=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def natskv_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``NATSKV_HOME`` pointed at a fresh directory; its background server is stopped after."""
    home = tmp_path / "natskv-home"
    monkeypatch.setenv("NATSKV_HOME", str(home))
    try:
        yield home
    finally:
        stop_background_server(home=home)


# --- client fixtures ---


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[natskv.Connection]:
    """A natskv connection to the shared server, closed after the test."""
    conn = await natskv.connect(nats_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def js(nc: natskv.Connection) -> natskv.JetStream:
    """A JetStream context on ``nc``."""
    return natskv.JetStream(nc)


@pytest.fixture
def kv(js: natskv.JetStream) -> natskv.KVContext:
    """A KV context on ``js``."""
    return natskv.KVContext(js)


@pytest.fixture
def bucket_name(request: pytest.FixtureRequest) -> str:
    """A bucket name unique to the test (the shared server outlives every test)."""
    return "t_" + uuid.uuid4().hex[:12]


@pytest.fixture
async def store(kv: natskv.KVContext, bucket_name: str) -> AsyncIterator[natskv.KVStore]:
    """A fresh bucket (history 5, memory storage), deleted after the test."""
    s = await kv.create_store(natskv.KVConfig(bucket=bucket_name, history=5, storage="memory"))
    try:
        yield s
    finally:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(bucket_name)


@pytest.fixture
async def cleanup(kv: natskv.KVContext) -> AsyncIterator[list[str]]:
    """Bucket names appended here are deleted after the test (last added first)."""
    names: list[str] = []
    try:
        yield names
    finally:
        for name in reversed(names):
            with contextlib.suppress(natskv.NatsError):
                await kv.delete_store(name)


@pytest.fixture
def consumers(
    monkeypatch: pytest.MonkeyPatch,
) -> list[tuple[natskv.jetstream.ConsumerConfig, natskv.jetstream.ConsumerInfo]]:
    """Every consumer created through ``JetStream.create_consumer``, with its info."""
    created: list[tuple[natskv.jetstream.ConsumerConfig, natskv.jetstream.ConsumerInfo]] = []
    real = natskv.JetStream.create_consumer

    async def create_consumer(
        self: natskv.JetStream,
        stream: str,
        config: natskv.jetstream.ConsumerConfig,
        *,
        action: str = "",
    ) -> natskv.jetstream.ConsumerInfo:
        info = await real(self, stream, config, action=action)
        created.append((config, info))
        return info

    monkeypatch.setattr(natskv.JetStream, "create_consumer", create_consumer)
    return created
