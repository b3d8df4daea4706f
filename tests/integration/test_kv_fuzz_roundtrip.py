"""Valid keys from hypothesis, with arbitrary byte values, round-trip exactly through put and
get on a real nats-server (the refusals of invalid ones are in
``tests/unit/test_fuzz_kv_inputs.py``).

One bucket serves every example: each example writes its own key (or overwrites one) and
reads it back from the stream leader, so examples do not depend on each other.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.test_fuzz_kv_inputs import KEY_CHARS, valid_keys

import natskv

ROUND_TRIP = settings(
    max_examples=60,
    deadline=None,
    # one bucket for all examples, on purpose (see the module docstring)
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

values = st.binary(max_size=2048) | st.sampled_from([b"", b"\r\n", b"\x00" * 64, b"MSG x 1 3\r\n"])


@pytest.mark.wire("7.3 #9")
@ROUND_TRIP
@given(key=valid_keys, value=values)
async def test_valid_keys_and_any_bytes_round_trip_exactly(
    kv_store: natskv.KVStore, key: str, value: bytes
) -> None:
    revision = await kv_store.put(key, value)
    entry = await kv_store.get_entry(key, consistent=True)
    assert (entry.key, entry.value, entry.revision) == (key, value, revision)
    assert await kv_store.get(key) == value


@ROUND_TRIP
@given(token=st.text(KEY_CHARS, min_size=1, max_size=8), value=values)
async def test_the_longest_key_the_bucket_allows_round_trips(
    kv_store: natskv.KVStore, token: str, value: bytes
) -> None:
    """Up to :attr:`KVStore.max_key_length`: every line that carries the key fits."""
    n = kv_store.max_key_length
    key = (token * (n // len(token) + 1))[:n]
    await kv_store.put(key, value)
    assert await kv_store.get(key) == value
    assert key in await kv_store.list_keys(key)
