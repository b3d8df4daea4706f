"""Pure formatting helpers that reproduce the output of the Go ``nats kv`` CLI.

Every function here is pure: no I/O, no environment look-ups (callers pass
the environment in where it matters, see :func:`table_style_from_env`), and
only the standard library is used.

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

from __future__ import annotations

import base64
import contextlib
import math
import re
import struct
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

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

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

MAX_INT64: Final = (1 << 63) - 1
"""Largest Go ``int64`` / ``time.Duration``; ``time.Since(zero time)`` saturates to it."""

_MIN_INT64: Final = -(1 << 63)

NEVER: Final = "never"
"""How natscli renders a ``MaxInt64`` duration (e.g. the last update of an empty bucket)."""

NO_BUCKETS_FOUND: Final = "No Key-Value buckets found"
"""Printed by ``nats kv ls`` when there is no bucket."""

NO_KEYS_FOUND: Final = "No keys found in bucket"
"""Printed by ``nats kv ls BUCKET`` when the bucket has no key."""

TABLE_STYLES: Final = ("rounded", "markdown", "csv", "tsv")
"""Table renderers understood by :func:`render_table`."""

_NS_PER_US: Final = 1_000
_NS_PER_MS: Final = 1_000_000
_NS_PER_S: Final = 1_000_000_000
_NS_PER_M: Final = 60 * _NS_PER_S
_NS_PER_H: Final = 60 * _NS_PER_M

_UNLIMITED: Final = "unlimited"

# fatih/color: Sprint wraps with "\x1b[<attr>m" ... "\x1b[0m"
_ANSI_RED: Final = "\x1b[31m"
_ANSI_GREEN: Final = "\x1b[32m"
_ANSI_RESET: Final = "\x1b[0m"

# ---------------------------------------------------------------------------
# Text width helpers (go-runewidth semantics, non-CJK locale)
# ---------------------------------------------------------------------------

_ESCAPE_SEQ_RE: Final = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI, e.g. colours
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC, e.g. hyperlinks
)

# Go's unicode.IsSpace set, used by go-pretty's SuppressTrailingSpaces.
_GO_SPACE: Final = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _char_width(ch: str) -> int:
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return 0
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


def display_width(text: str) -> int:
    """Return the terminal cell width of ``text``, ignoring ANSI escape sequences.

    East-asian wide and full-width characters count 2, combining marks and
    control characters count 0, everything else 1 (go-runewidth's rules in a
    non-CJK locale, which is what go-pretty uses to size columns).
    """
    if text.isascii() and text.isprintable():
        return len(text)
    return sum(_char_width(ch) for ch in _ESCAPE_SEQ_RE.sub("", text))


def _trim_to_width(text: str, width: int) -> str:
    """Cut ``text`` so that its display width is at most ``width``."""
    out: list[str] = []
    used = 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out)


def _go_rstrip(line: str) -> str:
    return line.rstrip(_GO_SPACE)


def _process_crlf(text: str) -> str:
    """go-pretty ``text.ProcessCRLF``: ``\\r\\n`` -> ``\\n``; a lone ``\\r`` overwrites the line."""
    text = text.replace("\r\n", "\n")
    if "\r" not in text:
        return text
    lines = text.split("\n")
    for idx, line in enumerate(lines):
        if "\r" not in line:
            continue
        buf: list[str] = []
        pos = 0
        for ch in line:
            if ch == "\r":
                pos = 0
                continue
            if pos < len(buf):
                buf[pos] = ch
            else:
                buf.append(ch)
            pos += 1
        lines[idx] = "".join(buf)
    return "\n".join(lines)


def encode_output(text: str) -> bytes:
    """Encode text from this module to the exact bytes natscli would write.

    Raw wire values are decoded with ``surrogateescape``; this reverses it.
    """
    return text.encode("utf-8", "surrogateescape")


def _raw_text(value: bytes | None) -> str:
    return value.decode("utf-8", "surrogateescape") if value else ""


# ---------------------------------------------------------------------------
# Table rendering (go-pretty v6, as configured by natscli)
# ---------------------------------------------------------------------------

Cell = str | int
"""A table cell: ``str`` is text; ``int`` marks a numeric cell (go-pretty right-aligns
a column whose regular-row cells are all numbers, header included)."""


def table_style_from_env(environ: Mapping[str, str]) -> str:
    """Pick the table renderer the way natscli's ``Table.Render`` does.

    ``LLMFORMAT=1`` selects markdown; otherwise ``NATS_TABLE_FORMAT`` (case
    insensitive) ``md``/``markdown``, ``csv`` or ``tsv``; anything else is the
    rounded box table.  Pass ``os.environ``.
    """
    if environ.get("LLMFORMAT") == "1":
        return "markdown"
    fmt = environ.get("NATS_TABLE_FORMAT", "").lower()
    if fmt in ("md", "markdown"):
        return "markdown"
    if fmt in ("csv", "tsv"):
        return fmt
    return "rounded"


def _is_numeric_cell(cell: object) -> bool:
    return isinstance(cell, (int, float)) and not isinstance(cell, bool)


def _stringify_cell(cell: object) -> str:
    if isinstance(cell, bool):
        text = "true" if cell else "false"
    elif isinstance(cell, str):
        text = cell
    else:
        text = str(cell)
    return _process_crlf(text.replace("\t", "    "))


def _align_left(text: str, width: int) -> str:
    if text.endswith(" "):
        text = text.rstrip(" ")
    pad = width - display_width(text)
    return text + " " * pad if pad > 0 else text


def _align_right(text: str, width: int) -> str:
    if text.startswith(" "):
        text = text.lstrip(" ")
    pad = width - display_width(text)
    return " " * pad + text if pad > 0 else text


def _align_center(text: str, width: int) -> str:
    text = text.strip(" ")
    pad = width - display_width(text)
    if pad <= 0:
        return text
    # go-pretty: the extra space goes to the left when the padding is odd
    return " " * (pad - pad // 2) + text + " " * (pad // 2)


def _wrap_text(text: str, width: int) -> str:
    """go-pretty ``text.WrapText``: hard wrap every ``width`` runes, keeping newlines."""
    if width <= 0:
        return ""
    out: list[str] = []
    line_len = 0
    for ch in text:
        if ch == "\n" or line_len == width:
            out.append("\n")
            line_len = 0
        if ch != "\n":
            out.append(ch)
            line_len += 1
    return "".join(out)


class _Table:
    """Rendering state for one table (headers, stringified rows, widths, alignment)."""

    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.header: list[str] = [_stringify_cell(h) for h in headers]
        self.rows: list[list[str]] = [[_stringify_cell(c) for c in row] for row in rows]
        self.num_columns = max([len(self.header), *(len(r) for r in rows)], default=0)
        non_numeric = [False] * self.num_columns
        for row in rows:
            for idx, cell in enumerate(row):
                if not _is_numeric_cell(cell):
                    non_numeric[idx] = True
        self.right_aligned = [not flag for flag in non_numeric]
        widths = [0] * self.num_columns
        for row_str in ([self.header] if self.header else []) + self.rows:
            for idx, cell_str in enumerate(row_str):
                longest = max(display_width(line) for line in cell_str.split("\n"))
                widths[idx] = max(widths[idx], longest)
        self.widths = widths
        # border + padding + separators, as go-pretty's maxRowLength
        self.row_length = sum(w + 2 for w in widths) + max(self.num_columns - 1, 0) + 2

    def align(self, idx: int, text: str) -> str:
        if self.right_aligned[idx]:
            return _align_right(text, self.widths[idx])
        return _align_left(text, self.widths[idx])

    def line(self, cells: Sequence[str]) -> str:
        parts = []
        for idx in range(self.num_columns):
            text = cells[idx] if idx < len(cells) else ""
            parts.append(" " + self.align(idx, text) + " ")
        return "│" + "│".join(parts) + "│"

    def row_lines(self, row: Sequence[str]) -> list[str]:
        if not row:
            return []
        split = [cell.split("\n") for cell in row]
        height = max(len(lines) for lines in split)
        return [
            self.line([lines[i] if i < len(lines) else "" for lines in split])
            for i in range(height)
        ]

    def separator(self, left: str, middle: str, right: str) -> str:
        return left + middle.join("─" * (w + 2) for w in self.widths) + right


def _render_rounded(table: _Table, title: str | None, width_max: int) -> list[str]:
    lines: list[str] = []
    if title:
        row_length = table.row_length
        if 0 < width_max < row_length:
            row_length = width_max
        lines.append("╭" + "─" * max(row_length - 2, 0) + "╮")
        text_width = row_length - 4
        for title_line in _wrap_text(title, text_width).split("\n"):
            lines.append("│ " + _align_center(title_line.strip(), text_width) + " │")
        top = table.separator("├", "┬", "┤")
    else:
        top = table.separator("╭", "┬", "╮")

    body: list[str] = [top]
    if table.header:
        body.extend(table.row_lines(table.header))
        body.append(table.separator("├", "┼", "┤"))
    for row in table.rows:
        body.extend(table.row_lines(row))
    body.append(table.separator("╰", "┴", "╯"))

    if width_max > 0:
        limited = []
        for line in body:
            if display_width(line) > width_max:
                keep = width_max - len(" ≈")
                line = _trim_to_width(line, keep) + " ≈" if keep > 0 else ""
            limited.append(line)
        body = limited
    return lines + body


def _render_markdown(table: _Table, title: str | None) -> list[str]:
    def md_row(cells: Sequence[str]) -> str:
        out = "|"
        for idx in range(table.num_columns):
            text = cells[idx] if idx < len(cells) else ""
            out += " " + text.replace("|", "\\|").replace("\n", "<br/>") + " |"
        return out

    lines: list[str] = []
    if title:
        lines.append("# " + title)
    if table.header:
        lines.append(md_row(table.header))
        lines.append(
            "|" + "".join(" ---:|" if right else " --- |" for right in table.right_aligned)
        )
    lines.extend(md_row(row) for row in table.rows)
    return lines


def _render_csv(table: _Table, title: str | None) -> list[str]:
    def csv_row(cells: Sequence[str]) -> str:
        parts = []
        for text in cells:
            if any(ch in text for ch in '",\n'):
                parts.append('"' + text.replace('"', '\\"').replace(",", "\\,") + '"')
            else:
                parts.append(text)
        return ",".join(parts) + "," * (table.num_columns - len(cells))

    lines = [title] if title else []
    if table.header:
        lines.append(csv_row(table.header))
    lines.extend(csv_row(row) for row in table.rows)
    return lines


def _render_tsv(table: _Table, title: str | None) -> list[str]:
    def tsv_row(cells: Sequence[str]) -> str:
        parts = []
        for text in cells:
            if any(ch in text for ch in '\t\n"') or "    " in text:
                parts.append('"' + text.replace('"', '""') + '"')
            else:
                parts.append(text)
        return "\t".join(parts) + "\t" * (table.num_columns - len(cells))

    lines = [title] if title else []
    if table.header:
        lines.append(tsv_row(table.header))
    lines.extend(tsv_row(row) for row in table.rows)
    return lines


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None = None,
    style: str = "rounded",
    width_max: int = 0,
) -> str:
    """Render a table exactly like natscli's go-pretty writer (no trailing newline).

    ``style`` is ``"rounded"`` (go-pretty ``StyleRounded``: ``╭╮╰╯`` corners,
    ``│`` borders, one space of padding, header case kept, title centred in a
    full-width row, extra space on the left when the centring is odd),
    ``"markdown"`` (or ``"md"``), ``"csv"`` or ``"tsv"``.  Text cells are
    left-aligned; a column whose regular-row cells are all ``int`` is
    right-aligned, header included, as go-pretty does for numeric Go values.
    Tabs become four spaces, multi-line cells span several lines, and
    trailing white space is removed from every line (``SuppressTrailingSpaces``).
    ``width_max`` mimics natscli on a terminal (lines wider than the terminal
    are cut and end in ``" ≈"``); leave it at 0 for non-terminal output.
    """
    table = _Table(headers, rows)
    if table.num_columns == 0:
        return ""
    kind = style.lower()
    if kind == "rounded":
        lines = _render_rounded(table, title, width_max)
    elif kind in ("markdown", "md"):
        lines = _render_markdown(table, title)
    elif kind == "csv":
        lines = _render_csv(table, title)
    elif kind == "tsv":
        lines = _render_tsv(table, title)
    else:
        raise ValueError(f"unknown table style {style!r}, expected one of {TABLE_STYLES}")
    return "\n".join(_go_rstrip(line) for line in lines)


def _table_output(
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    title: str,
    style: str,
    width_max: int,
) -> str:
    # natscli: fmt.Println(fmt.Sprintln(writer.Render()))
    return render_table(headers, rows, title=title, style=style, width_max=width_max) + "\n\n"


# ---------------------------------------------------------------------------
# Scalar formatting: time, numbers, bytes, durations
# ---------------------------------------------------------------------------


def format_time(dt: datetime) -> str:
    """Format like natscli ``f(time.Time)``: ``2006-01-02 15:04:05`` in local time.

    Aware datetimes are converted with ``astimezone()``; naive ones are taken
    as already local.  Years are zero-padded to four digits like Go.
    """
    if dt.tzinfo is not None:
        # out of range near year 1 or 9999: keep the original offset
        with contextlib.suppress(OverflowError, ValueError):
            dt = dt.astimezone()
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )


def format_number(n: int) -> str:
    """Format an integer like natscli ``F()`` (go-humanize ``Comma``): ``1,234,567``.

    Values above ``MaxInt64`` (only possible for Go ``uint64``) print without
    separators, as ``F()`` does.
    """
    if n > MAX_INT64:
        return str(n)
    return f"{n:,}"


def format_ibytes(n: int) -> str:
    """Format a byte count like go-humanize v1.0.1 ``IBytes``.

    ``n < 10`` gives ``"<n> B"``; otherwise the value is scaled by the
    largest power of 1024 not above it, rounded half up to one decimal
    (``floor(x*10+0.5)/10``) and printed with one decimal when below 10,
    none otherwise (``%.0f``, round half to even): ``1.0 KiB``, ``1.5 KiB``,
    ``10 KiB``, ``1023 B``, ``1024 KiB``.  Negative numbers are treated as
    the Go ``uint64`` conversion would.
    """
    if n < 0:
        n += 1 << 64
    if n < 10:
        return f"{n} B"
    sizes = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    value = float(n)
    exp = math.floor(math.log(value) / math.log(1024.0))
    # Go gets exact integers at exact powers of 1024; do not trust libm there
    if exp + 1 < len(sizes) and 1024.0 ** (exp + 1) <= value:
        exp += 1
    exp = min(exp, len(sizes) - 1)
    val = math.floor(value / 1024.0**exp * 10 + 0.5) / 10
    if val < 10:
        return f"{val:.1f} {sizes[exp]}"
    return f"{val:.0f} {sizes[exp]}"


def _go_round(ns: int, multiple: int) -> int:
    """Go ``time.Duration.Round``: halves away from zero, saturating."""
    if multiple <= 0:
        return ns
    rem = abs(ns) % multiple
    if ns < 0:
        if rem + rem < multiple:
            return ns + rem
        result = ns - multiple + rem
        return result if result >= _MIN_INT64 else _MIN_INT64
    if rem + rem < multiple:
        return ns - rem
    result = ns + multiple - rem
    return result if result <= MAX_INT64 else MAX_INT64


def _frac(value: int, precision: int) -> tuple[str, int]:
    """Split ``value`` into (".fraction" without trailing zeros, integer part)."""
    scale = 10**precision
    integer, fraction = divmod(value, scale)
    if fraction == 0:
        return "", integer
    return "." + f"{fraction:0{precision}d}".rstrip("0"), integer


def go_duration_string(ns: int) -> str:
    """Go ``time.Duration.String()`` for ``ns`` nanoseconds (``1h2m3.5s``, ``1.5ms``, ``0s``)."""
    neg = ns < 0
    u = -ns if neg else ns
    if u < _NS_PER_S:
        if u == 0:
            return "0s"
        if u < _NS_PER_US:
            text = f"{u}ns"
        elif u < _NS_PER_MS:
            frac, integer = _frac(u, 3)
            text = f"{integer}{frac}µs"
        else:
            frac, integer = _frac(u, 6)
            text = f"{integer}{frac}ms"
    else:
        frac, secs = _frac(u, 9)
        text = f"{secs % 60}{frac}s"
        mins = secs // 60
        if mins > 0:
            text = f"{mins % 60}m{text}"
            hours = mins // 60
            if hours > 0:
                text = f"{hours}h{text}"
    return "-" + text if neg else text


def format_duration_ns(ns: int) -> str:
    """natscli ``columns.HumanizeDuration`` for a Go duration in nanoseconds.

    * below 1ms: rounded to the microsecond, Go style (``0s``, ``2µs``);
    * below 1s: rounded to the millisecond, Go style (``1ms``, ``999ms``,
      and ``1s`` when it rounds up);
    * ``MaxInt64`` (or more): ``never``;
    * otherwise ``XyXdXhXmXs`` from the largest non-zero unit down
      (``1m30s``, ``1h0m0s``, ``2d3h0m0s``, ``1y0d0h0m0s``; a year is 365
      days), and under a minute ``%.2fs`` (``1.00s``, ``44.00s``).

    Negative durations print as Go's ``Duration.String`` does (``-1m30s``).
    """
    if ns >= MAX_INT64:
        return NEVER
    ns = max(ns, _MIN_INT64)
    if ns < _NS_PER_MS:
        return go_duration_string(_go_round(ns, _NS_PER_US))
    if ns < _NS_PER_S:
        return go_duration_string(_go_round(ns, _NS_PER_MS))
    tsecs = ns // _NS_PER_S
    tmins = tsecs // 60
    thrs = tmins // 60
    tdays = thrs // 24
    tyrs = tdays // 365
    if tyrs > 0:
        return f"{tyrs}y{tdays % 365}d{thrs % 24}h{tmins % 60}m{tsecs % 60}s"
    if tdays > 0:
        return f"{tdays}d{thrs % 24}h{tmins % 60}m{tsecs % 60}s"
    if thrs > 0:
        return f"{thrs}h{tmins % 60}m{tsecs % 60}s"
    if tmins > 0:
        return f"{tmins}m{tsecs % 60}s"
    seconds = float(ns // _NS_PER_S) + float(ns % _NS_PER_S) / 1e9  # Go d.Seconds()
    return f"{seconds:.2f}s"


def _to_ns(value: float | timedelta) -> int:
    if isinstance(value, timedelta):
        return (value.days * 86_400 + value.seconds) * _NS_PER_S + value.microseconds * 1_000
    if math.isnan(value):
        raise ValueError("duration is NaN")
    if math.isinf(value):
        return MAX_INT64 if value > 0 else _MIN_INT64
    ns = round(value * 1e9)
    return max(min(ns, MAX_INT64), _MIN_INT64)


def format_duration(value: float | timedelta) -> str:
    """Format a duration (seconds or ``timedelta``) like natscli ``F(time.Duration)``.

    See :func:`format_duration_ns` for the rules; ``math.inf`` and anything at
    or beyond ``MaxInt64`` nanoseconds render as ``never``.
    """
    return format_duration_ns(_to_ns(value))


def format_since(dt: datetime | None, now: datetime | None = None) -> str:
    """natscli ``f(time.Since(dt))``, e.g. the "Last Update" column of ``kv ls``.

    ``None`` (and Go's zero time, year 1, whose distance to now saturates Go's
    ``int64`` nanoseconds) gives ``never``.  ``now`` defaults to the current
    time; pass it for deterministic output.
    """
    if dt is None:
        return NEVER
    if now is None:
        now = datetime.now(dt.tzinfo) if dt.tzinfo is not None else datetime.now()
    if (dt.tzinfo is None) != (now.tzinfo is None):
        try:
            if dt.tzinfo is None:
                dt = dt.astimezone()
            else:
                now = now.astimezone()
        except (OverflowError, ValueError):
            return NEVER
    delta = now - dt
    ns = (delta.days * 86_400 + delta.seconds) * _NS_PER_S + delta.microseconds * 1_000
    return format_duration_ns(max(min(ns, MAX_INT64), _MIN_INT64))


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


def is_printable(value: bytes) -> bool:
    """natscli ``IsPrintable``: every byte is printable ASCII (0x20-0x7E); empty is printable."""
    return all(0x20 <= b <= 0x7E for b in value)


def base64_if_not_printable(value: bytes) -> str:
    """natscli ``Base64IfNotPrintable``: the value as text, or standard base64 when any
    byte is outside printable ASCII (tabs, newlines and non-ASCII UTF-8 included)."""
    if is_printable(value):
        return value.decode("ascii")
    return base64.b64encode(value).decode("ascii")


def shorten_value(value: bytes) -> str:
    """Value as shown by ``kv history``/``kv revert``: printable text or base64,
    cut to ``first15...last15`` when longer than 40 characters."""
    text = base64_if_not_printable(value)
    if len(text) > 40:
        return f"{text[:15]}...{text[-15:]}"
    return text


_OPERATIONS: Final = {
    "PUT": "PUT",
    "DEL": "DELETE",
    "DELETE": "DELETE",
    "PURGE": "PURGE",
}


def normalize_operation(operation: str) -> str:
    """Map a KV operation (``PUT``, ``DEL``/``DELETE``, ``PURGE``, any case) to natscli's
    ``strForOp`` word; anything else is ``UNKNOWN``."""
    return _OPERATIONS.get(operation.strip().upper(), "UNKNOWN")


# ---------------------------------------------------------------------------
# kv ls
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketRow:
    """One bucket in ``nats kv ls``.

    ``bucket`` is the bucket name (the stream name without ``KV_``),
    ``size_bytes`` and ``values`` the stream state's bytes and messages
    (history and delete markers included, as natscli shows them),
    ``last_update`` the stream's last message time (``None`` or Go's zero
    time for an empty bucket).
    """

    bucket: str
    description: str
    created: datetime
    size_bytes: int
    values: int
    last_update: datetime | None


def buckets_table(
    rows: Sequence[BucketRow],
    *,
    now: datetime | None = None,
    style: str = "rounded",
    width_max: int = 0,
) -> str:
    """Full stdout of ``nats kv ls`` (bucket listing).

    Rows are sorted by size ascending (stable, ties keep the given order);
    no rows gives ``"No Key-Value buckets found\\n"``.
    """
    if not rows:
        return NO_BUCKETS_FOUND + "\n"
    ordered = sorted(rows, key=lambda r: r.size_bytes)
    cells: list[list[Cell]] = [
        [
            r.bucket,
            r.description,
            format_time(r.created),
            format_ibytes(r.size_bytes),
            format_number(r.values),
            format_since(r.last_update, now),
        ]
        for r in ordered
    ]
    headers = ("Bucket", "Description", "Created", "Size", "Values", "Last Update")
    return _table_output(headers, cells, "Key-Value Buckets", style, width_max)


def bucket_names_output(names: Sequence[str]) -> str:
    """Full stdout of ``nats kv ls --names``: one name per line, nothing when empty."""
    return "".join(f"{name}\n" for name in names)


@dataclass(frozen=True)
class KeyRow:
    """One key in ``nats kv ls BUCKET -v`` (the entry returned by ``Get``)."""

    key: str
    created: datetime
    delta: int
    revision: int
    value: bytes = b""


def keys_table(
    bucket: str,
    rows: Sequence[KeyRow],
    *,
    display_value: bool = False,
    style: str = "rounded",
    width_max: int = 0,
) -> str:
    """Full stdout of ``nats kv ls BUCKET -v [--display-value]``.

    Delta and Revision are numeric (right-aligned).  The value is printed raw
    (not base64).  natscli renders the table even when there is no key and
    then prints ``No keys found in bucket``; so does this.
    """
    headers = ["Key", "Created", "Delta", "Revision"]
    if display_value:
        headers.append("Value")
    cells: list[list[Cell]] = []
    for r in rows:
        row: list[Cell] = [r.key, format_time(r.created), r.delta, r.revision]
        if display_value:
            row.append(_raw_text(r.value))
        cells.append(row)
    out = _table_output(headers, cells, f"Contents for bucket '{bucket}'", style, width_max)
    if not rows:
        out += NO_KEYS_FOUND + "\n"
    return out


# ---------------------------------------------------------------------------
# kv get
# ---------------------------------------------------------------------------


def get_output(
    bucket: str,
    key: str,
    revision: int,
    created: datetime,
    value: bytes,
    *,
    raw: bool = False,
) -> str:
    """Full stdout of ``nats kv get``.

    ``<bucket> > <key> revision: <rev> created @ <local time>``, a blank line,
    the value (base64 when not printable ASCII) and a blank line.  A shown
    value longer than 120 characters is preceded by ``Showing first 120 bytes
    of <N>, use --raw for full data`` and a blank line, then cut to 120.
    With ``raw=True`` the value only, no newline added (see
    :func:`get_raw_output` for the bytes).
    """
    if raw:
        return _raw_text(value)
    shown = base64_if_not_printable(value)
    head = f"{bucket} > {key} revision: {revision} created @ {format_time(created)}\n\n"
    if len(shown) > 120:
        notice = (
            f"Showing first 120 bytes of {format_number(len(shown))}, use --raw for full data\n\n"
        )
        return head + notice + shown[:120] + "\n\n"
    return head + shown + "\n\n"


def get_raw_output(value: bytes) -> bytes:
    """Full stdout of ``nats kv get --raw``: the value bytes, unchanged."""
    return bytes(value)


# ---------------------------------------------------------------------------
# kv watch
# ---------------------------------------------------------------------------


def watch_line(
    created: datetime,
    operation: str,
    bucket: str,
    key: str,
    value: bytes | None,
    *,
    color: bool = False,
) -> str:
    """One ``nats kv watch`` line, newline included.

    ``[2006-01-02 15:04:05] PUT <bucket> > <key>: <raw value>``, or
    ``[...] DELETE|PURGE <bucket> > <key>``.  ``DEL`` is accepted for
    ``DELETE``.  With ``color`` the operation word is green (PUT) or red
    (DELETE/PURGE) like fatih/color on a terminal.  An unknown operation
    prints nothing (``""``), as natscli's switch has no default.
    """
    op = normalize_operation(operation)
    stamp = format_time(created)
    if op == "PUT":
        word = f"{_ANSI_GREEN}{op}{_ANSI_RESET}" if color else op
        return f"[{stamp}] {word} {bucket} > {key}: {_raw_text(value)}\n"
    if op in ("DELETE", "PURGE"):
        word = f"{_ANSI_RED}{op}{_ANSI_RESET}" if color else op
        return f"[{stamp}] {word} {bucket} > {key}\n"
    return ""


# ---------------------------------------------------------------------------
# kv history / revert
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    """One entry of ``nats kv history``; ``operation`` is ``PUT``/``DEL``/``DELETE``/``PURGE``."""

    key: str
    revision: int
    operation: str
    created: datetime
    value: bytes = b""


def history_table(
    bucket: str,
    key: str,
    rows: Sequence[HistoryRow],
    *,
    style: str = "rounded",
    width_max: int = 0,
) -> str:
    """Full stdout of ``nats kv history`` (also printed after ``kv revert``).

    Title ``History for <bucket> > <key>``; Revision is numeric
    (right-aligned); Length is the comma-grouped byte count; Value is
    :func:`shorten_value`.
    """
    cells: list[list[Cell]] = [
        [
            r.key,
            r.revision,
            normalize_operation(r.operation),
            format_time(r.created),
            format_number(len(r.value)),
            shorten_value(r.value),
        ]
        for r in rows
    ]
    headers = ("Key", "Revision", "Op", "Created", "Length", "Value")
    return _table_output(headers, cells, f"History for {bucket} > {key}", style, width_max)


def revert_preview(revision: int, value: bytes) -> str:
    """What ``nats kv revert`` prints before asking ``Really revert to revision N``."""
    return f"Revision: {revision}\n\n{shorten_value(value)}\n\n"


# ---------------------------------------------------------------------------
# kv info / status / add / edit
# ---------------------------------------------------------------------------

Duration = float | timedelta
"""A duration as seconds (``float``) or ``timedelta``."""


@dataclass(frozen=True)
class RepublishInfo:
    """Stream RePublish config."""

    source: str
    destination: str
    headers_only: bool = False


@dataclass(frozen=True)
class SourceInfo:
    """A mirror or source of the bucket's stream.

    ``name`` is the stream name (``KV_`` is stripped for display),
    ``external_api`` the external API prefix when the source is external
    (``None`` otherwise), ``active`` the time since last contact (``None``,
    ``<= 0`` or ``>= MaxInt64`` ns shows ``never``), ``lag`` in messages.
    """

    name: str
    external_api: str | None = None
    active: Duration | None = None
    lag: int = 0


@dataclass(frozen=True)
class ReplicaInfo:
    """A peer in the stream's cluster information."""

    name: str
    current: bool = True
    offline: bool = False
    active: Duration | None = None
    lag: int = 0


