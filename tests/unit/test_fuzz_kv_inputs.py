"""Fuzzing KV inputs with hypothesis: invalid keys, key filters and bucket names are refused
with the right typed error before a byte is sent.

The store and the context run on a :class:`natskv.client.MockNetwork` connection, so the
test sees every byte the client writes: after a refused call there is none. Valid keys
round-trip through a real server in ``tests/integration/test_kv_fuzz_roundtrip.py``.

The rules are written here a second time, from the wire reference (section 5.1 and 7.3
row 9: dot-separated tokens of ``A-Z a-z 0-9 - / _ =``, no empty token; bucket names of
``A-Z a-z 0-9 - _``, at most 252 characters), so the validators are checked against an
independent statement of them rather than against themselves.
"""

from __future__ import annotations

import string
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import natskv
from natskv import KVConfig
from natskv.client import MockNetwork, MockTransport
from natskv.errors import InvalidBucketNameError, InvalidKeyError
from natskv.kv import KVStore
from natskv.kv._codecs import DEFAULT_CODECS
from natskv.kv._mapping import stream_config
from natskv.kv._names import validate_bucket_name, validate_key, validate_key_filter

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

KEY_CHARS = string.ascii_letters + string.digits + "-/_="
BUCKET_CHARS = string.ascii_letters + string.digits + "-_"


def is_valid_key(key: str) -> bool:
    return bool(key) and all(tok and all(c in KEY_CHARS for c in tok) for tok in key.split("."))


def is_valid_bucket(name: str) -> bool:
    return 0 < len(name) <= 252 and all(c in BUCKET_CHARS for c in name)


key_tokens = st.text(KEY_CHARS, min_size=1, max_size=16)
valid_keys = st.lists(key_tokens, min_size=1, max_size=6).map(".".join)
# Near misses (one bad character, an empty token, a wildcard) and arbitrary text.
_bad_bits = st.sampled_from(["", ".", "..", " ", "\t", "\r\n", "*", ">", "é", "\x00", "$", "#"])
invalid_keys = (
    st.tuples(valid_keys, _bad_bits, st.text(KEY_CHARS, max_size=5))
    .map(lambda t: t[0] + t[1] + t[2])
    .filter(lambda k: not is_valid_key(k))
    | st.text(max_size=30).filter(lambda k: not is_valid_key(k))
    | st.builds(lambda k: "." + k, valid_keys)
    | st.builds(lambda k: k + ".", valid_keys)
)
valid_buckets = st.text(BUCKET_CHARS, min_size=1, max_size=252)
invalid_buckets = (
    st.text(max_size=40).filter(lambda b: not is_valid_bucket(b))
    | st.tuples(valid_buckets, st.sampled_from([".", " ", "*", ">", "é", "/", "="])).map(
        lambda t: t[0][:200] + t[1]
    )
    | st.integers(253, 400).map(lambda n: "b" * n)
)
not_strings = (
    st.none() | st.integers() | st.binary(max_size=4) | st.lists(st.integers(), max_size=2)
)


@asynccontextmanager
async def mock_store() -> AsyncIterator[tuple[KVStore, natskv.KVContext, MockTransport]]:
    """A store of bucket ``b`` on a connection whose server is the test."""
    network = MockNetwork()
    nc, server = await network.serve(natskv.connect("nats://mock:4222", dialer=network))
    try:
        js = natskv.JetStream(nc)
        store = KVStore(
            js, "b", stream_config=stream_config(KVConfig(bucket="b")), codecs=DEFAULT_CODECS
        )
        yield store, natskv.KVContext(js), server
    finally:
        await nc.close()


async def _refused_before_sending(
    server: MockTransport, error: type[Exception], call: Callable[[], Awaitable[Any]]
) -> None:
    before = len(server.writes)
    with pytest.raises(error):
        await call()
    assert len(server.writes) == before, "the client wrote something for a refused call"
    assert server.unread() == b""


# --------------------------------------------------------------------------- keys


@pytest.mark.wire("7.3 #9")
@FUZZ
@given(key=valid_keys)
def test_every_valid_key_is_accepted_unchanged(key: str) -> None:
    assert validate_key(key) == key
    assert validate_key_filter(key) == key


@pytest.mark.wire("7.3 #9")
@FUZZ
@given(key=invalid_keys)
async def test_an_invalid_key_is_refused_by_every_operation_before_sending(key: str) -> None:
    assert not is_valid_key(key)
    async with mock_store() as (store, _, server):
        for call in (
            lambda: store.put(key, b"v"),
            lambda: store.get(key),
            lambda: store.get_entry(key),
            lambda: store.create(key, b"v"),
            lambda: store.update(key, b"v", 1),
            lambda: store.delete(key),
            lambda: store.purge(key),
        ):
            await _refused_before_sending(server, InvalidKeyError, call)


@FUZZ
@given(key=not_strings)
async def test_a_key_that_is_not_a_str_is_an_invalid_key(key: object) -> None:
    async with mock_store() as (store, _, server):
        await _refused_before_sending(server, InvalidKeyError, lambda: store.put(key, b"v"))  # type: ignore[arg-type]
        await _refused_before_sending(server, InvalidKeyError, lambda: store.get(key))  # type: ignore[arg-type]


@FUZZ
@given(extra=st.integers(1, 300))
async def test_a_key_too_long_for_a_control_line_is_refused_before_sending(extra: int) -> None:
    async with mock_store() as (store, _, server):
        key = "k" * (store.max_key_length + extra)
        for call in (lambda: store.put(key, b"v"), lambda: store.get(key)):
            await _refused_before_sending(server, InvalidKeyError, call)


_filter_tokens = key_tokens | st.just("*")
valid_filters = st.one_of(
    st.just(">"),
    st.tuples(st.lists(_filter_tokens, min_size=1, max_size=4), st.booleans()).map(
        lambda t: ".".join(t[0]) + (".>" if t[1] else "")
    ),
)


def is_valid_filter(text: str) -> bool:
    tokens = text.split(".")
    if tokens[-1] == ">":
        tokens = tokens[:-1]
        if not tokens:
            return True
    return all(t == "*" or is_valid_key(t) for t in tokens)


@FUZZ
@given(key_filter=valid_filters)
def test_every_valid_filter_is_accepted_unchanged(key_filter: str) -> None:
    assert validate_key_filter(key_filter) == key_filter


@FUZZ
@given(
    key_filter=st.text(KEY_CHARS + ".*> é", max_size=20).filter(lambda f: not is_valid_filter(f))
)
async def test_an_invalid_filter_is_refused_before_sending(key_filter: str) -> None:
    async with mock_store() as (store, _, server):
        await _refused_before_sending(server, InvalidKeyError, lambda: store.list_keys(key_filter))


# --------------------------------------------------------------------------- bucket names


@FUZZ
@given(name=valid_buckets)
def test_every_valid_bucket_name_is_accepted_unchanged(name: str) -> None:
    assert validate_bucket_name(name) == name
    assert KVConfig(bucket=name).bucket == name


@pytest.mark.wire("7.3 #9")
@FUZZ
@given(name=invalid_buckets | not_strings)
async def test_an_invalid_bucket_name_is_refused_before_sending(name: Any) -> None:
    async with mock_store() as (_, kv, server):
        for call in (
            lambda: kv.create_store(name),
            lambda: kv.get_store(name),
            lambda: kv.delete_store(name),
            lambda: kv.update_store(name),
        ):
            await _refused_before_sending(server, InvalidBucketNameError, call)
