"""The benchmark context: one connection per client library, bucket helpers, server stats."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import urllib.request
from typing import Any

import nats
from nats.aio.client import Client as NatsPyClient
from nats.js.api import KeyValueConfig, StorageType
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

import natskv
from benchmarks._common import (
    LARGE_VALUE_SIZE,
    NATSKV,
    NATSPY,
    NATSPY_MAX_PENDING,
    PIPELINE_WINDOW,
    RAW,
    RAW_MAX_PENDING,
    VALUE_SIZE,
    Sizes,
    log,
)
from benchmarks._raw import RawBucket, RawClient

_POPULATE_CHUNK = 20_000


def make_keys(n: int, prefix: str = "k") -> list[str]:
    return [f"{prefix}{i:07d}" for i in range(n)]


class Context:
    """Everything a benchmark needs: both clients connected to the same server."""

    def __init__(
        self,
        sizes: Sizes,
        loop: str,
        url: str,
        monitor_url: str | None,
        *,
        trace_memory: bool = True,
    ) -> None:
        self.sizes = sizes
        self.trace_memory = trace_memory  # run the (slow) tracemalloc pass of keys_big
        self.loop = loop
        self.url = url
        self.monitor_url = monitor_url
        self.value = os.urandom(VALUE_SIZE)
        self.large_value = os.urandom(LARGE_VALUE_SIZE)
        self._counter = itertools.count(1)
        self._nc: natskv.Connection | None = None
        self._kvc: natskv.KVContext | None = None
        self._pnc: NatsPyClient | None = None
        self._pjs: JetStreamContext | None = None
        self._raw: RawClient | None = None
        self._raw_error: str | None = None

    # ------------------------------------------------------------------ connections

    async def open(self) -> None:
        self._nc = await natskv.connect(self.url, name="bench-natskv")
        self._kvc = natskv.KVContext(natskv.JetStream(self._nc))
        self._pnc = await nats.connect(self.url, name="bench-nats-py")
        self._pjs = self._pnc.jetstream(publish_async_max_pending=NATSPY_MAX_PENDING)
        try:  # without the raw baseline the client libraries can still be compared
            self._raw = await RawClient.connect(self.url)
        except Exception as exc:
            self._raw_error = f"the raw client could not connect: {type(exc).__name__}: {exc}"
            log(f"[{self.loop}] {self._raw_error}")

    async def close(self) -> None:
        if self._raw is not None:
            with contextlib.suppress(Exception):
                await self._raw.close()
        if self._pnc is not None:
            with contextlib.suppress(Exception):
                await self._pnc.close()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    @property
    def nc(self) -> natskv.Connection:
        assert self._nc is not None
        return self._nc

    @property
    def kvc(self) -> natskv.KVContext:
        assert self._kvc is not None
        return self._kvc

    @property
    def js(self) -> JetStreamContext:
        """nats-py's JetStream context."""
        assert self._pjs is not None
        return self._pjs

    @property
    def raw(self) -> RawClient:
        """The minimal raw asyncio client (the Python floor)."""
        if self._raw is None:
            raise RuntimeError(self._raw_error or "the raw client is not connected")
        return self._raw

    def raw_bucket(self, bucket: str) -> RawBucket:
        return RawBucket(self.raw, bucket, VALUE_SIZE)

    @property
    def server_version(self) -> str:
        return str(self.nc.server_info.get("version", "?"))

    # ------------------------------------------------------------------ buckets

    def bucket_name(self, op: str, client: str) -> str:
        who = {NATSKV: "kv", NATSPY: "py", RAW: "raw"}[client]
        return f"bench_{self.loop}_{op}_{who}_{next(self._counter)}"

    async def natskv_store(
        self, op: str, *, memory: bool = False, client: str = NATSKV
    ) -> natskv.KVStore:
        """A fresh bucket created by natskv (history 1, file storage unless ``memory``,
        Direct Get allowed); ``client`` only names it (the raw loop's runs use these too)."""
        config = natskv.KVConfig(
            self.bucket_name(op, client), history=1, storage="memory" if memory else "file"
        )
        return await self.kvc.create_store(config)

    async def natspy_kv(self, op: str, *, memory: bool = False) -> tuple[str, KeyValue]:
        """A fresh bucket created the nats-py way, with Direct Get enabled (``direct=True``)."""
        bucket = self.bucket_name(op, "nats-py")
        await self.js.create_key_value(
            KeyValueConfig(
                bucket=bucket,
                history=1,
                direct=True,
                storage=StorageType.MEMORY if memory else StorageType.FILE,
            )
        )
        kv = await self.js.key_value(bucket)
        return bucket, kv

    async def populate(
        self, bucket: str, keys: list[str], value: bytes | None = None
    ) -> natskv.KVStore:
        """Fill any bucket (whoever created it) with natskv's pipelined ``put_many`` (setup)."""
        store = await self.kvc.get_store(bucket)
        data = self.value if value is None else value
        for start in range(0, len(keys), _POPULATE_CHUNK):
            chunk = keys[start : start + _POPULATE_CHUNK]
            await store.put_many([(k, data) for k in chunk], window=PIPELINE_WINDOW)
        return store

    async def drop(self, bucket: str) -> None:
        with contextlib.suppress(Exception):
            await self.kvc.delete_store(bucket)

    async def bucket_values(self, bucket: str) -> int | None:
        try:
            store = await self.kvc.get_store(bucket)
        except natskv.BucketNotFoundError:
            return None
        return (await store.status()).values

    # ------------------------------------------------------------------ server stats

    async def server_in_msgs(self) -> int | None:
        """The server's total inbound message count (``/varz``), or None without monitoring."""
        if not self.monitor_url:
            return None
        url = self.monitor_url.rstrip("/") + "/varz"

        def fetch() -> dict[str, Any]:
            with urllib.request.urlopen(url, timeout=5) as resp:
                data: dict[str, Any] = json.load(resp)
                return data

        try:
            varz = await asyncio.to_thread(fetch)
        except Exception:
            return None
        return int(varz.get("in_msgs", 0))

    # ------------------------------------------------------------------ warm-up

    async def warmup(self) -> None:
        """A few puts, gets and listings with each client, so no run pays first-call costs.

        A failure here is logged, not fatal: the operations report their own errors.
        """
        for name, warm in (
            (NATSKV, self._warmup_natskv),
            (NATSPY, self._warmup_natspy),
            (RAW, self._warmup_raw),
        ):
            try:
                await warm()
            except Exception as exc:
                log(f"[{self.loop}] warm-up of {name} failed: {type(exc).__name__}: {exc}")

    async def _warmup_natskv(self) -> None:
        keys = make_keys(200, "w")
        store = await self.natskv_store("warm")
        for k in keys:
            await store.put(k, self.value)
        await store.put_many([(k, self.value) for k in keys])
        for k in keys:
            await store.get(k)
        _ = [k async for k in store.keys()]
        await self.drop(store.bucket)

    async def _warmup_natspy(self) -> None:
        keys = make_keys(200, "w")
        bucket, kv = await self.natspy_kv("warm")
        for k in keys:
            await kv.put(k, self.value)
        futures = [await self.js.publish_async(f"$KV.{bucket}.{k}", self.value) for k in keys]
        await asyncio.gather(*futures)
        for k in keys:
            await kv.get(k)
        await kv.keys()
        await self.drop(bucket)

    async def _warmup_raw(self) -> None:
        if self._raw is None:
            return
        keys = make_keys(200, "w")
        store = await self.natskv_store("warm", client=RAW)
        bucket = self.raw_bucket(store.bucket)
        for k in keys:
            await bucket.put(k, self.value)
        await bucket.put_pipelined(keys, self.value, RAW_MAX_PENDING)
        for k in keys:
            await bucket.get(k)
        await self.drop(store.bucket)
