"""TLS for a connection: the client's ``ssl.SSLContext``, given or built from file paths.

``ConnectOptions`` takes either a ready :class:`ssl.SSLContext` (``tls=ctx``: used as it
is) or paths: ``tls_ca_file`` (the CAs to trust instead of the system's),
``tls_cert_file`` and ``tls_key_file`` (a client certificate, for servers that verify
clients). A context built here always verifies the server: its certificate must chain to
a trusted CA and name the host (``tls_hostname`` overrides the name checked). Turning
verification off takes a context of one's own, made on purpose. The files are read when
the options are made (a bad path or key fails there, before any socket is opened) and
again at every handshake, so renewed certificates are picked up by the next reconnect.
Error texts name the option and the path, never a file's contents.
"""

from __future__ import annotations

import os
import ssl
from typing import Protocol

__all__ = ["TLSFiles", "build_context", "check_files", "uses_tls"]


class TLSFiles(Protocol):
    """The TLS fields of :class:`~natskv.client.ConnectOptions`."""

    @property
    def tls(self) -> ssl.SSLContext | bool: ...

    @property
    def tls_ca_file(self) -> str | os.PathLike[str] | None: ...

    @property
    def tls_cert_file(self) -> str | os.PathLike[str] | None: ...

    @property
    def tls_key_file(self) -> str | os.PathLike[str] | None: ...


def _has_files(options: TLSFiles) -> bool:
    return (
        options.tls_ca_file is not None
        or options.tls_cert_file is not None
        or options.tls_key_file is not None
    )


def check_files(options: TLSFiles) -> None:
    """Refuse conflicting TLS options, and files that cannot make a context (ValueError)."""
    if not _has_files(options):
        return
    if isinstance(options.tls, ssl.SSLContext):
        raise ValueError(
            "give tls as an ssl.SSLContext or tls_ca_file / tls_cert_file / tls_key_file, "
            "not both (the context is used as it is)"
        )
    if options.tls_key_file is not None and options.tls_cert_file is None:
        raise ValueError("tls_key_file given without tls_cert_file")
    build_context(options)


def build_context(options: TLSFiles) -> ssl.SSLContext:
    """The context for a handshake: ``tls`` when it is one, else one that verifies the
    server, with the CA and client certificate files when given."""
    if isinstance(options.tls, ssl.SSLContext):
        return options.tls
    ca = options.tls_ca_file
    if ca is None:
        context = ssl.create_default_context()
    else:
        try:
            context = ssl.create_default_context(cafile=os.fspath(ca))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"tls_ca_file {os.fspath(ca)!r}: {_reason(exc)}") from None
    cert = options.tls_cert_file
    if cert is not None:
        key = options.tls_key_file
        try:
            # never OpenSSL's own prompt on the terminal for an encrypted key: it fails
            context.load_cert_chain(
                os.fspath(cert), None if key is None else os.fspath(key), password=_no_password
            )
        except (OSError, ssl.SSLError, _EncryptedKeyError) as exc:
            shown = os.fspath(cert) if key is None else f"{os.fspath(cert)} / {os.fspath(key)}"
            raise ValueError(f"tls_cert_file / tls_key_file {shown!r}: {_reason(exc)}") from None
    return context


def uses_tls(options: TLSFiles) -> bool:
    """True when the options ask for TLS whatever the server and URL say."""
    return options.tls is not False or _has_files(options)


class _EncryptedKeyError(Exception):
    def __str__(self) -> str:
        return "the key is encrypted: give tls an ssl.SSLContext that has loaded it"


def _no_password() -> bytes:
    raise _EncryptedKeyError


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _EncryptedKeyError):
        return str(exc)
    # an OSError's text is "[Errno 2] No such file or directory"; an SSLError's names the
    # OpenSSL reason: neither holds the file's contents
    return getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
