"""Every promise of the two reference documents has a test that says it keeps it.

The promises are the rows of the interop checklist of the wire reference (``kv-wire.md``
section 7.3, one behaviour a numbered row) and of the cross-client pattern table of the user
needs (``user-needs.md`` section 1.5, one promise a theme). Both sections are kept verbatim in
``tests/unit/reference/``. A test keeps a promise by carrying its marker (registered in
pyproject.toml)::

    @pytest.mark.wire("7.3 #4")
    @pytest.mark.user_need("end of initial snapshot")

The markers are read from the test sources' syntax trees, so this needs no collection and no
server. A row without a test, or a marker naming no row (a typo, a renumbered row), fails.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).resolve().parent / "reference"
WIRE_EXCERPT = REFERENCE / "kv-wire-7.3.md"
NEEDS_EXCERPT = REFERENCE / "user-needs-1.5.md"
# the folder holding kv-wire.md and user-needs.md, to check the excerpts are current
REFERENCE_DIR_ENV = "NATSKV_REFERENCE_DIR"

_HEADING = re.compile(r"(#+) ([0-9.]+) ")


def _body(text: str) -> str:
    """The excerpt without its leading note (an HTML comment)."""
    return re.sub(r"\A<!--.*?-->\s*", "", text, flags=re.S)


def checklist_ids(text: str) -> list[str]:
    """``"<section> #<n>"`` for each numbered row of a checklist section, in order."""
    heading = _HEADING.match(_body(text))
    assert heading, "the excerpt starts with its numbered heading"
    number = heading.group(2)
    return [f"{number} #{m.group(1)}" for m in re.finditer(r"^([0-9]+)\. ", text, re.M)]


def table_themes(text: str) -> list[str]:
    """The first cell of each row of the section's table (header and rule left out)."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    return [c[0] for c in cells[2:]]


def section(document: str, number: str) -> str:
    """Section ``number`` of a markdown document: its heading up to the next heading of the
    same or a higher level, or a ``---`` rule."""
    lines = document.splitlines(keepends=True)
    headings = [(i, _HEADING.match(line)) for i, line in enumerate(lines)]
    found = [(i, len(m.group(1))) for i, m in headings if m and m.group(2) == number]
    if not found:
        raise LookupError(f"no section {number}")
    start, level = found[0]
    end = len(lines)
    for i in range(start + 1, len(lines)):
        m = re.match(r"(#+) ", lines[i])
        if (m and len(m.group(1)) <= level) or lines[i].startswith("---"):
            end = i
            break
    return "".join(lines[start:end]).rstrip() + "\n"


# -- reading the markers ------------------------------------------------------------------


