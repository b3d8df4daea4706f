"""Key/Value writes in a 3-node JetStream cluster while a stream leader is elected.

Only the stream leader listens on a replicated stream's subjects, so when it dies the
survivors answer a write with "no responders" until they elect a new one (seconds). That
is temporary: the bucket exists. Writes retry within their timeout, and say
:class:`NoStreamResponseError` (never :class:`BucketNotFoundError`) if it takes longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import natskv
from natskv import KVConfig
from natskv.server import find_server_binary

NODES = 3


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Node:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """Crash the node (SIGKILL): no graceful hand-over of its leaderships."""
        self.process.kill()
        self.process.wait(10)


def _config(name: str, port: int, route_port: int, routes: list[int], store: Path) -> str:
    route_urls = ", ".join(f'"nats://127.0.0.1:{p}"' for p in routes)
    return f"""
server_name: {name}
listen: 127.0.0.1:{port}
jetstream {{ store_dir: "{store}" }}
cluster {{
  name: natskv_test
  listen: 127.0.0.1:{route_port}
  routes: [{route_urls}]
}}
"""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[Node]]:
    """Three nats-server processes on loopback, routed to each other, JetStream on."""
    binary = find_server_binary()
    ports = _free_ports(2 * NODES)
    client_ports, route_ports = ports[:NODES], ports[NODES:]
    nodes: list[Node] = []
    try:
        for i in range(NODES):
            name = f"n{i + 1}"
            store = tmp_path / name
            store.mkdir()
            others = [p for j, p in enumerate(route_ports) if j != i]
            conf = tmp_path / f"{name}.conf"
            conf.write_text(_config(name, client_ports[i], route_ports[i], others, store))
            log = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT
                )
            nodes.append(Node(name, client_ports[i], process, log))
        yield nodes
    finally:
        for node in nodes:
            if node.process.poll() is None:
                node.process.terminate()
        for node in nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(10)
            if node.process.poll() is None:
                node.process.kill()
                node.process.wait(10)


async def _connect_when_ready(node: Node) -> natskv.Connection:
    """A connection to ``node`` once the cluster's JetStream answers (a meta leader)."""
    for _ in range(300):
        try:
            nc = await natskv.connect(node.url)
        except natskv.NatsError:
            await asyncio.sleep(0.1)
            continue
        try:
            await natskv.JetStream(nc, timeout=1.0).account_info()
            return nc
        except natskv.NatsError:
            await nc.close()
            await asyncio.sleep(0.1)
    raise AssertionError(f"the cluster's JetStream never answered on {node.url}")


@pytest.fixture
async def replicated(
    cluster: list[Node],
) -> AsyncIterator[tuple[natskv.Connection, natskv.KVStore, Node]]:
    """An R3 bucket, a connection to a node that does not lead its stream, and the leader."""
    nc = await _connect_when_ready(cluster[0])
    try:
        kv = natskv.KVContext(natskv.JetStream(nc, timeout=20.0))
        bucket = "c_" + uuid.uuid4().hex[:8]
        store = await kv.create_store(KVConfig(bucket=bucket, replicas=3, history=5))
        await store.put("k", b"before")
        leader_name = ""
        for _ in range(100):
            info = await kv.js.stream_info(store.stream)
            leader_name = (info.cluster.leader if info.cluster else None) or ""
            if leader_name:
                break
            await asyncio.sleep(0.1)
        leader = next(n for n in cluster if n.name == leader_name)
        if leader is cluster[0]:
            # stay connected to a follower: the leader is the node that goes down
            await nc.close()
            nc = await _connect_when_ready(cluster[1])
            store = await natskv.KVContext(natskv.JetStream(nc, timeout=20.0)).get_store(bucket)
        yield nc, store, leader
    finally:
        await nc.close()


async def test_a_write_during_leader_election_waits_for_the_new_leader(
    replicated: tuple[natskv.Connection, natskv.KVStore, Node],
) -> None:
    nc, store, leader = replicated
    hasty = await natskv.KVContext(natskv.JetStream(nc, timeout=0.2)).get_store(store.bucket)
    leader.kill()
    # Until a new leader is elected nobody listens on the bucket's subjects: a write with
    # little time meets only that, and says so (never "bucket not found"). In the moment
    # before the survivor sees its route to the dead node close, it still forwards the
    # write there and nothing answers: that is a timeout, as temporary, and the server's
    # timing decides which comes first, so the write is tried until "no responders".
    seen: list[type[BaseException]] = []
    for _ in range(10):  # 2 s, well inside the election timeout (4 s at least)
        try:
            await hasty.put("k", b"hasty")
        except natskv.NoStreamResponseError as e:
            assert not isinstance(e, natskv.BucketNotFoundError)
            break
        except natskv.TimeoutError as e:
            seen.append(type(e))
        else:
            pytest.fail("a write succeeded while the stream had no leader")
    else:
        pytest.fail(f"a hasty write never met 'no responders': {seen}")
    # ...while a write with time enough is retried until the new leader stores it.
    revision = await asyncio.wait_for(store.put("k", b"after"), 30)
    assert revision > 1
    assert await store.get("k", consistent=True) == b"after"
