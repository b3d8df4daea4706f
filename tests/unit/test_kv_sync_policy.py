"""The server's sync policy read from a ``/varz`` document (natskv.kv._sync_policy), and its
row on the ``info`` screen."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.test_cli_info_screen import STATUS_SAMPLE, _fresh_status

from natskv.cli import format as fmt
from natskv.kv._sync_policy import go_duration, sync_policy

S = 10**9


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1500, "1.5µs"),
        (250 * 10**6, "250ms"),
        (S, "1s"),
        (1500 * 10**6, "1.5s"),
        (10 * S, "10s"),
        (120 * S, "2m0s"),
        (90 * S, "1m30s"),
        (3600 * S, "1h0m0s"),
        (3661 * S + 5 * 10**8, "1h1m1.5s"),
        (-2 * S, "-2s"),
    ],
)
def test_durations_are_written_as_go_writes_them(ns: int, text: str) -> None:
    assert go_duration(ns) == text


def _varz(**config: Any) -> dict[str, Any]:
    return {"server_id": "N", "jetstream": {"config": {"store_dir": "/x", **config}}}


@pytest.mark.parametrize(
    ("varz", "policy"),
    [
        # sync_interval: always sets both (nats-server server/opts.go)
        (_varz(sync_interval=120 * S, sync_always=True), "always"),
        (_varz(sync_interval=120 * S), "every 2m0s"),
        (_varz(sync_interval=10 * S), "every 10s"),
        # omitted when zero, and zero means the default (server/filestore.go)
        (_varz(), "every 2m0s"),
        (_varz(sync_interval=0), "every 2m0s"),
        ({"server_id": "N"}, "unknown"),  # JetStream off
        ({"jetstream": {}}, "unknown"),
        ({"jetstream": {"config": None}}, "unknown"),
        (_varz(sync_interval="2m"), "unknown"),
        (_varz(sync_interval=-1), "unknown"),
    ],
)
def test_the_policy_comes_from_the_jetstream_config(varz: dict[str, Any], policy: str) -> None:
    assert sync_policy(varz) == policy


def test_replicas_and_sync_policy_follow_storage_and_leave_the_other_rows_alone() -> None:
    out = fmt.status_text(_fresh_status(replicas=3, sync_policy="every 2m0s"))
    assert out == STATUS_SAMPLE + (
        "               Replicas: 3\n            Sync Policy: every 2m0s\n"
    )
    assert fmt.status_text(_fresh_status()) == STATUS_SAMPLE