def _mark_name(node: ast.expr) -> str | None:
    """``wire`` for ``pytest.mark.wire(...)`` or ``mark.wire(...)``, else None."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    owner = node.func.value
    if isinstance(owner, ast.Attribute) and owner.attr == "mark":
        return node.func.attr
    if isinstance(owner, ast.Name) and owner.id == "mark":
        return node.func.attr
    return None


def _marks(nodes: list[ast.expr]) -> Iterator[tuple[str, ast.Call]]:
    for node in nodes:
        name = _mark_name(node)
        if name is not None:
            assert isinstance(node, ast.Call)
            yield name, node


def markers_in(source: str, where: str) -> Iterator[tuple[str, str, str]]:
    """(marker, its argument, the test it is on) for every wire/user_need marker in a module.

    Markers count on ``test*`` functions, ``Test*`` classes and a module's ``pytestmark``.
    """

    def arg(call: ast.Call, on: str) -> str:
        ok = len(call.args) == 1 and not call.keywords
        value = call.args[0] if ok else None
        if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
            raise AssertionError(f"{on}: a traceability marker takes one literal str")
        return value.value

    def visit(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, str, str]]:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                test = node.name.startswith(
                    "test" if not isinstance(node, ast.ClassDef) else "Test"
                )
                for name, call in _marks(node.decorator_list):
                    if name in ("wire", "user_need"):
                        on = f"{prefix}{node.name}"
                        assert test, f"{on}: a traceability marker on what is not a test"
                        yield name, arg(call, on), on
                if isinstance(node, ast.ClassDef):
                    yield from visit(node.body, f"{prefix}{node.name}::")
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
            ):
                value = node.value
                items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
                for name, call in _marks(items):
                    if name in ("wire", "user_need"):
                        yield name, arg(call, f"{prefix}pytestmark"), f"{prefix}(module)"

    yield from visit(ast.parse(source).body, f"{where}::")


def all_markers() -> dict[str, dict[str, list[str]]]:
    """marker -> argument -> the tests carrying it, over the whole suite."""
    found: dict[str, dict[str, list[str]]] = {"wire": {}, "user_need": {}}
    for path in sorted(TESTS.rglob("*.py")):
        where = str(path.relative_to(TESTS))
        for name, value, test in markers_in(path.read_text(encoding="utf-8"), where):
            found[name].setdefault(value, []).append(test)
    return found


@pytest.fixture(scope="module")
def markers() -> dict[str, dict[str, list[str]]]:
    return all_markers()


# -- the promises -------------------------------------------------------------------------


def test_the_excerpts_list_the_promises() -> None:
    ids = checklist_ids(WIRE_EXCERPT.read_text(encoding="utf-8"))
    assert ids == [f"7.3 #{n}" for n in range(1, len(ids) + 1)]
    assert len(ids) >= 10
    themes = table_themes(NEEDS_EXCERPT.read_text(encoding="utf-8"))
    assert len(themes) >= 7
    assert len(set(themes)) == len(themes)
    assert "end of initial snapshot" in themes and "consistency" in themes


def test_every_checklist_row_has_a_test(markers: dict[str, dict[str, list[str]]]) -> None:
    ids = checklist_ids(WIRE_EXCERPT.read_text(encoding="utf-8"))
    untested = [i for i in ids if i not in markers["wire"]]
    assert untested == [], f"no test carries @pytest.mark.wire({untested[0]!r}) (kv-wire.md 7.3)"


def test_every_pattern_row_has_a_test(markers: dict[str, dict[str, list[str]]]) -> None:
    themes = table_themes(NEEDS_EXCERPT.read_text(encoding="utf-8"))
    untested = [t for t in themes if t not in markers["user_need"]]
    assert untested == [], f"no test carries @pytest.mark.user_need({untested[0]!r})"


def test_every_marker_names_a_row(markers: dict[str, dict[str, list[str]]]) -> None:
    ids = set(checklist_ids(WIRE_EXCERPT.read_text(encoding="utf-8")))
    themes = set(table_themes(NEEDS_EXCERPT.read_text(encoding="utf-8")))
    unknown = {
        f"wire({value!r})": tests for value, tests in markers["wire"].items() if value not in ids
    }
    unknown |= {
        f"user_need({value!r})": tests
        for value, tests in markers["user_need"].items()
        if value not in themes
    }
    assert unknown == {}


def test_the_scan_reads_every_form_of_marker() -> None:
    source = """
import pytest
from pytest import mark

pytestmark = [pytest.mark.wire("7.3 #1"), pytest.mark.asyncio]

@pytest.mark.wire("7.3 #2")
@pytest.mark.user_need("TTL")
async def test_a(): ...

@mark.user_need("consistency")
def test_b(): ...

class TestC:
    @pytest.mark.wire("7.3 #3")
    def test_d(self): ...

@pytest.mark.parametrize("x", [1])
def test_unmarked(x): ...
"""
    assert sorted(markers_in(source, "m.py")) == [
        ("user_need", "TTL", "m.py::test_a"),
        ("user_need", "consistency", "m.py::test_b"),
        ("wire", "7.3 #1", "m.py::(module)"),
        ("wire", "7.3 #2", "m.py::test_a"),
        ("wire", "7.3 #3", "m.py::TestC::test_d"),
    ]
    with pytest.raises(AssertionError, match="one literal str"):
        list(markers_in("@pytest.mark.wire(ID)\ndef test_x(): ...", "m.py"))
    with pytest.raises(AssertionError, match="not a test"):
        list(markers_in('@pytest.mark.wire("7.3 #1")\ndef helper(): ...', "m.py"))


@pytest.mark.skipif(
    not os.environ.get(REFERENCE_DIR_ENV),
    reason=f"{REFERENCE_DIR_ENV} does not name the folder of kv-wire.md and user-needs.md",
)
def test_the_excerpts_are_the_reference_sections() -> None:
    folder = Path(os.environ[REFERENCE_DIR_ENV])
    for document, number, excerpt in (
        ("kv-wire.md", "7.3", WIRE_EXCERPT),
        ("user-needs.md", "1.5", NEEDS_EXCERPT),
    ):
        current = section((folder / document).read_text(encoding="utf-8"), number)
        assert _body(excerpt.read_text(encoding="utf-8")) == current, (
            f"{excerpt.name} is not section {number} of {document}: copy it again"
        )
