"""The table renderer: go-pretty v6 as natscli configures it (``internal/util/tables.go``).

:func:`render_table` returns the table **without** a trailing newline, like go-pretty's
``Render()``; natscli prints tables with ``fmt.Println(fmt.Sprintln(table))``, so
:func:`table_output` adds the ``"\\n\\n"`` every table screen ends in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from natskv.cli._text import char_width, display_width

__all__ = ["TABLE_STYLES", "Cell", "render_table", "table_output", "table_style_from_env"]

TABLE_STYLES: Final = ("rounded", "markdown", "csv", "tsv")
"""Table renderers understood by :func:`render_table`."""

Cell = str | int
"""A table cell: ``str`` is text; ``int`` marks a numeric cell (go-pretty right-aligns
a column whose regular-row cells are all numbers, header included)."""

# Go's unicode.IsSpace set, used by go-pretty's SuppressTrailingSpaces.
_GO_SPACE: Final = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _trim_to_width(text: str, width: int) -> str:
    """Cut ``text`` so that its display width is at most ``width``."""
    out: list[str] = []
    used = 0
    for ch in text:
        w = char_width(ch)
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


def _csv_cell(text: str) -> str:
    if any(ch in text for ch in '",\n'):
        return '"' + text.replace('"', '\\"').replace(",", "\\,") + '"'
    return text


def _tsv_cell(text: str) -> str:
    if any(ch in text for ch in '\t\n"') or "    " in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _render_separated(
    table: _Table, title: str | None, separator: str, quote: Callable[[str], str]
) -> list[str]:
    """go-pretty's CSV and TSV writers: the title on a line of its own, then one line a row."""

    def row_line(cells: Sequence[str]) -> str:
        padding = separator * (table.num_columns - len(cells))
        return separator.join(quote(text) for text in cells) + padding

    lines = [title] if title else []
    if table.header:
        lines.append(row_line(table.header))
    lines.extend(row_line(row) for row in table.rows)
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
        lines = _render_separated(table, title, ",", _csv_cell)
    elif kind == "tsv":
        lines = _render_separated(table, title, "\t", _tsv_cell)
    else:
        raise ValueError(f"unknown table style {style!r}, expected one of {TABLE_STYLES}")
    return "\n".join(_go_rstrip(line) for line in lines)


def table_output(
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    title: str,
    style: str,
    width_max: int,
) -> str:
    """A whole table screen: natscli prints ``fmt.Println(fmt.Sprintln(writer.Render()))``."""
    return render_table(headers, rows, title=title, style=style, width_max=width_max) + "\n\n"
