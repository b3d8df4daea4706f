"""``natskv watch``: natscli's lines, JSON lines for scripts, or a live table on a terminal.

Off a terminal the lines carry the exact value bytes, as natscli writes them, so scripts
reading them see what was stored. On a terminal a value is shown through
:func:`~natskv.cli._text.terminal_value`: a value holding ``\\x1b[31m`` must not colour
the terminal, and 300 KB of random bytes must not flood it.
"""

from __future__ import annotations

from typing import Any

import click

from natskv.cli._complete import bucket_argument
from natskv.cli._json import dumps, entry_json
from natskv.cli._main import (
    connection_options,
    fail,
    json_option,
    out,
    session,
    stdout_is_tty,
    use_color,
)
from natskv.cli._screen_entries import watch_line
from natskv.cli._text import terminal_value
from natskv.cli._watch_table import live_table
from natskv.kv import KVContext, KVEntry, KVOperation, KVWatcher

__all__ = ["watch_cmd"]


def _line(entry: KVEntry[Any], *, color: bool, on_terminal: bool) -> str:
    value = None
    if entry.operation is KVOperation.PUT:
        # the watch line's text is put back into bytes with surrogateescape by out()
        raw = entry.raw
        value = terminal_value(raw).encode("utf-8", "surrogateescape") if on_terminal else raw
    return watch_line(
        entry.created, entry.operation.value, entry.bucket, entry.key, value, color=color
    )


async def _print_lines(watcher: KVWatcher[bytes], *, count: int, as_json: bool) -> None:
    on_terminal = stdout_is_tty()
    color = use_color()
    printed = 0
    async for entry in watcher:
        if as_json:
            line = dumps(entry_json(entry)) + "\n"
        else:
            line = _line(entry, color=color, on_terminal=on_terminal)
            if not line:
                continue
        out(line)
        printed += 1
        if count and printed >= count:
            return


@click.command("watch")
@bucket_argument()
@click.argument("key", default=">")
@click.option("--history", is_flag=True, help="Include the history of the keys.")
@click.option(
    "--deletes/--no-deletes",
    default=True,
    show_default=True,
    help="Report deletes and purges.",
)
@click.option("--updates", is_flag=True, help="Only report updates, not the current values.")
@click.option(
    "--revision", type=click.IntRange(min=0), default=0, help="Start watching at this revision."
)
@click.option(
    "--table",
    is_flag=True,
    help="On a terminal: a live table of the latest value of each key, instead of lines.",
)
@json_option
@click.option("--count", type=click.IntRange(min=0), default=0, hidden=True)
@connection_options
def watch_cmd(
    bucket: str,
    key: str,
    history: bool,
    deletes: bool,
    updates: bool,
    revision: int,
    table: bool,
    as_json: bool,
    count: int,
) -> None:
    """Watch the bucket or a specific key for updates (until Ctrl-C).

    --json prints one JSON object per entry and line.
    """
    if table and as_json:
        raise click.UsageError("--table and --json are exclusive")
    if table and not stdout_is_tty():
        fail("--table needs a terminal (use --json for scripts)")

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        watcher = store.watch(
            key,
            include_history=history,
            ignore_deletes=not deletes,
            updates_only=updates,
            resume_from_revision=revision or None,
        )
        async with watcher:
            if table:
                await live_table(watcher, bucket, count=count)
            else:
                await _print_lines(watcher, count=count, as_json=as_json)

    try:
        session().run(work)
    except KeyboardInterrupt:
        return
