"""``connect()``: the front door, every option a typed keyword.

Each keyword is a field of :class:`~natskv.client.ConnectOptions`; the ones given
override ``options`` (a record to start from), and the record validates them before any
socket opens. A misspelled keyword is a :class:`TypeError` at the call and an error under
mypy, which a ``**options: Any`` signature would let through.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
from typing import Any

from natskv.client._connection import Connection
from natskv.client._options import ConnectOptions, ErrorCallback, EventCallback
from natskv.client._transport import Dialer

__all__ = ["connect"]


class _Default:
    """The default of every keyword of :func:`connect`: the field's default in
    :class:`ConnectOptions`, or the value of ``options``."""

    def __repr__(self) -> str:
        return "<default>"


_DEFAULT: Any = _Default()


async def connect(
    servers: str | list[str] | tuple[str, ...] | None = None,
    *,
    options: ConnectOptions | None = None,
    name: str | None = _DEFAULT,
    user: str | None = _DEFAULT,
    password: str | None = _DEFAULT,
    token: str | None = _DEFAULT,
    nkeys_seed: str | bytes | None = _DEFAULT,
    nkeys_seed_file: str | os.PathLike[str] | None = _DEFAULT,
    user_credentials: str | os.PathLike[str] | None = _DEFAULT,
    tls: ssl.SSLContext | bool = _DEFAULT,
    tls_ca_file: str | os.PathLike[str] | None = _DEFAULT,
    tls_cert_file: str | os.PathLike[str] | None = _DEFAULT,
    tls_key_file: str | os.PathLike[str] | None = _DEFAULT,
    tls_hostname: str | None = _DEFAULT,
    tls_handshake_first: bool = _DEFAULT,
    connect_timeout: float = _DEFAULT,
    request_timeout: float = _DEFAULT,
    allow_reconnect: bool = _DEFAULT,
    max_reconnect_attempts: int = _DEFAULT,
    reconnect_time_wait: float = _DEFAULT,
    reconnect_jitter: float = _DEFAULT,
    reconnect_buffer_size: int = _DEFAULT,
    ping_interval: float = _DEFAULT,
    max_outstanding_pings: int = _DEFAULT,
    inbox_prefix: str = _DEFAULT,
    no_echo: bool = _DEFAULT,
    ignore_discovered_servers: bool = _DEFAULT,
    pending_msgs_limit: int = _DEFAULT,
    pending_bytes_limit: int = _DEFAULT,
    max_control_line: int = _DEFAULT,
    error_cb: ErrorCallback | None = _DEFAULT,
    disconnected_cb: EventCallback | None = _DEFAULT,
    reconnected_cb: EventCallback | None = _DEFAULT,
    closed_cb: EventCallback | None = _DEFAULT,
    lame_duck_cb: EventCallback | None = _DEFAULT,
    dialer: Dialer | None = _DEFAULT,
) -> Connection:
    """Connect to NATS and return the :class:`Connection`.

    ``servers`` is a URL, a comma-separated list or a list of URLs; by default the
    ``NATS_URL`` environment variable, else ``nats://127.0.0.1:4222``. Use it as
    ``async with await natskv.connect() as nc: ...`` to close on exit.

    Every keyword is a field of :class:`ConnectOptions` (documented and defaulted there);
    keywords given override ``options``, a record to start from. Bad values raise
    :class:`TypeError` or :class:`ValueError` before any socket is opened.
    """
    given = {
        key: value
        for key, value in locals().items()
        if value is not _DEFAULT and key not in ("servers", "options")
    }
    base = options if options is not None else ConnectOptions()
    conn = Connection(servers, dataclasses.replace(base, **given) if given else base)
    await conn._connect()
    return conn
