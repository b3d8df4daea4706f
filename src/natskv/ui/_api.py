"""The JSON API behind the page: buckets, keys, entries, history, and put, delete, purge.

Reads are GETs and never change anything; the three writes are POSTs of a JSON body (see
``_guard`` for why). Library errors become JSON ``{"error": message, "type": class}`` in one
place, :func:`error_middleware`, with a status that says whose fault it is: 400 bad input,
404 no such bucket or key, 409 a conflict, 502/504 the NATS side.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from natskv.errors import (
    BucketNotFoundError,
    KeyDeletedError,
    KeyExistsError,
    KeyNotFoundError,
    NatsError,
    TimeoutError,
    WrongRevisionError,
)
from natskv.kv import KVContext, KVStore
from natskv.ui._keys import MAX_LIMIT, KeyScanner, parse_filter
from natskv.ui._values import bucket_row, bucket_status, entry_summary, entry_view

__all__ = ["MAX_BODY", "Api", "error_middleware", "json_response"]

MAX_BODY = 16 * 1024 * 1024
"""The largest request body: a value to put, as JSON."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(data), status=status, content_type="application/json"
    )


class BadRequest(Exception):
    """A request the API cannot take (its message is shown to the user)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _status_of(exc: NatsError) -> int:
    if isinstance(exc, ValueError):  # every "nothing was sent" input error
        return 400
    if isinstance(exc, (KeyNotFoundError, BucketNotFoundError)):
        return 404
    if isinstance(exc, (WrongRevisionError, KeyExistsError)):
        return 409
    if isinstance(exc, TimeoutError):
        return 504
    return 502


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Library errors and bad requests as JSON, in one place."""
    try:
        return await handler(request)
    except BadRequest as exc:
        return json_response({"error": str(exc), "type": "BadRequest"}, exc.status)
    except NatsError as exc:
        body: dict[str, Any] = {"error": str(exc) or type(exc).__name__, "type": type(exc).__name__}
        if isinstance(exc, KeyDeletedError):
            body["revision"] = exc.revision
            body["operation"] = getattr(exc.operation, "value", exc.operation)
        return json_response(body, _status_of(exc))


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {value}")
    return value


def _key_param(request: web.Request) -> str:
    key = request.query.get("key", "")
    if not key:
        raise BadRequest("the key parameter is missing")
    return key


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object of a POST: only ``application/json``, which no HTML form can send."""
    if request.content_type != "application/json":
        raise BadRequest("a write must send a JSON body (Content-Type: application/json)", 415)
    try:
        body = msgspec.json.decode(await request.read())
    except msgspec.DecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{name!r} must be a non-empty string")
    return value


def _value_bytes(body: dict[str, Any]) -> bytes:
    value = body.get("value")
    if not isinstance(value, str):
        raise BadRequest("'value' must be a string")
    encoding = body.get("encoding", "text")
    if encoding == "text":
        return value.encode()
    if encoding == "base64":
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise BadRequest(f"'value' is not valid base64: {exc}") from None
    raise BadRequest(f"'encoding' must be 'text' or 'base64', got {encoding!r}")


class Api:
    """The API routes on one :class:`~natskv.kv.KVContext`."""

    def __init__(self, kv: KVContext, scanner: KeyScanner | None = None) -> None:
        self._kv = kv
        self._scanner = scanner or KeyScanner()

    def routes(self) -> list[web.RouteDef]:
        bucket = "/api/buckets/{bucket}"
        return [
            web.get("/api/buckets", self.buckets),
            web.get(bucket, self.status),
            web.get(bucket + "/keys", self.keys),
            web.get(bucket + "/entry", self.entry),
            web.get(bucket + "/history", self.history),
            web.post(bucket + "/put", self.put),
            web.post(bucket + "/delete", self.delete),
            web.post(bucket + "/purge", self.purge),
        ]

    async def store(self, request: web.Request) -> KVStore:
        return await self._kv.get_store(request.match_info["bucket"])

    async def buckets(self, request: web.Request) -> web.Response:
        rows = [bucket_row(status) async for status in self._kv.store_statuses()]
        rows.sort(key=lambda row: row["bytes"])  # as `natskv ls` orders them
        return json_response({"buckets": rows})

    async def status(self, request: web.Request) -> web.Response:
        store = await self.store(request)
        return json_response(bucket_status(await store.status()))

    async def keys(self, request: web.Request) -> web.Response:
        store = await self.store(request)
        key_filter = parse_filter(request.query.get("filter", ""))
        offset = _int_param(request, "offset", 0, 0, 1 << 62)
        limit = _int_param(request, "limit", 100, 1, MAX_LIMIT)
        page = await self._scanner.page(store, key_filter, offset, limit)
        return json_response(
            {
                "keys": page.keys,
                "offset": page.offset,
                "limit": page.limit,
                "more": page.more,
                "total": page.total,
                "filter": {"kind": key_filter.kind, "subject": key_filter.subject},
            }
        )

    async def entry(self, request: web.Request) -> web.Response:
        store = await self.store(request)
        key = _key_param(request)
        revision = _int_param(request, "revision", 0, 0, 1 << 63)
        entry = await store.get_entry(key, revision=revision or None)
        return json_response(entry_view(entry))

    async def history(self, request: web.Request) -> web.Response:
        store = await self.store(request)
        key = _key_param(request)
        # one revision at a time becomes a summary: never every value of the key at once
        revisions = [entry_summary(entry) async for entry in store.history(key)]
        return json_response({"key": key, "history": revisions})

    async def put(self, request: web.Request) -> web.Response:
        body = await _body(request)  # bad input is refused before anything is sent
        key, value = _string(body, "key"), _value_bytes(body)
        store = await self.store(request)
        revision = await store.put(key, value)
        return json_response({"key": key, "revision": revision})

    async def delete(self, request: web.Request) -> web.Response:
        key = _string(await _body(request), "key")
        store = await self.store(request)
        return json_response({"key": key, "revision": await store.delete(key)})

    async def purge(self, request: web.Request) -> web.Response:
        key = _string(await _body(request), "key")
        store = await self.store(request)
        return json_response({"key": key, "revision": await store.purge(key)})
