"""The pytest plugin, as a user meets it: a test file of theirs, run by pytest, with only the
plugin's fixtures (pytester runs each file in a fresh pytest session of its own)."""

from __future__ import annotations

import ast
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import natskv.testing.plugin
from natskv.server import EmbeddedServer

TESTS = Path(__file__).resolve().parents[1]

LOOP_SCOPE = ("-o", "asyncio_default_fixture_loop_scope=function")

USER_TESTS = """
import asyncio
import pytest
import natskv
import natskv.sync


@pytest.mark.asyncio  # needed in strict mode, harmless in auto mode
async def test_async_fixtures(nc, js, kv, kv_store):
    assert isinstance(nc, natskv.Connection) and nc.is_connected
    assert isinstance(js, natskv.JetStream) and isinstance(kv, natskv.KVContext)
    rev = await kv_store.put("k", b"v")
    assert (await kv_store.get_entry("k")).revision == rev
    assert kv_store.bucket in [n async for n in kv.store_names()]


def test_sync_fixtures(sync_nc, sync_kv, sync_kv_store):
    assert isinstance(sync_nc, natskv.sync.Connection)
    sync_kv_store.put("k", b"v")
    assert sync_kv_store.get("k") == b"v"
    assert sync_kv_store.bucket in list(sync_kv.store_names())


@pytest.mark.kv_config(history=7, storage="memory", description="from the marker")
def test_marker_configures_the_bucket(sync_kv_store):
    status = sync_kv_store.status()
    assert status.history == 7 and status.description == "from the marker"


seen = []


def test_each_test_gets_a_fresh_bucket_a(sync_kv_store):
    seen.append(sync_kv_store.bucket)
    assert sync_kv_store.list_keys() == []
    sync_kv_store.put("left", b"behind")


def test_each_test_gets_a_fresh_bucket_b(sync_kv_store, sync_kv):
    assert sync_kv_store.list_keys() == []
    assert sync_kv_store.bucket != seen[0]
    assert seen[0] not in list(sync_kv.store_names())  # the first one was deleted


seen_async = []


@pytest.mark.asyncio
async def test_each_test_gets_a_fresh_async_bucket_a(kv_store):
    seen_async.append(kv_store.bucket)
    assert await kv_store.list_keys() == []
    await kv_store.put("left", b"behind")


@pytest.mark.asyncio
async def test_each_test_gets_a_fresh_async_bucket_b(kv_store, kv):
    assert await kv_store.list_keys() == []
    assert kv_store.bucket != seen_async[0]
    assert seen_async[0] not in [n async for n in kv.store_names()]  # deleted after its test


def test_one_server_for_the_session(nats_server, nats_url):
    assert nats_server.running and nats_url == nats_server.url
    assert not nats_server.durable
"""


def test_a_users_tests_pass_with_the_plugins_fixtures_in_strict_mode(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "asyncio", "-o", "asyncio_mode=strict", *LOOP_SCOPE
    )
    result.assert_outcomes(passed=8)


def test_and_in_auto_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "asyncio", "-o", "asyncio_mode=auto", *LOOP_SCOPE)
    result.assert_outcomes(passed=8)


def test_the_plugin_is_the_pytest11_entry_point_natskvs_own_suite_runs_on(
    request: pytest.FixtureRequest,
) -> None:
    (point,) = [ep for ep in entry_points(group="pytest11") if ep.name == "natskv"]
    assert point.value == "natskv.testing.plugin"
    # registered under the entry point's name, so loaded from it (a `pytest_plugins` line
    # would register it under its module name) ...
    assert request.config.pluginmanager.get_plugin("natskv") is natskv.testing.plugin
    # ... and the suite's conftest files add fixtures of their own but redefine none of its
    plugin_fixtures = set(natskv.testing.plugin.__all__)
    for conftest in TESTS.rglob("conftest.py"):
        tree = ast.parse(conftest.read_text())
        defined = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        assert defined & plugin_fixtures == set(), conftest


def test_one_server_per_run_on_a_free_port_without_fsync_per_write(
    pytester: pytest.Pytester, nats_server: EmbeddedServer
) -> None:
    """``nats_server`` is set up once for two modules, on a port of its own (this run's
    server holds another one), and keeps nats-server's default sync interval."""
    check = f"""
def test_server(nats_server, sync_kv_store):
    assert nats_server.port not in ({nats_server.port}, 4222)
    status = sync_kv_store.status(monitoring_url=nats_server.monitor_url)
    assert status.sync_policy == "every 2m0s"
"""
    pytester.makepyfile(test_one=check, test_two=check)
    result = pytester.runpytest_subprocess("-p", "asyncio", "--setup-show")
    result.assert_outcomes(passed=2)
    assert result.stdout.str().count("SETUP    S nats_server") == 1


def test_the_cluster_fixture_starts_only_when_asked_for(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_cluster="""
import natskv, natskv.sync

def test_no_cluster(sync_kv_store):
    pass

def test_cluster(nats_cluster):
    assert len(nats_cluster.urls) == 3 and nats_cluster.running
    with natskv.sync.connect(nats_cluster.urls) as nc:
        kv = natskv.sync.KVContext(natskv.sync.JetStream(nc))
        store = kv.create_store(natskv.KVConfig(bucket="r3", replicas=3))
        store.put("k", b"v")
        assert store.status().replicas == 3
"""
    )
    result = pytester.runpytest_subprocess("-p", "asyncio", "--setup-show")
    result.assert_outcomes(passed=2)
    setup = result.stdout.str()
    first = setup.index("test_cluster.py::test_no_cluster")
    assert "nats_cluster" not in setup[:first]
    assert "SETUP    S nats_cluster" in setup


def test_the_plugin_turns_off_with_no_natskv(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_off="def test_x(nats_url):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:natskv")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'nats_url' not found*"])


def test_an_external_server_by_option(pytester: pytest.Pytester, nats_url: str) -> None:
    pytester.makepyfile(
        test_ext="""
def test_url(nats_url, request):
    assert nats_url == request.config.getoption("--natskv-url")
    assert "nats_server" not in request.fixturenames
"""
    )
    result = pytester.runpytest_subprocess("--natskv-url", nats_url)
    result.assert_outcomes(passed=1)


def test_a_bucket_name_in_the_marker_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
import pytest

@pytest.mark.kv_config(bucket="mine")
def test_x(sync_kv_store):
    pass
"""
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the bucket name is the fixture's*"])
