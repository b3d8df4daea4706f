"""The page as shipped: package data, nothing from elsewhere, no markup made of data."""

from __future__ import annotations

import fnmatch
import re
import sys
from pathlib import Path

import natskv.ui
from natskv.ui._server import STATIC_FILES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "natskv"
STATIC = PACKAGE / "ui" / "static"


def _code(path: Path) -> str:
    """The file without its comments (which may name what the code must not do)."""
    text = path.read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def test_every_static_file_is_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["natskv"]
    files = sorted(p.relative_to(PACKAGE).as_posix() for p in STATIC.iterdir())
    assert files == ["ui/static/app.css", "ui/static/app.js", "ui/static/index.html"]
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
    assert set(STATIC_FILES) | {"index.html"} == {Path(f).name for f in files}


def test_the_script_never_turns_data_into_markup() -> None:
    code = _code(STATIC / "app.js")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code, sink
    assert "new Function" not in code and 'setAttribute("on' not in code
    assert "textContent" in code


def test_the_page_loads_nothing_from_elsewhere() -> None:
    for name in ("index.html", "app.js", "app.css"):
        code = _code(STATIC / name)
        assert not re.search(r"(https?:)?//[\w.-]+\.\w", code), name
    page = _code(STATIC / "index.html")
    assert "<script>" not in page and "style=" not in page  # nothing inline: CSP forbids it
    assert page.count("__NATSKV_TOKEN__") == 2


def test_the_exported_names_exist() -> None:
    assert all(hasattr(natskv.ui, name) for name in natskv.ui.__all__)
