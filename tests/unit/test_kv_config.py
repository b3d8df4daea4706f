"""KVConfig and friends: normalisation and validation at construction."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from natskv.errors import InvalidBucketNameError, InvalidConfigError
from natskv.kv._config import (
    KVConfig,
    KVSource,
    Placement,
    RePublish,
    StorageType,
    SubjectTransform,
)


def test_defaults() -> None:
    c = KVConfig("b")
    assert c.bucket == "b"
    assert c.description == ""
    assert c.max_value_size == -1
    assert c.history == 1
    assert c.ttl is None
    assert c.max_bytes == -1
    assert c.storage is StorageType.FILE
    assert c.replicas == 1
    assert c.placement is None
    assert c.republish is None
    assert c.mirror is None
    assert c.sources == ()
    assert c.compression is False
    assert c.metadata is None
    assert c.limit_marker_ttl is None
    assert c.stream_name == "KV_b"


@pytest.mark.parametrize(
    ("kwargs", "attr", "expected"),
    [
        ({"storage": "memory"}, "storage", StorageType.MEMORY),
        ({"storage": "FILE"}, "storage", StorageType.FILE),
        ({"storage": StorageType.MEMORY}, "storage", StorageType.MEMORY),
        ({"ttl": 30}, "ttl", timedelta(seconds=30)),
        ({"ttl": 0.25}, "ttl", timedelta(milliseconds=250)),
        ({"ttl": 0}, "ttl", None),
        ({"ttl": timedelta(0)}, "ttl", None),
        ({"ttl": timedelta(hours=1)}, "ttl", timedelta(hours=1)),
        ({"limit_marker_ttl": 1}, "limit_marker_ttl", timedelta(seconds=1)),
        ({"limit_marker_ttl": 0}, "limit_marker_ttl", None),
        ({"limit_marker_ttl": timedelta(minutes=15)}, "limit_marker_ttl", timedelta(minutes=15)),
        ({"max_value_size": 0}, "max_value_size", -1),
        ({"max_bytes": 0}, "max_bytes", -1),
        ({"max_bytes": 1024}, "max_bytes", 1024),
        ({"sources": [KVSource("a")]}, "sources", (KVSource("a"),)),
        ({"sources": (s for s in [KVSource("a")])}, "sources", (KVSource("a"),)),
        ({"metadata": {}}, "metadata", None),
        ({"description": None}, "description", ""),
        ({"history": 64}, "history", 64),
        ({"replicas": 5}, "replicas", 5),
    ],
)
def test_normalisation(kwargs: dict[str, Any], attr: str, expected: Any) -> None:
    assert getattr(KVConfig("b", **kwargs), attr) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"history": 0}, "history must be between 1 and 64"),
        ({"history": 65}, "history must be between 1 and 64"),
        ({"history": -1}, "history must be between 1 and 64"),
        ({"history": True}, "history must be an int"),
        ({"history": 1.0}, "history must be an int"),
        ({"replicas": 0}, "replicas must be between 1 and 5"),
        ({"replicas": 6}, "replicas must be between 1 and 5"),
        ({"ttl": timedelta(milliseconds=99)}, "ttl must be 0"),
        ({"ttl": 0.05}, "ttl must be 0"),
        ({"ttl": -1}, "ttl must not be negative"),
        ({"ttl": float("inf")}, "ttl must be finite"),
        ({"ttl": "1h"}, "ttl must be a timedelta"),
        ({"limit_marker_ttl": 0.5}, "limit_marker_ttl must be 0"),
        ({"limit_marker_ttl": timedelta(milliseconds=999)}, "limit_marker_ttl must be 0"),
        ({"description": "x" * 4097}, "description must be at most 4096 bytes"),
        ({"description": "é" * 2049}, "description must be at most 4096 bytes"),
        ({"max_value_size": -2}, "max_value_size must be -1"),
        ({"max_bytes": -5}, "max_bytes must be -1"),
        ({"max_bytes": 1.5}, "max_bytes must be an int"),
        ({"storage": "disk"}, "storage must be 'file' or 'memory'"),
        ({"storage": 1}, "storage must be a StorageType"),
        ({"mirror": KVSource("o"), "sources": [KVSource("a")]}, "both a mirror and have sources"),
        ({"mirror": KVSource("o"), "limit_marker_ttl": 5}, "limit_marker_ttl cannot be used"),
        ({"mirror": "o"}, "mirror must be a KVSource"),
        ({"sources": KVSource("a")}, "sources must be a sequence"),
        ({"sources": ["a"]}, "sources must hold KVSource"),
        ({"placement": {"cluster": "c"}}, "placement must be a Placement"),
        ({"republish": "x"}, "republish must be a RePublish"),
        ({"compression": 1}, "compression must be a bool"),
        ({"metadata": {"_nats.ver": "1"}}, "reserved"),
        ({"metadata": {"a": 1}}, "metadata keys and values must be str"),
        ({"metadata": {"a": "x" * (128 * 1024)}}, "metadata must be at most"),
    ],
)
def test_invalid(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message) as info:
        KVConfig("b", **kwargs)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bucket", ["", "a.b", "a b", "x" * 253, None])
def test_invalid_bucket(bucket: Any) -> None:
    with pytest.raises(InvalidBucketNameError):
        KVConfig(bucket)


def test_equality_hash_and_immutability() -> None:
    a = KVConfig("b", ttl=30, metadata={"k": "v"}, sources=[KVSource("s")])
    b = KVConfig("b", ttl=timedelta(seconds=30), metadata={"k": "v"}, sources=(KVSource("s"),))
    assert a == b
    assert hash(a) == hash(b)
    assert a != KVConfig("b", ttl=30, metadata={"k": "other"}, sources=[KVSource("s")])
    assert len({a, b}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.history = 5  # type: ignore[misc]
    assert a.metadata is not None
    with pytest.raises(TypeError):
        a.metadata["k"] = "x"  # type: ignore[index]


def test_metadata_is_copied() -> None:
    md = {"k": "v"}
    c = KVConfig("b", metadata=md)
    md["k"] = "changed"
    assert c.metadata == {"k": "v"}


def test_replace_revalidates() -> None:
    c = KVConfig("b")
    assert dataclasses.replace(c, history=10).history == 10
    with pytest.raises(InvalidConfigError, match="history"):
        dataclasses.replace(c, history=100)


def test_storage_type_values() -> None:
    assert StorageType.FILE.value == "file"
    assert StorageType("memory") is StorageType.MEMORY
    assert str(StorageType.MEMORY) == "memory"


# --------------------------------------------------------------------------------------------
# Placement, RePublish, SubjectTransform, KVSource
# --------------------------------------------------------------------------------------------


def test_placement() -> None:
    assert Placement(cluster="c", tags=["a", "b"]).tags == ("a", "b")
    assert Placement() == Placement(None, ())
    with pytest.raises(InvalidConfigError, match="not a str"):
        Placement(tags="ssd")
    with pytest.raises(InvalidConfigError, match="cluster"):
        Placement(cluster="")
    with pytest.raises(InvalidConfigError, match="tags"):
        Placement(tags=["", "x"])


def test_republish() -> None:
    r = RePublish("out.>")
    assert (r.source, r.destination, r.headers_only) == (">", "out.>", False)
    with pytest.raises(InvalidConfigError, match="destination"):
        RePublish("")
    with pytest.raises(InvalidConfigError, match="source"):
        RePublish("out.>", source="a b")
    with pytest.raises(InvalidConfigError, match="headers_only"):
        RePublish("out.>", headers_only=1)  # type: ignore[arg-type]


def test_subject_transform() -> None:
    assert SubjectTransform("a.>", "b.>") == SubjectTransform(src="a.>", dest="b.>")
    with pytest.raises(InvalidConfigError):
        SubjectTransform("", "b")
    with pytest.raises(InvalidConfigError):
        SubjectTransform("a", "b c")


def test_kv_source_valid() -> None:
    s = KVSource(
        "KV_origin",
        domain="hub",
        start_seq=0,
        start_time=datetime(2024, 1, 1, tzinfo=timezone.utc),
    )
    assert s.start_seq is None
    assert s.subject_transforms == ()
    tr = KVSource("ORDERS", subject_transforms=[SubjectTransform("a", "b")])
    assert tr.subject_transforms == (SubjectTransform("a", "b"),)
    assert KVSource("o", api_prefix="$JS.x.API", deliver_prefix="d").deliver_prefix == "d"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": ""}, InvalidConfigError, "name must be a non-empty str"),
        ({"name": "a.b"}, InvalidBucketNameError, "KVSource.name"),
        ({"name": "KV_a b"}, InvalidBucketNameError, "KVSource.name"),
        (
            {"name": "A B", "subject_transforms": [SubjectTransform("a", "b")]},
            InvalidConfigError,
            "not a valid stream name",
        ),
        ({"name": "o", "domain": "a.b"}, InvalidConfigError, "domain"),
        ({"name": "o", "domain": "hub", "api_prefix": "$JS.x.API"}, InvalidConfigError, "not both"),
        ({"name": "o", "deliver_prefix": "d"}, InvalidConfigError, "needs api_prefix"),
        (
            {
                "name": "o",
                "filter_subject": "$KV.o.>",
                "subject_transforms": [SubjectTransform("a", "b")],
            },
            InvalidConfigError,
            "mutually exclusive",
        ),
        ({"name": "o", "filter_subject": ""}, InvalidConfigError, "filter_subject"),
        ({"name": "o", "start_seq": -1}, InvalidConfigError, "start_seq"),
        ({"name": "o", "start_seq": True}, InvalidConfigError, "start_seq"),
        ({"name": "o", "start_time": datetime(2024, 1, 1)}, InvalidConfigError, "timezone-aware"),
        ({"name": "o", "start_time": "2024-01-01"}, InvalidConfigError, "must be a datetime"),
        ({"name": "o", "subject_transforms": [("a", "b")]}, InvalidConfigError, "SubjectTransform"),
    ],
)
def test_kv_source_invalid(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        KVSource(**kwargs)


def test_kv_source_hashable() -> None:
    a = KVSource("o", subject_transforms=[SubjectTransform("a", "b")])
    b = KVSource("o", subject_transforms=(SubjectTransform("a", "b"),))
    assert a == b
    assert hash(a) == hash(b)
