"""Chaos on one server: SIGKILL and restart under concurrent writers and a watcher."""

from __future__ import annotations

import asyncio

import pytest
from tests.chaos.conftest import OP_TIMEOUT, connect
from tests.chaos.workload import BUCKET_HISTORY, Budget, Summary, Workload

import natskv
from natskv.server import EmbeddedServer


@pytest.mark.chaos
async def test_sigkill_and_restart_of_the_only_server_loses_nothing(
    chaos_server: EmbeddedServer, budget: Budget, request: pytest.FixtureRequest
) -> None:
    request.node.add_marker(pytest.mark.timeout(budget.test_timeout(per_round=3)))
    nc = await connect(chaos_server.url)
    try:
        js = natskv.JetStream(nc, timeout=OP_TIMEOUT)
        store = await natskv.KVContext(js).create_store(
            natskv.KVConfig(bucket="chaos", history=BUCKET_HISTORY, storage="file")
        )
        summary = Summary("single server, SIGKILL + restart")
        work = Workload(store, summary, op_timeout=OP_TIMEOUT)
        await work.start()
        for _ in range(budget.rounds):
            await asyncio.sleep(budget.interval)
            await chaos_server.akill()
            summary.faults += 1
            await asyncio.sleep(0.3)
            await chaos_server.arestart()
        await asyncio.sleep(budget.interval)
        await work.stop()
        await work.audit()
    finally:
        await nc.close()
    assert summary.acknowledged > 0
    assert summary.clean, summary.line() + "\n" + "\n".join(summary.details)
