"""The ``kv info`` screen (natskv.cli._screen_info), also printed by ``kv add`` and ``kv edit``."""

from __future__ import annotations

from datetime import datetime, timedelta

from natskv.cli import format as fmt
from natskv.cli.format import ClusterInfo, ReplicaInfo, RepublishInfo, SourceInfo, StatusView

CREATED = datetime(2023, 10, 12, 15, 29, 40)  # naive = local, so tests are TZ independent

# the sample in kv-wire.md 6.4
STATUS_SAMPLE = """\
Information for Key-Value Store Bucket SHOP_ORDERS created 2023-10-12 15:29:40

Configuration:

            Bucket Name: SHOP_ORDERS
           History Kept: 1
          Values Stored: 0
             Compressed: false
  Per-Key TTL Supported: false
     Backing Store Kind: JetStream
            Bucket Size: 0 B
    Maximum Bucket Size: unlimited
     Maximum Value Size: unlimited
            Maximum Age: unlimited
       JetStream Stream: KV_SHOP_ORDERS
                Storage: File
"""


def _fresh_status(**overrides: object) -> StatusView:
    base: dict[str, object] = {
        "bucket": "SHOP_ORDERS",
        "created": CREATED,
        "history": 1,
        "values": 0,
        "stream_name": "KV_SHOP_ORDERS",
    }
    base.update(overrides)
    return StatusView(**base)  # type: ignore[arg-type]


def test_status_text_reproduces_sample_exactly() -> None:
    assert fmt.status_text(_fresh_status()) == STATUS_SAMPLE


def test_status_text_full_configuration_rows() -> None:
    status = _fresh_status(
        history=44,
        values=1234,
        compressed=True,
        limit_marker_ttl=timedelta(seconds=1),
        description="This is a new description",
        bucket_size=2048,
        max_bucket_size=44,
        max_value_size=1024,
        max_age_seconds=44.0,
        storage="Memory",
        republish=RepublishInfo("$KV.>", "repub.>", headers_only=True),
    )
    assert fmt.status_text(status) == (
        "Information for Key-Value Store Bucket SHOP_ORDERS created 2023-10-12 15:29:40\n"
        "\n"
        "Configuration:\n"
        "\n"
        "            Bucket Name: SHOP_ORDERS\n"
        "           History Kept: 44\n"
        "          Values Stored: 1,234\n"
        "             Compressed: true\n"
        "  Per-Key TTL Supported: true\n"
        "       Limit Marker TTL: 1.00s\n"
        "     Backing Store Kind: JetStream\n"
        "            Description: This is a new description\n"
        "            Bucket Size: 2.0 KiB\n"
        "    Maximum Bucket Size: 44 B\n"
        "     Maximum Value Size: 1.0 KiB\n"
        "            Maximum Age: 44.00s\n"
        "       JetStream Stream: KV_SHOP_ORDERS\n"
        "                Storage: Memory\n"
        "   Republishing Headers: $KV.> to repub.>\n"
    )


def test_status_text_optional_sections() -> None:
    status = _fresh_status(
        mirror=SourceInfo("KV_ORIGIN", external_api="$JS.hub.API", active=1.5, lag=2000),
        sources=(SourceInfo("KV_S1", active=None, lag=0),),
        metadata={"_nats.req.level": "1", "team": "ops", "a_very_long_metadata_key": "x"},
        cluster=ClusterInfo(
            name="C1",
            leader="n1",
            replicas=(
                ReplicaInfo("n2", current=True, active=0.001, lag=0),
                ReplicaInfo("n3", current=False, offline=True, active=None, lag=1),
                ReplicaInfo("n4", current=True, active=2.0, lag=1500),
            ),
        ),
    )
    expected_tail = (
        "\n"
        "Mirror Information:\n"
        "\n"
        "             Origin Bucket: ORIGIN\n"
        "              External API: $JS.hub.API\n"
        "                 Last Seen: 1.50s\n"
        "                       Lag: 2,000\n"
        "\n"
        "Sources Information:\n"
        "\n"
        "             Source Bucket: S1\n"
        "                 Last Seen: never\n"
        "                       Lag: 0\n"
        "\n"
        "Metadata:\n"
        "\n"
        "  a_very_long_metadata_key: x\n"
        "                      team: ops\n"
        "\n"
        "Cluster Information:\n"
        "\n"
        "                      Name: C1\n"
        "                    Leader: n1\n"
        "                   Replica: n2, current, seen 1ms ago\n"
        "                   Replica: n3, outdated, OFFLINE, not seen, 1 operation behind\n"
        "                   Replica: n4, current, seen 2.00s ago, 1,500 operations behind\n"
    )
    out = fmt.status_text(status)
    assert out.endswith(expected_tail)
    # every label is right-aligned to the longest one (the metadata key) + 2
    assert "\n                Storage: File\n" not in out
    assert "\n                   Storage: File\n" in out


def test_status_text_single_server_cluster_has_empty_name_row() -> None:
    out = fmt.status_text(_fresh_status(cluster=ClusterInfo(leader="NABC")))
    assert out.endswith(
        "\nCluster Information:\n\n                   Name: \n                 Leader: NABC\n"
    )


def test_status_text_shortens_long_metadata_values() -> None:
    value = "a" * 30 + "-" * 30 + "z" * 30
    out = fmt.status_text(_fresh_status(metadata={"k": value}))
    assert out.endswith(": " + "a" * 30 + " ... " + "z" * 30 + "\n")
    wide = fmt.status_text(_fresh_status(metadata={"k": value}), screen_width=200)
    assert wide.endswith(": " + value + "\n")


def test_status_text_non_jetstream_backing_store_shows_only_basics() -> None:
    out = fmt.status_text(_fresh_status(backing_store="Other", description="hidden"))
    assert out.startswith("Information for Key-Value Store Bucket SHOP_ORDERS\n\n")
    assert out.endswith("     Backing Store Kind: Other\n")
    assert "Description" not in out
