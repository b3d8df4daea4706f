"""Public formatters that reproduce the ``nats kv`` CLI's output byte for byte.

Pure functions (no I/O, no environment look-ups: callers pass the environment in where it
matters, see :func:`table_style_from_env`), usable outside the CLI, e.g. to print
``kv ls`` tables. They live in one module per job, re-exported here:

* ``_table``: the go-pretty table renderer (:func:`render_table`);
* ``_text``: display widths, raw wire bytes as text, printable-or-base64 values;
* ``_scalars``: Go's and go-humanize's formats of times, numbers, sizes and durations;
* ``_parse``: sizes and durations given on the command line;
* ``_screen_ls``, ``_screen_entries``, ``_screen_info``: the screens of ``kv ls``;
  ``kv get``, ``watch``, ``history`` and ``revert``; ``kv info``.

Conventions
-----------
* Functions named ``*_table``, :func:`get_output`, :func:`status_text` and
  :func:`watch_line` return the *complete* text natscli writes to stdout for
  that screen, trailing newlines included.  Write it as is (for example with
  ``click.echo(text, nl=False)``), do not add another newline.
* :func:`render_table` is the bare table renderer: like go-pretty's
  ``Render()`` it returns the table **without** a trailing newline.  natscli
  prints tables with ``fmt.Println(fmt.Sprintln(table))``, so a table on
  stdout is always followed by one blank line; the ``*_table`` functions
  already add that ``"\\n\\n"``.
* Values that come from the wire (``bytes``) and are printed raw by natscli
  (``kv watch``, ``kv ls -v --display-value``, ``kv get --raw``) are decoded
  with ``surrogateescape``, so :func:`encode_output` recovers the exact bytes.

Behaviour follows natscli ``cli/kv_command.go``, ``columns/columns.go``,
``internal/util/{tables,util}.go``, go-pretty v6 ``table`` (StyleRounded),
go-humanize v1.0.1 ``IBytes``/``Comma``, Go's ``time.Duration.String`` and
``time.ParseDuration``, and choria-io/fisk ``ParseDuration``.
"""

from natskv.cli._parse import parse_byte_size, parse_duration, parse_duration_ns
from natskv.cli._scalars import (
    MAX_INT64,
    NEVER,
    Duration,
    format_duration,
    format_duration_ns,
    format_ibytes,
    format_number,
    format_since,
    format_time,
    go_duration_string,
)
from natskv.cli._screen_entries import (
    HistoryRow,
    get_output,
    get_raw_output,
    history_table,
    normalize_operation,
    revert_preview,
    watch_line,
)
from natskv.cli._screen_info import (
    ClusterInfo,
    ReplicaInfo,
    RepublishInfo,
    SourceInfo,
    StatusView,
    status_text,
)
from natskv.cli._screen_ls import (
    NO_BUCKETS_FOUND,
    NO_KEYS_FOUND,
    BucketRow,
    KeyRow,
    bucket_names_output,
    buckets_table,
    keys_table,
)
from natskv.cli._table import TABLE_STYLES, Cell, render_table, table_style_from_env
from natskv.cli._text import (
    base64_if_not_printable,
    display_width,
    encode_output,
    is_printable,
    shorten_value,
)

__all__ = [
    "MAX_INT64",
    "NEVER",
    "NO_BUCKETS_FOUND",
    "NO_KEYS_FOUND",
    "TABLE_STYLES",
    "BucketRow",
    "Cell",
    "ClusterInfo",
    "Duration",
    "HistoryRow",
    "KeyRow",
    "ReplicaInfo",
    "RepublishInfo",
    "SourceInfo",
    "StatusView",
    "base64_if_not_printable",
    "bucket_names_output",
    "buckets_table",
    "display_width",
    "encode_output",
    "format_duration",
    "format_duration_ns",
    "format_ibytes",
    "format_number",
    "format_since",
    "format_time",
    "get_output",
    "get_raw_output",
    "go_duration_string",
    "history_table",
    "is_printable",
    "keys_table",
    "normalize_operation",
    "parse_byte_size",
    "parse_duration",
    "parse_duration_ns",
    "render_table",
    "revert_preview",
    "shorten_value",
    "status_text",
    "table_style_from_env",
    "watch_line",
]
