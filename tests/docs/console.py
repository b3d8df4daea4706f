"""The ``console`` blocks of the docs: each ``$`` line is run, and its output compared.

A block is a terminal session: a line ``$ <command>`` is run by bash, and the lines up to
the next ``$`` line are what it prints (standard output and error, as a terminal shows
them). What cannot be the same from one run to the next is compared as a stand-in:
times, server IDs, pids, ports, the natskv home directory and the durations of table
cells (how long ago, in ``natskv ls``). The paths of the test's home directories are
shown as the page shows them (``/home/me``). Runs of spaces and of ``─`` are squeezed, since
a table's widths follow its content, and blank lines at the end of an output are
dropped. A line ``...`` stands for any lines. An answer typed at a prompt
(``Delete bucket config? [y/N]: n``) is given on standard input; a last line ``^C``
stops the command with SIGINT once it printed the lines before it. The command must
exit with 0, or with 1 when its output ends with an error (``natskv: error: ...``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Command", "commands", "expected_status", "matches", "normalize", "run"]

TIMEOUT = 60.0
# the home directory and natskv home the page's outputs show (the defaults on Linux)
HOME_SHOWN = "/home/me"
NATSKV_HOME_SHOWN = "/home/me/.local/share/natskv"
_PROMPT = re.compile(r"^(?P<prompt>.*\[y/N\]: )(?P<answer>\S*)$")
# how an output that ends with this line ends the command
_FAILING_LAST_LINES = ("natskv: error: ", "no natskv server is running")
_STAND_INS = [
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"), "<time>"),
    # RFC 3339, as in --json: 2026-12-02T18:38:08.308415Z
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"), "<time>"),
    (re.compile(r"\bN[A-Z2-7]{55}\b"), "<server id>"),
    (re.compile(r"\bpid \d+"), "pid <pid>"),
    (re.compile(r"\b127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
]
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|µs|us|ms|s|m|h|d|y))+")
_TABLE_ROW = re.compile(r"^[│|]")


@dataclass
class Command:
    line: str
    """The command, without ``$ ``."""
    shown: list[str] = field(default_factory=list)
    """Its output as the page shows it (prompts with their answers, ``^C`` included)."""

    @property
    def answers(self) -> list[tuple[str, str]]:
        """(prompt, answer) for every prompt answered on the page, in order."""
        return [(m["prompt"], m["answer"]) for m in map(_PROMPT.match, self.shown) if m]

    @property
    def interrupted(self) -> bool:
        return bool(self.shown) and self.shown[-1] == "^C"

    @property
    def expected(self) -> list[str]:
        """The output to compare with (without the ``^C``)."""
        return self.shown[:-1] if self.interrupted else self.shown


def commands(code: str) -> list[Command]:
    """The commands of a console block, each with the output shown after it."""
    found: list[Command] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            found.append(Command(line[2:]))
        elif found:
            found[-1].shown.append(line)
        elif line.strip():
            raise ValueError(f"output before the first command: {line!r}")
    return found


def expected_status(command: Command) -> int:
    lines = [line for line in command.expected if line.strip()]
    return 1 if lines and lines[-1].startswith(_FAILING_LAST_LINES) else 0


def normalize(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        for pattern, stand_in in _STAND_INS:
            line = pattern.sub(stand_in, line)
        if _TABLE_ROW.match(line):
            cells = re.split(r"([│|])", line)
            line = "".join(
                " <duration> " if _DURATION.fullmatch(cell.strip()) else cell for cell in cells
            )
        line = re.sub(r"─+", "─", re.sub(r" {2,}", " ", line)).rstrip()
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """``actual`` is ``expected``, where a line ``...`` stands for any lines."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in expected
    )
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


def _answered(text: str, answers: list[tuple[str, str]]) -> str:
    """The output as a terminal shows it: the typed answer after each prompt."""
    done, rest = "", text
    for prompt, answer in answers:
        at = rest.find(prompt)
        if at < 0:
            break
        end = at + len(prompt)
        done, rest = done + rest[:end] + answer + "\n", rest[end:]
    return done + rest


async def run(
    command: Command,
    *,
    env: Mapping[str, str],
    cwd: Path,
    substitute: Mapping[str, str],
    shown_paths: Mapping[Path, str],
) -> tuple[int, list[str]]:
    """Run the command; its exit status and its output, normalized (``substitute``
    replaces text of the command, such as the monitoring URL of the page's server, and
    ``shown_paths`` the directories of the test, in the output, with what the page shows)."""
    line = command.line
    for old, new in substitute.items():
        line = line.replace(old, new)
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        line,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # SIGINT goes to the command, as Ctrl-C would
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("".join(answer + "\n" for _, answer in command.answers).encode())
    proc.stdin.close()
    try:
        if command.interrupted:
            printed = b""
            want = len(command.expected)
            while printed.count(b"\n") < want:
                chunk = await asyncio.wait_for(proc.stdout.read(4096), TIMEOUT)
                if not chunk:
                    break
                printed += chunk
            os.killpg(proc.pid, signal.SIGINT)
            printed += await asyncio.wait_for(proc.stdout.read(), TIMEOUT)
        else:
            printed = await asyncio.wait_for(proc.stdout.read(), TIMEOUT)
        status = await asyncio.wait_for(proc.wait(), TIMEOUT)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    text = _answered(printed.decode(), command.answers)
    # the longest first: a directory inside another one is shown as the page shows it
    for path, shown in sorted(shown_paths.items(), key=lambda item: -len(str(item[0]))):
        text = text.replace(str(path), shown)
    return status, normalize(text.splitlines())