@dataclass(frozen=True)
class ClusterInfo:
    """Stream cluster information.

    A single server also reports it (empty ``name``, the server as
    ``leader``), so natscli prints this section there too.
    """

    name: str = ""
    leader: str = ""
    replicas: tuple[ReplicaInfo, ...] = ()


@dataclass(frozen=True)
class StatusView:
    """Everything ``nats kv info`` shows.

    ``history``/``values`` are counts, ``bucket_size`` the stream bytes,
    ``max_bucket_size``/``max_value_size`` ``-1`` for unlimited,
    ``max_age_seconds`` ``None``/``<= 0`` for unlimited, ``limit_marker_ttl``
    ``None``/``<= 0`` when per-key TTLs are off.  ``metadata`` is the stream
    metadata; ``_nats.*`` keys are hidden.  When ``backing_store`` is not
    ``JetStream`` only the first rows are shown, as natscli has no stream
    info then.
    """

    bucket: str
    created: datetime | None
    history: int
    values: int
    compressed: bool = False
    limit_marker_ttl: Duration | None = None
    backing_store: str = "JetStream"
    description: str = ""
    bucket_size: int = 0
    max_bucket_size: int = -1
    max_value_size: int = -1
    max_age_seconds: Duration | None = None
    stream_name: str = ""
    storage: str = "File"
    republish: RepublishInfo | None = None
    mirror: SourceInfo | None = None
    sources: tuple[SourceInfo, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    cluster: ClusterInfo | None = None


class _Columns:
    """natscli ``columns.Writer``: heading, section titles, right-aligned labels."""

    def __init__(self, heading: str) -> None:
        self.heading = heading
        # (is_title, label or title text, value)
        self.items: list[tuple[bool, str, str]] = []

    def title(self, text: str) -> None:
        self.items.append((True, text, ""))

    def row(self, label: str, value: str) -> None:
        self.items.append((False, label.removesuffix(":"), value))

    def render(self) -> str:
        # natscli measures the longest label in bytes but pads by runes
        longest = max(
            (len(label.encode("utf-8")) for is_title, label, _ in self.items if not is_title),
            default=0,
        )
        out: list[str] = []
        if self.heading:
            out.append(self.heading + "\n\n")
        prev_title = False
        for idx, (is_title, text, value) in enumerate(self.items):
            if is_title:
                if idx != 0 and not prev_title:
                    out.append("\n")
                out.append((text if text.endswith(":") else text + ":") + "\n\n")
            else:
                pad = max(longest - len(text) + 2, 0)
                if text == "":  # continuation line, no label and no colon
                    out.append(" " * (pad + 1) + f" {value}\n")
                else:
                    out.append(" " * pad + f"{text}: {value}\n")
            prev_title = is_title
        return "".join(out)


def _positive_ns(value: Duration | None) -> int | None:
    if value is None:
        return None
    ns = _to_ns(value)
    return ns if ns > 0 else None


def _last_seen(active: Duration | None) -> str:
    ns = _positive_ns(active)
    if ns is None or ns >= MAX_INT64:
        return NEVER
    return format_duration_ns(ns)


def _trim_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


def _shorten_metadata(value: str, screen_width: int) -> str:
    if len(value) > screen_width and screen_width > 20:
        keep = screen_width // 2 - 10
        raw = value.encode("utf-8", "surrogateescape")
        head = raw[:keep].decode("utf-8", "surrogateescape")
        tail = raw[len(raw) - keep :].decode("utf-8", "surrogateescape")
        return f"{head} ... {tail}"
    return value


def _replica_state(replica: ReplicaInfo) -> str:
    state = [replica.name, "current" if replica.current else "outdated"]
    if replica.offline:
        state.append("OFFLINE")
    ns = _positive_ns(replica.active)
    if ns is not None and ns < MAX_INT64:
        state.append(f"seen {format_duration_ns(ns)} ago")
    else:
        state.append("not seen")
    if replica.lag > 1:
        state.append(f"{format_number(replica.lag)} operations behind")
    elif replica.lag == 1:
        state.append("1 operation behind")
    return ", ".join(state)


def status_text(status: StatusView, *, screen_width: int = 80) -> str:
    """Full stdout of ``nats kv info`` (and of ``kv add``/``kv edit``).

    ``screen_width`` is natscli's metadata truncation width: 80 when stdout
    is not a terminal, else the terminal width minus 30 (at least 10).
    """
    jetstream = status.backing_store == "JetStream"
    heading = f"Information for Key-Value Store Bucket {status.bucket}"
    if jetstream and status.created is not None:
        heading += f" created {format_time(status.created)}"
    cols = _Columns(heading)

    cols.title("Configuration")
    cols.row("Bucket Name", status.bucket)
    cols.row("History Kept", format_number(status.history))
    cols.row("Values Stored", format_number(status.values))
    cols.row("Compressed", "true" if status.compressed else "false")
    marker_ns = _positive_ns(status.limit_marker_ttl)
    cols.row("Per-Key TTL Supported", "true" if marker_ns is not None else "false")
    if marker_ns is not None:
        cols.row("Limit Marker TTL", format_duration_ns(marker_ns))
    cols.row("Backing Store Kind", status.backing_store)

    if not jetstream:
        return cols.render()

    if status.description:
        cols.row("Description", status.description)
    cols.row("Bucket Size", format_ibytes(status.bucket_size))
    cols.row(
        "Maximum Bucket Size",
        _UNLIMITED if status.max_bucket_size == -1 else format_ibytes(status.max_bucket_size),
    )
    cols.row(
        "Maximum Value Size",
        _UNLIMITED if status.max_value_size == -1 else format_ibytes(status.max_value_size),
    )
    max_age_ns = _positive_ns(status.max_age_seconds)
    cols.row("Maximum Age", _UNLIMITED if max_age_ns is None else format_duration_ns(max_age_ns))
    cols.row("JetStream Stream", status.stream_name)
    cols.row("Storage", status.storage)
    if status.republish is not None:
        repub = status.republish
        label = "Republishing Headers" if repub.headers_only else "Republishing"
        cols.row(label, f"{repub.source} to {repub.destination}")

    if status.mirror is not None:
        mirror = status.mirror
        cols.title("Mirror Information")
        cols.row("Origin Bucket", _trim_prefix(mirror.name, "KV_"))
        if mirror.external_api is not None:
            cols.row("External API", mirror.external_api)
        cols.row("Last Seen", _last_seen(mirror.active))
        cols.row("Lag", format_number(mirror.lag))

    if status.sources:
        cols.title("Sources Information")
        for source in status.sources:
            cols.row("Source Bucket", _trim_prefix(source.name, "KV_"))
            if source.external_api is not None:
                cols.row("External API", source.external_api)
            cols.row("Last Seen", _last_seen(source.active))
            cols.row("Lag", format_number(source.lag))

    meta = {k: v for k, v in status.metadata.items() if not k.startswith("_nats.")}
    if meta:
        cols.title("Metadata")
        for meta_key in sorted(meta):
            cols.row(meta_key, _shorten_metadata(meta[meta_key], screen_width))

    if status.cluster is not None:
        cluster = status.cluster
        cols.title("Cluster Information")
        cols.row("Name", cluster.name)
        cols.row("Leader", cluster.leader)
        for replica in cluster.replicas:
            cols.row("Replica", _replica_state(replica))

    return cols.render()


# ---------------------------------------------------------------------------
# Parsing of CLI arguments
# ---------------------------------------------------------------------------

_BYTES_RE: Final = re.compile(r"(\d+)(\w+)", re.ASCII)
_INT_RE: Final = re.compile(r"[+-]?[0-9]+", re.ASCII)
_BYTE_SUFFIXES: Final = {
    "K": 10,
    "KB": 10,
    "KIB": 10,
    "M": 20,
    "MB": 20,
    "MIB": 20,
    "G": 30,
    "GB": 30,
    "GIB": 30,
    "T": 40,
    "TB": 40,
    "TIB": 40,
}
_BYTES_HINT: Final = "bytes must end in K, KB, M, MB, G, GB, T or TB"


def parse_byte_size(text: str) -> int:
    """Parse a size like natscli ``ParseStringAsBytes`` (``--max-value-size`` etc.).

    Empty text or anything starting with ``-`` gives ``-1`` (unlimited); a
    plain integer is bytes; otherwise ``<digits><suffix>`` with a 1024-based,
    case-insensitive suffix ``K``/``KB``/``KiB``, ``M``/``MB``/``MiB``,
    ``G``/``GB``/``GiB``, ``T``/``TB``/``TiB`` (no ``B``, no fractions, no
    space between number and unit).  Bad input raises ``ValueError``; so does
    a result beyond ``int64`` (where Go would silently wrap).
    """
    if text == "":
        return -1
    s = text.strip()
    if s.startswith("-"):
        return -1
    if _INT_RE.fullmatch(s):
        num = int(s)
        if num <= MAX_INT64:
            return num
    match = _BYTES_RE.match(s)
    if match is None:
        raise ValueError(f"invalid bytes specification {s}: {_BYTES_HINT}")
    num = int(match.group(1))
    if num > MAX_INT64:
        raise ValueError(f"invalid bytes specification {s}: value out of range")
    shift = _BYTE_SUFFIXES.get(match.group(2).upper())
    if shift is None:
        raise ValueError(f"invalid bytes specification {s}: {_BYTES_HINT}")
    result = num << shift
    if result > MAX_INT64:
        raise ValueError(f"invalid bytes specification {s}: value out of range")
    return result


_GO_UNITS: Final = {
    "ns": 1,
    "us": _NS_PER_US,
    "µs": _NS_PER_US,  # U+00B5 micro sign
    "μs": _NS_PER_US,  # U+03BC greek mu
    "ms": _NS_PER_MS,
    "s": _NS_PER_S,
    "m": _NS_PER_M,
    "h": _NS_PER_H,
}
_TWO63: Final = 1 << 63


def _go_parse_duration(text: str) -> int:
    """Go ``time.ParseDuration``; returns nanoseconds or raises ``ValueError``."""
    invalid = ValueError(f'time: invalid duration "{text}"')
    s = text
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid
        i = 0
        whole = 0
        while i < len(s) and "0" <= s[i] <= "9":
            if whole > _TWO63 // 10:
                raise invalid
            whole = whole * 10 + int(s[i])
            if whole > _TWO63:
                raise invalid
            i += 1
        pre = i > 0
        s = s[i:]
        frac = 0
        scale = 1.0
        post = False
        if s and s[0] == ".":
            s = s[1:]
            i = 0
            overflow = False
            while i < len(s) and "0" <= s[i] <= "9":
                if not overflow:
                    if frac > (_TWO63 - 1) // 10:
                        overflow = True
                    else:
                        candidate = frac * 10 + int(s[i])
                        if candidate > _TWO63:
                            overflow = True
                        else:
                            frac = candidate
                            scale *= 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise ValueError(f'time: missing unit in duration "{text}"')
        unit_name, s = s[:i], s[i:]
        unit = _GO_UNITS.get(unit_name)
        if unit is None:
            raise ValueError(f'time: unknown unit "{unit_name}" in duration "{text}"')
        if whole > _TWO63 // unit:
            raise invalid
        value = whole * unit
        if frac > 0:
            value += int(float(frac) * (float(unit) / scale))
            if value > _TWO63:
                raise invalid
        total += value
        if total > _TWO63:
            raise invalid
    if neg:
        return -total
    if total > MAX_INT64:
        raise invalid
    return total


_FISK_FULL_RE: Final = re.compile(r"[-+]?[\d.]+[a-zA-Z]+(?:[\d.]+[a-zA-Z]+)*", re.ASCII)
_FISK_PART_RE: Final = re.compile(r"([-+]?)(([\d.]+)([a-zA-Z]+))", re.ASCII)
# fisk multiplies the float32 value by these factors, left to right, in float64
_FISK_FACTORS: Final[dict[str, tuple[int, ...]]] = {
    "w": (7, 24),
    "W": (7, 24),
    "d": (24,),
    "D": (24,),
    "M": (24, 30),
    "y": (24, 365),
    "Y": (24, 365),
}


def _float32(text: str) -> float:
    try:
        value = float(text)
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"invalid duration: invalid number {text!r}") from exc


