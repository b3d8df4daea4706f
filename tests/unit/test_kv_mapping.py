"""The KV <-> JetStream mapping: names, keys, filters, headers, TTLs, timestamps, stream config."""

from __future__ import annotations

import json
import pickle
import timeit
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from natskv.errors import (
    BadBucketError,
    InvalidBucketNameError,
    InvalidConfigError,
    InvalidKeyError,
    InvalidRevisionError,
)
from natskv.kv._config import (
    KVConfig,
    KVSource,
    Placement,
    RePublish,
    StorageType,
    SubjectTransform,
)
from natskv.kv._entry import KVEntry, KVOperation
from natskv.kv._mapping import (
    EXPECTED_LAST_SUBJECT_SEQUENCE,
    KV_OPERATION,
    MARKER_REASON,
    MAX_BUCKET_NAME,
    MAX_CONTROL_LINE,
    MAX_HISTORY,
    NATS_ROLLUP,
    NATS_TTL,
    ROLLUP_SUBJECT,
    bucket_from_stream,
    datetime_from_unix_nanos,
    format_ttl,
    is_kv_stream,
    key_subject,
    kv_config_from_stream,
    max_key_length,
    operation_from_headers,
    parse_timestamp,
    parse_wrong_last_sequence,
    stream_config,
    stream_name,
    strip_reserved_metadata,
    subject_prefix,
    validate_bucket_name,
    validate_key,
    validate_key_filter,
    validate_revision,
)

UTC = timezone.utc

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------


def test_constants() -> None:
    assert KV_OPERATION == "KV-Operation"
    assert NATS_ROLLUP == "Nats-Rollup"
    assert ROLLUP_SUBJECT == "sub"
    assert EXPECTED_LAST_SUBJECT_SEQUENCE == "Nats-Expected-Last-Subject-Sequence"
    assert NATS_TTL == "Nats-TTL"
    assert MARKER_REASON == "Nats-Marker-Reason"
    assert MAX_HISTORY == 64
    assert MAX_BUCKET_NAME == 252


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


# --------------------------------------------------------------------------------------------
# Operations, errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "op"),
    [
        (None, KVOperation.PUT),
        ({}, KVOperation.PUT),
        ({"Nats-Sequence": "3"}, KVOperation.PUT),
        ({"KV-Operation": "DEL"}, KVOperation.DEL),
        ({"KV-Operation": "PURGE", "Nats-Rollup": "sub"}, KVOperation.PURGE),
        ({"KV-Operation": "bogus"}, KVOperation.PUT),
        ({"Nats-Marker-Reason": "MaxAge", "Nats-TTL": "15m0s"}, KVOperation.PURGE),
        ({"Nats-Marker-Reason": "Purge"}, KVOperation.PURGE),
        ({"Nats-Marker-Reason": "Remove"}, KVOperation.DEL),
        ({"Nats-Marker-Reason": "Other"}, KVOperation.PUT),
        ({"KV-Operation": "DEL", "Nats-Marker-Reason": "MaxAge"}, KVOperation.DEL),
        ({"KV-Operation": "bogus", "Nats-Marker-Reason": "MaxAge"}, KVOperation.PURGE),
    ],
)
def test_operation_from_headers(headers: dict[str, str] | None, op: KVOperation) -> None:
    assert operation_from_headers(headers) is op


@pytest.mark.parametrize(
    ("description", "seq"),
    [
        ("wrong last sequence: 7", 7),
        ("wrong last sequence: 0", 0),
        ("wrong last sequence: 123456789012", 123456789012),
        ("wrong last sequence", None),
        ("stream not found", None),
        ("", None),
    ],
)
def test_parse_wrong_last_sequence(description: str, seq: int | None) -> None:
    assert parse_wrong_last_sequence(description) == seq


