"""Fixtures of the UI tests: a UI server on the test's connection, and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.ui.helpers import Client

import natskv
from natskv.ui import UIServer


@pytest.fixture
async def ui(kv: natskv.KVContext) -> AsyncIterator[UIServer]:
    """A UI server on the test's connection, on loopback at a free port."""
    async with UIServer(kv) as server:
        yield server


@pytest.fixture
def client(ui: UIServer) -> Client:
    """Plain HTTP to :func:`ui`, with its token."""
    return Client(ui.port, ui.token)
