"""Who may talk to ``natskv ui``: the holder of its token, from its own page, by its own name.

The UI can change and purge data, so it is guarded the way Jupyter guards a notebook
server, against four threats:

- **Another program or user on the machine** finds the port: every request, the page and
  its static files included, must carry the random token of the printed URL (as the
  ``token`` query parameter or the ``X-Natskv-Token`` header), compared in constant time.
- **DNS rebinding**: a hostile name that resolves to 127.0.0.1 makes the browser send
  ``Host: evil.example``; only the names the UI listens under are accepted.
- **Cross-site requests**: a page elsewhere can make the browser send a request (without
  reading the answer). An ``Origin`` header, when sent, must be the UI's own; a
  ``Sec-Fetch-Site`` of another site is refused except for a top-level visit of the page
  (the user following the printed link); mutations are POSTs of a JSON body, which a
  cross-site form cannot send and which no CORS preflight is ever granted for.
- **Script injection through data**: values and descriptions are data, shown with
  ``textContent``; a Content-Security-Policy without inline script is the second line.

Loopback is the default; another address needs ``allow_remote`` (:func:`check_listen_address`).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = [
    "SECURITY_HEADERS",
    "TOKEN_HEADER",
    "Guard",
    "add_security_headers",
    "InsecureBindError",
    "check_listen_address",
    "format_host",
    "is_loopback",
    "new_token",
]

TOKEN_HEADER = "X-Natskv-Token"
TOKEN_PARAM = "token"

SECURITY_HEADERS = {
    # no inline script or style, nothing from elsewhere, no framing, no form posts
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # the token is in the URL: never send it to another site in a Referer
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_WILDCARDS = ("0.0.0.0", "::", "")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class InsecureBindError(ValueError):
    """A listen address that is not loopback, without ``allow_remote``."""


def new_token() -> str:
    """A fresh random token: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """``localhost`` or an address of the loopback range (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen_address(host: str, *, allow_remote: bool) -> str | None:
    """Raise :class:`InsecureBindError` for a non-loopback ``host`` without ``allow_remote``;
    with it, return the warning to show the user (``None`` for loopback)."""
    if is_loopback(host):
        return None
    if not allow_remote:
        raise InsecureBindError(
            f"{host!r} is not a loopback address: anyone who can reach it and learns the "
            "token could read and change every bucket; pass --allow-remote (allow_remote=True) "
            "to listen there anyway"
        )
    return (
        f"listening on {host!r}, which is not loopback: anyone who can reach this port and "
        "learns the token can read and change every bucket (the connection is plain HTTP)"
    )


def format_host(host: str) -> str:
    """``host`` as it appears in a URL or a Host header (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _with_port(name: str, port: int) -> str:
    """``name`` as a Host header value: ``name:port`` unless it names its port already."""
    name = name.lower()
    bare_ipv6 = name.count(":") > 1 and not name.startswith("[")
    if not bare_ipv6 and ":" in name and name.rsplit(":", 1)[1].isdigit():
        return name
    return f"{format_host(name)}:{port}"


def _allowed_hosts(host: str, port: int, extra: Iterable[str]) -> frozenset[str]:
    names = list(_LOOPBACK_NAMES)
    if host not in _WILDCARDS:
        names.append(host)
    return frozenset(_with_port(name, port) for name in (*names, *extra))


class Guard:
    """The checks every request passes before any handler runs (see the module docstring)."""

    def __init__(
        self, token: str, host: str, port: int, *, allowed_hosts: Iterable[str] = ()
    ) -> None:
        self._token = token.encode()
        self.allowed_hosts = _allowed_hosts(host, port, allowed_hosts)

    def refusal(self, request: web.Request) -> str | None:
        """Why ``request`` is refused, or ``None`` when it may go on."""
        headers = request.headers
        host = headers.get("Host", "").lower()
        if host not in self.allowed_hosts:
            return f"refused: the Host header {host!r} is not a name of this server"
        origin = headers.get("Origin")
        if origin is not None and origin.lower() != f"http://{host}":
            return f"refused: cross-origin request from {origin!r}"
        site = headers.get("Sec-Fetch-Site")
        if site in ("cross-site", "same-site") and not _is_page_visit(request):
            return "refused: a request from another site"
        given = headers.get(TOKEN_HEADER) or request.query.get(TOKEN_PARAM, "")
        if not hmac.compare_digest(given.encode(), self._token):
            return "refused: this needs the token of the URL that `natskv ui` printed"
        return None

    def middleware(self) -> Middleware:
        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            refused = self.refusal(request)
            if refused is not None:
                return web.Response(status=403, text=refused + "\n")
            return await handler(request)

        return guard


def _is_page_visit(request: web.Request) -> bool:
    """A top-level GET of the page: the user followed the printed link from elsewhere."""
    return (
        request.method == "GET"
        and request.path == "/"
        and request.headers.get("Sec-Fetch-Mode") == "navigate"
        and request.headers.get("Sec-Fetch-Dest", "document") == "document"
    )


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the headers of :data:`SECURITY_HEADERS` on every response."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