# --------------------------------------------------------------------------------------------
# TTL header
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "header"),
    [
        ("never", "never"),
        ("NEVER", "never"),
        (" Never ", "never"),
        (1, "1s"),
        (90, "90s"),
        (3600.0, "3600s"),
        (timedelta(seconds=1), "1s"),
        (timedelta(minutes=15), "900s"),
        (timedelta(days=2), "172800s"),
    ],
)
def test_format_ttl(ttl: Any, header: str) -> None:
    assert format_ttl(ttl) == header


@pytest.mark.parametrize(
    ("ttl", "reason"),
    [
        (0, "at least 1 second"),
        (-5, "at least 1 second"),
        (timedelta(0), "at least 1 second"),
        (timedelta(milliseconds=500), "whole-second"),
        (timedelta(seconds=1, milliseconds=500), "whole-second"),
        (1.5, "whole-second"),
        (0.5, "whole-second"),
        (float("nan"), "whole-second"),
        ("10s", "'never'"),
        ("", "'never'"),
        (True, "'never'"),
        (None, "'never'"),
    ],
)
def test_format_ttl_rejects(ttl: Any, reason: str) -> None:
    with pytest.raises(InvalidConfigError, match=reason):
        format_ttl(ttl)


# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T12:34:56.123456789Z", datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)),
        ("2024-05-01T12:34:56.123456Z", datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)),
        ("2024-05-01T12:34:56.1234Z", datetime(2024, 5, 1, 12, 34, 56, 123400, UTC)),
        ("2024-05-01T12:34:56.1Z", datetime(2024, 5, 1, 12, 34, 56, 100000, UTC)),
        ("2024-05-01T12:34:56.999999999Z", datetime(2024, 5, 1, 12, 34, 56, 999999, UTC)),
        ("2024-05-01T12:34:56Z", datetime(2024, 5, 1, 12, 34, 56, 0, UTC)),
        ("2024-05-01t12:34:56z", datetime(2024, 5, 1, 12, 34, 56, 0, UTC)),
        ("2024-05-01T12:34:56.5+02:00", datetime(2024, 5, 1, 10, 34, 56, 500000, UTC)),
        ("2024-05-01T00:30:00-01:30", datetime(2024, 5, 1, 2, 0, 0, 0, UTC)),
        ("2024-05-01T12:34:56.123456789+00:00", datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)),
        # Go's time.String(), sent by servers before 2.9
        ("2024-05-01 12:34:56.123456789 +0000 UTC", datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)),
        ("2024-05-01 12:34:56 +0000 UTC", datetime(2024, 5, 1, 12, 34, 56, 0, UTC)),
        ("2024-05-01 14:34:56.5 +0200 CEST", datetime(2024, 5, 1, 12, 34, 56, 500000, UTC)),
        ("2024-05-01 12:34:56.1 +0000 UTC m=+0.1", datetime(2024, 5, 1, 12, 34, 56, 100000, UTC)),
    ],
)  # fmt: skip
def test_parse_timestamp(value: str, expected: datetime) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "2024-05-01",
        "2024-05-01T12:34:56",  # no zone
        "2024-05-01T12:34:56.Z",
        "2024-05-01T12:34:5aZ",
        "2024-13-01T12:34:56Z",
        "2024-02-30T12:34:56Z",
        "2024-05-01T12:34:56.1234567890Z",
        "2024-05-01 12:34:56 UTC",
    ],
)
def test_parse_timestamp_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="invalid timestamp"):
        parse_timestamp(value)


def test_datetime_from_unix_nanos() -> None:
    assert datetime_from_unix_nanos(0) == datetime(1970, 1, 1, tzinfo=UTC)
    got = datetime_from_unix_nanos(1714566896123456789)
    assert got == datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)
    assert got.tzinfo is UTC


# --------------------------------------------------------------------------------------------
# Stream config
# --------------------------------------------------------------------------------------------

