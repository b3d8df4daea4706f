"""The chaos suite's servers, and its summary lines at the end of the run.

Every scenario kills nodes, so each gets servers of its own (function scope), never the
session's shared ``nats_server`` or ``nats_cluster``. The summary lines go to pytest's
terminal summary, so CI's log shows them without ``-s``.

The scenarios (marked ``chaos``) take a minute or more, so they run only with
``NATSKV_CHAOS=1``: CI's chaos step sets it (``.ci/run``); by hand, add
``NATSKV_CHAOS_ROUNDS`` (faults per scenario) and ``NATSKV_CHAOS_INTERVAL`` (seconds of
traffic between them) for a longer run. The checker's and the audit's own tests always run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tests.chaos.workload import SUMMARIES, Budget

import natskv
from natskv.server import EmbeddedCluster, EmbeddedServer

OP_TIMEOUT = 5.0
CHAOS_ENV = "NATSKV_CHAOS"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"chaos: a fault-injection scenario, run only with {CHAOS_ENV}=1"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get(CHAOS_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"a chaos scenario: set {CHAOS_ENV}=1 to run it")
    for item in items:
        if item.get_closest_marker("chaos"):
            item.add_marker(skip)


@pytest.fixture
def budget() -> Budget:
    """How many faults, how far apart (``NATSKV_CHAOS_ROUNDS``, ``NATSKV_CHAOS_INTERVAL``)."""
    return Budget.from_env()


@pytest.fixture
def chaos_server() -> Iterator[EmbeddedServer]:
    """A durable server of the test's own, to be killed and restarted."""
    with EmbeddedServer(durable=True) as server:
        yield server


@pytest.fixture
def chaos_cluster() -> Iterator[EmbeddedCluster]:
    """A three-node cluster of the test's own, whose nodes are killed and restarted."""
    with EmbeddedCluster(3) as cluster:
        yield cluster


async def connect(urls: str | list[str]) -> natskv.Connection:
    """A connection that keeps reconnecting, quickly, for as long as the test runs."""
    return await natskv.connect(
        urls, max_reconnect_attempts=-1, reconnect_time_wait=0.1, connect_timeout=2.0
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per chaos scenario: what was written, what survived, what the checker said."""
    if not SUMMARIES:
        return
    terminalreporter.section("chaos summary")
    for summary in SUMMARIES:
        terminalreporter.write_line(summary.line())
        for detail in summary.details[:20]:
            terminalreporter.write_line(f"    {detail}")
