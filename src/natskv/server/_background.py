"""The CLI's shared background ``nats-server``: started on first use, reused afterwards.

Everything lives in the natskv home directory (see :func:`natskv_home`):

* ``data/``        the JetStream store (durable: ``sync_interval: always``)
* ``server.json``  state: pid, port, url, monitor port, start time
* ``server.conf``  the generated config
* ``server.log``   the server's stdout and stderr
* ``server.lock``  serializes concurrent CLI invocations
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ._binary import find_server_binary
from ._config import MONITOR_HOST, ServerConfig, free_port, port_is_free
from ._errors import ServerStartError
from ._process import (
    ServerProcess,
    healthz_ok,
    pid_alive,
    start_until_ready,
    stop_process,
    wait_ready,
)

__all__ = [
    "HOME_ENV",
    "BackgroundStatus",
    "background_status",
    "ensure_background_server",
    "natskv_home",
    "stop_background_server",
]

#: Environment variable overriding the natskv home directory.
HOME_ENV = "NATSKV_HOME"

_STATE_NAME = "server.json"
_CONFIG_NAME = "server.conf"
_LOG_NAME = "server.log"
_LOCK_NAME = "server.lock"
_DATA_NAME = "data"
_LOCK_TIMEOUT = 60.0


def natskv_home(
    env: Mapping[str, str] | None = None,
    *,
    platform: str | None = None,
    home: Path | None = None,
) -> Path:
    """The natskv home directory.

    ``$NATSKV_HOME`` if set, else ``$XDG_DATA_HOME/natskv``, else the platform's user data
    directory: ``~/.local/share/natskv`` (Linux and other POSIX),
    ``~/Library/Application Support/natskv`` (macOS), ``%LOCALAPPDATA%\\natskv`` (Windows).
    ``env``, ``platform`` and ``home`` default to the running system's (they exist for tests).
    """
    environ = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    user_home = Path.home() if home is None else home
    if environ.get(HOME_ENV):
        return Path(environ[HOME_ENV]).expanduser()
    if environ.get("XDG_DATA_HOME"):
        return Path(environ["XDG_DATA_HOME"]).expanduser() / "natskv"
    if platform == "darwin":
        return user_home / "Library" / "Application Support" / "natskv"
    if platform == "win32":
        base = environ.get("LOCALAPPDATA") or environ.get("APPDATA")
        return (Path(base) if base else user_home / "AppData" / "Local") / "natskv"
    return user_home / ".local" / "share" / "natskv"


@dataclass(frozen=True)
class BackgroundStatus:
    """What the state file says about the background server, and whether it runs."""

    pid: int
    url: str
    port: int
    data_dir: Path
    started_at: float
    """Unix time (seconds) the server was started."""
    running: bool
    monitor_port: int = 0


def _home(home: str | os.PathLike[str] | None) -> Path:
    return (Path(home).expanduser() if home is not None else natskv_home()).absolute()


@contextlib.contextmanager
def _locked(home: Path, timeout: float = _LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive lock on ``<home>/server.lock`` (advisory; a no-op where unsupported)."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / _LOCK_NAME, "a+b") as handle:
        _acquire(handle, timeout)
        try:
            yield
        finally:
            _release(handle)


def _acquire(handle: IO[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if sys.platform == "win32":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise ServerStartError(
                    f"timed out waiting for the lock {handle.name!r} held by another natskv"
                ) from exc
            time.sleep(0.05)


def _release(handle: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read_state(home: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((home / _STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    try:
        int(state["pid"])
        int(state["port"])
        int(state["monitor_port"])
    except (KeyError, TypeError, ValueError):
        return None
    return state


def _write_state(home: Path, state: Mapping[str, Any]) -> None:
    """Write the state file atomically (temp file + rename)."""
    path = home / _STATE_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _remove_state(home: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (home / _STATE_NAME).unlink()


def _is_our_server(state: Mapping[str, Any], home: Path) -> bool:
    """Whether the state's pid is a live nats-server running this home's config.

    Guards against pid reuse: on Linux and macOS the command line must name our config
    file; on Windows the recorded monitoring port must answer instead.
    """
    pid = int(state["pid"])
    if not pid_alive(pid):
        return False
    if sys.platform == "win32":
        return healthz_ok(int(state["monitor_port"]))
    marker = str(home / _CONFIG_NAME)
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            return False
    else:
        try:
            args = subprocess.run(
                ["ps", "-o", "command=", "-p", str(pid)],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return False
    return "nats-server" in args and marker in args


def _healthy(state: Mapping[str, Any], home: Path) -> bool:
    return _is_our_server(state, home) and healthz_ok(int(state["monitor_port"]))


def _previous_ports(home: Path, state: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """The client and monitoring ports used last: from the state, else the old config file."""
    if state:
        return int(state["port"]), int(state["monitor_port"])
    try:
        text = (home / _CONFIG_NAME).read_text(encoding="utf-8")
    except OSError:
        return None, None
    port = re.search(r"^port: (\d+)$", text, re.MULTILINE)
    http = re.search(r'^http: "[^"]*:(\d+)"$', text, re.MULTILINE)
    return (int(port[1]) if port else None), (int(http[1]) if http else None)


def _choose_port(previous: object, *, avoid: int = 0) -> int:
    if (
        isinstance(previous, int)
        and 0 < previous < 65536
        and previous != avoid
        and port_is_free(previous, MONITOR_HOST)
    ):
        return previous
    port = free_port(MONITOR_HOST)
    while port == avoid:
        port = free_port(MONITOR_HOST)
    return port


def ensure_background_server(
    *,
    home: str | os.PathLike[str] | None = None,
    binary: str | None = None,
    startup_timeout: float = 15.0,
    port: int | None = None,
) -> str:
    """Return the URL of the background server, starting it first if it is not running.

    The server is detached (it outlives this process), durable, listens on 127.0.0.1 and
    keeps its data in ``<home>/data``. ``port`` asks for a client port (and is kept for
    later starts); without it, a previously recorded port is reused when free.

    Raises:
        ServerNotFoundError: no nats-server executable was found.
        ServerStartError: the server did not start, ``port`` is taken, or the server
            already runs on another port (stop it first).
    """
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    home_dir = _home(home)
    with _locked(home_dir):
        state = _read_state(home_dir)
        if state is not None:
            if _healthy(state, home_dir):
                if port is not None and int(state["port"]) != port:
                    raise ServerStartError(
                        f"the background server runs on port {state['port']}, not {port}: "
                        "stop it first (natskv server stop)"
                    )
                return str(state["url"])
            pid = int(state["pid"])
            if _is_our_server(state, home_dir):
                # Ours but not (yet) healthy: give it the start-up time, then replace it.
                try:
                    wait_ready(
                        _state_config(state, home_dir),
                        exit_code=ServerProcess(pid).poll,
                        timeout=startup_timeout,
                        log_path=None,
                    )
                    return str(state["url"])
                except ServerStartError:
                    stop_process(pid, timeout=5.0)
            _remove_state(home_dir)
        return _start(
            home_dir, state or {}, binary=binary, startup_timeout=startup_timeout, port=port
        )


def _state_config(state: Mapping[str, Any], home: Path) -> ServerConfig:
    return ServerConfig(
        port=int(state["port"]),
        http_port=int(state["monitor_port"]),
        store_dir=home / _DATA_NAME,
        durable=True,
    )


def _start(
    home: Path,
    previous: Mapping[str, Any],
    *,
    binary: str | None,
    startup_timeout: float,
    port: int | None = None,
) -> str:
    exe = find_server_binary(binary)
    store_dir = home / _DATA_NAME
    store_dir.mkdir(parents=True, exist_ok=True)
    last_port, last_monitor_port = _previous_ports(home, previous)

    def next_config(failure: str) -> ServerConfig:
        # After a port race, forget the recorded ports and choose fresh ones; a port that
        # was asked for is kept, and a race for it is the caller's error.
        if port is not None:
            if failure:
                raise ServerStartError(f"port {port} on 127.0.0.1 is already in use", failure)
            client_port = port
        else:
            client_port = _choose_port(None if failure else last_port)
        return ServerConfig(
            port=client_port,
            http_port=_choose_port(None if failure else last_monitor_port, avoid=client_port),
            store_dir=store_dir,
            durable=True,
        )

    config, process = start_until_ready(
        exe,
        home / _CONFIG_NAME,
        home / _LOG_NAME,
        next_config,
        detach=True,
        timeout=startup_timeout,
    )
    _write_state(
        home,
        {
            "pid": process.pid,
            "port": config.port,
            "url": config.url,
            "monitor_port": config.http_port,
            "data_dir": str(store_dir),
            "started_at": time.time(),
        },
    )
    return config.url


def background_status(*, home: str | os.PathLike[str] | None = None) -> BackgroundStatus | None:
    """The background server's status, or ``None`` when none was started (no state file)."""
    home_dir = _home(home)
    state = _read_state(home_dir)
    if state is None:
        return None
    return BackgroundStatus(
        pid=int(state["pid"]),
        url=str(state.get("url", "")),
        port=int(state["port"]),
        data_dir=Path(str(state.get("data_dir") or home_dir / _DATA_NAME)),
        started_at=float(state.get("started_at") or 0.0),
        running=_healthy(state, home_dir),
        monitor_port=int(state["monitor_port"]),
    )


def stop_background_server(
    timeout: float = 10.0, *, home: str | os.PathLike[str] | None = None
) -> bool:
    """Stop the background server (SIGTERM, then SIGKILL) and remove its state file.

    Returns ``True`` when a running server was stopped.
    """
    home_dir = _home(home)
    if not home_dir.is_dir():
        return False
    with _locked(home_dir):
        state = _read_state(home_dir)
        if state is None:
            return False
        pid = int(state["pid"])
        stopped = stop_process(pid, timeout=timeout) if _is_our_server(state, home_dir) else False
        _remove_state(home_dir)
        return stopped
