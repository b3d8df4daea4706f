"""Fixtures of the integration suite beyond the shared ones (``tests/conftest.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from tests.integration.helpers import RequestSpy, Sent, Silence

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
