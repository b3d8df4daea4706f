"""``natskv export BUCKET [FILE]`` and ``natskv import BUCKET [FILE]``: a bucket as JSON lines.

The format is one entry object per line, the one ``get --json`` prints
(:mod:`natskv.cli._json`)::

    {"bucket":"cfg","key":"a","revision":3,"operation":"PUT","created":"...Z","value":"x"}
    {"bucket":"cfg","key":"b","revision":5,"operation":"DEL","created":"...Z"}

Export writes the latest entry of every key, delete and purge markers included (with
``--history``: every kept revision, oldest first), streamed from one watch of the bucket,
so memory stays bounded however large the bucket.

Import replays the lines in order into an existing bucket: puts go out pipelined in
chunks of :data:`CHUNK` through :meth:`~natskv.kv.KVStore.put_many` (the next chunk is
parsed while the acks of the last come back); a ``DEL`` or ``PURGE`` line is written as a
delete or purge marker after the puts before it. The input is streamed: a pipe or terminal
is waited on by the event loop, never in a blocking read, so the chunk in flight goes on
while the writer of the pipe is slow, and when the input pauses the records parsed so far
go out at once instead of waiting for a full chunk. Replaying in order means the last line of
each key wins, so an export with ``--history`` restores the latest values and, up to the
target's own ``history``, the revisions before them. Revisions and creation times are the
target's own: the ones in the file are not (and cannot be) kept. ``bucket`` is ignored.

Both show a progress bar on STDERR when it is a terminal and are silent otherwise, or when
the lines themselves are on the terminal (export without FILE writes them there, import
without FILE reads them as they are typed): the bar would be drawn among them.
"""

from __future__ import annotations

import asyncio
import io
import os
import select
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import IO, Final

import click
import msgspec
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from natskv.cli._complete import bucket_argument
from natskv.cli._json import entry_json, entry_value
from natskv.cli._main import connection_options, fail, session
from natskv.errors import NatsError
from natskv.kv import KVContext, KVStore

__all__ = ["CHUNK", "export_cmd", "import_cmd"]

CHUNK: Final = 10_000
"""Records per ``put_many`` call of an import."""

_ADVANCE_EVERY: Final = 500  # progress updates are batched: a redraw per entry costs more
_BLOCK: Final = 1 << 20  # bytes of input read at a time
_YIELD_EVERY: Final = 256
_OPERATIONS: Final = frozenset({"PUT", "DEL", "PURGE"})
_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


