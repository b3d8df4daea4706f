"""Typed values: a small registry of codecs that turn values into bytes and back.

Modelled on NATS.Net's serializer registry. The default order is raw bytes, UTF-8 text,
then JSON through msgspec (dataclasses, msgspec Structs, TypedDicts, NamedTuples, enums,
dict/list/tuple/int/float/bool/None, datetimes, UUIDs, ...). pydantic v2 models are
recognised by duck typing (``model_dump_json`` / ``model_validate_json``), so pydantic
is never imported here.

Choosing a codec: to encode, the first codec whose ``can_encode(value)`` is true; to
decode, the first whose ``can_decode(type)`` is true (cached per type). A value no codec
takes raises :class:`TypeError`; bytes that do not decode raise whatever the codec raises,
which :func:`decode_value` wraps into :class:`natskv.errors.DecodeError`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import enum
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, overload, runtime_checkable

import msgspec

from natskv.errors import DecodeError

__all__ = [
    "DEFAULT_CODECS",
    "Codec",
    "CodecRegistry",
    "JsonCodec",
    "RawCodec",
    "StrCodec",
    "decode_value",
]

T = TypeVar("T")

_MAX_CACHED_TYPES = 1024


@runtime_checkable
class Codec(Protocol):
    """Turns values into bytes and back. Implement all four methods."""

    def can_encode(self, value: Any) -> bool:
        """Whether :meth:`encode` handles ``value``; cheap, called on every write."""
        ...

    def can_decode(self, type: Any) -> bool:
        """Whether :meth:`decode` produces ``type``; the registry caches the answer per type."""
        ...

    def encode(self, value: Any) -> bytes:
        """The stored bytes of ``value``; raise :class:`TypeError` for a value it cannot take."""
        ...

    def decode(self, data: bytes, type: type[T]) -> T:
        """A ``type`` from stored bytes; raise any exception if the bytes do not fit."""
        ...


class RawCodec:
    """bytes, bytearray and memoryview pass through unchanged."""

    _TYPES = (bytes, bytearray, memoryview)

    def can_encode(self, value: Any) -> bool:
        return isinstance(value, self._TYPES)

    def can_decode(self, type: Any) -> bool:
        return type in self._TYPES

    def encode(self, value: Any) -> bytes:
        if type(value) is bytes:
            return value
        if not isinstance(value, self._TYPES):
            raise TypeError(f"RawCodec cannot encode {type(value).__qualname__}")
        return bytes(value)

    def decode(self, data: bytes, type: type[T]) -> T:
        if type is bytes:
            return bytes(data)  # type: ignore[return-value]
        if type is bytearray:
            return bytearray(data)  # type: ignore[return-value]
        if type is memoryview:
            return memoryview(data)  # type: ignore[return-value]
        raise TypeError(f"RawCodec cannot decode {type!r}")

    def __repr__(self) -> str:
        return "RawCodec()"


class StrCodec:
    """``str`` as UTF-8. A str Enum is not plain text: it goes to JSON, so it reads back."""

    def can_encode(self, value: Any) -> bool:
        return isinstance(value, str) and not isinstance(value, enum.Enum)

    def can_decode(self, type: Any) -> bool:
        return type is str

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, str):
            raise TypeError(f"StrCodec cannot encode {type(value).__qualname__}")
        return value.encode()

    def decode(self, data: bytes, type: type[T]) -> T:
        return bytes(data).decode()  # type: ignore[return-value]

    def __repr__(self) -> str:
        return "StrCodec()"


def _is_pydantic_model_type(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and callable(getattr(tp, "model_validate_json", None))
        and callable(getattr(tp, "model_dump_json", None))
    )


def _enc_hook(obj: Any) -> Any:
    # Called by msgspec for types it does not know: pydantic models nested in JSON values.
    if _is_pydantic_model_type(type(obj)):
        return obj.model_dump(mode="json", by_alias=True)
    raise TypeError(f"objects of type {type(obj).__qualname__} are not JSON-encodable")


def _dec_hook(tp: Any, obj: Any) -> Any:
    if _is_pydantic_model_type(tp):
        return tp.model_validate(obj)
    raise NotImplementedError(f"Decoding {tp!r} is unsupported")


# Exact types msgspec encodes as JSON; checked with one set lookup on the hot path.
_JSON_TYPES: frozenset[type] = frozenset(
    {
        type(None),
        str,
        bytes,
        bytearray,
        memoryview,
        bool,
        int,
        float,
        dict,
        list,
        tuple,
        set,
        frozenset,
        _dt.datetime,
        _dt.date,
        _dt.time,
        _dt.timedelta,
        uuid.UUID,
        decimal.Decimal,
    }
)
_JSON_BASES = (
    msgspec.Struct,
    str,
    bytes,
    bytearray,
    enum.Enum,
    dict,
    list,
    tuple,
    set,
    frozenset,
    int,
    float,
    _dt.date,
    _dt.time,
    _dt.timedelta,
    uuid.UUID,
    decimal.Decimal,
)


class JsonCodec:
    """JSON through msgspec; pydantic v2 models through their own JSON methods.

    A msgspec decoder is built once per target type and cached.
    """

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
        self._decoders: dict[Any, Callable[[bytes], Any]] = {}

    def can_encode(self, value: Any) -> bool:
        t = type(value)
        if t in _JSON_TYPES:
            return True
        if isinstance(value, _JSON_BASES):
            return True
        if dataclasses.is_dataclass(value) or hasattr(t, "__attrs_attrs__"):
            return not isinstance(value, type)
        return _is_pydantic_model_type(t)

    def encode(self, value: Any) -> bytes:
        t = type(value)
        if t not in _JSON_TYPES and _is_pydantic_model_type(t):
            dumped = value.model_dump_json(by_alias=True)
            return dumped.encode() if isinstance(dumped, str) else bytes(dumped)
        try:
            return self._encoder.encode(value)
        except TypeError as err:
            raise TypeError(f"cannot encode a {t.__qualname__} as JSON: {err}") from err

    def _decoder(self, tp: Any) -> Callable[[bytes], Any]:
        try:
            return self._decoders[tp]
        except KeyError:
            pass
        except TypeError:  # an unhashable type form: build every time
            return self._build_decoder(tp)
        fn = self._build_decoder(tp)
        if len(self._decoders) >= _MAX_CACHED_TYPES:
            self._decoders.clear()
        self._decoders[tp] = fn
        return fn

    @staticmethod
    def _build_decoder(tp: Any) -> Callable[[bytes], Any]:
        if _is_pydantic_model_type(tp):
            validate: Callable[[bytes], Any] = tp.model_validate_json
            return validate
        # A plain class msgspec does not know would only ever fail to decode: refuse it here.
        if isinstance(msgspec.inspect.type_info(tp), msgspec.inspect.CustomType):
            raise TypeError(f"JsonCodec cannot decode {tp!r}: not a JSON-compatible type")
        return msgspec.json.Decoder(tp, dec_hook=_dec_hook).decode

    def can_decode(self, type: Any) -> bool:
        try:
            self._decoder(type)
        except TypeError:
            return False
        return True

    def decode(self, data: bytes, type: type[T]) -> T:
        result: T = self._decoder(type)(data)
        return result

    def __repr__(self) -> str:
        return "JsonCodec()"


def _check_codec(codec: object) -> Codec:
    if not isinstance(codec, Codec):
        raise TypeError(
            f"{codec!r} is not a codec: it needs can_encode, can_decode, encode and decode"
        )
    return codec


class CodecRegistry:
    """An ordered, immutable list of codecs; the first that fits wins."""

    __slots__ = ("_by_type", "_codecs")

    def __init__(self, codecs: Sequence[Codec] | None = None) -> None:
        if codecs is None:
            codecs = (RawCodec(), StrCodec(), JsonCodec())
        self._codecs: tuple[Codec, ...] = tuple(_check_codec(c) for c in codecs)
        self._by_type: dict[Any, Codec] = {}

    @property
    def codecs(self) -> tuple[Codec, ...]:
        return self._codecs

    def with_codec(self, codec: Codec) -> CodecRegistry:
        """A new registry that tries ``codec`` before these."""
        return CodecRegistry((_check_codec(codec), *self._codecs))

    def encode(self, value: Any) -> bytes:
        """The stored bytes of ``value``; :class:`TypeError` if no codec takes it."""
        for codec in self._codecs:
            if codec.can_encode(value):
                return codec.encode(value)
        raise TypeError(
            f"cannot encode a value of type {type(value).__qualname__}: give bytes, str, a "
            "JSON-compatible value (dict, list, int, ...), a dataclass, a msgspec Struct or a "
            "pydantic model, or add a codec for it"
        )

    def codec_for(self, type: Any) -> Codec:
        """The codec that decodes ``type``; :class:`TypeError` if none does."""
        try:
            return self._by_type[type]
        except KeyError:
            pass
        except TypeError:
            return self._find(type)
        codec = self._find(type)
        if len(self._by_type) >= _MAX_CACHED_TYPES:
            self._by_type.clear()
        self._by_type[type] = codec
        return codec

    def _find(self, tp: Any) -> Codec:
        for codec in self._codecs:
            if codec.can_decode(tp):
                return codec
        raise TypeError(f"no codec can decode values as {tp!r}")

    @overload
    def decode(self, data: bytes, type: type[T]) -> T: ...
    @overload
    def decode(self, data: bytes, type: Any) -> Any: ...
    def decode(self, data: bytes, type: Any) -> Any:
        """``data`` as a ``type``; the codec's own exception if the bytes do not fit."""
        return self.codec_for(type).decode(data, type)

    def __repr__(self) -> str:
        return f"CodecRegistry({list(self._codecs)!r})"


DEFAULT_CODECS = CodecRegistry()


@overload
def decode_value(
    registry: CodecRegistry,
    data: bytes,
    type: type[T],
    *,
    bucket: str,
    key: str,
    revision: int,
) -> T: ...
@overload
def decode_value(
    registry: CodecRegistry,
    data: bytes,
    type: Any,
    *,
    bucket: str,
    key: str,
    revision: int,
) -> Any: ...
def decode_value(
    registry: CodecRegistry,
    data: bytes,
    type: Any,
    *,
    bucket: str,
    key: str,
    revision: int,
) -> Any:
    """Decode a stored value, raising :class:`DecodeError` (with the raw bytes) on failure.

    A ``type`` no codec supports is a programming error and raises :class:`TypeError`.
    """
    codec = registry.codec_for(type)
    try:
        return codec.decode(data, type)
    except Exception as err:
        raise DecodeError(
            bucket=bucket,
            key=key,
            revision=revision,
            type=type,
            raw=bytes(data),
            reason=str(err) or err.__class__.__name__,
        ) from err
