"""Shell completion of bucket names (click's completion: ``_NATSKV_COMPLETE=bash_source``).

Completing connects with the global options already typed (``-s``, ``--context``,
credentials ...) and the environment, as the command itself would, but it must be quick
and silent: it never starts the background server (a running one is used), waits at most
:data:`COMPLETION_TIMEOUT` seconds, and offers nothing when anything fails.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Callable
from typing import Any, Final

import click
from click.shell_completion import CompletionItem

from natskv.cli._main import Session
from natskv.kv import KVContext
from natskv.server import background_status

__all__ = ["COMPLETION_TIMEOUT", "bucket_argument", "complete_buckets"]

COMPLETION_TIMEOUT: Final = 1.0


def _url(current: Session) -> str | None:
    url = current.settings().url
    if url:
        return url
    status = background_status()
    return status.url if status is not None and status.running else None


def complete_buckets(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The bucket names starting with ``incomplete``."""
    try:
        # fail() would print its message: a shell's completion must not show it
        with contextlib.redirect_stderr(io.StringIO()):
            return _complete(ctx, incomplete)
    except (Exception, click.exceptions.Exit):
        return []


def _complete(ctx: click.Context, incomplete: str) -> list[CompletionItem]:
    # no click context is current while completing: the options typed are on ctx
    typed = ctx.find_object(Session) or Session()
    current = dataclasses.replace(typed, timeout=COMPLETION_TIMEOUT)
    url = _url(current)
    if url is None:
        return []
    current.server = url

    async def names(kv: KVContext) -> list[str]:
        return [name async for name in kv.store_names() if name.startswith(incomplete)]

    return [CompletionItem(name) for name in sorted(current.run(names))]


def bucket_argument(*, required: bool = True) -> Callable[[Any], Any]:
    """The ``BUCKET`` argument of a verb, completed from the server's buckets."""
    return click.argument("bucket", required=required, shell_complete=complete_buckets)
