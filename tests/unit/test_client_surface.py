"""The public ``Connection`` says what it takes: the hot-path entry points of natskv's own
layers are on ``nc.lowlevel`` (:class:`~natskv.client.LowLevel`), not beside ``publish``."""

from __future__ import annotations

import inspect

import natskv
from natskv.client import LowLevel

LOW_LEVEL = {
    "publish_nowait",
    "publish_many",
    "subscribe_nowait",
    "request_future",
    "request_nowait",
    "request_threadsafe",
    "await_reply",
    "cancel_reply",
    "open_reply_stream",
}


def _public(cls: type) -> dict[str, object]:
    return {name: obj for name, obj in vars(cls).items() if not name.startswith("_")}


def test_the_low_level_calls_are_on_lowlevel_only() -> None:
    assert set(_public(natskv.Connection)) & LOW_LEVEL == set()
    assert set(_public(LowLevel)) >= LOW_LEVEL


def test_no_public_connection_call_takes_a_low_level_knob() -> None:
    knobs = {"checked", "waiter", "token"}
    taking = {
        (name, param)
        for name, obj in _public(natskv.Connection).items()
        if callable(obj)
        for param in inspect.signature(obj).parameters
        if param in knobs
    }
    assert taking == set()
