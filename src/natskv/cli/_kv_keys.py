"""The key verbs of ``nats kv``: put, get, create, update, del, purge, history and revert
(natscli ``cli/kv_command.go``; watch is in :mod:`natskv.cli._kv_watch`).

Values given on the command line are written as the bytes the user typed; an omitted
value is read from STDIN when it is piped, as natscli's ``valOrReadVal`` does.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any

import click

from natskv.cli._complete import bucket_argument
from natskv.cli._json import dumps, entry_json
from natskv.cli._main import (
    DURATION,
    confirm,
    confirmed,
    connection_options,
    fail,
    force_option,
    json_option,
    out,
    session,
    table_options,
)
from natskv.cli._screen_entries import (
    HistoryRow,
    get_output,
    get_raw_output,
    history_table,
    revert_preview,
)
from natskv.cli._text import encode_output
from natskv.errors import KeyNotFoundError
from natskv.kv import KVContext, KVEntry, KVStore

__all__ = [
    "create_cmd",
    "del_cmd",
    "get_cmd",
    "history_cmd",
    "purge_cmd",
    "put_cmd",
    "revert_cmd",
    "update_cmd",
]


def _value_or_stdin(value: str | None) -> bytes:
    """natscli ``valOrReadVal``: the argument, or all of STDIN when it is empty and piped."""
    if value or sys.stdin.isatty():
        # argv is decoded with surrogateescape, as wire values are for output
        return encode_output(value or "")
    return sys.stdin.buffer.read()


def _write_value(
    bucket: str, value: str | None, write: Callable[[KVStore, bytes], Awaitable[object]]
) -> None:
    """put, create and update: write the value, then echo it as natscli does."""
    data = _value_or_stdin(value)

    async def work(kv: KVContext) -> None:
        await write(await kv.get_store(bucket), data)

    session().run(work)
    out(f"{value or ''}\n")


async def _history(store: KVStore, key: str) -> list[KVEntry[Any]]:
    """Every kept revision; none at all is ``key not found``, as nats.go ``History`` says."""
    entries = [entry async for entry in store.history(key)]
    if not entries:
        raise KeyNotFoundError(key)
    return entries


def _print_history(bucket: str, key: str, entries: Iterable[KVEntry[Any]]) -> None:
    rows = [HistoryRow(e.key, e.revision, e.operation.value, e.created, e.raw) for e in entries]
    out(history_table(bucket, key, rows, **table_options()))


# ---------------------------------------------------------------------------
# put / get / create / update
# ---------------------------------------------------------------------------


@click.command("put")
@bucket_argument()
@click.argument("key")
@click.argument("value", required=False)
@connection_options
def put_cmd(bucket: str, key: str, value: str | None) -> None:
    """Puts a value into a key (the value is read from STDIN when omitted)."""
    _write_value(bucket, value, lambda store, data: store.put(key, data))


@click.command("get")
@bucket_argument()
@click.argument("key")
@click.option("--revision", type=int, default=0, help="Gets a specific revision.")
@click.option("--raw", is_flag=True, help="Show only the value string.")
@json_option
@connection_options
def get_cmd(bucket: str, key: str, revision: int, raw: bool, as_json: bool) -> None:
    """Gets a value for a key."""

    async def work(kv: KVContext) -> KVEntry[bytes]:
        store = await kv.get_store(bucket)
        return await store.get_entry(key, revision=revision if revision > 0 else None)

    entry = session().run(work)
    if as_json:
        out(dumps(entry_json(entry)) + "\n")
        return
    if raw:
        click.echo(get_raw_output(entry.raw), nl=False)
        return
    out(get_output(bucket, entry.key, entry.revision, entry.created, entry.raw))


@click.command("create")
@bucket_argument()
@click.argument("key")
@click.argument("value", required=False)
@click.option("--ttl", type=DURATION, help="Expire the key after this time (per-key TTL).")
@connection_options
def create_cmd(bucket: str, key: str, value: str | None, ttl: timedelta | None) -> None:
    """Puts a value into a key only if the key is new or its last operation was a delete."""
    _write_value(bucket, value, lambda store, data: store.create(key, data, ttl=ttl))


@click.command("update")
@bucket_argument()
@click.argument("key")
@click.argument("value")
@click.argument("revision", type=click.IntRange(min=0))
@connection_options
def update_cmd(bucket: str, key: str, value: str, revision: int) -> None:
    """Updates a key with a new value if the previous value matches the given revision."""
    _write_value(bucket, value, lambda store, data: store.update(key, data, revision))


# ---------------------------------------------------------------------------
# del / purge
# ---------------------------------------------------------------------------


@click.command("del")
@bucket_argument()
@click.argument("key", required=False)
@force_option
@connection_options
def del_cmd(bucket: str, key: str | None, force: bool) -> None:
    """Deletes a key or the entire bucket."""
    if not key:
        if not confirmed(f"Delete bucket {bucket}?", force=force, skipped="delete"):
            return

        async def delete_bucket(kv: KVContext) -> None:
            await kv.delete_store(bucket)

        session().run(delete_bucket)
        return

    async def delete_key(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        if not confirmed(f"Delete key {bucket} > {key}?", force=force, skipped="delete"):
            return
        await store.delete(key)

    session().run(delete_key)


@click.command("purge")
@bucket_argument()
@click.argument("key")
@force_option
@click.option(
    "--ttl", type=DURATION, help="Remove the purge marker itself after this time (per-key TTL)."
)
@connection_options
def purge_cmd(bucket: str, key: str, force: bool, ttl: timedelta | None) -> None:
    """Deletes a key from the bucket, clearing history before creating a delete marker."""

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        if not confirmed(f"Purge key {bucket} > {key}?", force=force, skipped="purge"):
            return
        await store.purge(key, ttl=ttl)

    session().run(work)


# ---------------------------------------------------------------------------
# history / revert
# ---------------------------------------------------------------------------


@click.command("history")
@bucket_argument()
@click.argument("key")
@json_option
@connection_options
def history_cmd(bucket: str, key: str, as_json: bool) -> None:
    """Shows the full history for a key."""

    async def work(kv: KVContext) -> list[KVEntry[Any]]:
        store = await kv.get_store(bucket)
        return await _history(store, key)

    entries = session().run(work)
    if as_json:
        out(dumps([entry_json(e) for e in entries]) + "\n")
        return
    _print_history(bucket, key, entries)


@click.command("revert")
@bucket_argument()
@click.argument("key")
@click.argument("revision", type=click.IntRange(min=1))
@click.option("-f", "--force", is_flag=True, help="Force reverting without prompting.")
@connection_options
def revert_cmd(bucket: str, key: str, revision: int, force: bool) -> None:
    """Reverts a value to a previous revision using put."""

    async def work(kv: KVContext) -> list[KVEntry[Any]] | None:
        store = await kv.get_store(bucket)
        history = await _history(store, key)
        if len(history) <= 1:
            fail("cannot revert key in a bucket where history=1")
        entry = await store.get_entry(key, revision=revision)
        if not force:
            out(revert_preview(entry.revision, entry.raw))
            if not confirm(f"Really revert to revision {revision}"):
                return None
        # Update, not Put: fails if the key changed since we read its history
        await store.update(key, entry.raw, history[-1].revision)
        return await _history(store, key)

    entries = session().run(work)
    if entries is not None:
        _print_history(bucket, key, entries)
