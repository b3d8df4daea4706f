"""Chaos on a 3-node cluster: the stream leader and the client's own server SIGKILLed.

An R3 bucket under putters, racing creators, CAS clients (reads from the leader) and a
watcher. The faults alternate: the stream's leader (a write in flight meets an election:
put, create and CAS failover), then the node the client is connected to (the client
reconnects elsewhere, its watcher resumes), and so on. Each killed node is restarted and
caught up before the next fault, so a quorum always exists again.
"""

from __future__ import annotations

import asyncio

import pytest
from tests.chaos.conftest import OP_TIMEOUT, connect
from tests.chaos.faults import client_node, kill_and_restart, stream_leader, wait_replicas_current
from tests.chaos.workload import BUCKET_HISTORY, Budget, Summary, Workload

import natskv
from natskv.server import EmbeddedCluster


@pytest.mark.chaos
async def test_sigkill_of_the_stream_leader_and_the_clients_server_loses_nothing(
    chaos_cluster: EmbeddedCluster, budget: Budget, request: pytest.FixtureRequest
) -> None:
    request.node.add_marker(pytest.mark.timeout(budget.test_timeout(per_round=15)))
    nc = await connect(chaos_cluster.urls)
    try:
        js = natskv.JetStream(nc, timeout=OP_TIMEOUT)
        store = await natskv.KVContext(natskv.JetStream(nc, timeout=30)).create_store(
            natskv.KVConfig(bucket="chaos", history=BUCKET_HISTORY, replicas=3)
        )
        store = await natskv.KVContext(js).get_store("chaos")
        await wait_replicas_current(js, store.stream)
        summary = Summary("3-node cluster, SIGKILL of the stream leader / the client's server")
        work = Workload(store, summary, op_timeout=OP_TIMEOUT)
        await work.start()
        killed: list[str] = []
        for round_ in range(budget.rounds):
            await asyncio.sleep(budget.interval)
            if round_ % 2 == 0:
                victim = chaos_cluster.node(await stream_leader(js, store.stream))
                killed.append("leader")
            else:
                victim = client_node(chaos_cluster, nc) or chaos_cluster.nodes[0]
                killed.append("client's server")
            await kill_and_restart(chaos_cluster, victim)
            summary.faults += 1
            await wait_replicas_current(js, store.stream)
        await asyncio.sleep(budget.interval)
        await work.stop()
        await work.audit()
        reconnects = nc.reconnects
    finally:
        await nc.close()
    assert summary.acknowledged > 0
    assert budget.rounds < 2 or reconnects >= 1, "the client's server was killed: a reconnect"
    assert summary.clean, summary.line() + "\n" + "\n".join(summary.details)
