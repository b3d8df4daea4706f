"""natskv's pytest plugin: a real nats-server with JetStream for your tests, and fresh buckets.

On by default once natskv is installed (entry point ``pytest11``); ``-p no:natskv`` turns
it off. Fixtures:

======================  =========  ==========================================================
fixture                 scope      what it gives
======================  =========  ==========================================================
``nats_server``         session    an :class:`~natskv.EmbeddedServer` on a free port, not
                                   fsyncing every write (tests want speed, not durability)
``nats_url``            session    its URL, or ``--natskv-url`` / ``NATSKV_TEST_URL`` when set
``nc``                  function   an open async :class:`natskv.Connection`, closed after
``js``                  function   a :class:`natskv.JetStream` on ``nc``
``kv``                  function   a :class:`natskv.KVContext` on ``js``
``kv_store``            function   a fresh bucket (unique name), deleted after the test
``sync_nc``             function   a :class:`natskv.sync.Connection`, closed after
``sync_kv``             function   a :class:`natskv.sync.KVContext` on it
``sync_kv_store``       function   a fresh bucket through the sync API, deleted after
``nats_cluster``        session    an :class:`~natskv.server.EmbeddedCluster` of three nodes,
                                   started the first time a test asks for it
======================  =========  ==========================================================

The bucket fixtures take their settings from a ``kv_config`` marker, whose keyword
arguments go to :class:`natskv.KVConfig` (``bucket`` excepted)::

    @pytest.mark.kv_config(history=5, ttl=60)
    async def test_history(kv_store: natskv.KVStore) -> None: ...

The async fixtures need pytest-asyncio, in strict or auto mode. On an empty server the
plugin creates one small file stream, ``natskv_test_pin``: nats-server 2.15 removes an
account's file-store directory in the background when its last stream is deleted, and a
file bucket created at that moment fails; the pin keeps the directory.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import pytest

import natskv
import natskv.sync
from natskv.server import EmbeddedCluster, EmbeddedServer

__all__ = [
    "js",
    "kv",
    "kv_store",
    "nats_cluster",
    "nats_server",
    "nats_url",
    "nc",
    "sync_kv",
    "sync_kv_store",
    "sync_nc",
]

URL_ENV = "NATSKV_TEST_URL"
F = TypeVar("F", bound=Callable[..., Any])

try:
    import pytest_asyncio

    _async_fixture: Callable[[F], F] = pytest_asyncio.fixture  # type: ignore[assignment]
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio

    def _async_fixture(fn: F) -> F:
        def needs_pytest_asyncio(*args: Any, **kwargs: Any) -> Any:
            pytest.fail(
                f"the natskv fixture {fn.__name__!r} is async: install pytest-asyncio "
                "(pip install pytest-asyncio), or use the sync fixtures (sync_nc, ...)"
            )

        needs_pytest_asyncio.__name__ = fn.__name__
        needs_pytest_asyncio.__doc__ = fn.__doc__
        return pytest.fixture(needs_pytest_asyncio)  # type: ignore[return-value]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("natskv")
    group.addoption(
        "--natskv-url",
        default=None,
        help=f"run the natskv fixtures against this server instead of an embedded one "
        f"(also ${URL_ENV})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "kv_config(**settings): natskv.KVConfig settings of the kv_store / sync_kv_store bucket",
    )


def _pin_file_store(url: str) -> None:
    with natskv.sync.connect(url) as nc, contextlib.suppress(natskv.APIError):
        natskv.sync.JetStream(nc).create_stream(
            {"name": "natskv_test_pin", "subjects": ["natskv.test.pin"], "storage": "file"}
        )


@pytest.fixture(scope="session")
def nats_server() -> Iterator[EmbeddedServer]:
    """One embedded nats-server with JetStream for the whole test run (not durable)."""
    with EmbeddedServer(durable=False) as server:
        _pin_file_store(server.url)
        yield server


@pytest.fixture(scope="session")
def nats_url(request: pytest.FixtureRequest) -> str:
    """The server the fixtures use: ``--natskv-url``, ``$NATSKV_TEST_URL``, else
    :func:`nats_server`'s."""
    url = request.config.getoption("--natskv-url") or os.environ.get(URL_ENV)
    if url:
        return str(url)
    server: EmbeddedServer = request.getfixturevalue("nats_server")
    return server.url


@pytest.fixture(scope="session")
def nats_cluster() -> Iterator[EmbeddedCluster]:
    """A three-node JetStream cluster on loopback (``.urls``, ``.url``, ``.nodes``)."""
    with EmbeddedCluster(3) as cluster:
        yield cluster


@_async_fixture
async def nc(nats_url: str) -> AsyncIterator[natskv.Connection]:
    """An async connection to :func:`nats_url`, closed after the test."""
    conn = await natskv.connect(nats_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def js(nc: natskv.Connection) -> natskv.JetStream:
    """A JetStream context on :func:`nc`."""
    return natskv.JetStream(nc)


@pytest.fixture
def kv(js: natskv.JetStream) -> natskv.KVContext:
    """A Key/Value context on :func:`js`."""
    return natskv.KVContext(js)


def _bucket_config(request: pytest.FixtureRequest) -> natskv.KVConfig:
    settings: dict[str, Any] = {}
    marker = request.node.get_closest_marker("kv_config")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("kv_config takes keyword arguments (KVConfig settings)")
        settings = dict(marker.kwargs)
        if "bucket" in settings:
            raise pytest.UsageError("kv_config: the bucket name is the fixture's (unique)")
    return natskv.KVConfig(bucket=f"test_{uuid.uuid4().hex[:16]}", **settings)


@_async_fixture
async def kv_store(
    kv: natskv.KVContext, request: pytest.FixtureRequest
) -> AsyncIterator[natskv.KVStore]:
    """A fresh bucket of the test's own (settings from a ``kv_config`` marker), deleted
    after it."""
    config = _bucket_config(request)
    store = await kv.create_store(config)
    try:
        yield store
    finally:
        with contextlib.suppress(natskv.NatsError):
            await kv.delete_store(config.bucket)


@pytest.fixture
def sync_nc(nats_url: str) -> Iterator[natskv.sync.Connection]:
    """A sync connection to :func:`nats_url`, closed after the test."""
    with natskv.sync.connect(nats_url) as conn:
        yield conn


@pytest.fixture
def sync_kv(sync_nc: natskv.sync.Connection) -> natskv.sync.KVContext:
    """A sync Key/Value context on :func:`sync_nc`."""
    return natskv.sync.KVContext(natskv.sync.JetStream(sync_nc))


@pytest.fixture
def sync_kv_store(
    sync_kv: natskv.sync.KVContext, request: pytest.FixtureRequest
) -> Iterator[natskv.sync.KVStore]:
    """:func:`kv_store` through the sync API."""
    config = _bucket_config(request)
    store = sync_kv.create_store(config)
    try:
        yield store
    finally:
        with contextlib.suppress(natskv.NatsError):
            sync_kv.delete_store(config.bucket)
