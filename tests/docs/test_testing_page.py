"""The test modules shown on docs/testing.md pass, run by pytest with only the plugin's fixtures.

The docs harness cannot run a test module (it would only define its functions), so each
block of the page that starts with a ``# test_<name>.py`` line is written to that file and
the files are run in a pytest session of their own, as a user would run them.
"""

from __future__ import annotations

import re

import pytest
from tests.docs.counts import RUN_AS_TESTS
from tests.docs.test_docs_examples import DOCS, _blocks

PAGE = DOCS / "testing.md"
_FILE_LINE = re.compile(r"# (test_\w+\.py)\n")


def _test_modules() -> dict[str, str]:
    return {name: code for name, (_, code) in _module_blocks().items()}


def _module_blocks() -> dict[str, tuple[str, str]]:
    """test file name -> ("page:line", its source)"""
    modules = {}
    for block in _blocks(PAGE):
        m = _FILE_LINE.match(block.code)
        if block.lang == "python" and m:
            modules[m[1]] = (f"{block.page}:{block.line}", block.code)
    return modules


def _test_count(source: str) -> int:
    return len(re.findall(r"^(?:async )?def test_", source, re.MULTILINE))


def test_the_page_shows_test_modules() -> None:
    assert set(_test_modules()) == {"test_orders.py", "test_sessions.py", "test_restarts.py"}


def test_the_pages_test_modules_pass(pytester: pytest.Pytester) -> None:
    modules = _test_modules()
    for name, source in modules.items():
        pytester.makepyfile(**{name.removesuffix(".py"): source})
    result = pytester.runpytest_subprocess(
        "-p",
        "asyncio",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-W",
        "error",
    )
    result.assert_outcomes(passed=sum(_test_count(s) for s in modules.values()))
    RUN_AS_TESTS.extend(("python", where) for where, _ in _module_blocks().values())
