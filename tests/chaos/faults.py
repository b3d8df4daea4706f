"""Finding the node to kill in a cluster, and waiting until a killed node is back in step."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import natskv
from natskv.server import EmbeddedCluster, EmbeddedServer

__all__ = [
    "client_node",
    "consumer_leaders",
    "kill_and_restart",
    "stream_leader",
    "wait_replicas_current",
]


async def _retry(what: str, seconds: float, probe: Any) -> Any:
    """``await probe()`` until it returns something truthy, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            found = await probe()
        except natskv.NatsError as exc:
            last = exc
        else:
            if found:
                return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} within {seconds:g}s (last error: {last!r})")


async def stream_leader(js: natskv.JetStream, stream: str, seconds: float = 30) -> str:
    """The server name of the stream's leader, once there is one."""

    async def probe() -> str:
        info = await js.stream_info(stream)
        return (info.cluster.leader if info.cluster else None) or ""

    leader: str = await _retry(f"no leader of {stream}", seconds, probe)
    return leader


async def wait_replicas_current(js: natskv.JetStream, stream: str, seconds: float = 30) -> None:
    """Wait until the stream has a leader and every other replica is online and current,
    so the next fault does not take a quorum the last one had not given back yet."""

    async def probe() -> bool:
        info = await js.stream_info(stream)
        cluster = info.cluster
        if cluster is None or not cluster.leader or cluster.replicas is None:
            return False
        return len(cluster.replicas) == 2 and all(
            p.current and not p.offline for p in cluster.replicas
        )

    await _retry(f"the replicas of {stream} were not current", seconds, probe)


async def consumer_leaders(js: natskv.JetStream, stream: str) -> dict[str, str]:
    """Each consumer of the stream, with the server it runs on."""
    reply = await js.api_request(f"CONSUMER.LIST.{stream}", response_type=dict[str, Any])
    return {
        c["name"]: (c.get("cluster") or {}).get("leader", "") for c in reply.get("consumers") or []
    }


def client_node(cluster: EmbeddedCluster, nc: natskv.Connection) -> EmbeddedServer | None:
    """The node the connection is on now (None while it reconnects)."""
    url = nc.connected_url
    if url is None:
        return None
    port = int(url.rsplit(":", 1)[1])
    return next((n for n in cluster.nodes if n.port == port), None)


async def kill_and_restart(
    cluster: EmbeddedCluster, node: EmbeddedServer, *, down: float = 0.5
) -> None:
    """SIGKILL ``node``, leave it down for ``down`` seconds, start it again and wait until
    every node is healthy."""
    await node.akill()
    await asyncio.sleep(down)
    await node.arestart()
    await asyncio.to_thread(cluster.wait_healthy, 60)
