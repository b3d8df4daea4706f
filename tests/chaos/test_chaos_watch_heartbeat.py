"""A watcher survives the loss of the server that holds its consumer, its own connection up.

The client is connected to one node; its watcher's consumer (an R1 ephemeral) runs on
another. SIGKILL that other node: the connection never drops, so no reconnect tells the
watcher anything. Only the missing idle heartbeats do (two intervals of silence): the
watcher recreates its consumer from the last revision it delivered, on a live node, and
the killed node's consumer is gone with it. Under writers the whole time: no gap, no
duplicate, one consumer left.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from tests.chaos.conftest import OP_TIMEOUT, connect
from tests.chaos.faults import consumer_leaders, stream_leader, wait_replicas_current
from tests.chaos.workload import BUCKET_HISTORY, Budget, Summary, Workload

import natskv
from natskv.server import EmbeddedCluster, EmbeddedServer


async def _consumers_settle(
    js: natskv.JetStream, stream: str, count: int, seconds: float = 30
) -> dict[str, str]:
    """The stream's consumers once there are ``count`` of them (bounded wait)."""
    deadline = time.monotonic() + seconds
    found: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            found = await consumer_leaders(js, stream)
        except natskv.NatsError:
            found = {}
        if len(found) == count and all(found.values()):
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"{stream} has consumers {found}, not {count}, after {seconds:g}s")


async def _watch_from_another_node(
    work: Workload,
    js: natskv.JetStream,
    stream: str,
    cluster: EmbeddedCluster,
    *,
    client_name: str,
    leader: str,
) -> EmbeddedServer:
    """(Re)start the watcher until its consumer runs on neither the client's node nor the
    stream leader; settle for any node but the client's after a few tries."""
    avoid = {client_name, leader}
    fallback = None
    for _ in range(12):
        await work.start_watcher()
        (holder,) = (await _consumers_settle(js, stream, 1)).values()
        if holder not in avoid:
            return cluster.node(holder)
        if holder != client_name:
            fallback = cluster.node(holder)
    if fallback is None:
        pytest.fail("every consumer was placed on the client's own node")
    return fallback


@pytest.mark.chaos
async def test_a_watcher_recovers_by_heartbeat_when_its_consumers_server_dies(
    chaos_cluster: EmbeddedCluster, budget: Budget, request: pytest.FixtureRequest
) -> None:
    rounds = max(1, budget.rounds // 3)
    request.node.add_marker(pytest.mark.timeout(90 + rounds * (2 * budget.interval + 40)))
    setup = await connect(chaos_cluster.urls)
    try:
        js = natskv.JetStream(setup, timeout=30)
        store = await natskv.KVContext(js).create_store(
            natskv.KVConfig(bucket="beat", history=BUCKET_HISTORY, replicas=3)
        )
        leader = await stream_leader(js, store.stream)
        await wait_replicas_current(js, store.stream)
    finally:
        await setup.close()
    # the client's node is not the stream's leader, so writes go on while the node with
    # the consumer is down (best effort: that node is not the leader either)
    home_name = next(n for n in chaos_cluster.node_names if n != leader)
    home = chaos_cluster.node(home_name)
    nc = await connect(home.url)
    try:
        js = natskv.JetStream(nc, timeout=OP_TIMEOUT)
        store = await natskv.KVContext(js).get_store("beat")
        summary = Summary("3-node cluster, SIGKILL of the watcher's consumer's node")
        work = Workload(store, summary, op_timeout=OP_TIMEOUT)
        holder = await _watch_from_another_node(
            work, js, store.stream, chaos_cluster, client_name=home_name, leader=leader
        )
        await work.start()
        for _ in range(rounds):
            await asyncio.sleep(budget.interval)
            await holder.akill()
            summary.faults += 1
            # recovered: the watcher's new consumer runs on a live node
            (holder_name,) = (await _consumers_settle(js, store.stream, 1, 40)).values()
            assert chaos_cluster.node(holder_name) is not holder
            await holder.arestart()
            await asyncio.to_thread(chaos_cluster.wait_healthy, 60)
            await wait_replicas_current(js, store.stream)
            holder = chaos_cluster.node(holder_name)
        await asyncio.sleep(budget.interval)
        await work.stop()
        # no orphan: the killed node came back without its consumer, one is left
        assert len(await _consumers_settle(js, store.stream, 1)) == 1
        await work.audit()
        reconnects = nc.reconnects
        remaining = await _consumers_settle(js, store.stream, 0)
    finally:
        await nc.close()
    assert reconnects == 0, "the client's own connection never dropped"
    assert remaining == {}
    assert summary.acknowledged > 0
    assert summary.clean, summary.line() + "\n" + "\n".join(summary.details)