class _Bar:
    """A rich progress bar on STDERR, or nothing when STDERR is not a terminal."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task
        self._pending = 0

    def advance(self, n: int = 1) -> None:
        if self._progress is None or self._task is None:
            return
        self._pending += n
        if self._pending >= _ADVANCE_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._progress is not None and self._task is not None and self._pending:
            self._progress.advance(self._task, self._pending)
            self._pending = 0

    def complete(self) -> None:
        """Show the bar full: the records done were all there were (blank lines aside)."""
        self.flush()
        if self._progress is not None and self._task is not None:
            done = self._progress.tasks[self._task].completed
            self._progress.update(self._task, total=done)


def _on_terminal(path: str, stream: IO[str]) -> bool:
    """Whether the lines of ``path`` go to, or come from, the terminal (``-`` is ``stream``)."""
    return path == "-" and stream.isatty()


@contextmanager
def _progress_bar(
    description: str, total: float | None, unit: str, *, lines_on_terminal: bool
) -> Iterator[_Bar]:
    if lines_on_terminal or not sys.stderr.isatty():
        yield _Bar(None, None)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        bar = _Bar(progress, progress.add_task(description, total=total))
        try:
            yield bar
        finally:
            bar.flush()


def _count_lines(path: str) -> int | None:
    """The lines of a regular file (the import's progress total); ``None`` for a pipe."""
    if path == "-" or not sys.stderr.isatty():
        return None  # no bar to size
    try:
        with open(path, "rb") as f:
            return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return None  # reported when the file is opened for the import


@contextmanager
def _open(path: str, mode: str) -> Iterator[IO[bytes]]:
    """The file, or STDIN/STDOUT for ``-``; errors are reported as the command's."""
    if path == "-":
        yield sys.stdin.buffer if mode == "rb" else sys.stdout.buffer
        return
    try:
        handle = open(path, mode)  # noqa: SIM115 - closed below, after the caller's work
    except OSError as exc:
        fail(f"cannot open {path}: {exc.strerror or exc}")
    with handle:
        yield handle


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------


@click.command("export")
@bucket_argument()
@click.argument("file", default="-", metavar="[FILE]")
@click.option("--history", is_flag=True, help="Every kept revision, not only the latest.")
@connection_options
def export_cmd(bucket: str, file: str, history: bool) -> None:
    """Write every key of a bucket, with its value, revision and operation, as JSON lines.

    FILE defaults to STDOUT. Values are lossless: "value" holds UTF-8 text, "value_b64"
    any other bytes (base64). Delete and purge markers are included.
    """

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        with _open(file, "wb") as sink:
            async with store.watch(">", include_history=history) as watcher:
                with _progress_bar(
                    f"export {bucket}",
                    watcher.initial_count,
                    "entries",
                    lines_on_terminal=_on_terminal(file, sys.stdout),
                ) as bar:
                    write = sink.write
                    async for entry in watcher.initial():
                        write(_encoder.encode(entry_json(entry)) + b"\n")
                        bar.advance()
            sink.flush()

    session().run(work)


# ---------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------


class _BadLine(ValueError):
    def __init__(self, lineno: int, message: str) -> None:
        super().__init__(f"line {lineno}: {message}")


def _record(line: bytes, lineno: int) -> tuple[str, str, bytes]:
    """``(operation, key, value)`` of one line; raises :class:`_BadLine`."""
    try:
        obj = _decoder.decode(line)
    except msgspec.DecodeError as exc:
        raise _BadLine(lineno, f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _BadLine(lineno, "expected a JSON object")
    key = obj.get("key")
    if not isinstance(key, str) or not key:
        raise _BadLine(lineno, "'key' must be a non-empty string")
    operation = obj.get("operation", "PUT")
    if operation not in _OPERATIONS:
        raise _BadLine(lineno, f"'operation' must be PUT, DEL or PURGE, not {operation!r}")
    try:
        value = entry_value(obj) if operation == "PUT" else b""
    except ValueError as exc:
        raise _BadLine(lineno, str(exc)) from None
    return operation, key, value


def _were_imported(written: int) -> str:
    """How many records an import wrote before it stopped (1 record was, 2 were)."""
    return "1 record was imported" if written == 1 else f"{written:,} records were imported"


class _Importer:
    """Replays records in order: puts batched into pipelined chunks, markers in between."""

    def __init__(self, store: KVStore, bar: _Bar) -> None:
        self._store = store
        self._bar = bar
        self._chunk: list[tuple[str, bytes]] = []
        self._first_line = 0  # of the chunk being filled
        self._inflight: asyncio.Task[list[int]] | None = None
        self._inflight_lines = (0, 0)
        self.written = 0

    async def _settle(self) -> None:
        """Wait for the chunk in flight; its error names the lines it came from."""
        task, self._inflight = self._inflight, None
        if task is None:
            return
        first, last = self._inflight_lines
        try:
            done = await task
        except NatsError as exc:
            fail(f"lines {first}-{last}: {exc} ({_were_imported(self.written)} before)")
        self.written += len(done)
        self._bar.advance(len(done))

    async def _send_chunk(self, last_line: int) -> None:
        if not self._chunk:
            return
        await self._settle()  # one chunk in flight at a time: records stay in order
        chunk, self._chunk = self._chunk, []
        self._inflight_lines = (self._first_line, last_line)
        self._inflight = asyncio.ensure_future(self._store.put_many(chunk))
        await asyncio.sleep(0)  # let put_many send before the next chunk is parsed

    async def add(self, operation: str, key: str, value: bytes, lineno: int) -> None:
        if operation == "PUT":
            if not self._chunk:
                self._first_line = lineno
            self._chunk.append((key, value))
            if len(self._chunk) >= CHUNK:
                await self._send_chunk(lineno)
            return
        await self._send_chunk(lineno - 1)
        await self._settle()
        try:
            if operation == "DEL":
                await self._store.delete(key)
            else:
                await self._store.purge(key)
        except NatsError as exc:
            fail(f"line {lineno}: {exc} ({_were_imported(self.written)} before)")
        self.written += 1
        self._bar.advance()

    async def flush(self, last_line: int) -> None:
        """Send the records parsed so far (the input paused: they should not wait)."""
        await self._send_chunk(last_line)

    async def finish(self, last_line: int) -> None:
        await self._send_chunk(last_line)
        await self._settle()

    async def abandon(self) -> None:
        """Wait for the chunk in flight after an interruption, so no write is cut mid-way."""
        task, self._inflight = self._inflight, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    def idle(self) -> bool:
        """Whether no chunk is in flight (then parsing need not make way for its acks)."""
        return self._inflight is None or self._inflight.done()


def _pollable(source: IO[bytes]) -> int | None:
    """The file descriptor of a pipe, terminal or socket the event loop can wait on;
    ``None`` for a regular file (whose reads do not wait for a writer), an in-memory
    stream, or a loop that cannot wait on it (Windows' proactor)."""
    try:
        fd = source.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        loop = asyncio.get_running_loop()
        loop.add_reader(fd, lambda: None)
        loop.remove_reader(fd)
    except (OSError, ValueError, NotImplementedError):  # io.UnsupportedOperation is both
        return None
    return fd


def _has_input(fd: int) -> bool:
    """Whether a read of ``fd`` would return at once (data, or the end of the input)."""
    return bool(select.select([fd], [], [], 0)[0])


async def _readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def _input_lines(source: IO[bytes]) -> AsyncIterator[list[bytes] | None]:
    """The lines of ``source``, a block's worth at a time, as they come; ``None`` each time
    a pipe has nothing more for now (its writer is slower than the import).

    A blocking read of a pipe would stop the event loop: the chunk in flight would neither
    be sent nor acknowledged until the writer wrote again. So a pipe is waited on by the
    loop, and read only when it has data (``read1``: one read, of what is there).
    """
    fd = _pollable(source)
    read = source.read1 if isinstance(source, io.BufferedIOBase) else source.read
    tail = b""
    while True:
        if fd is not None and not _has_input(fd):
            yield None
            await _readable(fd)
        block = read(_BLOCK)
        if not block:
            break
        lines = (tail + block).split(b"\n") if tail else block.split(b"\n")
        tail = lines.pop()  # a line not ended yet: the rest of it is in the next block
        if lines:
            yield lines
    if tail:
        yield [tail]


async def _import_lines(source: IO[bytes], importer: _Importer) -> None:
    lineno = 0
    async for lines in _input_lines(source):
        if lines is None:
            await importer.flush(lineno)
            continue
        for line in lines:
            lineno += 1
            if not line.strip():
                continue
            try:
                operation, key, value = _record(line, lineno)
            except _BadLine as exc:
                # everything before the bad line is imported, nothing after it
                await importer.finish(lineno - 1)
                fail(f"{exc} ({_were_imported(importer.written)} before it)")
            await importer.add(operation, key, value, lineno)
            if lineno % _YIELD_EVERY == 0 and not importer.idle():
                # parsing is synchronous: let the chunk in flight take its acks and send
                # on, so the server does not wait for the parser
                await asyncio.sleep(0)
    await importer.finish(lineno)


@click.command("import")
@bucket_argument()
@click.argument("file", default="-", metavar="[FILE]")
@connection_options
def import_cmd(bucket: str, file: str) -> None:
    """Write the JSON lines of `natskv export` into an existing bucket, in order.

    FILE defaults to STDIN. Puts are pipelined; DEL and PURGE lines write delete and
    purge markers. Revisions and creation times are the bucket's own.
    """

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        total = _count_lines(file)
        with (
            _open(file, "rb") as source,
            _progress_bar(
                f"import {bucket}",
                total,
                "records",
                lines_on_terminal=_on_terminal(file, sys.stdin),
            ) as bar,
        ):
            importer = _Importer(store, bar)
            try:
                await _import_lines(source, importer)
                bar.complete()
            except BaseException:
                await importer.abandon()
                raise

    session().run(work)
