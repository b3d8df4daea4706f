"""``KVContext``: create, open, update, list and delete buckets (NATS.Net's ``NatsKVContext``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from natskv.errors import (
    BadBucketError,
    BucketExistsError,
    BucketNotFoundError,
    StreamNameInUseError,
)
from natskv.jetstream import JetStream, StreamInfo
from natskv.kv._codecs import DEFAULT_CODECS, CodecRegistry
from natskv.kv._config import KVConfig
from natskv.kv._errors import translate
from natskv.kv._mapping import (
    is_kv_stream,
    stream_config,
    stream_name,
    strip_reserved_metadata,
    validate_bucket_name,
)
from natskv.kv._status import KVStatus
from natskv.kv._store import KVStore

__all__ = ["KVContext"]

# Legacy buckets may differ in these; nats.go repairs them with an update.
_REPAIRABLE = frozenset({"discard", "allow_direct"})
# Filled in or managed by the server; never a reason to refuse a bucket.
_SERVER_MANAGED = frozenset({"sealed", "first_seq", "consumer_limits", "template_owner"})
_UNSET: tuple[Any, ...] = (None, False, 0, -1, "", "none", {}, [])


def _keep_irreversible(body: dict[str, Any], current: dict[str, Any]) -> None:
    """Keep what the server refuses to switch off (error 10052 otherwise)."""
    if current.get("allow_msg_ttl") and not body.get("allow_msg_ttl"):
        body["allow_msg_ttl"] = True


def _differences(body: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Fields where an existing stream's config differs from the one natskv would send."""
    differs = []
    for key in sorted(set(body) | set(current)):
        if key in _REPAIRABLE or key in _SERVER_MANAGED:
            continue
        want, have = body.get(key), current.get(key)
        if key == "metadata":
            want, have = strip_reserved_metadata(want), strip_reserved_metadata(have)
        if want == have or (want in _UNSET and have in _UNSET):
            continue
        differs.append(key)
    return differs


class KVContext:
    """Key/Value buckets over a :class:`natskv.JetStream` context.

    ``codecs`` is the default codec registry of every store opened through this context.
    """

    def __init__(self, js: JetStream, *, codecs: CodecRegistry | None = None) -> None:
        self.js = js
        self.codecs: CodecRegistry = codecs or DEFAULT_CODECS

    def _store(self, bucket: str, info: StreamInfo, codecs: CodecRegistry | None) -> KVStore:
        return KVStore(self.js, bucket, stream_config=info.config, codecs=codecs or self.codecs)

    async def _stream_config(self, config: KVConfig) -> dict[str, Any]:
        level = await self.js.api_level() if config.limit_marker_ttl else 0
        return stream_config(config, api_level=level)

    @staticmethod
    def _as_config(name_or_config: str | KVConfig) -> KVConfig:
        if isinstance(name_or_config, KVConfig):
            return name_or_config
        return KVConfig(bucket=name_or_config)

    async def create_store(
        self, name_or_config: str | KVConfig, *, codecs: CodecRegistry | None = None
    ) -> KVStore:
        """Create a bucket (a name, or a :class:`KVConfig`) and return its store.

        Creating a bucket that exists with the same configuration returns it; a different
        configuration raises :class:`BucketExistsError`.
        """
        config = self._as_config(name_or_config)
        body = await self._stream_config(config)
        try:
            info = await self.js.create_stream(body)
        except StreamNameInUseError as exc:
            info = await self._repair_legacy(config, body, exc)
        return self._store(config.bucket, info, codecs)

    async def _repair_legacy(
        self, config: KVConfig, body: dict[str, Any], conflict: StreamNameInUseError
    ) -> StreamInfo:
        with translate(config.bucket):  # it may be deleted in between
            current = await self.js.stream_info(body["name"])
            _keep_irreversible(body, current.config)
            differs = _differences(body, current.config)
            if differs:
                detail = "differs in " + ", ".join(differs)
                raise BucketExistsError(config.bucket, detail) from conflict
            return await self.js.update_stream(body)

    async def update_store(
        self, name_or_config: str | KVConfig, *, codecs: CodecRegistry | None = None
    ) -> KVStore:
        """Change an existing bucket's configuration (a name: the default configuration);
        raises :class:`BucketNotFoundError`.

        Settings the server cannot turn off once on (per-message TTL, which nats-py
        enables on every bucket it creates) are kept.
        """
        config = self._as_config(name_or_config)
        body = await self._stream_config(config)
        with translate(config.bucket):
            current = await self.js.stream_info(body["name"])
            _keep_irreversible(body, current.config)
            info = await self.js.update_stream(body)
        return self._store(config.bucket, info, codecs)

    async def create_or_update_store(
        self, name_or_config: str | KVConfig, *, codecs: CodecRegistry | None = None
    ) -> KVStore:
        """Update the bucket if it exists, else create it (a name or a :class:`KVConfig`)."""
        config = self._as_config(name_or_config)
        try:
            return await self.update_store(config, codecs=codecs)
        except BucketNotFoundError:
            return await self.create_store(config, codecs=codecs)

    async def get_store(self, bucket: str, *, codecs: CodecRegistry | None = None) -> KVStore:
        """Open an existing bucket (:class:`BucketNotFoundError`, :class:`BadBucketError`)."""
        validate_bucket_name(bucket)
        with translate(bucket):
            info = await self.js.stream_info(stream_name(bucket))
        if not is_kv_stream(info.config):
            raise BadBucketError(bucket, "its stream is not configured as a key-value bucket")
        return self._store(bucket, info, codecs)

    async def delete_store(self, bucket: str) -> bool:
        """Delete a bucket and all its data; raises :class:`BucketNotFoundError`."""
        validate_bucket_name(bucket)
        with translate(bucket):
            return await self.js.delete_stream(stream_name(bucket))

    async def store_names(self) -> AsyncIterator[str]:
        """The name of every bucket, mirrors included (paged on the server)."""
        async for info in self._kv_streams():
            yield info.config["name"][3:]

    async def store_statuses(self) -> AsyncIterator[KVStatus]:
        """The status of every bucket, mirrors included (paged on the server)."""
        async for info in self._kv_streams():
            yield KVStatus.from_stream_info(info)

    async def _kv_streams(self) -> AsyncIterator[StreamInfo]:
        async for info in self.js.streams():
            name = str(info.config.get("name", ""))
            if name.startswith("KV_") and is_kv_stream(info.config):
                yield info
