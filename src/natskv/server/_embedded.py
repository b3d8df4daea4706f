"""An in-process handle on a local ``nats-server`` with JetStream."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
import weakref
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from ._binary import find_server_binary
from ._config import MONITOR_HOST, ServerConfig, free_port
from ._errors import ServerStartError
from ._process import ADDRESS_IN_USE, start_until_ready, stop_process

__all__ = ["EmbeddedServer"]

_CONFIG_NAME = "server.conf"
_LOG_NAME = "server.log"


class _State:
    """What must be cleaned up even if the owner is garbage collected without ``stop()``."""

    __slots__ = ("private_dir", "proc")

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.private_dir: Path | None = None


def _finalize(state: _State) -> None:
    if state.proc is not None:
        stop_process(state.proc.pid, proc=state.proc, timeout=5.0)
        state.proc = None
    if state.private_dir is not None:
        shutil.rmtree(state.private_dir, ignore_errors=True)
        state.private_dir = None


def _other_free_port(host: str, taken: int) -> int:
    port = free_port(host)
    while port == taken:
        port = free_port(host)
    return port


class EmbeddedServer:
    """A local ``nats-server`` with JetStream, for the library, tests and the CLI.

    ::

        with EmbeddedServer() as srv:
            ...  # connect to srv.url

        async with EmbeddedServer(durable=False) as srv:
            ...

    The server is durable by default (``sync_interval: always``: every write is fsynced
    before it is acknowledged). Its config file and log live in a private temporary
    directory; the JetStream store lives in ``data_dir``, or, when none is given, in a
    temporary directory that survives :meth:`restart` and is removed by :meth:`stop`.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        data_dir: str | os.PathLike[str] | None = None,
        durable: bool = True,
        binary: str | None = None,
        max_payload: int | None = None,
        startup_timeout: float = 15.0,
        debug: bool = False,
        extra_config: str = "",
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        jetstream_domain: str | None = None,
    ) -> None:
        if startup_timeout <= 0:
            raise ValueError(f"startup_timeout must be positive, got {startup_timeout}")
        self._host = host
        self._auto_port = port is None
        chosen = free_port(host) if port is None else port
        self._data_dir = Path(data_dir).expanduser().absolute() if data_dir is not None else None
        self._binary = binary
        self._startup_timeout = startup_timeout
        # Validates ports, auth and max_payload right away; store_dir is filled in by start().
        self._config = ServerConfig(
            port=chosen,
            http_port=_other_free_port(MONITOR_HOST, chosen),
            store_dir=self._data_dir or Path(),
            host=host,
            durable=durable,
            max_payload=max_payload,
            debug=debug,
            user=user,
            password=password,
            token=token,
            extra_config=extra_config,
            jetstream_domain=jetstream_domain,
        )
        self._lock = threading.RLock()
        self._state = _State()
        self._final_log = ""
        self._last_temp_data: Path | None = None
        self._finalizer = weakref.finalize(self, _finalize, self._state)

    # -- properties -------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The interface the client port listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The client port (chosen at construction when not given; kept by restart)."""
        return self._config.port

    @property
    def url(self) -> str:
        """The client URL, ``nats://127.0.0.1:<port>``."""
        return self._config.url

    @property
    def monitor_url(self) -> str:
        """The monitoring endpoint, ``http://127.0.0.1:<http_port>``."""
        return self._config.monitor_url

    @property
    def data_dir(self) -> Path:
        """The JetStream store directory (nats-server keeps its files in ``jetstream/`` below)."""
        if self._data_dir is not None:
            return self._data_dir
        if self._state.private_dir is None and self._last_temp_data is not None:
            return self._last_temp_data  # stopped: the removed temporary directory
        return self._private_dir() / "data"

    @property
    def durable(self) -> bool:
        """Whether every write is fsynced (``sync_interval: always``)."""
        return self._config.durable

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        proc = self._state.proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        proc = self._state.proc
        return proc is not None and proc.poll() is None

    def config_text(self) -> str:
        """The config the server runs (or would run) with."""
        return replace(self._config, store_dir=self.data_dir).render()

    def log_text(self) -> str:
        """Everything the server wrote to stdout and stderr (kept after :meth:`stop`)."""
        private = self._state.private_dir
        if private is not None:
            try:
                return (private / _LOG_NAME).read_text(encoding="utf-8", errors="replace")
            except OSError:
                return self._final_log
        return self._final_log

    def __repr__(self) -> str:
        state = f"running, pid={self.pid}" if self.running else "stopped"
        return f"<EmbeddedServer {self.url} {state} data_dir={str(self._data_dir or '<temp>')!r}>"

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> EmbeddedServer:
        """Start the server and wait until it is ready; a no-op when it already runs.

        Raises:
            ServerNotFoundError: no nats-server executable was found.
            ServerStartError: the server exited or was not ready within ``startup_timeout``.
        """
        with self._lock:
            if not self.running:
                self._launch(keep_port=not self._auto_port)
            return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout`` seconds).

        Idempotent. Removes the temporary directories this object created, including a
        temporary ``data_dir``; a ``data_dir`` that was given is kept.
        """
        with self._lock:
            self._terminate(timeout)
            self._final_log = self.log_text()
            if self._data_dir is None and self._state.private_dir is not None:
                self._last_temp_data = self._state.private_dir / "data"
            _finalize(self._state)

    close = stop

    def restart(self, timeout: float = 10.0) -> EmbeddedServer:
        """Stop and start again on the same port with the same data directory and data."""
        with self._lock:
            self._terminate(timeout)
            self._launch(keep_port=True)
            return self

    def kill(self) -> None:
        """Crash the server: SIGKILL, no shutdown and no hand-over (for failure tests).

        Its data directory is kept, with whatever reached the files before the signal, so
        :meth:`restart` brings it back on the same port with the data it recovers
        (:meth:`start` does too, on a new port only if that one was taken by then).
        A no-op when it is not running.
        """
        with self._lock:
            proc = self._state.proc
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            self._state.proc = None

    async def astart(self) -> EmbeddedServer:
        """:meth:`start` in a worker thread."""
        return await asyncio.to_thread(self.start)

    async def astop(self, timeout: float = 10.0) -> None:
        """:meth:`stop` in a worker thread."""
        await asyncio.to_thread(self.stop, timeout)

    async def arestart(self, timeout: float = 10.0) -> EmbeddedServer:
        """:meth:`restart` in a worker thread."""
        return await asyncio.to_thread(self.restart, timeout)

    async def akill(self) -> None:
        """:meth:`kill` in a worker thread."""
        await asyncio.to_thread(self.kill)

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> EmbeddedServer:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    # -- internals ------------------------------------------------------------------

    def _private_dir(self) -> Path:
        if self._state.private_dir is None:
            self._state.private_dir = Path(tempfile.mkdtemp(prefix="natskv-server-"))
        return self._state.private_dir

    def _terminate(self, timeout: float) -> None:
        proc = self._state.proc
        if proc is not None:
            stop_process(proc.pid, proc=proc, timeout=timeout)
            self._state.proc = None

    def _launch(self, *, keep_port: bool) -> None:
        binary = find_server_binary(self._binary)
        private = self._private_dir()
        store_dir = self.data_dir
        store_dir.mkdir(parents=True, exist_ok=True)

        def next_config(failure: str) -> ServerConfig:
            if failure:
                self._pick_new_ports(failure, keep_port=keep_port)
            return replace(self._config, store_dir=store_dir)

        config, process = start_until_ready(
            binary,
            private / _CONFIG_NAME,
            private / _LOG_NAME,
            next_config,
            detach=False,
            timeout=self._startup_timeout,
        )
        self._config = config
        self._state.proc = process.popen

    def _pick_new_ports(self, log: str, *, keep_port: bool) -> None:
        """After "address already in use": choose new ports, or raise if the port was fixed."""
        conflicts = [line for line in log.splitlines() if ADDRESS_IN_USE in line]
        port = self._config.port
        client_taken = any(f":{port}:" in line for line in conflicts)
        if client_taken and keep_port:
            raise ServerStartError(f"port {port} on {self._host} is already in use", log)
        if client_taken:
            port = free_port(self._host)
        self._config = replace(
            self._config, port=port, http_port=_other_free_port(MONITOR_HOST, port)
        )
