"""What the key operations, watchers and bulk reads know of one bucket: a frozen description.

``KVStore`` builds one :class:`Bucket` from the stream's configuration when it is opened;
the watcher, the scans and the bulk reads take that description (and a decode function)
instead of reaching into the store, so each can be read, tested and reused on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from natskv.kv._codecs import CodecRegistry, decode_value
from natskv.kv._mapping import MAX_CONTROL_LINE

__all__ = ["Bucket", "Decoder", "decoder_for"]

# (raw value, key, revision) -> the decoded value
Decoder = Callable[[bytes, str, int], Any]


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket as its stream configuration describes it."""

    name: str
    """The bucket's name (``KV_<name>`` is its stream)."""
    stream: str
    read_prefix: str
    """``$KV.<bucket>.``: the subject prefix of its keys as stored (a mirror's origin's)."""
    write_prefix: str
    """Where puts go: the read prefix, behind the API prefix or domain where there is one."""
    direct_prefix: str
    """``<api>.DIRECT.GET.KV_<bucket>.$KV.<bucket>.``: a Direct Get of a key is this + key."""
    allow_direct: bool
    ttl_enabled: bool
    """Whether the stream allows per-message TTL (ADR-48)."""
    max_value: int
    """The largest value the stream takes, in bytes; -1 for no limit of its own."""
    max_key: int = MAX_CONTROL_LINE
    """The longest key whose subjects fit a NATS control line (``KVStore.max_key_length``)."""

    @property
    def read_prefix_len(self) -> int:
        return len(self.read_prefix)

    @classmethod
    def from_stream_config(
        cls, name: str, stream_config: Mapping[str, Any], *, api_prefix: str = "$JS.API"
    ) -> Bucket:
        stream = f"KV_{name}"
        read_bucket = name
        write_api = ""
        mirror = stream_config.get("mirror")
        external_api = None
        if mirror:
            origin = str(mirror.get("name", ""))
            read_bucket = origin[3:] if origin.startswith("KV_") else origin
            external_api = (mirror.get("external") or {}).get("api")
        # nats.go: an external mirror writes through its API prefix; otherwise every write
        # (a mirror's to its origin too) carries a non-default API prefix or domain
        if external_api:
            write_api = f"{external_api}."
        elif api_prefix != "$JS.API":
            write_api = f"{api_prefix}."
        read_prefix = f"$KV.{read_bucket}."
        return cls(
            name=name,
            stream=stream,
            read_prefix=read_prefix,
            write_prefix=f"{write_api}{read_prefix}",
            direct_prefix=f"{api_prefix}.DIRECT.GET.{stream}.{read_prefix}",
            allow_direct=bool(stream_config.get("allow_direct", False)),
            ttl_enabled=bool(stream_config.get("allow_msg_ttl", False)),
            max_value=int(stream_config.get("max_msg_size", -1) or -1),
        )


def decoder_for(codecs: CodecRegistry, type_: Any, bucket: str) -> Decoder:
    """A function that decodes a stored value of ``bucket`` as ``type_``."""
    if type_ is bytes:
        return lambda data, key, rev: data

    def decode(data: bytes, key: str, rev: int) -> Any:
        return decode_value(codecs, data, type_, bucket=bucket, key=key, revision=rev)

    return decode
