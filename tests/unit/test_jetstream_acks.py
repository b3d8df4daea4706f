"""Publish acknowledgements decoded one at a time and many at once (no network)."""

from __future__ import annotations

import pytest

import natskv
from natskv.jetstream import JetStream

OK1 = b'{"stream":"KV_b","seq":1}'
OK2 = b'{"stream":"KV_b","seq":2,"duplicate":true}'
OK3 = b'{"stream":"KV_b","domain":"hub","seq":3}'
ERR = (
    b'{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 5"},'
    b'"stream":"KV_b","seq":0}'
)


def test_pub_acks_decodes_a_batch_in_one_parse() -> None:
    acks = JetStream.pub_acks([OK1, OK2, OK3])
    assert acks is not None
    assert [a.seq for a in acks] == [1, 2, 3]
    assert acks[1].duplicate and acks[2].domain == "hub"


@pytest.mark.parametrize(
    "payloads",
    [[], [OK1, ERR], [OK1, b""], [OK1, b"not json"], [b'{"stream":"x","seq":"nan"}']],
)
def test_pub_acks_leaves_anything_but_plain_successes_to_pub_ack(payloads: list[bytes]) -> None:
    assert JetStream.pub_acks(payloads) is None


def test_pub_ack_seq_and_pub_ack_agree() -> None:
    assert JetStream.pub_ack_seq(OK3) == 3 == JetStream.pub_ack(OK3).seq
    assert JetStream.pub_ack_seq(ERR) == -1
    assert JetStream.pub_ack_seq(b"garbage") == -1
    with pytest.raises(natskv.APIError) as ei:
        JetStream.pub_ack(ERR)
    assert ei.value.err_code == 10071
    with pytest.raises(natskv.JetStreamError, match="malformed"):
        JetStream.pub_ack(b"garbage")
