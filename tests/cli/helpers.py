"""Running the ``natskv`` command in-process, and reading what it did with the library."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from click.testing import CliRunner, Result

import natskv
from natskv.cli import cli
from natskv.cli.format import HistoryRow

__all__ = ["entry_of", "history_of", "history_rows", "lib", "ok", "run", "runner", "status_of"]

T = TypeVar("T")


def runner() -> CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def run(url: str, *args: str, input: str | bytes | None = None) -> Result:
    """``natskv -s <url> <args>``."""
    return runner().invoke(cli, ["-s", url, *args], input=input, catch_exceptions=False)


def ok(url: str, *args: str, input: str | bytes | None = None) -> str:
    """Run a command that must succeed; return its stdout."""
    result = run(url, *args, input=input)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def lib(url: str, work: Callable[[natskv.KVContext], Awaitable[T]]) -> T:
    """Run ``work`` with the library, on a connection of its own."""

    async def main() -> T:
        nc = await natskv.connect(url)
        try:
            return await work(natskv.KVContext(natskv.JetStream(nc)))
        finally:
            await nc.close()

    return asyncio.run(main())


def entry_of(url: str, bucket: str, key: str) -> natskv.KVEntry[bytes]:
    async def work(kv: natskv.KVContext) -> natskv.KVEntry[bytes]:
        return await (await kv.get_store(bucket)).get_entry(key)

    return lib(url, work)


def history_of(url: str, bucket: str, key: str) -> list[natskv.KVEntry[Any]]:
    async def work(kv: natskv.KVContext) -> list[natskv.KVEntry[Any]]:
        store = await kv.get_store(bucket)
        return [e async for e in store.history(key)]

    return lib(url, work)


def status_of(url: str, bucket: str) -> natskv.KVStatus:
    async def work(kv: natskv.KVContext) -> natskv.KVStatus:
        return await (await kv.get_store(bucket)).status()

    return lib(url, work)


def history_rows(entries: list[natskv.KVEntry[Any]]) -> list[HistoryRow]:
    return [HistoryRow(e.key, e.revision, e.operation.value, e.created, e.raw) for e in entries]
