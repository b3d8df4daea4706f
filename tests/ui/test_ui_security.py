"""The UI's guard, over plain HTTP: the token on every route, Host, Origin, POST-only writes."""

from __future__ import annotations

import asyncio

import pytest
from tests.ui.helpers import Client, read_events

import natskv
from natskv.ui import InsecureBindError, UIServer, check_listen_address, is_loopback

# every route of the UI, and one that does not exist (refused before routing, too)
GETS = [
    "/",
    "/static/app.js",
    "/static/app.css",
    "/static/nope.js",
    "/api/buckets",
    "/api/buckets/{b}",
    "/api/buckets/{b}/keys",
    "/api/buckets/{b}/entry?key=k",
    "/api/buckets/{b}/history?key=k",
    "/api/buckets/{b}/events",
    "/no/such/route",
]
POSTS = ["/api/buckets/{b}/put", "/api/buckets/{b}/delete", "/api/buckets/{b}/purge"]


def _split(path: str, bucket: str) -> tuple[str, dict[str, str]]:
    path = path.format(b=bucket)
    if "?" not in path:
        return path, {}
    path, query = path.split("?")
    name, value = query.split("=")
    return path, {name: value}


@pytest.mark.parametrize("how", ["missing", "wrong", "wrong-header"])
async def test_every_route_refuses_a_request_without_the_token(
    client: Client, kv_store: natskv.KVStore, how: str
) -> None:
    await kv_store.put("k", b"secret value")
    wrong = {"token": "not-the-token"} if how == "wrong" else {}
    headers = {"X-Natskv-Token": "not-the-token"} if how == "wrong-header" else {}
    for route in GETS:
        path, params = _split(route, kv_store.bucket)
        reply = await client.get(path, {**params, **wrong}, token=False, headers=headers)
        assert reply.status == 403, (route, reply)
        assert b"secret" not in reply.body and b"natskv ui" in reply.body
    for route in POSTS:
        path, _ = _split(route, kv_store.bucket)
        reply = await client.post(
            path, {"key": "k", "value": "changed"}, token=False, params=wrong, headers=headers
        )
        assert reply.status == 403, (route, reply)
    # nothing was changed by the refused writes
    assert await kv_store.get("k") == b"secret value"
    assert [e.revision for e in [x async for x in kv_store.history("k")]] == [1]


async def test_the_token_opens_every_route(client: Client, kv_store: natskv.KVStore) -> None:
    await kv_store.put("k", b"v")
    for route in GETS:
        path, params = _split(route, kv_store.bucket)
        if path.endswith("/events"):
            events = await read_events(client.port, client.url(path), 1)
            assert events == [("ready", {"bucket": kv_store.bucket})]
            continue
        reply = await client.get(path, params)
        expected = 404 if "nope" in path or "no/such" in path else 200
        assert reply.status == expected, (route, reply)
    # the header form of the token, as the page's fetches send it
    reply = await client.get("/api/buckets", token=False, headers={"X-Natskv-Token": client.token})
    assert reply.status == 200


async def test_a_host_header_naming_another_server_is_refused(
    client: Client, kv_store: natskv.KVStore
) -> None:
    """DNS rebinding: evil.example resolving to 127.0.0.1 still sends its own name."""
    port = client.port
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", ""):
        reply = await client.get("/api/buckets", headers={"Host": host})
        assert reply.status == 403, host
        assert b"Host" in reply.body
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        reply = await client.get("/api/buckets", headers={"Host": host})
        assert reply.status == 200, host


