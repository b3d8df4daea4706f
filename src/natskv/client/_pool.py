"""The servers a connection knows, and the order it tries them in.

The pool starts as the URLs given to :func:`~natskv.connect` (or ``NATS_URL``) and grows
by the ``connect_urls`` a cluster's ``INFO`` announces, unless
``ignore_discovered_servers``. Connecting tries the servers in pool order; reconnecting
tries the others before the one just lost, and leaves out a server once it has had
``max_reconnect_attempts``. Pure: no sockets, no timers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from natskv.client._events import logger
from natskv.client._options import ServerAddress, parse_server, parse_servers
from natskv.errors import NatsError

__all__ = ["ServerPool"]


class ServerPool:
    """The server pool of one connection (credentials stay in the addresses, out of reprs)."""

    def __init__(
        self,
        servers: str | list[str] | tuple[str, ...] | None,
        *,
        ignore_discovered: bool = False,
    ) -> None:
        self._servers: list[ServerAddress] = parse_servers(servers)
        self._ignore_discovered = ignore_discovered

    def __iter__(self) -> Iterator[ServerAddress]:
        return iter(self._servers)

    def __len__(self) -> int:
        return len(self._servers)

    @property
    def urls(self) -> list[str]:
        """Every server's URL, without credentials."""
        return [s.url for s in self._servers]

    def discover(self, connect_urls: Iterable[str]) -> None:
        """Add the servers of an ``INFO``'s ``connect_urls`` not in the pool yet."""
        if self._ignore_discovered:
            return
        known = {(s.host, s.port) for s in self._servers}
        for url in connect_urls:
            try:
                server = parse_server(url, discovered=True)
            except NatsError:
                continue
            if (server.host, server.port) not in known:
                self._servers.append(server)
                known.add((server.host, server.port))
                logger.debug("discovered server %s", server.url)

    def others(self, server: ServerAddress) -> list[ServerAddress]:
        """The servers at another address than ``server``."""
        return [s for s in self._servers if (s.host, s.port) != (server.host, server.port)]

    def reconnect_order(
        self, attempts: Mapping[ServerAddress, int], limit: int, last: ServerAddress | None
    ) -> list[ServerAddress]:
        """The servers to try next, in order: those with attempts left (``limit`` < 0: no
        limit), with ``last`` (the server just lost) at the end."""
        candidates = [s for s in self._servers if limit < 0 or attempts.get(s, 0) < limit]
        if last in candidates:
            candidates.remove(last)
            candidates.append(last)
        return candidates
