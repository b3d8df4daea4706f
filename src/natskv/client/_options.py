"""Connect options: one frozen record, validated when it is built; server URLs.

:class:`ConnectOptions` holds every knob of a connection with its default written once,
here; :func:`natskv.connect` takes the same names as typed keyword arguments, so a
misspelt option (``conect_timeout=1``) is refused by mypy and by Python alike. Every
check runs at construction, before anything is sent. Secrets (password, token, NKey
seed) never appear in a repr.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from natskv.client._auth import check_seed, load_credentials, read_seed_file
from natskv.client._tls import check_files
from natskv.errors import NatsError
from natskv.protocol import MAX_CONTROL_LINE, check_subject

if TYPE_CHECKING:
    from natskv.client._transport import Dialer

__all__ = [
    "DEFAULT_PENDING_BYTES",
    "DEFAULT_PENDING_MSGS",
    "DEFAULT_URL",
    "ConnectOptions",
    "ErrorCallback",
    "EventCallback",
    "ServerAddress",
    "parse_server",
    "parse_servers",
]

DEFAULT_URL = "nats://127.0.0.1:4222"
DEFAULT_PENDING_MSGS = 512 * 1024
DEFAULT_PENDING_BYTES = 128 * 1024 * 1024
_SCHEMES = {"nats", "tls", "ws", "wss"}

ErrorCallback = Callable[[Exception], Any]
EventCallback = Callable[[], Any]


@dataclass(frozen=True)
class ServerAddress:
    """One server of the pool. Its repr and :attr:`url` leave the credentials out."""

    scheme: str
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    discovered: bool = False

    @property
    def url(self) -> str:
        """The URL without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def tls(self) -> bool:
        """True for ``tls://`` URLs."""
        return self.scheme == "tls"


def parse_server(url: str, *, discovered: bool = False) -> ServerAddress:
    """Parse ``nats://[user:pass@|token@]host[:port]`` (scheme and port optional)."""
    text = url.strip()
    if not text:
        raise NatsError("empty server URL")
    if "://" not in text:
        text = "nats://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    # what an error message may show: the URL without its credentials
    shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    if scheme not in _SCHEMES:
        raise NatsError(f"unsupported URL scheme {scheme!r} in {shown!r}")
    if scheme in ("ws", "wss"):
        raise NatsError("websocket URLs are not supported; use nats:// or tls://")
    host = parts.hostname or "127.0.0.1"
    try:
        port = parts.port or 4222
    except ValueError:
        raise NatsError(f"bad port in server URL {shown!r}") from None
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    token = None
    if user is not None and password is None:
        token, user = user, None
    return ServerAddress(scheme, host, port, user, password, token, discovered)


def parse_servers(servers: str | list[str] | tuple[str, ...] | None) -> list[ServerAddress]:
    """The server pool: ``servers``, else ``NATS_URL``, else ``nats://127.0.0.1:4222``."""
    if servers is None:
        servers = os.environ.get("NATS_URL") or DEFAULT_URL
    if isinstance(servers, str):
        servers = [s for s in re.split(r"[,\s]+", servers) if s]
    pool = [parse_server(s) for s in servers]
    if not pool:
        raise NatsError("no server URL given")
    return pool


_SECRETS = frozenset({"password", "token", "nkeys_seed"})


