"""One page of a bucket's keys, without holding the listing.

A listing of 100,000 keys is never held, neither by the page nor here: each page is a fresh
server-side scan (``KVStore.keys``: headers only, the latest revision per key) that skips
``offset`` keys, keeps ``limit`` and stops, which ends the scan on the server too. Memory is
one page per request, and at most :data:`MAX_SCANS` scans run at once; time grows with the
offset (a scan of 100,000 keys takes about a second on loopback), which is the price of a
bounded server. Keys come in stream order (the order of their latest writes), as
``natskv ls BUCKET`` prints them.

The filter is a NATS subject filter (``orders.*``, ``orders.>``), applied by the server,
when it has a wildcard token; any other text keeps the keys that contain it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import cast

from natskv.kv import KVStore

__all__ = [
    "MAX_LIMIT",
    "MAX_SCANS",
    "KeyFilter",
    "KeyPage",
    "KeyScanner",
    "key_page",
    "parse_filter",
]

MAX_LIMIT = 1000
"""The largest page."""
MAX_SCANS = 2
"""Key scans running at once (the others wait): bounds the server's memory and the load
on nats-server when the page is clicked through quickly."""


@dataclass(frozen=True)
class KeyFilter:
    """``subject``: the server-side filter (``>`` = all); ``contains``: a substring kept."""

    subject: str = ">"
    contains: str = ""

    @property
    def kind(self) -> str:
        return "text" if self.contains else "subject"


def parse_filter(text: str) -> KeyFilter:
    """A subject filter when a token of ``text`` is ``*`` or ``>``, else a substring."""
    text = text.strip()
    if not text:
        return KeyFilter()
    if any(token in ("*", ">") for token in text.split(".")):
        return KeyFilter(subject=text)
    return KeyFilter(contains=text)


@dataclass(frozen=True)
class KeyPage:
    """``keys`` from ``offset`` on; ``more`` when the listing goes on after them, else
    ``total``: how many keys match (the scan reached the end, so it counted them)."""

    keys: list[str]
    offset: int
    limit: int
    more: bool
    total: int | None
    filter: KeyFilter


class KeyScanner:
    """Pages of keys, at most :data:`MAX_SCANS` scans at a time."""

    def __init__(self, max_scans: int = MAX_SCANS) -> None:
        self._slots = asyncio.Semaphore(max_scans)

    async def page(self, store: KVStore, key_filter: KeyFilter, offset: int, limit: int) -> KeyPage:
        async with self._slots:
            return await key_page(store, key_filter, offset, limit)


async def key_page(store: KVStore, key_filter: KeyFilter, offset: int, limit: int) -> KeyPage:
    """Keys ``offset`` to ``offset + limit`` of the listing (see the module docstring)."""
    keys: list[str] = []
    skipped = 0
    more = False
    contains = key_filter.contains
    # keys() is an async generator, closed here so that stopping early ends the scan at once
    scan = cast(AsyncGenerator[str, None], store.keys(key_filter.subject))
    async with aclosing(scan) as listing:
        async for key in listing:
            if contains and contains not in key:
                continue
            if skipped < offset:
                skipped += 1
                continue
            if len(keys) == limit:
                more = True  # one past the page: there is a next one
                break
            keys.append(key)
    total = None if more else skipped + len(keys)
    return KeyPage(keys, offset, limit, more, total, key_filter)
