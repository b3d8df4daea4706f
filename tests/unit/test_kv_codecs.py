"""Typed value codecs: what each type encodes to, how it decodes, and how failures surface."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import datetime, timezone
from typing import Any, NamedTuple, TypedDict

import msgspec
import pytest

from natskv.errors import DecodeError
from natskv.kv._codecs import (
    DEFAULT_CODECS,
    Codec,
    CodecRegistry,
    JsonCodec,
    RawCodec,
    StrCodec,
    decode_value,
)


@dataclasses.dataclass
class Point:
    x: int
    y: int


class User(msgspec.Struct):
    name: str
    age: int = 0


class Movie(TypedDict):
    title: str
    year: int


class Pair(NamedTuple):
    a: int
    b: str


class Color(enum.Enum):
    RED = "red"


class Level(str, enum.Enum):
    HIGH = "high"


class Opaque:
    pass


try:
    import pydantic
except ImportError:  # pragma: no cover - pydantic is optional
    pydantic = None  # type: ignore[assignment]

if pydantic is not None:

    class Item(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(populate_by_name=True)
        name: str
        price: float = pydantic.Field(alias="unitPrice")

    class Order(msgspec.Struct):
        item: Item


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (b"\x00\xffraw", b"\x00\xffraw"),
        (bytearray(b"ba"), b"ba"),
        (memoryview(b"mv"), b"mv"),
        (b"", b""),
        ("héllo", "héllo".encode()),
        ("", b""),
        (1, b"1"),
        (-7, b"-7"),
        (1.5, b"1.5"),
        (True, b"true"),
        (False, b"false"),
        (None, b"null"),
        ({"a": [1, 2]}, b'{"a":[1,2]}'),
        ([1, "x", None], b'[1,"x",null]'),
        ((1, 2), b"[1,2]"),
        (Point(1, 2), b'{"x":1,"y":2}'),
        (User("ann", 3), b'{"name":"ann","age":3}'),
        (Movie(title="Heat", year=1995), b'{"title":"Heat","year":1995}'),
        (Pair(1, "b"), b'[1,"b"]'),
        (Color.RED, b'"red"'),
        (Level.HIGH, b'"high"'),  # a str Enum is JSON, so it reads back as the Enum
        (datetime(2024, 5, 1, tzinfo=timezone.utc), b'"2024-05-01T00:00:00Z"'),
        (uuid.UUID(int=1), b'"00000000-0000-0000-0000-000000000001"'),
        ({"nested": Point(0, 1)}, b'{"nested":{"x":0,"y":1}}'),
    ],
)
def test_encode(value: Any, encoded: bytes) -> None:
    assert DEFAULT_CODECS.encode(value) == encoded


@pytest.mark.parametrize(
    ("data", "tp", "expected"),
    [
        (b"raw", bytes, b"raw"),
        (b"raw", bytearray, bytearray(b"raw")),
        ("héllo".encode(), str, "héllo"),
        (b"1", int, 1),
        (b"1.5", float, 1.5),
        (b"true", bool, True),
        (b"null", type(None), None),
        (b'{"a":[1,2]}', dict, {"a": [1, 2]}),
        (b'{"a":[1,2]}', dict[str, list[int]], {"a": [1, 2]}),
        (b"[1,2]", list[int], [1, 2]),
        (b"[1,2]", tuple[int, int], (1, 2)),
        (b"1", int | None, 1),
        (b'{"x":1,"y":2}', Point, Point(1, 2)),
        (b'{"name":"ann"}', User, User("ann", 0)),
        (b'{"title":"Heat","year":1995}', Movie, {"title": "Heat", "year": 1995}),
        (b'[1,"b"]', Pair, Pair(1, "b")),
        (b'"red"', Color, Color.RED),
        (b'"high"', Level, Level.HIGH),
        (b'"00000000-0000-0000-0000-000000000001"', uuid.UUID, uuid.UUID(int=1)),
        (b'{"k":1}', Any, {"k": 1}),
    ],
)
def test_decode(data: bytes, tp: Any, expected: Any) -> None:
    got = DEFAULT_CODECS.decode(data, tp)
    assert got == expected
    assert type(got) is type(expected)


def test_decode_memoryview() -> None:
    got = DEFAULT_CODECS.decode(b"mv", memoryview)
    assert isinstance(got, memoryview)
    assert bytes(got) == b"mv"


@pytest.mark.parametrize(
    "value",
    [b"x", "text", 0, 2**40, True, None, [1, {"a": None}], Point(3, 4), User("bo", 1), Color.RED],
)
def test_round_trip(value: Any) -> None:
    assert DEFAULT_CODECS.decode(DEFAULT_CODECS.encode(value), type(value)) == value


@pytest.mark.parametrize(
    "value",
    [Opaque(), object(), {"a": Opaque()}, [1, Opaque()], Point, lambda: None],
)
def test_unencodable_raises_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match="cannot encode"):
        DEFAULT_CODECS.encode(value)


def test_unencodable_message_names_the_type() -> None:
    with pytest.raises(TypeError, match="Opaque"):
        DEFAULT_CODECS.encode(Opaque())


# --------------------------------------------------------------------------------------------
# pydantic (optional at runtime, duck-typed in the codec)
# --------------------------------------------------------------------------------------------


@pytest.mark.skipif(pydantic is None, reason="pydantic is not installed")
def test_pydantic_models() -> None:
    item = Item(name="pen", unitPrice=1.5)
    data = DEFAULT_CODECS.encode(item)
    assert data == b'{"name":"pen","unitPrice":1.5}'
    assert DEFAULT_CODECS.decode(data, Item) == item

    # nested inside JSON values, both ways
    assert DEFAULT_CODECS.encode({"items": [item]}) == b'{"items":[{"name":"pen","unitPrice":1.5}]}'

    assert DEFAULT_CODECS.decode(b'{"item":{"name":"pen","unitPrice":2}}', Order) == Order(
        Item(name="pen", unitPrice=2)
    )

    with pytest.raises(DecodeError) as info:
        decode_value(DEFAULT_CODECS, b'{"name":"pen"}', Item, bucket="b", key="k", revision=1)
    assert isinstance(info.value.__cause__, pydantic.ValidationError)


# --------------------------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "tp"),
    [
        (b"not json", User),
        (b'{"name": 5}', User),
        (b'"x"', int),
        (b"\xff\xfe", str),
        (b"", dict),
        (b'{"x":1}', Point),
        (b"true", int),
    ],
)
def test_decode_value_wraps_failures(data: bytes, tp: Any) -> None:
    with pytest.raises(DecodeError) as info:
        decode_value(DEFAULT_CODECS, data, tp, bucket="orders", key="o.1", revision=42)
    err = info.value
    assert (err.bucket, err.key, err.revision, err.type, err.raw) == ("orders", "o.1", 42, tp, data)
    assert type(err.raw) is bytes
    assert err.__cause__ is not None
    assert "orders > o.1 revision 42" in str(err)
    assert isinstance(err, ValueError)


def test_decode_value_success() -> None:
    got = decode_value(
        DEFAULT_CODECS, b'{"name":"ann","age":3}', User, bucket="b", key="k", revision=1
    )
    assert got == User("ann", 3)


def test_decode_value_unsupported_type_is_type_error() -> None:
    with pytest.raises(TypeError, match="no codec can decode"):
        decode_value(DEFAULT_CODECS, b"{}", Opaque, bucket="b", key="k", revision=1)
    with pytest.raises(TypeError, match="no codec can decode"):
        DEFAULT_CODECS.decode(b"{}", Opaque)


def test_decode_with_memoryview_input() -> None:
    assert DEFAULT_CODECS.decode(memoryview(b"[1]"), list[int]) == [1]  # type: ignore[call-overload]
    assert DEFAULT_CODECS.decode(memoryview(b"ab"), str) == "ab"  # type: ignore[call-overload]


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------


class UpperCodec:
    """A custom codec: str stored upper-case."""

    def can_encode(self, value: Any) -> bool:
        return isinstance(value, str)

    def can_decode(self, type: Any) -> bool:
        return type is str

    def encode(self, value: Any) -> bytes:
        return str(value).upper().encode()

    def decode(self, data: bytes, type: Any) -> Any:
        return data.decode().lower()


def test_with_codec_takes_precedence_and_copies() -> None:
    custom = DEFAULT_CODECS.with_codec(UpperCodec())
    assert isinstance(custom.codecs[0], UpperCodec)
    assert custom.encode("abc") == b"ABC"
    assert custom.decode(b"ABC", str) == "abc"
    assert custom.encode(b"abc") == b"abc"  # everything else still handled
    assert custom.encode(1) == b"1"
    # the default registry is unchanged
    assert DEFAULT_CODECS.encode("abc") == b"abc"
    assert DEFAULT_CODECS.decode(b"ABC", str) == "ABC"


def test_default_order() -> None:
    kinds = [type(c) for c in CodecRegistry().codecs]
    assert kinds == [RawCodec, StrCodec, JsonCodec]
    assert all(isinstance(c, Codec) for c in CodecRegistry().codecs)
    assert isinstance(DEFAULT_CODECS.codec_for(bytes), RawCodec)
    assert isinstance(DEFAULT_CODECS.codec_for(str), StrCodec)
    assert isinstance(DEFAULT_CODECS.codec_for(User), JsonCodec)


def test_json_only_registry() -> None:
    reg = CodecRegistry([JsonCodec()])
    assert reg.encode("x") == b'"x"'
    assert reg.decode(b'"x"', str) == "x"
    assert reg.encode(b"\x01") == b'"AQ=="'  # msgspec encodes bytes as base64


def test_registry_rejects_non_codecs() -> None:
    with pytest.raises(TypeError, match="not a codec"):
        CodecRegistry([object()])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a codec"):
        DEFAULT_CODECS.with_codec("json")  # type: ignore[arg-type]


def test_decoders_are_cached_per_type() -> None:
    codec = JsonCodec()
    assert codec.can_decode(User)
    first = codec._decoders[User]
    codec.decode(b'{"name":"a"}', User)
    assert codec._decoders[User] is first
    assert not codec.can_decode(Opaque)
    assert Opaque not in codec._decoders


def test_raw_and_str_codecs_refuse_other_values() -> None:
    with pytest.raises(TypeError):
        RawCodec().encode("text")
    with pytest.raises(TypeError):
        StrCodec().encode(b"bytes")
    with pytest.raises(TypeError):
        RawCodec().decode(b"x", str)
    assert not StrCodec().can_encode(Level.HIGH)
    assert not RawCodec().can_decode(str)
