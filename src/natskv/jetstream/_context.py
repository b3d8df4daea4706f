"""The JetStream context: one API request helper, streams, publish, direct get, consumers.

Every ``$JS.API`` call goes through :meth:`JetStream.api_request`, which encodes the
request with msgspec, decodes the reply into a typed model, and raises the server's error
as :class:`natskv.APIError` (or a subclass chosen by ``err_code``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec

from natskv.client import Connection, Msg
from natskv.errors import (
    APIError,
    ConnectionClosedError,
    JetStreamError,
    JetStreamNotEnabledError,
    NoMessageFoundError,
    NoRespondersError,
    TimeoutError,
    TooManyRequestsError,
    api_error_from,
)
from natskv.jetstream._models import (
    AccountInfo,
    ConsumerConfig,
    ConsumerInfo,
    PubAck,
    StreamInfo,
    StreamListResponse,
    StreamNamesResponse,
    StreamPurgeResponse,
    SuccessResponse,
)

__all__ = [
    "EXPECTED_LAST_SEQUENCE",
    "EXPECTED_LAST_SUBJECT_SEQUENCE",
    "EXPECTED_STREAM",
    "MSG_ID",
    "MSG_TTL",
    "JetStream",
    "check_direct_status",
]

T = TypeVar("T")

MSG_ID = "Nats-Msg-Id"
EXPECTED_STREAM = "Nats-Expected-Stream"
EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"
EXPECTED_LAST_SUBJECT_SEQUENCE = "Nats-Expected-Last-Subject-Sequence"
MSG_TTL = "Nats-TTL"

_encode = msgspec.json.Encoder().encode


class _Envelope(msgspec.Struct):
    """Only the ``error`` of an API reply, decoded first so a failure is cheap to spot."""

    error: dict[str, Any] | None = None


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_pub_ack_decoder = msgspec.json.Decoder(PubAck)
_pub_acks_decoder = msgspec.json.Decoder(list[PubAck])
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def _decoder(tp: type[T]) -> msgspec.json.Decoder[T]:
    dec = _decoders.get(tp)
    if dec is None:
        dec = _decoders[tp] = msgspec.json.Decoder(tp)
    return dec


def _msg_get_request(
    seq: int | None, last_by_subj: str | None, next_by_subj: str | None
) -> dict[str, Any]:
    """The body of a message get (Direct Get or STREAM.MSG.GET): only the fields given."""
    fields = {"seq": seq, "last_by_subj": last_by_subj, "next_by_subj": next_by_subj}
    return {k: v for k, v in fields.items() if v is not None}


# A Direct Get answers with a status line instead of an API error: the statuses that mean
# what an err_code of the registry means, as that class (the others are plain APIErrors).
_DIRECT_STATUS: dict[int, tuple[type[APIError], int]] = {
    404: (NoMessageFoundError, 10037),
    429: (TooManyRequestsError, 10167),
}


def check_direct_status(msg: Msg) -> None:
    """Raise for a direct-get status reply (404 not found, 408/413/429/412 errors)."""
    status = msg.status
    if status is None or status < 300:
        return
    cls, err_code = _DIRECT_STATUS.get(status, (APIError, 0))
    raise cls(status, err_code, msg.description or f"direct get failed with status {status}")


class JetStream:
    """JetStream over a :class:`natskv.Connection`.

    ``domain`` selects a JetStream domain (``$JS.<domain>.API``); ``api_prefix`` sets the
    prefix directly (for imported APIs). ``timeout`` is the default for API calls.
    """

    def __init__(
        self,
        nc: Connection,
        *,
        domain: str | None = None,
        api_prefix: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        if domain and api_prefix:
            raise ValueError("give either domain or api_prefix, not both")
        self.nc = nc
        self.domain = domain
        if api_prefix:
            prefix = api_prefix.rstrip(".")
        elif domain:
            prefix = f"$JS.{domain}.API"
        else:
            prefix = "$JS.API"
        self.prefix: str = prefix
        self.timeout = timeout
        self._api_level: int | None = None

    # ------------------------------------------------------------------ API helper

    async def api_request(
        self,
        subject: str,
        request: Any = None,
        *,
        response_type: type[T],
        timeout: float | None = None,
    ) -> T:
        """Call ``<prefix>.<subject>`` with ``request`` (a Struct, dict or None) as JSON."""
        if request is None:
            payload = b""
        elif isinstance(request, bytes):
            payload = request
        else:
            payload = _encode(request)
        try:
            msg = await self.nc.request(
                f"{self.prefix}.{subject}", payload, timeout=timeout or self.timeout
            )
        except NoRespondersError:
            raise JetStreamNotEnabledError(
                503,
                0,
                f"no JetStream responders for {self.prefix}.{subject}: "
                "JetStream is not enabled, or the domain is wrong",
            ) from None
        return self.decode_reply(msg.data, response_type)

    @staticmethod
    def decode_reply(data: bytes, response_type: type[T]) -> T:
        """Decode an API reply, raising its error if it has one."""
        try:
            env = _envelope_decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise JetStreamError(f"malformed JetStream API reply: {data[:120]!r}") from exc
        if env.error is not None:
            raise api_error_from(env.error)
        try:
            return _decoder(response_type).decode(data)
        except msgspec.ValidationError as exc:
            raise JetStreamError(f"unexpected JetStream API reply: {exc}") from exc

    async def account_info(self) -> AccountInfo:
        """Account usage, limits and the server's API level."""
        return await self.api_request("INFO", response_type=AccountInfo)

    async def api_level(self) -> int:
        """The JetStream API level (0 before 2.11, 1 for 2.11, 2 for 2.12 ...), cached."""
        if self._api_level is None:
            self._api_level = (await self.account_info()).api.level
        return self._api_level

    # ------------------------------------------------------------------ streams

    async def create_stream(self, config: Mapping[str, Any]) -> StreamInfo:
        """``STREAM.CREATE``; identical configs are idempotent on the server."""
        return await self.api_request(
            f"STREAM.CREATE.{config['name']}", dict(config), response_type=StreamInfo
        )

    async def update_stream(self, config: Mapping[str, Any]) -> StreamInfo:
        """``STREAM.UPDATE``."""
        return await self.api_request(
            f"STREAM.UPDATE.{config['name']}", dict(config), response_type=StreamInfo
        )

    async def stream_info(
        self,
        name: str,
        *,
        subjects_filter: str | None = None,
        offset: int = 0,
        timeout: float | None = None,
    ) -> StreamInfo:
        """``STREAM.INFO``; with ``subjects_filter`` the state lists per-subject counts."""
        req: dict[str, Any] | None = None
        if subjects_filter is not None:
            req = {"subjects_filter": subjects_filter, "offset": offset}
        return await self.api_request(
            f"STREAM.INFO.{name}", req, response_type=StreamInfo, timeout=timeout
        )

    async def delete_stream(self, name: str) -> bool:
        """``STREAM.DELETE``."""
        resp = await self.api_request(f"STREAM.DELETE.{name}", response_type=SuccessResponse)
        return resp.success

    async def purge_stream(
        self,
        name: str,
        *,
        subject: str | None = None,
        seq: int | None = None,
        keep: int | None = None,
    ) -> int:
        """``STREAM.PURGE`` (optionally one subject, up to ``seq``, or keeping ``keep``)."""
        if seq is not None and keep is not None:
            raise ValueError("seq and keep are mutually exclusive")
        req: dict[str, Any] = {}
        if subject is not None:
            req["filter"] = subject
        if seq is not None:
            req["seq"] = seq
        if keep is not None:
            req["keep"] = keep
        resp = await self.api_request(
            f"STREAM.PURGE.{name}", req or None, response_type=StreamPurgeResponse
        )
        return resp.purged

    async def stream_names(self, *, subject: str | None = None) -> AsyncIterator[str]:
        """Every stream name, paged on the server (optionally only those with ``subject``)."""
        offset = 0
        while True:
            req: dict[str, Any] = {"offset": offset}
            if subject:
                req["subject"] = subject
            resp = await self.api_request("STREAM.NAMES", req, response_type=StreamNamesResponse)
            names = resp.streams or []
            for n in names:
                yield n
            offset += len(names)
            if not names or offset >= resp.total:
                return

    async def streams(self, *, subject: str | None = None) -> AsyncIterator[StreamInfo]:
        """Every stream's info, paged on the server."""
        offset = 0
        while True:
            req: dict[str, Any] = {"offset": offset}
            if subject:
                req["subject"] = subject
            resp = await self.api_request("STREAM.LIST", req, response_type=StreamListResponse)
            infos = resp.streams or []
            for info in infos:
                yield info
            offset += len(infos)
            if not infos or offset >= resp.total:
                return

    # ------------------------------------------------------------------ publish

    async def publish(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        headers: Mapping[str, str] | None = None,
        msg_id: str | None = None,
        expected_stream: str | None = None,
        expected_last_sequence: int | None = None,
        expected_last_subject_sequence: int | None = None,
        ttl: str | None = None,
        timeout: float | None = None,
    ) -> PubAck:
        """Publish to a stream and wait for its acknowledgement."""
        hdrs: dict[str, str] | None = dict(headers) if headers else None
        extra = (
            (MSG_ID, msg_id),
            (EXPECTED_STREAM, expected_stream),
            (EXPECTED_LAST_SEQUENCE, expected_last_sequence),
            (EXPECTED_LAST_SUBJECT_SEQUENCE, expected_last_subject_sequence),
            (MSG_TTL, ttl),
        )
        for name, value in extra:
            if value is not None:
                if hdrs is None:
                    hdrs = {}
                hdrs[name] = str(value)
        msg = await self.nc.request(subject, payload, headers=hdrs, timeout=timeout or self.timeout)
        return self.pub_ack(msg)

    @staticmethod
    def pub_ack(msg: Msg | bytes) -> PubAck:
        """Decode a publish acknowledgement (a reply or its payload), raising the server's
        error if it failed."""
        data = msg if isinstance(msg, bytes) else msg.data
        try:
            ack = _pub_ack_decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise JetStreamError(f"malformed publish acknowledgement: {data[:120]!r}") from exc
        err = ack.error
        if err is not None:
            raise api_error_from(
                {"code": err.code, "err_code": err.err_code, "description": err.description}
            )
        return ack

    @staticmethod
    def pub_ack_seq(data: bytes) -> int:
        """The sequence of a successful publish acknowledgement, or -1 for anything else
        (an error, a malformed reply): :meth:`pub_ack` then raises the right error."""
        try:
            ack = _pub_ack_decoder.decode(data)
        except msgspec.DecodeError:
            return -1
        return ack.seq if ack.error is None else -1

    @staticmethod
    def pub_acks(payloads: list[bytes]) -> list[PubAck] | None:
        """Decode many publish acknowledgements at once (one parse for all of them).

        Returns ``None`` when one of them is not a plain success (a server error, an
        empty or malformed reply): the caller then takes them one by one with
        :meth:`pub_ack`, which raises the right error.
        """
        if not payloads or not all(payloads):
            return None
        joined = b"[" + b",".join(payloads) + b"]"
        if b'"error"' in joined:
            return None
        try:
            return _pub_acks_decoder.decode(joined)
        except msgspec.DecodeError:
            return None

    # ------------------------------------------------------------------ reading messages

    def direct_subject(self, stream: str, subject: str | None = None) -> str:
        """The Direct Get subject for ``stream`` (with ``subject`` appended: last by subject)."""
        if subject is None:
            return f"{self.prefix}.DIRECT.GET.{stream}"
        return f"{self.prefix}.DIRECT.GET.{stream}.{subject}"

    async def direct_get_last(
        self, stream: str, subject: str, *, timeout: float | None = None
    ) -> Msg:
        """The last message on ``subject`` via Direct Get (raises NoMessageFoundError)."""
        msg = await self.nc.request(
            self.direct_subject(stream, subject), b"", timeout=timeout or self.timeout
        )
        check_direct_status(msg)
        return msg

    async def direct_get(
        self,
        stream: str,
        *,
        seq: int | None = None,
        last_by_subj: str | None = None,
        next_by_subj: str | None = None,
        timeout: float | None = None,
    ) -> Msg:
        """A message by sequence (or next/last by subject) via Direct Get."""
        req = _msg_get_request(seq, last_by_subj, next_by_subj)
        msg = await self.nc.request(
            self.direct_subject(stream), _encode(req), timeout=timeout or self.timeout
        )
        check_direct_status(msg)
        return msg

    async def get_msg(
        self,
        stream: str,
        *,
        seq: int | None = None,
        last_by_subj: str | None = None,
        next_by_subj: str | None = None,
        timeout: float | None = None,
    ) -> StoredMessage:
        """A message via ``STREAM.MSG.GET``: answered by the stream leader (read-after-write)."""
        req = _msg_get_request(seq, last_by_subj, next_by_subj)
        resp = await self.api_request(
            f"STREAM.MSG.GET.{stream}", req, response_type=_MsgGetResponse, timeout=timeout
        )
        return resp.message

    async def direct_get_batch(
        self,
        stream: str,
        request: Mapping[str, Any],
        *,
        timeout: float | None = None,
        on_message: Callable[[Msg], None],
    ) -> Msg:
        """Send a batch Direct Get and pass each message to ``on_message`` (inline).

        Returns the final ``204 EOB`` status message, whose headers carry
        ``Nats-Num-Pending``, ``Nats-Last-Sequence`` and ``Nats-UpTo-Sequence`` for paging.
        A ``404`` (nothing matched) returns that status message too.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Msg] = loop.create_future()
        t = timeout or self.timeout
        handle: list[asyncio.TimerHandle] = []

        def handler(msg: Msg) -> None:
            if msg.raw_headers is not None and not msg.data:
                status = msg.status
                if status is not None:
                    if not done.done():
                        done.set_result(msg)
                    return
            # every data message extends the deadline: a large batch is not a slow one
            if handle:
                handle[0].cancel()
                handle[0] = loop.call_later(t, _expire_batch, done, t)
            on_message(msg)

        def on_close(exc: ConnectionClosedError) -> None:
            if not done.done():
                done.set_exception(exc)

        reply, close = self.nc.lowlevel.open_reply_stream(handler, on_close=on_close)
        try:
            self.nc.lowlevel.publish_nowait(
                self.direct_subject(stream), _encode(dict(request)), reply=reply
            )
            handle.append(loop.call_later(t, _expire_batch, done, t))
            end = await done
        finally:
            close()
            if handle:
                handle[0].cancel()
        status = end.status or 0
        if status in (204, 404):
            return end
        if status == 503 and not end.data:
            raise NoRespondersError(self.direct_subject(stream))
        check_direct_status(end)
        return end

    # ------------------------------------------------------------------ consumers

    async def create_consumer(
        self, stream: str, config: ConsumerConfig, *, action: str = ""
    ) -> ConsumerInfo:
        """Create (or with ``action`` update) a consumer; named consumers use the filtered form."""
        req: dict[str, Any] = {"stream_name": stream, "config": config}
        if action:
            req["action"] = action
        if config.name:
            if config.filter_subject and not config.filter_subjects:
                subject = f"CONSUMER.CREATE.{stream}.{config.name}.{config.filter_subject}"
            else:
                subject = f"CONSUMER.CREATE.{stream}.{config.name}"
        elif config.durable_name:
            subject = f"CONSUMER.DURABLE.CREATE.{stream}.{config.durable_name}"
        else:
            subject = f"CONSUMER.CREATE.{stream}"
        return await self.api_request(subject, req, response_type=ConsumerInfo)

    async def delete_consumer(self, stream: str, name: str) -> bool:
        """Delete a consumer."""
        resp = await self.api_request(
            f"CONSUMER.DELETE.{stream}.{name}", response_type=SuccessResponse
        )
        return resp.success

    async def consumer_info(self, stream: str, name: str) -> ConsumerInfo:
        """A consumer's info."""
        return await self.api_request(f"CONSUMER.INFO.{stream}.{name}", response_type=ConsumerInfo)

    def ordered_consumer(
        self,
        stream: str,
        *,
        filter_subjects: Sequence[str] = (),
        deliver_policy: str = "all",
        opt_start_seq: int | None = None,
        headers_only: bool = False,
        idle_heartbeat: float = 5.0,
    ) -> OrderedConsumer:
        """An ordered push consumer over ``stream``; see :class:`OrderedConsumer`."""
        return OrderedConsumer(
            self,
            stream,
            filter_subjects=filter_subjects,
            deliver_policy=deliver_policy,
            opt_start_seq=opt_start_seq,
            headers_only=headers_only,
            idle_heartbeat=idle_heartbeat,
        )


def _expire_batch(fut: asyncio.Future[Msg], timeout: float) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError(f"batch direct get: no reply within {timeout:g}s"))


class StoredMessage(msgspec.Struct, omit_defaults=True):
    """A message from ``STREAM.MSG.GET`` (headers and data base64 on the wire)."""

    subject: str = ""
    seq: int = 0
    hdrs: bytes | None = None
    data: bytes = b""
    time: str = ""


class _MsgGetResponse(msgspec.Struct):
    message: StoredMessage


from natskv.jetstream._ordered import OrderedConsumer  # noqa: E402  (cycle: it needs JetStream)
