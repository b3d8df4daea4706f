"""Fixtures of the integration suite beyond the shared ones (``tests/conftest.py``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from tests.integration.helpers import RequestSpy, Sent, Silence, js_config, js_name

import natskv
from natskv import KVStore, Msg


@pytest.fixture
def spy(nc: natskv.Connection, monkeypatch: pytest.MonkeyPatch) -> RequestSpy:
    """What ``nc`` sends as requests (API calls, Direct Gets and acknowledged writes)."""
    recorder = RequestSpy()
    real = nc._start_request  # every request form goes through it

    def start_request(
        subject: str, payload: bytes, headers: Any, timeout: float | None, checked: bool
    ) -> tuple[str, asyncio.Future[Msg]]:
        hdrs = dict(headers) if isinstance(headers, dict) else None
        recorder.sent.append(Sent(subject, payload, hdrs))
        return real(subject, payload, headers, timeout, checked)

    monkeypatch.setattr(nc, "_start_request", start_request)
    return recorder


@pytest.fixture
def silence(nc: natskv.Connection, store: KVStore) -> Callable[[], Silence]:
    """``async with silence():`` fails unless nothing was sent to the ``store`` bucket."""
    return lambda: Silence(nc, store)


@pytest.fixture
async def stream(js: natskv.JetStream) -> AsyncIterator[str]:
    """A fresh memory stream listening on ``<name>.>``, deleted after the test."""
    name = js_name()
    await js.create_stream(js_config(name))
    try:
        yield name
    finally:
        with contextlib.suppress(natskv.NatsError):
            await js.delete_stream(name)
