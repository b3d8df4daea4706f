"""The installed ``natskv`` script, run as a real process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _script() -> str:
    beside = Path(sys.executable).with_name("natskv")
    if beside.exists():
        return str(beside)
    found = shutil.which("natskv")
    if found is None:
        pytest.skip("the natskv console script is not installed")
    return found


@pytest.fixture
def env() -> dict[str, str]:
    environ = dict(os.environ)
    environ.pop("NATS_URL", None)
    environ["NO_COLOR"] = "1"
    return environ


@pytest.fixture
def bucket(nats_url: str, env: dict[str, str]) -> Iterator[str]:
    name = "cli_sub_" + uuid.uuid4().hex[:8]
    yield name
    subprocess.run(
        [_script(), "-s", nats_url, "del", name, "-f"], env=env, capture_output=True, timeout=30
    )


def run_script(
    *args: str, env: dict[str, str], input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [_script(), *args], env=env, input=input, capture_output=True, timeout=60, check=False
    )


def test_script_put_get_and_errors(nats_url: str, bucket: str, env: dict[str, str]) -> None:
    assert run_script("-s", nats_url, "kv", "add", bucket, env=env).returncode == 0
    done = run_script("-s", nats_url, "put", bucket, "k", env=env, input=b"from stdin")
    assert (done.returncode, done.stdout) == (0, b"\n")
    done = run_script("-s", nats_url, "get", bucket, "k", "--raw", env=env)
    assert (done.returncode, done.stdout) == (0, b"from stdin")
    done = run_script("-s", nats_url, "get", bucket, "k", env=env)
    assert done.stdout.startswith(f"{bucket} > k revision: 1 created @ ".encode())
    assert done.stdout.endswith(b"\n\nfrom stdin\n\n")

    done = run_script("-s", nats_url, "get", bucket, "nope", env=env)
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.startswith(b"natskv: error: key not found")

    done = run_script("-s", nats_url, "get", env=env)
    assert done.returncode == 2  # a usage error, reported by click
    assert b"Missing argument" in done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_script_watch_streams_until_interrupted(
    nats_url: str, bucket: str, env: dict[str, str]
) -> None:
    assert run_script("-s", nats_url, "add", bucket, env=env).returncode == 0
    assert run_script("-s", nats_url, "put", bucket, "first", "1", env=env).returncode == 0
    proc = subprocess.Popen(
        [_script(), "-s", nats_url, "watch", bucket],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.endswith(f"] PUT {bucket} > first: 1\n".encode()), line
        assert run_script("-s", nats_url, "put", bucket, "second", "2", env=env).returncode == 0
        line = proc.stdout.readline()
        assert line.endswith(f"] PUT {bucket} > second: 2\n".encode()), line
        assert run_script("-s", nats_url, "del", bucket, "first", "-f", env=env).returncode == 0
        line = proc.stdout.readline()
        # not a terminal: no colour
        assert line.endswith(f"] DELETE {bucket} > first\n".encode()), line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_script_interrupt_exits_130(nats_url: str, bucket: str, env: dict[str, str]) -> None:
    assert run_script("-s", nats_url, "add", bucket, env=env).returncode == 0
    # a confirmation prompt waits for input: interrupt it
    proc = subprocess.Popen(
        [_script(), "-s", nats_url, "del", bucket],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        prompt = proc.stdout.read1(100)  # type: ignore[attr-defined]
        assert prompt.startswith(f"Delete bucket {bucket}?".encode())
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    # the bucket is still there
    done = run_script("-s", nats_url, "ls", "-n", env=env)
    assert bucket.encode() in done.stdout.split()
