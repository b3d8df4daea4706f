"""Which parser natskv.protocol.Parser is: the compiled one when built and not turned off with
NATSKV_PURE_PYTHON=1, else the pure one; and the pure one works when the extension is absent.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig

import pytest
from tests.unit.conftest import PARSERS

import natskv.protocol
from natskv.client import _connection
from natskv.protocol import _parser

SHOW = (
    "import natskv.protocol as p, natskv.client._connection as c;"
    "print(p.PARSER_IMPL, p.Parser.__module__, c.Parser is p.Parser,"
    " [type(e).__name__ for e in p.Parser().feed(b'MSG a 1 2\\r\\nhi\\r\\nPING\\r\\n')])"
)


def _run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "NATSKV_PURE_PYTHON"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_parser_impl_names_the_parser_in_use() -> None:
    impl = natskv.protocol.PARSER_IMPL
    assert impl in ("c", "python")
    expected = PARSERS[impl]
    assert natskv.protocol.Parser is expected
    assert _connection.Parser is expected  # what connections use
    if os.environ.get("NATSKV_PURE_PYTHON") == "1":
        assert impl == "python"


def test_pure_python_env_selects_the_pure_parser() -> None:
    out = _run(SHOW, NATSKV_PURE_PYTHON="1")
    assert out == "python natskv.protocol._parser True ['Msg', 'Ping']"


def test_the_pure_parser_is_used_when_the_extension_is_absent() -> None:
    # None in sys.modules makes `import natskv.protocol._cparser` raise ImportError, as on a
    # machine where it was never built.
    out = _run("import sys; sys.modules['natskv.protocol._cparser'] = None;" + SHOW)
    assert out == "python natskv.protocol._parser True ['Msg', 'Ping']"


@pytest.mark.skipif(PARSERS["c"] is None, reason="the compiled parser is not built")
def test_the_compiled_parser_is_the_default_when_built() -> None:
    out = _run(SHOW)
    assert out == "c natskv.protocol._cparser True ['Msg', 'Ping']"
    assert _run(SHOW, NATSKV_PURE_PYTHON="0").startswith("c ")


def test_the_compiled_parser_is_built_where_a_compiler_is() -> None:
    """The build treats the extension as optional; a machine that has a C compiler (as the
    developer's and CI's do) must not silently end up without it."""
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")[0]
    if shutil.which(cc) is None:
        pytest.skip(f"no C compiler ({cc}) here: the pure parser is expected")
    assert PARSERS["c"] is not None, "natskv.protocol._cparser did not build; see the install log"
    assert PARSERS["python"] is _parser.Parser
