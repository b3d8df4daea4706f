"""Every code block of the docs runs, against a real server, as a reader would run it.

A page's blocks run in order. Its Python blocks share one namespace (later blocks use
what earlier ones made), with top-level ``await`` allowed as in ``python -m asyncio`` or
a notebook, and ``NATS_URL`` pointing at the server, so ``natskv.connect()`` finds it.
Its ``console`` blocks are terminal sessions: each ``$`` command is run by bash with the
same ``NATS_URL``, and must print what the page shows (``tests/docs/console.py`` says
what is compared and how). A command may name the page's server as the page shows it,
on the default ports (``nats://127.0.0.1:4222``, ``http://127.0.0.1:8222``), and a port
for the background server as ``--port 4299``: it runs with the real ones. A page with
commands to run gets a server of its own (the CLI lists every bucket of the server, and
the page's outputs are the ones of a fresh one); the others share the session's.

A block right after an HTML comment ``<!-- no-run: why -->`` is shown but not run (a
fragment that needs something a test cannot give, or a command that takes minutes);
the suite's summary says how many blocks ran and which were only shown. Python blocks
that print say what they print in a ``console`` block or the text, and pages may check
it: a block right after ``<!-- expect-output -->`` must print exactly the text of the
next ``text`` block. A directive that is misspelt, not right before a block, or a
``no-run`` without its reason fails its page (it would otherwise run, or skip, the
block silently).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import os
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.docs import console
from tests.docs.counts import EXECUTED, SKIPPED

import natskv
from natskv.server import EmbeddedServer, free_port, stop_background_server

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
        elif m[1] == "no-run" and not re.fullmatch(r"<!--\s*no-run\s*:\s*\S.*-->", m[0]):
            problems.append(f"{m[0]!r} does not say why the block is not run")
    return problems


RUN = ("python", "console")
PAGES = sorted(p for p in DOCS.rglob("*.md") if any(b.lang in RUN for b in _blocks(p)))


def test_the_docs_have_python_examples_and_commands() -> None:
    langs = {b.lang for page in PAGES for b in _blocks(page)}
    assert {"python", "console"} <= langs


def test_a_block_of_code_is_python_or_console() -> None:
    """A block in another language would be neither run nor counted."""
    for page in sorted(DOCS.rglob("*.md")):
        for block in _blocks(page):
            assert block.lang in (*RUN, "text"), f"{block.page}:{block.line}: {block.lang!r}"


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


# A page shows its server as one on the default ports, and a port it has the background
# server take (``natskv server start --port 4299``) as a fixed one: the commands run with
# the page's server, and a port free at that moment (a fixed one could be taken, by a
# run of the suite next to this one).
SHOWN_CLIENT_URL = "nats://127.0.0.1:4222"
SHOWN_MONITOR_URL = "http://127.0.0.1:8222"
SHOWN_PORT_OPTION = "--port 4299"


def _substitutions(line: str, server: EmbeddedServer) -> dict[str, str]:
    substitute = {SHOWN_CLIENT_URL: server.url, SHOWN_MONITOR_URL: server.monitor_url}
    if SHOWN_PORT_OPTION in line:
        substitute[SHOWN_PORT_OPTION] = f"--port {free_port()}"
    return substitute


async def _run_commands(
    block: Block, env: dict[str, str], work: Path, server: EmbeddedServer
) -> None:
    for command in console.commands(block.code):
        status, printed = await console.run(
            command,
            env=env,
            cwd=work,
            substitute=_substitutions(command.line, server),
            shown_paths={
                Path(env["NATSKV_HOME"]): console.NATSKV_HOME_SHOWN,
                Path(env["HOME"]): console.HOME_SHOWN,
            },
        )
        where = f"{block.page}:{block.line}: $ {command.line}"
        expected = console.normalize(command.expected)
        assert console.matches(expected, printed), (
            f"{where} printed:\n" + "\n".join(printed) + "\nthe page shows:\n" + "\n".join(expected)
        )
        assert status == console.expected_status(command), f"{where} exited with {status}"


def _command_env(url: str, tmp_path: Path) -> dict[str, str]:
    """The test's environment for the commands of a page: ``natskv`` and ``python`` of
    this interpreter first on ``PATH``, and of the NATS and natskv settings only the
    page's (``NATSKV_PURE_PYTHON`` stays: CI runs the suite with and without it)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NATS_", "XDG_")) and k not in _COMMAND_ENV_DROPPED
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(tmp_path / "home")
    env["NATS_URL"] = url
    env["NATSKV_HOME"] = str(tmp_path / "natskv-home")
    return env


_COMMAND_ENV_DROPPED = {"NATSKV_MONITORING_URL", "NATSKV_COMPLETE", "COLUMNS", "LINES"}


def _runs_commands(blocks: list[Block]) -> bool:
    return any(b.lang == "console" and b.directive != "no-run" for b in blocks)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
async def test_every_code_block_of_the_page_runs(
    page: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocks = _blocks(page)
    async with contextlib.AsyncExitStack() as stack:
        server = None
        if _runs_commands(blocks):
            server = await stack.enter_async_context(EmbeddedServer())
            nats_url = server.url
        await _run_page(blocks, nats_url, server, monkeypatch, tmp_path)


async def _run_page(
    blocks: list[Block],
    nats_url: str,
    server: EmbeddedServer | None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    env = _command_env(nats_url, tmp_path)
    monkeypatch.setenv("NATS_URL", nats_url)
    monkeypatch.setenv("NATSKV_HOME", env["NATSKV_HOME"])
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("__docs__")  # dataclasses look their module up in sys.modules
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    kv = natskv.KVContext(natskv.JetStream(await natskv.connect(nats_url)))
    before = {name async for name in kv.store_names()}
    try:
        for i, block in enumerate(blocks):
            if block.lang not in RUN:
                continue
            where = f"{block.page}:{block.line}"
            if block.directive == "no-run":
                SKIPPED.append((block.lang, where))
                continue
            if block.lang == "console":
                assert server is not None
                await _run_commands(block, env, tmp_path, server)
                EXECUTED.append((block.lang, where))
                continue
            printed = await asyncio.wait_for(_run(block, namespace), 60)
            EXECUTED.append((block.lang, where))
            if block.directive == "expect-output":
                expected = next((b for b in blocks[i + 1 :] if b.lang == "text"), None)
                assert expected is not None, f"{where}: expect-output without a text block"
                assert printed == expected.code, f"{where} printed:\n{printed}"
    finally:
        stop_background_server(home=env["NATSKV_HOME"])  # one a page's command started
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
