"""EmbeddedServer and the background server against a real nats-server."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from natskv.server import (
    EmbeddedServer,
    ServerStartError,
    background_status,
    ensure_background_server,
    free_port,
    stop_background_server,
)
from natskv.server._process import pid_alive

# -- helpers ----------------------------------------------------------------------------


def _read_info(url: str) -> dict[str, Any]:
    """Connect with a raw socket and return the server's INFO line as JSON."""
    host, _, port = url.removeprefix("nats://").rpartition(":")
    with socket.create_connection((host.strip("[]"), int(port)), timeout=5) as sock:
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    line = data.split(b"\r\n", 1)[0].decode()
    assert line.startswith("INFO {"), line
    info: dict[str, Any] = json.loads(line[len("INFO ") :])
    return info


def _monitor(server: EmbeddedServer, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(server.monitor_url + path, timeout=5) as response:
        result: dict[str, Any] = json.load(response)
        return result


def _create_stream(url: str, name: str) -> dict[str, Any]:
    """Create a file-backed JetStream stream with the raw protocol; return the API reply."""
    host, _, port = url.removeprefix("nats://").rpartition(":")
    body = json.dumps({"name": name, "subjects": [f"{name}.>"], "storage": "file"}).encode()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n'
            b"SUB _INBOX.stream 1\r\n"
            + f"PUB $JS.API.STREAM.CREATE.{name} _INBOX.stream {len(body)}\r\n".encode()
            + body
            + b"\r\n"
        )
        data = b""
        while True:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed: {data!r}"
            data += chunk
            at = data.find(b"MSG ")
            line_end = data.find(b"\r\n", at) if at >= 0 else -1
            if line_end < 0:
                continue
            size = int(data[at:line_end].split()[-1])
            payload = data[line_end + 2 : line_end + 2 + size]
            if len(payload) == size:
                reply: dict[str, Any] = json.loads(payload)
                return reply


def _process_gone(pid: int) -> bool:
    return not pid_alive(pid)


# -- shared fixtures --------------------------------------------------------------------


def test_session_server_serves_nats(nats_url: str, embedded_server: EmbeddedServer) -> None:
    assert nats_url == embedded_server.url
    info = _read_info(nats_url)
    assert info["jetstream"] is True
    assert info["port"] == embedded_server.port


def test_fixture_servers_are_not_durable(fresh_server: EmbeddedServer) -> None:
    config = _monitor(fresh_server, "/varz")["jetstream"]["config"]
    assert config.get("sync_always", False) is False  # omitted from /varz when false


# -- lifecycle ------------------------------------------------------------------------


def test_sync_context_manager_starts_and_stops() -> None:
    with EmbeddedServer(durable=False) as server:
        assert server.running
        pid = server.pid
        assert pid is not None
        assert server.url == f"nats://127.0.0.1:{server.port}"
        assert _read_info(server.url)["server_id"]
    assert not server.running
    assert server.pid is None
    assert _process_gone(pid)


async def test_async_context_manager_starts_and_stops() -> None:
    async with EmbeddedServer(durable=False) as server:
        assert server.running
        pid = server.pid
        assert pid is not None
        assert _read_info(server.url)["jetstream"] is True
    assert not server.running
    assert _process_gone(pid)


async def test_astart_and_astop() -> None:
    server = EmbeddedServer(durable=False)
    assert await server.astart() is server
    assert server.running
    assert _read_info(server.url)["jetstream"] is True
    await server.astop()
    assert not server.running


def test_start_is_a_no_op_when_running(fresh_server: EmbeddedServer) -> None:
    pid = fresh_server.pid
    assert fresh_server.start() is fresh_server
    assert fresh_server.pid == pid


def test_stop_is_idempotent(fresh_server: EmbeddedServer) -> None:
    pid = fresh_server.pid
    assert pid is not None
    fresh_server.stop()
    fresh_server.stop()
    assert not fresh_server.running
    assert _process_gone(pid)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", fresh_server.port), timeout=2).close()


def test_restart_keeps_port_and_data() -> None:
    with EmbeddedServer(durable=False) as server:
        port, data_dir, old_pid = server.port, server.data_dir, server.pid
        reply = _create_stream(server.url, "KEEP")
        assert "error" not in reply, reply
        assert (data_dir / "jetstream").is_dir()

        assert server.restart() is server

        assert server.running
        assert server.pid != old_pid
        assert server.port == port
        assert server.data_dir == data_dir
        assert data_dir.is_dir()
        assert _read_info(server.url)["port"] == port
        assert _monitor(server, "/jsz")["streams"] == 1


def test_temporary_data_dir_is_removed_after_stop() -> None:
    server = EmbeddedServer(durable=False).start()
    data_dir = server.data_dir
    assert (data_dir / "jetstream").is_dir()
    server.stop()
    assert not data_dir.exists()


def test_given_data_dir_is_kept_after_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "store with space"
    with EmbeddedServer(data_dir=data_dir, durable=False) as server:
        assert server.data_dir == data_dir
        assert _create_stream(server.url, "KEPT").get("config", {}).get("name") == "KEPT"
        assert _monitor(server, "/varz")["jetstream"]["config"]["store_dir"] == str(
            data_dir / "jetstream"
        )
    assert (data_dir / "jetstream").is_dir()
    assert any((data_dir / "jetstream").rglob("*"))