@dataclass(frozen=True, repr=False)
class ConnectOptions:
    """Everything a :class:`~natskv.Connection` can be told, with its defaults.

    Durations are seconds. Authentication is one of: ``user`` + ``password``, ``token``,
    ``nkeys_seed`` / ``nkeys_seed_file``, or ``user_credentials`` (a ``.creds`` file, read
    again at every connect); credentials in a server URL are used when none is given here.
    ``tls`` is an :class:`ssl.SSLContext` (used as it is), or ``True`` for the default
    one; or give file paths instead: ``tls_ca_file`` (CAs to trust), ``tls_cert_file`` and
    ``tls_key_file`` (a client certificate). A context natskv builds always verifies the
    server's certificate and host name. TLS is also used for ``tls://`` URLs, when a
    file is given and when the server requires it. ``max_reconnect_attempts``
    counts per server, ``-1`` for no limit; between rounds over the pool the client waits
    ``reconnect_time_wait`` plus a random ``0..reconnect_jitter`` (so that many clients
    of one server do not all come back at once). While disconnected, writes wait in a
    buffer of at most ``reconnect_buffer_size`` bytes; a publish that does not fit raises
    :class:`natskv.ReconnectBufferFullError` (``0``: no buffering). ``lame_duck_cb`` is
    called when the server enters lame duck mode (the client then moves to another server
    of the pool, if there is one). ``ping_interval=0`` turns keepalives off.
    ``max_control_line`` is the server's setting (its INFO does not say): a command whose
    arguments exceed it is refused before it is sent, as the server would drop the
    connection. ``dialer`` replaces TCP, e.g. with :class:`natskv.client.MockNetwork`.
    """

    name: str | None = None
    user: str | None = None
    password: str | None = None
    token: str | None = None
    nkeys_seed: str | bytes | None = None
    nkeys_seed_file: str | os.PathLike[str] | None = None
    user_credentials: str | os.PathLike[str] | None = None
    tls: ssl.SSLContext | bool = False
    tls_ca_file: str | os.PathLike[str] | None = None
    tls_cert_file: str | os.PathLike[str] | None = None
    tls_key_file: str | os.PathLike[str] | None = None
    tls_hostname: str | None = None
    tls_handshake_first: bool = False
    connect_timeout: float = 2.0
    request_timeout: float = 5.0
    allow_reconnect: bool = True
    max_reconnect_attempts: int = 60
    reconnect_time_wait: float = 2.0
    reconnect_jitter: float = 0.1
    reconnect_buffer_size: int = 8 * 1024 * 1024
    ping_interval: float = 120.0
    max_outstanding_pings: int = 2
    inbox_prefix: str = "_INBOX"
    no_echo: bool = False
    ignore_discovered_servers: bool = False
    pending_msgs_limit: int = DEFAULT_PENDING_MSGS
    pending_bytes_limit: int = DEFAULT_PENDING_BYTES
    max_control_line: int = MAX_CONTROL_LINE
    error_cb: ErrorCallback | None = None
    disconnected_cb: EventCallback | None = None
    reconnected_cb: EventCallback | None = None
    closed_cb: EventCallback | None = None
    lame_duck_cb: EventCallback | None = None
    dialer: Dialer | None = None

    def __post_init__(self) -> None:
        for name in ("name", "user", "password", "token", "tls_hostname"):
            _optional(self, name, str)
        for name in (
            "nkeys_seed_file",
            "user_credentials",
            "tls_ca_file",
            "tls_cert_file",
            "tls_key_file",
        ):
            _optional(self, name, (str, os.PathLike))
        _optional(self, "nkeys_seed", (str, bytes))
        for name in ("tls_handshake_first", "allow_reconnect", "no_echo"):
            _flag(self, name)
        _flag(self, "ignore_discovered_servers")
        if not isinstance(self.tls, (bool, ssl.SSLContext)):
            raise TypeError(f"tls must be an ssl.SSLContext or a bool, not {self.tls!r}")
        check_files(self)
        _number(self, "connect_timeout", above=0)
        _number(self, "request_timeout", above=0)
        _number(self, "reconnect_time_wait", least=0)
        _number(self, "reconnect_jitter", least=0)
        _number(self, "ping_interval", least=0)
        _number(self, "max_reconnect_attempts", least=-1, integer=True)
        _number(self, "reconnect_buffer_size", least=0, integer=True)
        _number(self, "max_outstanding_pings", least=1, integer=True)
        _number(self, "pending_msgs_limit", least=1, integer=True)
        _number(self, "pending_bytes_limit", least=1, integer=True)
        # room for the shortest command with an inbox: PUB <subject> <inbox>.<id> <size>
        _number(self, "max_control_line", least=128, integer=True)
        for name in ("error_cb", "disconnected_cb", "reconnected_cb", "closed_cb", "lame_duck_cb"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable, not {type(value).__name__}")
        dialer = self.dialer
        if dialer is not None and not (hasattr(dialer, "connect") and hasattr(dialer, "start_tls")):
            raise TypeError("dialer must have connect() and start_tls() (see natskv.client.Dialer)")
        check_subject(self.inbox_prefix, "inbox prefix")
        tokens = self.inbox_prefix.split(".")
        if "" in tokens or "*" in tokens or ">" in tokens:
            raise ValueError(
                f"inbox prefix {self.inbox_prefix!r} must be dot-separated tokens without wildcards"
            )
        self._check_auth()

    def _check_auth(self) -> None:
        if self.password is not None and self.user is None:
            raise ValueError("password given without user")
        ways = [
            name
            for name, given in (
                ("user/password", self.user is not None),
                ("token", self.token is not None),
                ("nkeys_seed", self.nkeys_seed is not None),
                ("nkeys_seed_file", self.nkeys_seed_file is not None),
                ("user_credentials", self.user_credentials is not None),
            )
            if given
        ]
        if len(ways) > 1:
            raise ValueError(f"give one way to authenticate, not {' and '.join(ways)}")
        # Checked now, not at the first handshake: bad credentials are bad input. Files
        # are read again at every handshake (a rotated file is picked up on reconnect).
        if self.nkeys_seed is not None:
            check_seed(self.nkeys_seed, "nkeys_seed")
        if self.nkeys_seed_file is not None:
            read_seed_file(self.nkeys_seed_file)
        if self.user_credentials is not None:
            try:
                load_credentials(self.user_credentials)
            except NatsError as exc:
                raise ValueError(str(exc)) from None

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value == f.default:
                continue
            shown.append(f"{f.name}=<hidden>" if f.name in _SECRETS else f"{f.name}={value!r}")
        return f"ConnectOptions({', '.join(shown)})"


def _optional(options: ConnectOptions, name: str, kind: type | tuple[type, ...]) -> None:
    value = getattr(options, name)
    if value is not None and not isinstance(value, kind):
        # the value may be a secret: name its type only
        raise TypeError(f"{name} has the wrong type ({type(value).__name__})")


def _flag(options: ConnectOptions, name: str) -> None:
    value = getattr(options, name)
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {value!r}")


def _number(
    options: ConnectOptions,
    name: str,
    *,
    above: float | None = None,
    least: float | None = None,
    integer: bool = False,
) -> None:
    value = getattr(options, name)
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        kind = "an integer" if integer else "a number"
        raise TypeError(f"{name} must be {kind}, not {value!r}")
    number = float(value)
    if above is not None and not number > above:
        raise ValueError(f"{name} must be greater than {above}, not {value!r}")
    if least is not None and not number >= least:
        raise ValueError(f"{name} must be at least {least}, not {value!r}")
