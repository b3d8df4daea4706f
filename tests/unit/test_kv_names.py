"""Key and bucket names: the key, filter, revision and bucket-name rules, the longest key
a bucket takes, and the stream and subject names made of them (``kv/_names.py``)."""

from __future__ import annotations

import pytest

from natskv.errors import InvalidBucketNameError, InvalidKeyError, InvalidRevisionError
from natskv.kv._names import (
    MAX_CONTROL_LINE,
    bucket_from_stream,
    key_subject,
    max_key_length,
    stream_name,
    subject_prefix,
    validate_bucket_name,
    validate_key,
    validate_key_filter,
    validate_revision,
)

# --------------------------------------------------------------------------------------------
# Keys, buckets, filters
# --------------------------------------------------------------------------------------------

VALID_KEYS = [
    "a",
    "1",
    "a.b",
    "a.b.c",
    "user/42",
    "k=v",
    "-_",
    "A.b-c/d=e_f",
    "_kv_reserved",
    "x" * 1000,
]


@pytest.mark.parametrize("key", VALID_KEYS)
def test_valid_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("a b", "may only contain"),
        (" a", "may only contain"),
        ("a\n", "may only contain"),
        ("é", "may only contain"),
        ("a*", "may only contain"),
        ("a>", "may only contain"),
        ("*", "may only contain"),
        (">", "may only contain"),
        ("a\tb", "may only contain"),
        (".a", "start or end"),
        ("a.", "start or end"),
        (".", "start or end"),
        ("a..b", "empty token"),
        (b"a", "must be a str"),
        (1, "must be a str"),
        (None, "must be a str"),
    ],
)
def test_invalid_keys(key: object, reason: str) -> None:
    with pytest.raises(InvalidKeyError, match=reason) as info:
        validate_key(key)
    assert info.value.key == key
    assert isinstance(info.value, ValueError)


def test_key_str_subclass_becomes_plain_str() -> None:
    class K(str):
        pass

    out = validate_key(K("a.b"))
    assert out == "a.b"
    assert type(out) is str


def _limit(bucket: str, api: str = "$JS.API", write_api: str = "") -> int:
    read = f"$KV.{bucket}."
    return max_key_length(
        read_prefix=read,
        write_prefix=write_api + read,
        api_prefix=api,
        stream=f"KV_{bucket}",
        inbox_length=len("_INBOX.") + 22,
    )


def test_max_key_length_leaves_room_for_every_line_a_key_is_in() -> None:
    limit = _limit("orders")
    # the delivery line (an HMSG with the ack subject) is the longest with a short bucket
    assert 3500 < limit < MAX_CONTROL_LINE - len("HMSG $KV.orders. 1 $JS.ACK.KV_orders.")
    # the bucket name is twice in the delivery line (subject and ack subject)
    assert _limit("o" * 252) == limit - 2 * (252 - len("orders"))
    assert _limit("orders", api="$JS.hub.API", write_api="$JS.hub.API.") <= limit
    assert _limit("orders", api="$JS." + "x" * 4000 + ".API") < 1


def test_keys_and_filters_up_to_the_limit() -> None:
    assert validate_key("k" * 100, 100) == "k" * 100
    assert validate_key_filter("k." * 49 + ">", 100) == "k." * 49 + ">"
    with pytest.raises(InvalidKeyError, match="101 characters long; 100 fit in") as info:
        validate_key("k" * 101, 100)
    assert "4096" in str(info.value)
    assert len(str(info.value)) < 400  # the key itself is shown cut short
    with pytest.raises(InvalidKeyError, match="101 characters"):
        validate_key_filter("k." * 50 + "*", 100)
    # without a bucket's limit, the control line itself
    assert validate_key("k" * MAX_CONTROL_LINE)
    with pytest.raises(InvalidKeyError, match="a NATS control line holds 4096 bytes"):
        validate_key("k" * (MAX_CONTROL_LINE + 1))


@pytest.mark.parametrize(
    ("revision", "expected", "reason"),
    [
        (0, False, "start at 1"),
        (-3, False, "start at 1"),
        (-1, True, "expected revision is 0"),
        (2**64, False, "below 2\\*\\*64"),
        (2**64, True, "below 2\\*\\*64"),
        (True, False, "not bool"),
        (False, True, "not bool"),
        (1.0, False, "not float"),
        ("3", True, "not str"),
        (None, False, "not NoneType"),
    ],
)
def test_invalid_revisions(revision: object, expected: bool, reason: str) -> None:
    with pytest.raises(InvalidRevisionError, match=reason) as info:
        validate_revision(revision, expected=expected)
    assert info.value.revision is revision
    assert isinstance(info.value, ValueError)


def test_valid_revisions() -> None:
    assert validate_revision(1) == 1
    assert validate_revision(2**64 - 1) == 2**64 - 1
    assert validate_revision(0, expected=True) == 0

    class Rev(int):
        pass

    out = validate_revision(Rev(7))
    assert out == 7 and type(out) is int


@pytest.mark.parametrize("name", ["a", "A-b_c", "ORDERS", "0", "x" * 252])
def test_valid_bucket_names(name: str) -> None:
    assert validate_bucket_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("a.b", "may only contain"),
        ("a b", "may only contain"),
        ("a/b", "may only contain"),
        ("a*", "may only contain"),
        ("a>", "may only contain"),
        ("é", "may only contain"),
        ("x" * 253, "at most 252"),
        (None, "must be a str"),
        (b"a", "must be a str"),
    ],
)
def test_invalid_bucket_names(name: object, reason: str) -> None:
    with pytest.raises(InvalidBucketNameError, match=reason):
        validate_bucket_name(name)


@pytest.mark.parametrize(
    "flt", [">", "*", "a", "a.b", "a.*", "a.>", "*.>", "a.*.c", "*.*", "a/b.=.*", "a.b.c.>"]
)
def test_valid_key_filters(flt: str) -> None:
    assert validate_key_filter(flt) == flt


@pytest.mark.parametrize(
    ("flt", "reason"),
    [
        ("", "empty"),
        ("a.>.b", "'>'"),
        (">.a", "'>'"),
        (">>", "'>'"),
        ("a>", "'>'"),
        ("a*b", "'\\*'"),
        ("a*", "'\\*'"),
        ("**", "'\\*'"),
        (".a", "start or end"),
        ("a.", "start or end"),
        ("a..b", "empty token"),
        ("a b", "may only contain"),
        (b">", "must be a str"),
        (3, "must be a str"),
    ],
)
def test_invalid_key_filters(flt: object, reason: str) -> None:
    with pytest.raises(InvalidKeyError, match=reason):
        validate_key_filter(flt)


def test_names() -> None:
    assert stream_name("b") == "KV_b"
    assert subject_prefix("b") == "$KV.b."
    assert key_subject("b", "x.y") == "$KV.b.x.y"


@pytest.mark.parametrize(
    ("stream", "bucket"),
    [("KV_a", "a"), ("KV_my-bucket_1", "my-bucket_1"), ("KV_", None), ("ORDERS", None),
     ("kv_a", None), ("KV_a.b", None)],
)  # fmt: skip
def test_bucket_from_stream(stream: str, bucket: str | None) -> None:
    assert bucket_from_stream(stream) == bucket
