"""create_store on an existing stream: repair legacy buckets, never silently drop settings."""

from __future__ import annotations

from typing import Any

import pytest

import natskv


def _legacy(bucket: str, **extra: Any) -> dict[str, Any]:
    # What an old client created: KV-shaped, but discard old and no direct get.
    return {
        "name": f"KV_{bucket}",
        "subjects": [f"$KV.{bucket}.>"],
        "max_msgs_per_subject": 1,
        "discard": "old",
        "allow_direct": False,
        "allow_rollup_hdrs": True,
        "deny_delete": True,
        "storage": "memory",
        **extra,
    }


async def test_create_store_repairs_a_legacy_bucket(
    js: natskv.JetStream, kv: natskv.KVContext, bucket_name: str
) -> None:
    await js.create_stream(_legacy(bucket_name))
    try:
        await kv.create_store(natskv.KVConfig(bucket=bucket_name, storage="memory"))
        info = await js.stream_info(f"KV_{bucket_name}")
        assert info.config["allow_direct"] is True
        assert info.config["discard"] == "new"
    finally:
        await js.delete_stream(f"KV_{bucket_name}")


async def test_create_store_refuses_a_bucket_with_other_settings(
    js: natskv.JetStream, kv: natskv.KVContext, bucket_name: str
) -> None:
    await js.create_stream(_legacy(bucket_name, description="keep me"))
    try:
        with pytest.raises(natskv.BucketExistsError, match="description"):
            await kv.create_store(natskv.KVConfig(bucket=bucket_name, storage="memory"))
        info = await js.stream_info(f"KV_{bucket_name}")
        assert info.config["description"] == "keep me"
    finally:
        await js.delete_stream(f"KV_{bucket_name}")


async def test_update_store_keeps_per_message_ttl_once_enabled(
    js: natskv.JetStream, kv: natskv.KVContext, bucket_name: str
) -> None:
    await js.create_stream(
        _legacy(bucket_name, discard="new", allow_direct=True, allow_msg_ttl=True)
    )
    try:
        store = await kv.update_store(
            natskv.KVConfig(bucket=bucket_name, history=3, storage="memory")
        )
        status = await store.status()
        assert status.history == 3
        info = await js.stream_info(f"KV_{bucket_name}")
        assert info.config["allow_msg_ttl"] is True
    finally:
        await js.delete_stream(f"KV_{bucket_name}")


async def test_update_store_of_a_missing_bucket(kv: natskv.KVContext, bucket_name: str) -> None:
    with pytest.raises(natskv.BucketNotFoundError):
        await kv.update_store(natskv.KVConfig(bucket=bucket_name))
