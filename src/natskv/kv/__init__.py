"""The Key/Value layer: a bucket is a stream ``KV_<bucket>``, a key a subject ``$KV.<b>.<key>``."""

from natskv.kv._codecs import (
    DEFAULT_CODECS,
    Codec,
    CodecRegistry,
    JsonCodec,
    RawCodec,
    StrCodec,
    decode_value,
)
from natskv.kv._config import (
    KVConfig,
    KVSource,
    Placement,
    RePublish,
    StorageType,
    SubjectTransform,
)
from natskv.kv._context import KVContext
from natskv.kv._entry import KVEntry, KVOperation
from natskv.kv._plan import RequestPlan
from natskv.kv._result import KVResult
from natskv.kv._scan import KVScan
from natskv.kv._status import KVStatus
from natskv.kv._store import KVStore
from natskv.kv._watch import DecodeErrorPolicy, KVWatcher

__all__ = [
    "DecodeErrorPolicy",
    "DEFAULT_CODECS",
    "Codec",
    "CodecRegistry",
    "JsonCodec",
    "KVConfig",
    "KVContext",
    "KVEntry",
    "KVOperation",
    "KVResult",
    "KVSource",
    "KVStatus",
    "KVStore",
    "KVScan",
    "KVWatcher",
    "Placement",
    "RawCodec",
    "RePublish",
    "RequestPlan",
    "StorageType",
    "StrCodec",
    "SubjectTransform",
    "decode_value",
]
