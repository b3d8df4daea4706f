"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest
from tests.unit import parser_helpers

from natskv.protocol import _parser

try:
    from natskv.protocol import _cparser
except ImportError:  # not built; test_protocol_parser_impl.py says whether it should be
    _cparser = None

PARSERS: dict[str, type[_parser.Parser] | None] = {
    "python": _parser.Parser,
    "c": None if _cparser is None else _cparser.Parser,
}


@pytest.fixture(params=sorted(PARSERS))
def parser_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type:
    """Run the test once per parser implementation (pure and compiled).

    The parser tests name ``Parser`` as natskv.protocol exports it; this points that name, in
    the test's module and in the shared helpers, at one implementation at a time, so every
    parser test runs against both without a copy. Use it with
    ``pytestmark = pytest.mark.usefixtures("parser_impl")``.
    """
    cls = PARSERS[request.param]
    if cls is None:
        pytest.skip("the compiled parser (natskv.protocol._cparser) is not built")
    monkeypatch.setattr(request.module, "Parser", cls)
    monkeypatch.setattr(parser_helpers, "Parser", cls)
    return cls
