"""``natskv`` run in a child process on a pseudo-terminal, for what it does only on a terminal
(the progress bar, the live watch table, escaped values)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Sequence

__all__ = ["Terminal"]

_ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]")
_ENTRY = "import sys; from natskv.cli import main; main(sys.argv[1:])"


class Terminal:
    """A ``natskv`` process whose STDIN, STDOUT and STDERR are one pseudo-terminal."""

    def __init__(
        self, args: Sequence[str], *, columns: int = 120, env: dict[str, str] | None = None
    ) -> None:
        master, slave = pty.openpty()
        environ = {**os.environ, **(env or {})}
        environ.update(COLUMNS=str(columns), LINES="40", TERM="xterm-256color")
        environ.pop("NO_COLOR", None)
        self._master = master
        self.output = b""
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ENTRY, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=environ,
            close_fds=True,
        )
        os.close(slave)

    @property
    def text(self) -> bytes:
        """The output without its colour and cursor sequences (CSI)."""
        return _ANSI.sub(b"", self.output)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.output += chunk
        return True

    def write(self, data: bytes) -> None:
        """Type ``data`` at the terminal (Ctrl-D, ``b"\\x04"``, at a line's start ends input)."""
        os.write(self._master, data)

    def wait_for(self, text: bytes, timeout: float = 30.0) -> None:
        """Read until ``text`` was written (at most ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} not written within {timeout}s: {self.output!r}")
            if not self._read(min(remaining, 0.5)) and text not in self.output:
                raise AssertionError(f"the process ended without writing {text!r}: {self.output!r}")

    def finish(self, timeout: float = 60.0) -> int:
        """Read everything until the process exits; its exit status."""
        deadline = time.monotonic() + timeout
        while self._read(0.2):
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"the process did not end: {self.output!r}")
        try:
            return self.process.wait(timeout=max(deadline - time.monotonic(), 1.0))
        finally:
            os.close(self._master)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