def test_durable_server_syncs_always(tmp_path: Path) -> None:
    with EmbeddedServer(data_dir=tmp_path / "durable") as server:
        config = _monitor(server, "/varz")["jetstream"]["config"]
        assert config["sync_always"] is True


def test_max_payload_is_applied() -> None:
    with EmbeddedServer(durable=False, max_payload=2 * 1024 * 1024) as server:
        assert _read_info(server.url)["max_payload"] == 2 * 1024 * 1024


def test_user_password_auth_is_required() -> None:
    with EmbeddedServer(durable=False, user="alice", password="secret") as server:
        assert _read_info(server.url)["auth_required"] is True


def test_log_text_is_kept_after_stop() -> None:
    server = EmbeddedServer(durable=False, debug=True).start()
    assert "Server is ready" in server.log_text()
    server.stop()
    assert "Server is ready" in server.log_text()
    assert "[DBG]" in server.log_text()


def test_bad_config_raises_start_error_with_log_tail() -> None:
    server = EmbeddedServer(durable=False, extra_config="this is { not valid")
    with pytest.raises(ServerStartError, match="exited") as info:
        server.start()
    assert info.value.log_tail
    assert info.value.log_tail in str(info.value)
    assert not server.running
    server.stop()


def test_taken_auto_port_is_replaced() -> None:
    server = EmbeddedServer(durable=False)
    taken = server.port
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", taken))
        blocker.listen()
        with server:
            assert server.port != taken
            assert _read_info(server.url)["port"] == server.port


def test_taken_fixed_port_raises() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        server = EmbeddedServer(port=taken, durable=False)
        with pytest.raises(ServerStartError, match="in use"):
            server.start()
        assert server.port == taken
        server.stop()


# -- background server ------------------------------------------------------------------


def test_background_server_is_started_once_and_reused(natskv_home: Path) -> None:
    url = ensure_background_server()
    status = background_status()
    assert status is not None
    assert status.running
    assert status.url == url
    assert status.data_dir == natskv_home / "data"
    assert (natskv_home / "server.json").is_file()

    assert ensure_background_server() == url
    again = background_status()
    assert again is not None
    assert again.pid == status.pid
    assert _read_info(url)["jetstream"] is True


def test_background_server_is_durable(natskv_home: Path) -> None:
    ensure_background_server()
    status = background_status()
    assert status is not None
    with urllib.request.urlopen(
        f"http://127.0.0.1:{status.monitor_port}/varz", timeout=5
    ) as response:
        assert json.load(response)["jetstream"]["config"]["sync_always"] is True


def test_concurrent_ensure_starts_one_server(natskv_home: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        urls = list(pool.map(lambda _: ensure_background_server(), range(4)))
    assert len(set(urls)) == 1
    status = background_status()
    assert status is not None and status.running


def test_stop_background_server(natskv_home: Path) -> None:
    ensure_background_server()
    status = background_status()
    assert status is not None
    assert stop_background_server() is True
    assert _process_gone(status.pid)
    assert background_status() is None
    assert stop_background_server() is False
    assert (natskv_home / "data").is_dir()


def test_stale_state_file_is_replaced_reusing_its_port(natskv_home: Path) -> None:
    natskv_home.mkdir(parents=True)
    port = free_port()
    stale = {
        "pid": 2**22 + 12345,  # above Linux's pid_max: no such process
        "port": port,
        "monitor_port": free_port(),
        "url": f"nats://127.0.0.1:{port}",
    }
    (natskv_home / "server.json").write_text(json.dumps(stale))
    before = background_status()
    assert before is not None and not before.running

    url = ensure_background_server()

    status = background_status()
    assert status is not None and status.running
    assert status.pid != stale["pid"]
    assert url == stale["url"]  # the recorded port was free, so it is reused
    assert _read_info(url)["jetstream"] is True


def test_background_server_survives_restart_with_data(natskv_home: Path) -> None:
    url = ensure_background_server()
    assert "error" not in _create_stream(url, "BG")
    assert stop_background_server() is True
    url = ensure_background_server()
    status = background_status()
    assert status is not None
    with urllib.request.urlopen(
        f"http://127.0.0.1:{status.monitor_port}/jsz", timeout=5
    ) as response:
        assert json.load(response)["streams"] == 1


def test_natskv_home_fixture_points_env_at_tmp(natskv_home: Path) -> None:
    assert os.environ["NATSKV_HOME"] == str(natskv_home)


def test_background_start_retries_when_its_port_is_taken(
    natskv_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from natskv.server import _background

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        natskv_home.mkdir(parents=True)
        stale = {"pid": 2**22 + 12345, "port": taken, "monitor_port": free_port()}
        (natskv_home / "server.json").write_text(json.dumps(stale))
        # Pretend the recorded port looked free, as in a race with another program.
        monkeypatch.setattr(_background, "port_is_free", lambda port, host: True)

        url = ensure_background_server()

        status = background_status()
        assert status is not None and status.running
        assert status.port != taken
        assert _read_info(url)["port"] == status.port
        assert "address already in use" in (natskv_home / "server.log").read_text()