# The body nats.go sends (wire reference 4.2), verbatim.
NATS_GO_EXAMPLE = json.loads(
    """
{
  "name": "KV_CONFIG",
  "subjects": ["$KV.CONFIG.>"],
  "retention": "limits",
  "max_consumers": -1,
  "max_msgs": -1,
  "max_bytes": -1,
  "discard": "new",
  "max_age": 3600000000000,
  "max_msgs_per_subject": 5,
  "max_msg_size": -1,
  "storage": "file",
  "num_replicas": 1,
  "duplicate_window": 120000000000,
  "deny_delete": true,
  "allow_rollup_hdrs": true,
  "compression": "s2",
  "allow_direct": true,
  "mirror_direct": false,
  "consumer_limits": {},
  "allow_msg_ttl": true,
  "subject_delete_marker_ttl": 900000000000
}
"""
)

EXAMPLE = KVConfig(
    bucket="CONFIG",
    history=5,
    ttl=timedelta(hours=1),
    compression=True,
    limit_marker_ttl=timedelta(minutes=15),
)


def test_stream_config_matches_nats_go_example() -> None:
    expected = dict(NATS_GO_EXAMPLE)
    # An artefact of Go's omitempty on a struct value; empty means server defaults.
    del expected["consumer_limits"]
    # Sent explicitly, as NATS.Net does: purges and limit markers need it false.
    expected["deny_purge"] = False
    got = stream_config(EXAMPLE, api_level=1)
    assert got == expected
    assert got["retention"] == "limits"
    assert got["deny_purge"] is False
    json.dumps(got)  # JSON-ready


def test_stream_config_defaults() -> None:
    got = stream_config(KVConfig(bucket="b"))
    assert got == {
        "name": "KV_b",
        "subjects": ["$KV.b.>"],
        "retention": "limits",
        "max_consumers": -1,
        "max_msgs": -1,
        "max_bytes": -1,
        "discard": "new",
        "max_age": 0,
        "max_msgs_per_subject": 1,
        "max_msg_size": -1,
        "storage": "file",
        "num_replicas": 1,
        "duplicate_window": 120_000_000_000,
        "deny_delete": True,
        "deny_purge": False,
        "allow_rollup_hdrs": True,
        "compression": "none",
        "allow_direct": True,
        "mirror_direct": False,
    }


@pytest.mark.parametrize(
    ("ttl", "max_age", "window"),
    [
        (None, 0, 120_000_000_000),
        (timedelta(seconds=30), 30_000_000_000, 30_000_000_000),
        (timedelta(milliseconds=100), 100_000_000, 100_000_000),
        (timedelta(minutes=2), 120_000_000_000, 120_000_000_000),
        (timedelta(hours=1), 3_600_000_000_000, 120_000_000_000),
        (1.5, 1_500_000_000, 1_500_000_000),
    ],
)
def test_duplicate_window(ttl: Any, max_age: int, window: int) -> None:
    got = stream_config(KVConfig(bucket="b", ttl=ttl))
    assert got["max_age"] == max_age
    assert got["duplicate_window"] == window


def test_stream_config_passthrough_fields() -> None:
    cfg = KVConfig(
        bucket="b",
        description="the b bucket",
        max_value_size=1024,
        max_bytes=1 << 20,
        storage="memory",
        replicas=3,
        placement=Placement(cluster="east", tags=["ssd", "fast"]),
        republish=RePublish("repub.>", source="$KV.b.>", headers_only=True),
        metadata={"owner": "team-a"},
    )
    got = stream_config(cfg)
    assert got["description"] == "the b bucket"
    assert got["max_msg_size"] == 1024
    assert got["max_bytes"] == 1 << 20
    assert got["storage"] == "memory"
    assert got["num_replicas"] == 3
    assert got["placement"] == {"cluster": "east", "tags": ["ssd", "fast"]}
    assert got["republish"] == {"src": "$KV.b.>", "dest": "repub.>", "headers_only": True}
    assert got["metadata"] == {"owner": "team-a"}
    assert "allow_msg_ttl" not in got
    assert "subject_delete_marker_ttl" not in got
    json.dumps(got)


def test_stream_config_republish_defaults() -> None:
    got = stream_config(KVConfig(bucket="b", republish=RePublish("out.>")))
    assert got["republish"] == {"src": ">", "dest": "out.>"}


