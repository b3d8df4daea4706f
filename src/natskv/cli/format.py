"""Public formatters that reproduce the ``nats kv`` CLI's output byte for byte.

Pure functions (no I/O), usable outside the CLI, e.g. to print ``kv ls`` tables.
"""

from natskv.cli._format import *  # noqa: F403
from natskv.cli._format import __all__ as _all

__all__ = list(_all)
