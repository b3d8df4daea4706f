"""natscli's configuration contexts, and the TLS context built from certificate files.

natscli keeps one JSON file per context in ``$XDG_CONFIG_HOME/nats/context/<name>.json``
(``~/.config/nats/context/`` without ``XDG_CONFIG_HOME``) and the name of the selected one
in ``.../nats/context.txt``. Reading them lets ``natskv`` work at once wherever ``nats`` is
set up. The fields natskv's :func:`~natskv.connect` can use are read (``url``, ``token``,
``user``, ``password``, ``creds``, ``nkey``, ``cert``, ``key``, ``ca``, ``tls_first``,
``inbox_prefix``, ``jetstream_domain``, ``jetstream_api_prefix``); the rest (``nsc``
lookups, SOCKS proxies, Windows certificate stores, colour schemes) are ignored.

A context is the lowest layer of settings: the command-line flags, then the ``NATS_*``
environment variables, override each of its fields, as in natscli.
"""

from __future__ import annotations

import json
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "ContextError",
    "NatsContext",
    "context_dir",
    "load_context",
    "selected_context_name",
    "tls_context",
]

# natscli refuses names that could leave the context directory
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_.@-]+$")


class ContextError(ValueError):
    """A context that cannot be used: unknown, unreadable, or not natscli's JSON."""


@dataclass(frozen=True)
class NatsContext:
    """The fields of a natscli context that natskv uses (empty strings are unset)."""

    name: str
    path: Path
    url: str | None = None
    token: str | None = None
    user: str | None = None
    password: str | None = None
    creds: str | None = None
    nkey: str | None = None
    cert: str | None = None
    key: str | None = None
    ca: str | None = None
    tls_first: bool = False
    inbox_prefix: str | None = None
    jetstream_domain: str | None = None
    jetstream_api_prefix: str | None = None


def _config_home(environ: Mapping[str, str]) -> Path:
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg)
    return Path(os.path.expanduser("~")) / ".config"


def context_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where natscli keeps its context files."""
    return _config_home(environ) / "nats" / "context"


def selected_context_name(environ: Mapping[str, str] = os.environ) -> str | None:
    """The context ``nats context select`` chose (``context.txt``), or ``None``."""
    try:
        text = (_config_home(environ) / "nats" / "context.txt").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ContextError(f"cannot read the selected natscli context: {exc}") from exc
    return text.strip() or None


def _string(data: Mapping[str, Any], field: str, path: Path) -> str | None:
    value = data.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ContextError(f"context file {path}: {field!r} must be a string")
    return value


def _file(data: Mapping[str, Any], field: str, path: Path) -> str | None:
    # natscli expands ~ in the file names a context points at
    value = _string(data, field, path)
    return os.path.expanduser(value) if value else None


def load_context(name: str, environ: Mapping[str, str] = os.environ) -> NatsContext:
    """The context ``name``; a name ending in ``.json`` may also be the path of a file."""
    if name.endswith(".json") and os.path.sep in name:
        path = Path(os.path.expanduser(name))
        name = path.stem
    elif _NAME_RE.fullmatch(name) and name not in (".", ".."):
        path = context_dir(environ) / f"{name}.json"
    else:
        raise ContextError(f"invalid context name {name!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContextError(f"unknown context {name!r} (no file {path})") from None
    except OSError as exc:
        raise ContextError(f"cannot read context {name!r}: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ContextError(f"context file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ContextError(f"context file {path} must hold a JSON object")
    tls_first = data.get("tls_first", False)
    if not isinstance(tls_first, bool):
        raise ContextError(f"context file {path}: 'tls_first' must be true or false")
    return NatsContext(
        name=name,
        path=path,
        url=_string(data, "url", path),
        token=_string(data, "token", path),
        user=_string(data, "user", path),
        password=_string(data, "password", path),
        creds=_file(data, "creds", path),
        nkey=_file(data, "nkey", path),
        cert=_file(data, "cert", path),
        key=_file(data, "key", path),
        ca=_file(data, "ca", path),
        tls_first=tls_first,
        inbox_prefix=_string(data, "inbox_prefix", path),
        jetstream_domain=_string(data, "jetstream_domain", path),
        jetstream_api_prefix=_string(data, "jetstream_api_prefix", path),
    )


def tls_context(cert: str | None, key: str | None, ca: str | None) -> ssl.SSLContext | None:
    """An SSL context from natscli's ``--tlscert``/``--tlskey``/``--tlsca`` files, or
    ``None`` when none is given.

    Without ``ca`` the system's trusted roots verify the server, as in natscli. Raises
    :class:`ValueError` for a certificate without its key (or the reverse) and
    :class:`OSError` / :class:`ssl.SSLError` for files that cannot be loaded.
    """
    if not (cert or key or ca):
        return None
    if bool(cert) != bool(key):
        raise ValueError("a TLS client certificate needs both --tlscert and --tlskey")
    context = ssl.create_default_context(cafile=ca)
    if cert and key:
        context.load_cert_chain(cert, key)
    return context
