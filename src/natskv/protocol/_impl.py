"""Which class ``natskv.protocol.Parser`` is: the compiled parser when it was built, else the
pure-Python one.

The compiled parser (``_cparser.c``, built at install time when a C compiler is there) is a
drop-in twin of :class:`natskv.protocol._parser.Parser`: the same events, the same ``Msg``
class, the same errors. ``NATSKV_PURE_PYTHON=1`` in the environment, read once at import,
selects the pure parser even when the compiled one is installed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from natskv.protocol import _parser

__all__ = ["PARSER_IMPL", "Parser"]


def _choose() -> tuple[type[_parser.Parser], Literal["c", "python"]]:
    if os.environ.get("NATSKV_PURE_PYTHON") == "1":
        return _parser.Parser, "python"
    try:
        from natskv.protocol import _cparser
    except ImportError:  # not built (no compiler at install time)
        return _parser.Parser, "python"
    return _cparser.Parser, "c"  # type: ignore[return-value]  # same interface, other class


if TYPE_CHECKING:
    from natskv.protocol._parser import Parser

    PARSER_IMPL: Literal["c", "python"]
else:
    Parser, PARSER_IMPL = _choose()