@pytest.mark.parametrize("origin", ["origin", "KV_origin"])
def test_stream_config_mirror(origin: str) -> None:
    got = stream_config(KVConfig(bucket="m", mirror=KVSource(origin)))
    assert "subjects" not in got
    assert got["mirror"] == {"name": "KV_origin"}
    assert got["mirror_direct"] is True
    assert "sources" not in got


def test_stream_config_mirror_external() -> None:
    by_domain = stream_config(KVConfig(bucket="m", mirror=KVSource("origin", domain="hub")))
    assert by_domain["mirror"] == {"name": "KV_origin", "external": {"api": "$JS.hub.API"}}
    by_prefix = stream_config(
        KVConfig(
            bucket="m",
            mirror=KVSource(
                "origin",
                api_prefix="$JS.acc.API",
                deliver_prefix="deliver.acc",
                start_seq=10,
                filter_subject="$KV.origin.prefs.>",
            ),
        )
    )
    assert by_prefix["mirror"] == {
        "name": "KV_origin",
        "opt_start_seq": 10,
        "filter_subject": "$KV.origin.prefs.>",
        "external": {"api": "$JS.acc.API", "deliver": "deliver.acc"},
    }


def test_stream_config_mirror_start_time() -> None:
    start = datetime(2024, 5, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    got = stream_config(KVConfig(bucket="m", mirror=KVSource("o", start_time=start)))
    assert got["mirror"]["opt_start_time"] == "2024-05-01T12:00:00.000005Z"


def test_stream_config_sources() -> None:
    got = stream_config(
        KVConfig(
            bucket="agg", sources=[KVSource("a"), KVSource("KV_b"), KVSource("c", domain="leaf")]
        )
    )
    assert got["subjects"] == ["$KV.agg.>"]
    assert got["mirror_direct"] is False
    assert "mirror" not in got
    assert got["sources"] == [
        {"name": "KV_a", "subject_transforms": [{"src": "$KV.a.>", "dest": "$KV.agg.>"}]},
        {"name": "KV_b", "subject_transforms": [{"src": "$KV.b.>", "dest": "$KV.agg.>"}]},
        {
            "name": "KV_c",
            "subject_transforms": [{"src": "$KV.c.>", "dest": "$KV.agg.>"}],
            "external": {"api": "$JS.leaf.API"},
        },
    ]


def test_stream_config_sources_user_transforms_verbatim() -> None:
    tr = SubjectTransform(src="orders.>", dest="$KV.agg.orders.>")
    got = stream_config(
        KVConfig(bucket="agg", sources=[KVSource("ORDERS", subject_transforms=[tr])])
    )
    assert got["sources"] == [
        {"name": "ORDERS", "subject_transforms": [{"src": "orders.>", "dest": "$KV.agg.orders.>"}]}
    ]


def test_stream_config_source_same_bucket_external_has_no_transform() -> None:
    # nats.go: an external source of a same-named bucket already has the right subjects.
    got = stream_config(KVConfig(bucket="b", sources=[KVSource("b", domain="hub")]))
    assert got["sources"] == [{"name": "KV_b", "external": {"api": "$JS.hub.API"}}]


def test_stream_config_source_filter_becomes_transform() -> None:
    got = stream_config(
        KVConfig(bucket="agg", sources=[KVSource("a", filter_subject="$KV.a.users.*")])
    )
    # the server allows no '*' in a transform destination: it becomes {{wildcard(n)}}
    assert got["sources"] == [
        {
            "name": "KV_a",
            "subject_transforms": [
                {"src": "$KV.a.users.*", "dest": "$KV.agg.users.{{wildcard(1)}}"}
            ],
        }
    ]
    got = stream_config(
        KVConfig(bucket="agg", sources=[KVSource("a", filter_subject="$KV.a.*.x.*.>")])
    )
    assert got["sources"][0]["subject_transforms"] == [
        {"src": "$KV.a.*.x.*.>", "dest": "$KV.agg.{{wildcard(1)}}.x.{{wildcard(2)}}.>"}
    ]
    with pytest.raises(InvalidConfigError, match="filter_subject"):
        stream_config(KVConfig(bucket="agg", sources=[KVSource("a", filter_subject="users.>")]))


def test_limit_marker_ttl_needs_api_level_1() -> None:
    with pytest.raises(InvalidConfigError, match=r"2\.11 or newer"):
        stream_config(EXAMPLE)
    with pytest.raises(InvalidConfigError, match=r"2\.11 or newer"):
        stream_config(EXAMPLE, api_level=0)
    got = stream_config(EXAMPLE, api_level=2)
    assert got["allow_msg_ttl"] is True
    assert got["subject_delete_marker_ttl"] == 900_000_000_000


ROUND_TRIP = [
    KVConfig(bucket="b"),
    EXAMPLE,
    KVConfig(bucket="b", ttl=30, history=64, storage="memory", replicas=3, max_bytes=10_000),
    KVConfig(
        bucket="b",
        description="desc",
        max_value_size=512,
        placement=Placement(cluster="c1", tags=("a", "b")),
        republish=RePublish("out.>", headers_only=True),
        metadata={"a": "1", "b": "2"},
        compression=True,
    ),
    KVConfig(bucket="m", mirror=KVSource("origin")),
    KVConfig(bucket="m", mirror=KVSource("origin", domain="hub", start_seq=5)),
    KVConfig(
        bucket="m",
        mirror=KVSource(
            "origin",
            api_prefix="$JS.x.API",
            deliver_prefix="dlv",
            start_time=datetime(2024, 1, 2, 3, 4, 5, 6, UTC),
            filter_subject="$KV.origin.a.>",
        ),
    ),
    KVConfig(
        bucket="agg",
        sources=(
            KVSource("a"),
            KVSource("b", domain="leaf"),
            KVSource("c", filter_subject="$KV.c.x.>"),
            KVSource("d", filter_subject="$KV.d.*.y.*"),
            KVSource("ORDERS", subject_transforms=[SubjectTransform("o.>", "$KV.agg.o.>")]),
            KVSource("agg", api_prefix="JS.other.API"),
        ),
    ),
    KVConfig(bucket="b", ttl=timedelta(hours=1), limit_marker_ttl=timedelta(seconds=1)),
]


@pytest.mark.parametrize("config", ROUND_TRIP, ids=lambda c: c.bucket)
def test_round_trip(config: KVConfig) -> None:
    scfg = stream_config(config, api_level=1)
    assert is_kv_stream(scfg)
    back = kv_config_from_stream(scfg)
    assert back == config
    # and through JSON, as the server echoes it
    assert kv_config_from_stream(json.loads(json.dumps(scfg))) == config


def test_round_trip_canonicalises_kv_prefixed_names() -> None:
    config = KVConfig(bucket="agg", sources=[KVSource("KV_a")])
    assert kv_config_from_stream(stream_config(config)).sources == (KVSource("a"),)


def test_kv_config_from_server_echo() -> None:
    # What STREAM.INFO returns: server defaults filled in, extra fields, reserved metadata.
    echoed = {
        **stream_config(EXAMPLE, api_level=1),
        "consumer_limits": {},
        "sealed": False,
        "deny_purge": False,
        "first_seq": 0,
        "metadata": {"_nats.ver": "2.11.0", "_nats.level": "1", "_nats.req.level": "1", "x": "y"},
    }
    got = kv_config_from_stream(echoed)
    assert got.metadata == {"x": "y"}
    assert got.history == 5
    assert got.ttl == timedelta(hours=1)
    assert got.limit_marker_ttl == timedelta(minutes=15)
    assert got.compression is True
    assert got.storage is StorageType.FILE

    only_reserved = {**echoed, "metadata": {"_nats.ver": "2.11.0"}}
    assert kv_config_from_stream(only_reserved).metadata is None


@pytest.mark.parametrize(
    "scfg",
    [
        {"name": "ORDERS", "max_msgs_per_subject": 1},
        {"name": "KV_b", "subjects": ["$KV.b.>"], "max_msgs_per_subject": -1},
        {"name": "KV_b", "subjects": ["$KV.b.>"], "max_msgs_per_subject": 0},
        {"name": "KV_b", "subjects": ["$KV.b.>"], "max_msgs_per_subject": 1, "storage": "disk"},
    ],
)
def test_kv_config_from_stream_rejects_non_buckets(scfg: dict[str, Any]) -> None:
    with pytest.raises(BadBucketError):
        kv_config_from_stream(scfg)


@pytest.mark.parametrize(
    ("scfg", "ok"),
    [
        ({"name": "KV_b", "subjects": ["$KV.b.>"], "max_msgs_per_subject": 1}, True),
        ({"name": "KV_b", "subjects": ["$KV.b.>"], "max_msgs_per_subject": 64}, True),
        ({"name": "KV_m", "mirror": {"name": "KV_o"}, "max_msgs_per_subject": 1}, True),
        ({"name": "KV_b", "subjects": ["$KV.b.>"], "max_msgs_per_subject": 0}, False),
        ({"name": "KV_b", "subjects": ["$KV.b.>"], "max_msgs_per_subject": -1}, False),
        ({"name": "KV_b", "subjects": ["$KV.b.>"]}, False),
        ({"name": "KV_b", "subjects": ["$KV.other.>"], "max_msgs_per_subject": 1}, False),
        ({"name": "KV_b", "subjects": ["$KV.b.>", "x"], "max_msgs_per_subject": 1}, False),
        ({"name": "KV_m", "max_msgs_per_subject": 1}, False),
        ({"name": "ORDERS", "subjects": ["$KV.ORDERS.>"], "max_msgs_per_subject": 1}, False),
        ({"subjects": ["$KV.b.>"], "max_msgs_per_subject": 1}, False),
    ],
)
def test_is_kv_stream(scfg: dict[str, Any], ok: bool) -> None:
    assert is_kv_stream(scfg) is ok


def test_strip_reserved_metadata() -> None:
    assert strip_reserved_metadata(None) == {}
    assert strip_reserved_metadata({"_nats.ver": "2.11", "a": "1", "_natsx": "2"}) == {
        "a": "1",
        "_natsx": "2",
    }


# --------------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------------

CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_entry_fields_repr_eq() -> None:
    e: KVEntry[bytes] = KVEntry("b", "k", b"v", 3, CREATED, 0, KVOperation.PUT, b"v")
    assert (e.bucket, e.key, e.value, e.revision, e.created, e.delta, e.operation, e.raw) == (
        "b", "k", b"v", 3, CREATED, 0, KVOperation.PUT, b"v",
    )  # fmt: skip
    assert repr(e) == "KVEntry(bucket='b', key='k', revision=3, operation=PUT, value=b'v')"
    assert e == KVEntry("b", "k", b"v", 3, CREATED, 0, KVOperation.PUT, b"v")
    assert e != KVEntry("b", "k", b"v", 4, CREATED, 0, KVOperation.PUT, b"v")
    assert e != KVEntry("b", "k", b"w", 3, CREATED, 0, KVOperation.PUT, b"v")
    assert e != "not an entry"
    assert hash(e) == hash(KVEntry("b", "k", {"unhashable": 1}, 3, CREATED))
    assert pickle.loads(pickle.dumps(e)) == e
    assert not hasattr(e, "__dict__")
    marker = KVEntry[None]("b", "k", None, 9, CREATED, operation=KVOperation.DEL)
    assert marker.raw == b""
    assert repr(marker).endswith("operation=DEL, value=None)")
    assert str(KVOperation.PURGE) == "PURGE"


def test_entry_construction_is_fast() -> None:
    def make() -> None:
        KVEntry("b", "k", b"v", 3, CREATED, 0, KVOperation.PUT, b"v")

    best = min(timeit.repeat(make, number=10_000, repeat=5)) / 10_000
    assert best < 1e-6, f"KVEntry construction took {best * 1e9:.0f} ns"
