"""``natskv ui`` as a command: the connection options, the URL, the browser, Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.ui.helpers import Client

import natskv
from natskv.cli import cli

SCRIPT = Path(sys.executable).with_name("natskv")
STARTED = "Press Ctrl-C to stop."


def _runner() -> CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


@dataclass
class Running:
    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return next(line.strip() for line in self.lines if line.strip().startswith("http://"))

    def client(self) -> Client:
        rest = self.url.removeprefix("http://127.0.0.1:")
        port, token = rest.split("/?token=")
        return Client(int(port), token)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DISPLAY", "BROWSER")}
    env.pop("WAYLAND_DISPLAY", None)
    return {**env, **extra}


@asynccontextmanager
async def natskv_ui(*args: str, env: dict[str, str]) -> AsyncIterator[Running]:
    """``natskv <args>`` running until its "Press Ctrl-C" line; stopped with SIGINT after."""
    if not SCRIPT.exists():
        pytest.skip("the natskv console script is not installed beside this Python")
    proc = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    running = Running(proc)
    try:
        assert proc.stdout is not None
        while not running.lines or running.lines[-1].strip() != STARTED:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            if not line:
                assert proc.stderr is not None
                pytest.fail(f"natskv ui ended early: {running.lines} {await proc.stderr.read()}")
            running.lines.append(line)
        yield running
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
                raise


async def test_ui_serves_the_server_of_nats_url_until_ctrl_c(
    nats_url: str, kv_store: natskv.KVStore
) -> None:
    # no --server: the CLI's own choice of server (NATS_URL here), as every command makes it
    async with natskv_ui("ui", "--no-browser", env=_env(NATS_URL=nats_url)) as ui:
        assert ui.url.startswith("http://127.0.0.1:")
        client = ui.client()
        buckets = (await client.get("/api/buckets")).json()["buckets"]
        assert kv_store.bucket in [b["bucket"] for b in buckets]
        assert (await client.get("/", token=False)).status == 403
        ui.proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(ui.proc.wait(), 30) == 0
        assert ui.proc.stdout is not None
        assert (await ui.proc.stdout.read()).decode() == "natskv ui stopped\n"


async def test_ui_takes_the_connection_options_after_the_verb(
    nats_url: str, kv_store: natskv.KVStore
) -> None:
    env = _env(NATS_URL="nats://127.0.0.1:1")  # would fail: -s must win, as for every verb
    async with natskv_ui("ui", "--no-browser", "-s", nats_url, "--port", "0", env=env) as ui:
        client = ui.client()
        await kv_store.put("k", b"v")
        reply = await client.get(f"/api/buckets/{kv_store.bucket}/entry", {"key": "k"})
        assert reply.json()["value"]["text"] == "v"


def _recorder(tmp_path: Path) -> tuple[Path, Path]:
    record = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{record}"\n')
    script.chmod(0o755)
    return script, record


async def test_ui_opens_the_browser_at_its_url(nats_url: str, tmp_path: Path) -> None:
    browser, record = _recorder(tmp_path)
    async with natskv_ui("-s", nats_url, "ui", env=_env(BROWSER=str(browser))) as ui:
        # the launcher has returned before the "Press Ctrl-C" line
        assert record.read_text() == ui.url + "\n"


async def test_no_browser_only_prints_the_url(nats_url: str, tmp_path: Path) -> None:
    browser, record = _recorder(tmp_path)
    env = _env(BROWSER=str(browser))
    async with natskv_ui("-s", nats_url, "ui", "--no-browser", env=env) as ui:
        assert ui.url in "".join(ui.lines)
        assert not record.exists()


async def test_allow_remote_listens_with_a_warning(nats_url: str) -> None:
    args = ("-s", nats_url, "ui", "--no-browser", "--host", "0.0.0.0", "--allow-remote")
    async with natskv_ui(*args, env=_env()) as ui:
        client = ui.client()  # the URL names loopback: 0.0.0.0 is no address to browse
        assert (await client.get("/api/buckets")).status == 200
        ui.proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(ui.proc.wait(), 30)
        assert ui.proc.stderr is not None
        stderr = (await ui.proc.stderr.read()).decode()
        assert stderr.startswith("natskv: warning: listening on '0.0.0.0', which is not loopback")


def test_a_non_loopback_host_is_refused_before_connecting() -> None:
    # nothing listens on port 1: a connection attempt would fail with another message
    result = _runner().invoke(
        cli, ["-s", "nats://127.0.0.1:1", "ui", "--no-browser", "--host", "192.0.2.10"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("natskv: error: '192.0.2.10' is not a loopback address")
    assert "--allow-remote" in result.stderr


def test_without_the_ui_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "natskv.ui" or m.startswith("natskv.ui.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # as if it were not installed
    result = _runner().invoke(cli, ["-s", "nats://127.0.0.1:1", "ui", "--no-browser"])
    assert result.exit_code == 1
    assert result.stderr == (
        "natskv: error: natskv ui needs the ui extra (aiohttp is missing): "
        "pip install 'natskv[ui]'\n"
    )


def test_the_root_help_lists_ui() -> None:
    result = _runner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert any(line.split()[:1] == ["ui"] for line in result.stdout.splitlines())
    help_text = _runner().invoke(cli, ["ui", "--help"]).stdout
    for option in ("--host", "--port", "--no-browser", "--allow-remote", "--allow-host"):
        assert option in help_text
