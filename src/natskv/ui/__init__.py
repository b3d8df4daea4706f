"""``natskv ui``: the buckets in a browser, live, served by natskv on loopback.

A local web page on the same connection as the CLI: the buckets table (as ``natskv ls``),
a bucket's status, its keys with a filter and paging, a key's value (pretty JSON, text or a
hex dump) and history, live changes as they happen, and put, delete and purge after a
confirmation. Built on the public async API only (:class:`~natskv.kv.KVContext`,
:class:`~natskv.kv.KVStore`).

The modules, one job each: ``_server`` (the app and :class:`UIServer`), ``_guard`` (the
token, Host and Origin checks: read its docstring before changing anything there),
``_api`` (the JSON API), ``_events`` (live changes as server-sent events), ``_keys``
(paging over a listing that is never held), ``_values`` (what is shown of a value). The
page itself is ``static/``: plain HTML, CSS and one hand-written script, no build step.

Needs the ``ui`` extra (``pip install 'natskv[ui]'``: aiohttp).
"""

from natskv.ui._guard import InsecureBindError, check_listen_address, is_loopback
from natskv.ui._server import UIServer

__all__ = ["InsecureBindError", "UIServer", "check_listen_address", "is_loopback"]
