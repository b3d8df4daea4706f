"""Credentials: ``.creds`` files, NKey seeds and nonce signatures.

Nothing here puts a secret into an exception message: errors name the file or the
option, never its content.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import nkeys

from natskv.errors import NatsError

__all__ = ["check_seed", "load_credentials", "read_seed_file", "sign_nonce"]

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


def read_seed_file(path: str | os.PathLike[str]) -> bytes:
    """The NKey seed stored in ``path`` (surrounding whitespace removed)."""
    with open(path, "rb") as fh:
        seed = fh.read().strip()
    check_seed(seed, f"the seed file {os.fspath(path)!r}")
    return seed


def check_seed(seed: str | bytes, what: str) -> None:
    """Raise :class:`ValueError` unless ``seed`` is an NKey seed (without showing it)."""
    raw = seed.encode() if isinstance(seed, str) else seed
    try:
        nkeys.from_seed(raw).wipe()
    except Exception:  # nkeys raises its own classes (ErrInvalidSeed, binascii.Error, ...)
        raise ValueError(f"{what} is not a valid NKey seed") from None


def sign_nonce(seed: bytes, nonce: str) -> tuple[str, str]:
    """Sign the server's nonce with an NKey seed: ``(signature, public_key)``."""
    try:
        kp = nkeys.from_seed(seed)
    except Exception:
        raise NatsError("the NKey seed is not valid") from None
    try:
        sig = kp.sign(nonce.encode())
        public = kp.public_key.decode()
    finally:
        kp.wipe()
    return base64.urlsafe_b64encode(sig).decode().rstrip("="), public
