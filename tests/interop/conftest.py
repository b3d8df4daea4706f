"""Fixtures for interop tests against nats-py (the reference Python client)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

nats = pytest.importorskip("nats")


@dataclass
class NatsPy:
    """A nats-py connection and its JetStream context."""

    nc: Any
    js: Any


@pytest.fixture
async def natspy(nats_url: str) -> AsyncIterator[NatsPy]:
    """A nats-py connection to the session server (``.nc``, ``.js``), closed after the test."""
    nc = await nats.connect(nats_url)
    try:
        yield NatsPy(nc=nc, js=nc.jetstream())
    finally:
        await nc.close()
