"""A local cluster of nats-servers with JetStream: replicated buckets on one machine.

Each node is an :class:`EmbeddedServer` with a ``server_name``, a cluster port on loopback
and routes to the other nodes. :meth:`EmbeddedCluster.start` starts the nodes at once (a
node's JetStream waits for its peers) and returns when every node reports itself healthy,
so a meta leader is elected and R3 streams can be created. Nodes can be stopped, killed
and started again one by one to test failover.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from ._config import free_port, quote
from ._embedded import EmbeddedServer
from ._errors import ServerStartError

__all__ = ["EmbeddedCluster"]

_POLL = 0.05


def _healthy(monitor_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{monitor_url}/healthz", timeout=0.5) as response:
            return int(response.status) == 200
    except (OSError, ValueError):
        return False


class EmbeddedCluster:
    """``size`` local nats-servers routed into one JetStream cluster.

    ::

        with EmbeddedCluster(3) as cluster:
            nc = await natskv.connect(cluster.urls)      # any node; the client learns all
            kv = natskv.KVContext(natskv.JetStream(nc))
            await kv.create_store(natskv.KVConfig(bucket="b", replicas=3))

    ``durable`` is as for :class:`EmbeddedServer` (off by default here: a test cluster).
    ``data_dir`` keeps each node's store in ``<data_dir>/<node name>`` across restarts of
    the cluster object; without it each node gets a temporary directory.
    """

    def __init__(
        self,
        size: int = 3,
        *,
        name: str = "natskv",
        host: str = "127.0.0.1",
        durable: bool = False,
        data_dir: str | os.PathLike[str] | None = None,
        binary: str | None = None,
        startup_timeout: float = 30.0,
        extra_config: str = "",
    ) -> None:
        if size < 1:
            raise ValueError(f"a cluster needs at least one node, got size={size}")
        if startup_timeout <= 0:
            raise ValueError(f"startup_timeout must be positive, got {startup_timeout}")
        self.name = name
        self._startup_timeout = startup_timeout
        cluster_ports = [free_port(host) for _ in range(size)]
        self._nodes: list[EmbeddedServer] = []
        self._names = [f"{name}-{i + 1}" for i in range(size)]
        for i, port in enumerate(cluster_ports):
            node_name = self._names[i]
            routes = ", ".join(
                quote(f"nats-route://{host}:{p}") for j, p in enumerate(cluster_ports) if j != i
            )
            cluster = (
                f"server_name: {quote(node_name)}\n"
                f"cluster {{\n  name: {quote(name)}\n  listen: {quote(f'{host}:{port}')}\n"
                f"  routes: [{routes}]\n}}\n"
            )
            node_dir = Path(data_dir) / node_name if data_dir is not None else None
            self._nodes.append(
                EmbeddedServer(
                    port=free_port(host),
                    host=host,
                    data_dir=node_dir,
                    durable=durable,
                    binary=binary,
                    startup_timeout=startup_timeout,
                    extra_config=cluster + extra_config,
                )
            )

    @property
    def nodes(self) -> list[EmbeddedServer]:
        """The nodes, in order; each can be stopped, restarted or killed on its own."""
        return list(self._nodes)

    @property
    def node_names(self) -> list[str]:
        """Each node's ``server_name`` (``<name>-1`` ...), in the order of :attr:`nodes`."""
        return list(self._names)

    def node(self, server_name: str) -> EmbeddedServer:
        """The node with this ``server_name`` (as JetStream reports a stream's leader)."""
        try:
            return self._nodes[self._names.index(server_name)]
        except ValueError:
            raise KeyError(f"no node named {server_name!r} in cluster {self.name!r}") from None

    @property
    def urls(self) -> list[str]:
        """The client URL of every node."""
        return [node.url for node in self._nodes]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (what ``NATS_URL`` takes)."""
        return ",".join(self.urls)

    @property
    def running(self) -> bool:
        """Whether every node's process is alive."""
        return all(node.running for node in self._nodes)

    def __repr__(self) -> str:
        return f"<EmbeddedCluster {self.name!r} {len(self._nodes)} nodes {self.url}>"

    def config_texts(self) -> list[str]:
        """The config each node runs with."""
        return [node.config_text() for node in self._nodes]

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> EmbeddedCluster:
        """Start every node that is not running and wait until the cluster is healthy."""
        errors: list[BaseException] = []

        def run(node: EmbeddedServer) -> None:
            try:
                node.start()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(n,)) for n in self._nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            self.stop()
            raise errors[0]
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float | None = None) -> None:
        """Wait until every running node answers ``/healthz`` (JetStream current, a meta
        leader elected)."""
        limit = self._startup_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        pending = [n for n in self._nodes if n.running]
        while pending:
            pending = [n for n in pending if not _healthy(n.monitor_url)]
            if not pending:
                return
            if time.monotonic() >= deadline:
                raise ServerStartError(
                    f"cluster {self.name!r} was not healthy within {limit:g}s "
                    f"(waiting for {', '.join(n.url for n in pending)})",
                    "\n".join(n.log_text()[-2000:] for n in pending),
                )
            time.sleep(_POLL)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every node (idempotent)."""
        for node in self._nodes:
            node.stop(timeout)

    close = stop

    def __enter__(self) -> EmbeddedCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> EmbeddedCluster:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
