"""``natskv server start|status|stop`` and the background server used without ``-s``."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from click.testing import Result
from tests.cli.helpers import runner

from natskv.cli import cli
from natskv.server import background_status, free_port

_RUNNING = re.compile(
    r"nats-server running at (nats://127\.0\.0\.1:\d+) \(pid (\d+), data (.+)\)\n", re.ASCII
)


def natskv(*args: str, input: str | None = None) -> Result:
    return runner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def no_nats_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)


def test_server_start_status_stop(natskv_home: Path) -> None:
    result = natskv("server", "status")
    assert result.exit_code == 1
    assert result.stdout == "no natskv server is running\n"

    result = natskv("server", "start")
    assert result.exit_code == 0
    match = _RUNNING.fullmatch(result.stdout)
    assert match, result.stdout
    url, pid, data = match.groups()
    assert Path(data) == natskv_home.absolute() / "data"
    status = background_status()
    assert status is not None
    assert status.running
    assert (status.url, status.pid) == (url, int(pid))

    # start again: the same server
    assert natskv("server", "start").stdout == result.stdout
    result = natskv("server", "status")
    assert result.exit_code == 0
    assert result.stdout == f"nats-server running at {url} (pid {pid}, data {data})\n"

    result = natskv("server", "stop")
    assert result.exit_code == 0
    assert result.stdout == f"stopped nats-server (pid {pid})\n"
    result = natskv("server", "stop")
    assert result.exit_code == 0
    assert result.stdout == "no natskv server is running\n"
    assert natskv("server", "status").exit_code == 1


def test_commands_without_a_server_use_the_background_server(
    natskv_home: Path, no_nats_url: None
) -> None:
    assert background_status() is None
    result = natskv("add", "bg_bucket", "--history", "3")
    assert result.exit_code == 0, result.stderr
    assert "Information for Key-Value Store Bucket bg_bucket created " in result.stdout
    status = background_status()
    assert status is not None
    assert status.running

    assert natskv("put", "bg_bucket", "k", "kept").stdout == "kept\n"
    # a second command finds the same server and the data
    result = natskv("get", "bg_bucket", "k", "--raw")
    assert result.exit_code == 0
    assert result.stdout == "kept"
    second = background_status()
    assert second is not None
    assert second.pid == status.pid

    # the store is durable: the data survives a restart of the server
    assert natskv("server", "stop").stdout == f"stopped nats-server (pid {status.pid})\n"
    result = natskv("get", "bg_bucket", "k", "--raw")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "kept"
    assert natskv("ls", "-n").stdout == "bg_bucket\n"


def test_server_flag_wins_over_nats_url(
    nats_url: str, natskv_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:1")
    result = natskv("-s", nats_url, "ls", "-n")
    assert result.exit_code == 0, result.stderr
    # NATS_URL alone is used as given, without starting a background server
    result = natskv("--timeout", "1", "ls", "-n")
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: could not connect to any server")
    assert background_status() is None


def test_server_url_starts_the_server_and_prints_its_url(natskv_home: Path) -> None:
    result = natskv("server", "url")
    assert result.exit_code == 0, result.stderr
    status = background_status()
    assert status is not None
    assert status.running
    assert result.stdout == status.url + "\n"
    assert re.fullmatch(r"nats://127\.0\.0\.1:\d+\n", result.stdout)
    # the same server the next time, and the kv verbs use it
    assert natskv("server", "url").stdout == result.stdout
    assert natskv("-s", status.url, "ls", "-n").exit_code == 0


def test_server_start_on_a_port_of_ones_choice(natskv_home: Path) -> None:
    port = free_port()
    result = natskv("server", "start", "--port", str(port))
    assert result.exit_code == 0, result.output
    assert f"nats-server running at nats://127.0.0.1:{port} " in result.stdout
    assert natskv("server", "url").stdout == f"nats://127.0.0.1:{port}\n"
    # the same port again is the same server; another one is refused while it runs
    assert natskv("server", "start", "--port", str(port)).exit_code == 0
    other = natskv("server", "start", "--port", str(free_port()))
    assert other.exit_code == 1
    assert f"runs on port {port}" in other.stderr
    natskv("server", "stop")
    # the port is kept for the next start without --port
    assert natskv("server", "url").stdout == f"nats://127.0.0.1:{port}\n"
    natskv("server", "stop")


def test_server_start_on_a_port_in_use_fails_clearly(natskv_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = natskv("server", "start", "--port", str(port))
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert background_status() is None or not background_status().running  # type: ignore[union-attr]
