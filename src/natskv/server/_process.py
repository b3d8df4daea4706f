"""Launching, probing and stopping ``nats-server`` processes (shared by both front ends)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._config import MONITOR_HOST, ServerConfig
from ._errors import ServerStartError

__all__ = [
    "ADDRESS_IN_USE",
    "START_ATTEMPTS",
    "ServerProcess",
    "healthz_ok",
    "launch",
    "log_size",
    "log_tail",
    "pid_alive",
    "spawn_detached",
    "start_until_ready",
    "stop_process",
    "tcp_accepts",
    "wait_ready",
]

#: What nats-server logs when a listen address is taken.
ADDRESS_IN_USE = "address already in use"
#: How often a start is tried when a freshly chosen port turns out to be taken.
START_ATTEMPTS = 3

_POLL_INTERVAL = 0.05
_SIGKILL: int = getattr(signal, "SIGKILL", signal.SIGTERM)
_NO_WINDOW: int = getattr(subprocess, "CREATE_NO_WINDOW", 0)
# Windows only: detached servers started by this process (see spawn_detached).
_DETACHED: list[subprocess.Popen[bytes]] = []


def _popen(argv: list[str], log_path: Path, creationflags: int) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            close_fds=True,
            creationflags=creationflags,
        )


def launch(binary: str, config_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``nats-server -c config_path`` as our child, output appended to ``log_path``."""
    return _popen([binary, "-c", str(config_path)], log_path, _NO_WINDOW)


def spawn_detached(binary: str, config_path: Path, log_path: Path) -> int:
    """Start ``nats-server -c config_path`` so that it outlives this process; return its pid.

    The server gets its own session (POSIX) or process group (Windows), so the terminal's
    Ctrl-C does not reach it, and its output is appended to ``log_path``.
    """
    argv = [binary, "-c", str(config_path)]
    if sys.platform == "win32":
        flags = _NO_WINDOW | subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        proc = _popen(argv, log_path, flags)
        _DETACHED.append(proc)
        return proc.pid
    # posix_spawn rather than Popen: no Popen object is left to complain that its child
    # still runs when this process exits. Our descriptors are non-inheritable (PEP 446).
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, log_fd, 1),
        (os.POSIX_SPAWN_DUP2, log_fd, 2),
    ]
    try:
        try:
            return os.posix_spawn(binary, argv, os.environ, file_actions=actions, setsid=True)
        except NotImplementedError:  # pragma: no cover - no POSIX_SPAWN_SETSID here
            return os.posix_spawn(binary, argv, os.environ, file_actions=actions, setpgroup=0)
    finally:
        os.close(log_fd)


def log_size(log_path: Path) -> int:
    """The current size of a log file (0 when it does not exist)."""
    try:
        return log_path.stat().st_size
    except OSError:
        return 0


def log_tail(
    log_path: Path | None, *, since: int = 0, lines: int = 40, max_chars: int = 6000
) -> str:
    """The last ``lines`` lines of a log file written after byte ``since`` ('' if none)."""
    if log_path is None:
        return ""
    try:
        with open(log_path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(since, size - max_chars * 2))
            data = log.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])[-max_chars:]


def healthz_ok(http_port: int, *, timeout: float = 0.5) -> bool:
    """Whether ``/healthz?js-enabled-only=true`` answers 200 on the monitoring port."""
    url = f"http://{MONITOR_HOST}:{http_port}/healthz?js-enabled-only=true"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status) == 200
    except (OSError, ValueError):  # URLError/HTTPError are OSErrors
        return False


def tcp_accepts(host: str, port: int, *, timeout: float = 0.5) -> bool:
    """Whether a TCP connection to ``host:port`` succeeds."""
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_ready(
    config: ServerConfig,
    *,
    exit_code: Callable[[], int | None],
    timeout: float,
    log_path: Path | None,
    log_offset: int = 0,
) -> None:
    """Wait until the server described by ``config`` serves JetStream and accepts clients.

    ``exit_code`` returns the process's exit status once it has exited (``None`` while it
    runs). Raises :class:`ServerStartError`, with the log tail, when the process exits or
    ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        code = exit_code()
        if code is not None:
            raise ServerStartError(
                f"nats-server exited with code {code} during start-up",
                log_tail(log_path, since=log_offset),
            )
        if healthz_ok(config.http_port) and tcp_accepts(config.host, config.port):
            return
        if time.monotonic() >= deadline:
            raise ServerStartError(
                f"nats-server did not become ready within {timeout:g}s "
                f"(client port {config.port}, monitoring port {config.http_port})",
                log_tail(log_path, since=log_offset),
            )
        time.sleep(_POLL_INTERVAL)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (zombies count as gone)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return False
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    # Reap it if it is our own exited child, so it does not linger as a zombie.
    with contextlib.suppress(ChildProcessError, OSError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _send(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _wait_pid_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL)
    return True


def stop_process(
    pid: int, *, timeout: float = 10.0, proc: subprocess.Popen[bytes] | None = None
) -> bool:
    """Stop a server: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL.

    With ``proc`` (our own child) the exit status is collected too. Returns whether the
    process was running when called.
    """
    if proc is not None:
        if proc.poll() is not None:
            return False
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return True
    if not pid_alive(pid):
        return False
    _send(pid, signal.SIGTERM)
    if not _wait_pid_gone(pid, timeout):
        _send(pid, _SIGKILL)
        _wait_pid_gone(pid, 5.0)
    return True


@dataclass(frozen=True)
class ServerProcess:
    """A started server: our child (``popen``) or a detached process known by ``pid``."""

    pid: int
    popen: subprocess.Popen[bytes] | None = None

    def poll(self) -> int | None:
        """``None`` while it runs, then its exit status (-1 when unknown)."""
        if self.popen is not None:
            return self.popen.poll()
        return None if pid_alive(self.pid) else -1

    def stop(self, timeout: float = 10.0) -> bool:
        """:func:`stop_process` for this process."""
        return stop_process(self.pid, timeout=timeout, proc=self.popen)


def start_until_ready(
    binary: str,
    config_path: Path,
    log_path: Path,
    next_config: Callable[[str], ServerConfig],
    *,
    detach: bool,
    timeout: float,
) -> tuple[ServerConfig, ServerProcess]:
    """Write a config, start the server and wait until it is ready; retry on port races.

    ``next_config`` gives the config to try: it is called with ``""`` first and, after a
    start that failed with "address already in use", with that start's log tail, so that
    it can choose other ports (or raise). Up to :data:`START_ATTEMPTS` starts are made.
    ``detach`` starts the server with :func:`spawn_detached` rather than :func:`launch`.
    """
    failure = ""
    for attempt in range(1, START_ATTEMPTS + 1):
        config = next_config(failure)
        config.write(config_path)
        offset = log_size(log_path)
        if detach:
            process = ServerProcess(spawn_detached(binary, config_path, log_path))
        else:
            popen = launch(binary, config_path, log_path)
            process = ServerProcess(popen.pid, popen)
        try:
            wait_ready(
                config,
                exit_code=process.poll,
                timeout=timeout,
                log_path=log_path,
                log_offset=offset,
            )
        except BaseException as exc:
            process.stop(timeout=5.0)
            retry = isinstance(exc, ServerStartError) and ADDRESS_IN_USE in exc.log_tail
            if not retry or attempt == START_ATTEMPTS:
                raise
            failure = exc.log_tail if isinstance(exc, ServerStartError) else ""
            continue
        return config, process
    raise AssertionError("unreachable")  # pragma: no cover
