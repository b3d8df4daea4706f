"""Results of the non-throwing ``try_*`` operations (NATS.Net's ``NatsResult``)."""

from __future__ import annotations

from typing import Generic, TypeVar

from natskv.errors import KeyValueError

__all__ = ["KVResult"]

T = TypeVar("T")
E = TypeVar("E", bound=KeyValueError)


class KVResult(Generic[T, E]):
    """Either a ``value`` (``ok``) or the expected ``error`` of a ``try_*`` call.

    Only the outcome a caller plans for is returned as the error, and ``E`` says which:
    ``try_get_entry`` a :class:`KeyNotFoundError` (or its :class:`KeyDeletedError`),
    ``try_create`` a :class:`KeyExistsError`, ``try_update`` and ``try_delete`` a
    :class:`WrongRevisionError`. Anything else (connection lost, bad input) raises.
    """

    __slots__ = ("_error", "_value")

    def __init__(self, value: T | None = None, error: E | None = None) -> None:
        self._value = value
        self._error = error

    @property
    def ok(self) -> bool:
        """True when the operation succeeded."""
        return self._error is None

    @property
    def error(self) -> E | None:
        """The expected failure, or ``None``."""
        return self._error

    @property
    def value(self) -> T:
        """The result; raises the error when the operation failed."""
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def __bool__(self) -> bool:
        return self._error is None

    def __repr__(self) -> str:
        if self._error is not None:
            return f"KVResult(error={self._error!r})"
        return f"KVResult(value={self._value!r})"