def parse_duration_ns(text: str) -> int:
    """Parse a duration to nanoseconds, accepting what natscli accepts.

    Go ``time.ParseDuration`` syntax (``90s``, ``1m30s``, ``500ms``,
    ``1.5h``, ``-2h``, ``0``) plus the extra units of fisk's
    ``ParseDuration`` used by natscli: ``w``/``W`` (7 days), ``d``/``D``
    (24 hours), ``M`` (30 days) and ``y``/``Y`` (365 days).  For those the
    number is read as a float32 and the result truncated to whole hours, as
    in fisk (``1.5d`` is ``36h``, ``0.01d`` is ``0s``).  Units combine
    (``1d12h``); a leading ``-`` negates the whole.  Surrounding spaces are
    ignored.  Unlike fisk, text between the parts is not ignored: anything
    unparseable raises ``ValueError``.
    """
    s = text.strip()
    if s == "":
        raise ValueError("invalid duration: empty string")
    try:
        return _go_parse_duration(s)
    except ValueError as go_error:
        if not _FISK_FULL_RE.fullmatch(s):
            raise ValueError(f"invalid duration {text!r}: {go_error}") from None
    negative = s.startswith("-")
    total = 0
    for part in _FISK_PART_RE.finditer(s):
        number, unit = part.group(3), part.group(4)
        factors = _FISK_FACTORS.get(unit)
        if factors is not None:
            value = _float32(number)
            for factor in factors:
                value *= factor
            if math.isinf(value) or abs(value) >= _TWO63 / _NS_PER_H:
                raise ValueError(f"invalid duration {text!r}: out of range")
            total += int(value) * _NS_PER_H
        elif unit in ("ns", "us", "ms", "s", "m", "h"):
            total += _go_parse_duration(part.group(2))
        else:
            raise ValueError(f"invalid duration {text!r}: invalid unit {unit}")
    if negative:
        total = -total
    if not _MIN_INT64 <= total <= MAX_INT64:
        raise ValueError(f"invalid duration {text!r}: out of range")
    return total


def parse_duration(text: str) -> timedelta:
    """Parse a duration like :func:`parse_duration_ns` and return a ``timedelta``.

    Sub-microsecond precision is truncated (``timedelta`` cannot hold it).
    """
    ns = parse_duration_ns(text)
    return timedelta(seconds=ns // _NS_PER_S, microseconds=(ns % _NS_PER_S) // 1_000)
