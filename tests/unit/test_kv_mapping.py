"""The bucket config <-> stream config mapping (``kv/_mapping.py``), and the constants it
re-exports. (Names and keys: ``test_kv_names.py``; headers, TTLs, timestamps:
``test_kv_headers.py``.)"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from natskv.errors import BadBucketError, InvalidConfigError
from natskv.kv._config import (
    KVConfig,
    KVSource,
    Placement,
    RePublish,
    StorageType,
    SubjectTransform,
)
from natskv.kv._mapping import (
    EXPECTED_LAST_SUBJECT_SEQUENCE,
    KV_OPERATION,
    MARKER_REASON,
    MAX_BUCKET_NAME,
    MAX_HISTORY,
    NATS_ROLLUP,
    NATS_TTL,
    ROLLUP_SUBJECT,
    is_kv_stream,
    kv_config_from_stream,
    stream_config,
    strip_reserved_metadata,
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
