"""``natskv watch --table``: the latest value of each key, as a table redrawn in place.

Rendering costs a pass over every key, so the table is redrawn at most every
:data:`REFRESH_INTERVAL` seconds, from the event loop (rich's own refresh thread would
read the rows while the loop changes them), and once more at the end so the last change
is always shown. A deleted or purged key leaves the table.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from natskv.cli._scalars import format_time
from natskv.cli._text import terminal_value
from natskv.kv import KVEntry, KVOperation, KVWatcher

__all__ = ["REFRESH_INTERVAL", "live_table", "render_table"]

REFRESH_INTERVAL: Final = 0.1
_VALUE_WIDTH: Final = 60


def _shown(value: bytes) -> str:
    text = terminal_value(value, limit=_VALUE_WIDTH)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."


def render_table(bucket: str, rows: dict[str, KVEntry[Any]], *, caught_up: bool) -> Table:
    """The table of ``rows`` (key -> latest entry), sorted by key."""
    state = "" if caught_up else ", loading"
    table = Table(title=f"{bucket}: {len(rows):,} keys{state}", title_justify="left")
    table.add_column("Key", no_wrap=True)
    table.add_column("Revision", justify="right")
    table.add_column("Created", no_wrap=True)
    table.add_column("Value", no_wrap=True, overflow="ellipsis")
    for key in sorted(rows):
        entry = rows[key]
        # Text(), not markup: a value like "[red]" is shown, not interpreted
        table.add_row(
            Text(key),
            Text(str(entry.revision)),
            Text(format_time(entry.created)),
            Text(_shown(entry.raw)),
        )
    return table


async def live_table(watcher: KVWatcher[bytes], bucket: str, *, count: int = 0) -> None:
    """Show the watch as a live table until Ctrl-C (or ``count`` entries, for tests)."""
    rows: dict[str, KVEntry[Any]] = {}
    dirty = asyncio.Event()

    def render() -> Table:
        return render_table(bucket, rows, caught_up=watcher.caught_up)

    with Live(render(), console=Console(), auto_refresh=False, screen=False) as live:

        async def redraw() -> None:
            while True:
                await dirty.wait()
                dirty.clear()
                live.update(render(), refresh=True)
                await asyncio.sleep(REFRESH_INTERVAL)

        painter = asyncio.create_task(redraw())
        try:
            seen = 0
            async for entry in watcher:
                if entry.operation is KVOperation.PUT:
                    rows[entry.key] = entry
                else:
                    rows.pop(entry.key, None)
                dirty.set()
                seen += 1
                if count and seen >= count:
                    break
        finally:
            painter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await painter
            live.update(render(), refresh=True)
