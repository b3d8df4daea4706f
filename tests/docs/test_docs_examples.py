"""Every Python code block of the docs runs, against a real server, as a reader would run it.

A page's blocks run in order in one namespace (later blocks use what earlier ones made),
with top-level ``await`` allowed as in ``python -m asyncio`` or a notebook, and
``NATS_URL`` pointing at the session's server, so ``natskv.connect()`` finds it. A block
right after an HTML comment ``<!-- no-run: why -->`` is shown but not run (a fragment
that needs something a test cannot give); the suite's summary says how many blocks ran.
Blocks that print say what they print in a ``console`` block or the text, and pages may
check it: a block right after ``<!-- expect-output -->`` must print exactly the text of
the next ``text`` block. A directive that is misspelt or not right before a block fails
its page (it would otherwise run, or skip, the block silently).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.docs.counts import EXECUTED, SKIPPED

import natskv

DOCS = Path(__file__).resolve().parents[2] / "docs"
_BLOCK = re.compile(
    r"(?P<before>(?:<!--\s*(?P<directive>[\w-]+)\s*(?::[^>]*)?-->\s*\n)?)"
    r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<code>.*?)^```\s*$",
    re.DOTALL | re.MULTILINE,
)
DIRECTIVES = ("no-run", "expect-output")
# Any comment that looks like a directive, attached to a block or not: a misspelt or
# misplaced one must fail the page instead of silently running (or skipping) its block.
_DIRECTIVE_COMMENT = re.compile(r"<!--\s*([\w-]+)\s*(?::[^>]*)?-->")


@dataclass
class Block:
    page: str
    line: int
    lang: str
    code: str
    directive: str | None


def _blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for m in _BLOCK.finditer(text):
        line = text.count("\n", 0, m.start("lang")) + 1
        found.append(Block(str(page.relative_to(DOCS)), line, m["lang"], m["code"], m["directive"]))
    return found


def directive_problems(text: str) -> list[str]:
    """Directive comments that are unknown or not right before a code block."""
    attached = {m.start() for m in _BLOCK.finditer(text) if m["directive"]}
    problems = []
    for m in _DIRECTIVE_COMMENT.finditer(text):
        if m[1] not in DIRECTIVES:
            problems.append(f"unknown directive {m[0]!r}")
        elif m.start() not in attached:
            problems.append(f"{m[0]!r} is not right before a code block")
    return problems


PAGES = sorted(p for p in DOCS.rglob("*.md") if any(b.lang == "python" for b in _blocks(p)))


def test_the_docs_have_python_examples() -> None:
    assert PAGES, "no docs page with a python block"


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_directive_applies_to_a_block(page: Path) -> None:
    assert directive_problems(page.read_text()) == []


async def _run(block: Block, namespace: dict[str, object]) -> str:
    code = compile(
        block.code,
        f"{block.page}:{block.line}",
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = types.FunctionType(code, namespace)()
        if asyncio.iscoroutine(result):
            await result
    return out.getvalue()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
async def test_every_python_block_of_the_page_runs(
    page: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NATS_URL", nats_url)
    monkeypatch.setenv("NATSKV_HOME", str(tmp_path / "natskv-home"))
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("__docs__")  # dataclasses look their module up in sys.modules
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    blocks = _blocks(page)
    kv = natskv.KVContext(natskv.JetStream(await natskv.connect(nats_url)))
    before = {name async for name in kv.store_names()}
    try:
        for i, block in enumerate(blocks):
            if block.lang != "python":
                continue
            where = f"{block.page}:{block.line}"
            if block.directive == "no-run":
                SKIPPED.append(where)
                continue
            printed = await asyncio.wait_for(_run(block, namespace), 60)
            EXECUTED.append(where)
            if block.directive == "expect-output":
                expected = next((b for b in blocks[i + 1 :] if b.lang == "text"), None)
                assert expected is not None, f"{where}: expect-output without a text block"
                assert printed == expected.code, f"{where} printed:\n{printed}"
    finally:
        # a page that failed half-way leaves its connections open: close them quietly
        for value in list(namespace.values()):
            if isinstance(value, natskv.Connection) and not value.is_closed:
                with contextlib.suppress(natskv.NatsError):
                    await value.close()
        # a page leaves no bucket behind (its examples clean up, or this does)
        for name in {name async for name in kv.store_names()} - before:
            with contextlib.suppress(natskv.NatsError):
                await kv.delete_store(name)
        await kv.js.nc.close()
