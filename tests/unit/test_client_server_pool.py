"""The server pool: discovery from INFO, and the order servers are tried in."""

from __future__ import annotations

from natskv.client._pool import ServerPool

A, B, C = "nats://a:4222", "nats://b:4222", "nats://c:4222"


def test_discovered_servers_join_the_pool_once() -> None:
    pool = ServerPool([A, "nats://alice:s3cret@b:4222"])
    pool.discover(["b:4222", "c:4222", "c:4222", "not a url:port", "a:4222"])
    assert pool.urls == [A, B, C]
    assert [s.discovered for s in pool] == [False, False, True]
    assert "s3cret" not in repr(list(pool))


def test_ignore_discovered_keeps_the_pool_as_given() -> None:
    pool = ServerPool([A], ignore_discovered=True)
    pool.discover(["b:4222"])
    assert pool.urls == [A]
    assert len(pool) == 1


def test_reconnect_tries_the_lost_server_last_and_drops_those_out_of_attempts() -> None:
    pool = ServerPool([A, B, C])
    a, b, c = pool
    assert pool.reconnect_order({}, -1, a) == [b, c, a]
    assert pool.reconnect_order({}, 2, None) == [a, b, c]
    assert pool.reconnect_order({a: 2, b: 1}, 2, b) == [c, b]
    assert pool.reconnect_order({a: 5, b: 5, c: 5}, -1, c) == [a, b, c]  # no limit
    assert pool.reconnect_order({a: 1, b: 1, c: 1}, 1, a) == []


def test_others_are_the_servers_at_another_address() -> None:
    pool = ServerPool([A, B])
    a, b = pool
    assert pool.others(a) == [b]
    assert ServerPool([A]).others(a) == []
