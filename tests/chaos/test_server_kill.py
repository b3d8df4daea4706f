"""``EmbeddedServer.kill()``: a crash (SIGKILL) that keeps the data, then a restart."""

from __future__ import annotations

import os

import pytest

import natskv
from natskv.server import EmbeddedCluster, EmbeddedServer


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_kill_crashes_the_server_and_restart_brings_back_its_data() -> None:
    async with EmbeddedServer(durable=True) as server:
        nc = await natskv.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.05)
        try:
            kv = natskv.KVContext(natskv.JetStream(nc))
            store = await kv.create_store(natskv.KVConfig(bucket="crash"))
            revision = await store.put("k", b"acknowledged")
            pid, port = server.pid, server.port
            assert pid is not None

            server.kill()

            assert not server.running
            assert server.pid is None
            assert not _alive(pid)
            server.kill()  # idempotent on a dead server
            await server.arestart()
            assert server.running
            assert server.port == port
            entry = await store.get_entry("k")
            assert (entry.value, entry.revision) == (b"acknowledged", revision)
        finally:
            await nc.close()


def test_kill_is_sigkill_not_a_graceful_shutdown() -> None:
    with EmbeddedServer(durable=False) as server:
        server.kill()
        # a graceful stop logs "Server Exiting.."; a SIGKILLed server never gets to
        assert "Exiting" not in server.log_text()
        assert server.restart().running


def test_a_cluster_node_is_found_by_server_name_and_killed_alone() -> None:
    with EmbeddedCluster(3) as cluster:
        assert cluster.node_names == ["natskv-1", "natskv-2", "natskv-3"]
        second = cluster.node("natskv-2")
        assert second is cluster.nodes[1]
        with pytest.raises(KeyError, match="natskv-9"):
            cluster.node("natskv-9")
        second.kill()
        assert [n.running for n in cluster.nodes] == [True, False, True]
        second.restart()
        cluster.wait_healthy()
        assert cluster.running
