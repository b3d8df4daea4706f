"""The server's sync policy: when an acknowledged write is on disk.

nats-server acknowledges a write once it is in the stream's file (and, for a replicated
stream, once a quorum has it), but it calls fsync only every ``sync_interval`` (2 minutes
by default) unless ``sync_interval: always``. That setting is the server's, not the
stream's, and the client protocol does not carry it: neither INFO nor JetStream's account
info (``$JS.API.INFO``) says it. It is in the JetStream config of the monitoring
endpoint's ``/varz`` (``jetstream.config.sync_always`` and ``sync_interval``, integer
nanoseconds; nats-server ``server/jetstream.go`` ``JetStreamConfig``), so natskv reads it
there when it is given the monitoring URL, and says ``"unknown"`` otherwise.

(``$SYS.REQ.SERVER.PING.VARZ`` has the same data, but only for the system account; a
request that an ordinary user's permissions deny goes unanswered until its timeout, so it
is not tried on the user's behalf.)
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import urllib.request
from collections.abc import Mapping
from typing import Any

__all__ = ["SYNC_ALWAYS", "SYNC_UNKNOWN", "fetch_sync_policy", "go_duration", "sync_policy"]

_log = logging.getLogger("natskv.kv")

#: the policy of a server that fsyncs every write before acknowledging it
SYNC_ALWAYS = "always"
#: the policy when the server does not say
SYNC_UNKNOWN = "unknown"
# nats-server's default sync_interval (server/filestore.go defaultSyncInterval)
_DEFAULT_SYNC_NS = 120 * 10**9


def go_duration(ns: int) -> str:
    """``ns`` nanoseconds as Go's ``time.Duration.String()`` writes it (``2m0s``, ``1.5s``,
    ``1h0m0s``, ``250ms``), which is how nats-server's config and logs show durations."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if ns >= size:
                return sign + _fraction(ns, size) + unit
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = _fraction(rest, 10**9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


def sync_policy(varz: Mapping[str, Any]) -> str:
    """The sync policy a ``/varz`` document (or the ``data`` of a ``$SYS`` VARZ reply)
    reports: ``"always"``, ``"every <Go duration>"``, or ``"unknown"`` when it has no
    JetStream config (JetStream off, or not a varz)."""
    jetstream = varz.get("jetstream")
    config = jetstream.get("config") if isinstance(jetstream, Mapping) else None
    if not isinstance(config, Mapping):
        return SYNC_UNKNOWN
    if config.get("sync_always") is True:
        return SYNC_ALWAYS
    interval = config.get("sync_interval")
    if interval is None:
        # omitted when zero, and a zero interval means the default (filestore.go)
        interval = _DEFAULT_SYNC_NS
    if type(interval) is not int or interval < 0:
        return SYNC_UNKNOWN
    return f"every {go_duration(interval or _DEFAULT_SYNC_NS)}"


def _get_varz(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


async def fetch_sync_policy(monitoring_url: str, timeout: float) -> str:
    """The sync policy of the server whose monitoring endpoint is ``monitoring_url``
    (``http://host:8222``); ``"unknown"`` (logged as a warning) if it cannot be read."""
    base = monitoring_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"a monitoring URL is http:// or https://, not {monitoring_url!r}")
    url = base if base.endswith("/varz") else base + "/varz"
    try:
        varz = await asyncio.to_thread(_get_varz, url, timeout)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        _log.warning("could not read the sync policy from %s: %s", url, exc)
        return SYNC_UNKNOWN
    return sync_policy(varz) if isinstance(varz, Mapping) else SYNC_UNKNOWN
