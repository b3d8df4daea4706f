"""Shared fixtures: local nats-server instances and an isolated natskv home."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import natskv
import natskv.jetstream
from natskv.server import EmbeddedServer, stop_background_server

# natskv's own pytest plugin (natskv.testing.plugin) gives nats_server, nats_url, nc, js,
# kv, kv_store, sync_nc, sync_kv, sync_kv_store and nats_cluster; these add what only
# natskv's suite needs.

pytest_plugins = ["pytester"]

# --- server fixtures ---


@pytest.fixture(scope="session")
def embedded_server(nats_server: EmbeddedServer) -> EmbeddedServer:
    """The session's shared server (the plugin's ``nats_server``)."""
    return nats_server


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many docs code blocks the run executed, and which it only showed (tests/docs)."""
    from tests.docs.counts import EXECUTED, RUN_AS_TESTS, SKIPPED

    if not (EXECUTED or SKIPPED):
        return
    ran = {lang: sum(1 for lang_, _ in EXECUTED if lang_ == lang) for lang in ("python", "console")}
    shown = [where for lang, where in SKIPPED if (lang, where) not in RUN_AS_TESTS]
    terminalreporter.write_line(
        f"docs: {ran['python']} python and {ran['console']} console code blocks executed "
        f"against a real server, {len(RUN_AS_TESTS)} python blocks run by pytest as test "
        f"modules, {len(shown)} shown only (no-run): {', '.join(shown) or 'none'}"
    )
