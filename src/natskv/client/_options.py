"""Server URLs and credentials."""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from natskv.errors import NatsError

__all__ = [
    "DEFAULT_URL",
    "ServerAddress",
    "load_credentials",
    "parse_servers",
    "sign_nonce",
]

DEFAULT_URL = "nats://127.0.0.1:4222"
_SCHEMES = {"nats", "tls", "ws", "wss"}


@dataclass(frozen=True)
class ServerAddress:
    """One server of the pool."""

    scheme: str
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    token: str | None = None
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
    if scheme not in _SCHEMES:
        raise NatsError(f"unsupported URL scheme {scheme!r} in {url!r}")
    if scheme in ("ws", "wss"):
        raise NatsError("websocket URLs are not supported; use nats:// or tls://")
    host = parts.hostname or "127.0.0.1"
    try:
        port = parts.port or 4222
    except ValueError:
        raise NatsError(f"bad port in server URL {url!r}") from None
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


_JWT_RE = re.compile(
    r"-{3,}[^\n]*BEGIN[^\n]*JWT[^\n]*-{3,}\s*\n(.*?)\n\s*-{3,}[^\n]*END[^\n]*JWT", re.DOTALL
)
_SEED_RE = re.compile(
    r"-{3,}[^\n]*BEGIN[^\n]*NKEY SEED[^\n]*-{3,}\s*\n(.*?)\n\s*-{3,}[^\n]*END", re.DOTALL
)


def load_credentials(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    """Read a ``.creds`` file: ``(jwt, seed)``."""
    text = Path(path).read_text()
    jwt = _JWT_RE.search(text)
    seed = _SEED_RE.search(text)
    if not jwt or not seed:
        raise NatsError(f"{path}: not a NATS credentials file (JWT and NKEY seed expected)")
    return jwt.group(1).strip(), seed.group(1).strip().encode()


def sign_nonce(seed: bytes, nonce: str) -> tuple[str, str]:
    """Sign the server's nonce with an NKey seed: ``(signature, public_key)``."""
    try:
        import nkeys
    except ImportError as exc:  # pragma: no cover - nkeys is a declared dependency
        raise NatsError("NKey authentication needs the 'nkeys' package") from exc
    kp = nkeys.from_seed(seed)
    try:
        sig = kp.sign(nonce.encode())
        public = kp.public_key.decode()
    finally:
        kp.wipe()
    return base64.urlsafe_b64encode(sig).decode().rstrip("="), public