async def test_a_cross_origin_post_is_refused(client: Client, kv_store: natskv.KVStore) -> None:
    put = f"/api/buckets/{kv_store.bucket}/put"
    for origin in ("http://evil.example", "null", f"http://localhost:{client.port + 1}"):
        reply = await client.post(put, {"key": "k", "value": "x"}, headers={"Origin": origin})
        assert reply.status == 403, origin
        assert b"cross-origin" in reply.body
    reply = await client.post(
        put, {"key": "k", "value": "x"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert reply.status == 403
    assert await kv_store.get("k", default=None) is None
    # the page's own origin may write
    own = {"Origin": f"http://127.0.0.1:{client.port}", "Sec-Fetch-Site": "same-origin"}
    reply = await client.post(put, {"key": "k", "value": "x"}, headers=own)
    assert reply.status == 200
    assert await kv_store.get("k") == b"x"


async def test_cross_site_reads_are_refused_but_following_the_link_is_not(
    client: Client, kv_store: natskv.KVStore
) -> None:
    foreign = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
    assert (await client.get("/api/buckets", headers=foreign)).status == 403
    script = {
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "no-cors",
        "Sec-Fetch-Dest": "script",
    }
    assert (await client.get("/static/app.js", headers=script)).status == 403
    # the user clicking the printed URL somewhere else: a top-level navigation to the page
    visit = {
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Dest": "document",
    }
    assert (await client.get("/", headers=visit)).status == 200
    assert (await client.get("/api/buckets", headers=visit)).status == 403


async def test_writes_need_a_post_of_json(client: Client, kv_store: natskv.KVStore) -> None:
    base = f"/api/buckets/{kv_store.bucket}"
    for action in ("put", "delete", "purge"):
        reply = await client.get(f"{base}/{action}", {"key": "k", "value": "x"})
        assert reply.status == 405, action
    # what a cross-site HTML form could send: no JSON content type
    for kind in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data"):
        reply = await client.request(
            "POST", f"{base}/put", headers={"Content-Type": kind}, body=b'{"key":"k","value":"x"}'
        )
        assert reply.status == 415, kind
    assert await kv_store.get("k", default=None) is None


async def test_every_response_carries_the_security_headers(client: Client) -> None:
    for reply in (await client.get("/"), await client.get("/", token=False)):
        csp = reply.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
        assert reply.headers["cache-control"] == "no-store"
        assert "access-control-allow-origin" not in reply.headers


async def test_the_page_links_its_files_with_the_token(client: Client) -> None:
    page = (await client.get("/")).body.decode()
    assert f'src="/static/app.js?token={client.token}"' in page
    assert f'href="/static/app.css?token={client.token}"' in page
    assert "__NATSKV_TOKEN__" not in page


async def test_each_server_has_its_own_random_token(kv: natskv.KVContext) -> None:
    async with UIServer(kv) as one, UIServer(kv) as two:
        assert one.token != two.token and len(one.token) >= 40
        assert one.url == f"http://127.0.0.1:{one.port}/?token={one.token}"
        # one's token does not open two
        reply = await Client(two.port, one.token).get("/api/buckets")
        assert reply.status == 403


def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.0.2.1", "example.com", ""))


async def test_a_non_loopback_address_needs_allow_remote(kv: natskv.KVContext) -> None:
    for host in ("0.0.0.0", "::", "192.0.2.10"):
        with pytest.raises(InsecureBindError, match="allow-remote"):
            UIServer(kv, host=host)
        with pytest.raises(InsecureBindError, match="not a loopback address"):
            check_listen_address(host, allow_remote=False)
        warning = check_listen_address(host, allow_remote=True)
        assert warning is not None and "not loopback" in warning
    assert check_listen_address("127.0.0.1", allow_remote=False) is None


async def test_allowed_hosts_add_names_for_a_remote_ui(kv: natskv.KVContext) -> None:
    async with UIServer(
        kv, host="0.0.0.0", allow_remote=True, allowed_hosts=("ui.example",)
    ) as server:
        client = Client(server.port, server.token)
        assert server.url.startswith("http://127.0.0.1:")
        ok = await client.get("/api/buckets", headers={"Host": f"ui.example:{server.port}"})
        assert ok.status == 200
        other = await client.get("/api/buckets", headers={"Host": f"other.example:{server.port}"})
        assert other.status == 403


async def test_closing_ends_the_live_streams(
    kv: natskv.KVContext, kv_store: natskv.KVStore
) -> None:
    server = await UIServer(kv).start()
    client = Client(server.port, server.token)
    started = asyncio.Event()
    reading = asyncio.ensure_future(
        read_events(
            server.port, client.url(f"/api/buckets/{kv_store.bucket}/events"), 2, started=started
        )
    )
    await asyncio.wait_for(started.wait(), 10)
    await asyncio.wait_for(server.close(), 10)
    # the stream ended (no second event ever came) instead of holding the shutdown
    assert await asyncio.wait_for(reading, 10) == [("ready", {"bucket": kv_store.bucket})]
