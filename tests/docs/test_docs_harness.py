"""The docs harness itself: directives attach to the block after them, and console blocks are
read and compared as tests/docs/console.py says."""

from __future__ import annotations

from pathlib import Path

from tests.docs import console
from tests.docs.test_docs_examples import (
    _BLOCK,
    SHOWN_CLIENT_URL,
    SHOWN_MONITOR_URL,
    SHOWN_PORT_OPTION,
    _substitutions,
    directive_problems,
)

from natskv.server import EmbeddedServer

PAGE = """# A page

<!-- expect-output -->
```python
print("hi")
```

```text
hi
```

<!-- no-run: needs a cluster of five -->
```python
raise SystemExit
```

```python
print("plain")
```
"""


def test_directives_attach_to_the_next_block() -> None:
    found = [(m["lang"], m["directive"]) for m in _BLOCK.finditer(PAGE)]
    assert found == [
        ("python", "expect-output"),
        ("text", None),
        ("python", "no-run"),
        ("python", None),
    ]


def test_a_misspelt_or_stray_directive_is_reported() -> None:
    text = "<!-- expect-outptu -->\n```python\npass\n```\n\n<!-- no-run: why -->\n\ntext\n"
    assert directive_problems(text) == [
        "unknown directive '<!-- expect-outptu -->'",
        "'<!-- no-run: why -->' is not right before a code block",
    ]


def test_a_console_block_is_commands_each_with_what_it_prints() -> None:
    code = (
        "$ natskv del config\nDelete bucket config? [y/N]: n\nSkipping delete\n"
        "$ natskv watch config\n[2026-12-02 07:20:36] PUT config > a: 1\n^C\n"
        "$ natskv get config nope\nnatskv: error: key not found: 'nope'\n"
    )
    delete, watch, get = console.commands(code)
    assert delete.line == "natskv del config" and delete.answers == [
        ("Delete bucket config? [y/N]: ", "n")
    ]
    assert (delete.interrupted, console.expected_status(delete)) == (False, 0)
    assert watch.interrupted and watch.expected == ["[2026-12-02 07:20:36] PUT config > a: 1"]
    assert console.expected_status(get) == 1


def test_what_changes_between_runs_is_compared_as_a_stand_in() -> None:
    shown = [
        "│ Bucket      │ Created             │ Size │ Last Update │",
        "├─────────────┼─────────────────────┼──────┼─────────────┤",
        "│ shop_orders │ 2026-12-02 07:10:37 │ 0 B  │ 2.56s       │",
        "                 Leader: NCK5EGDCTQTVT5EJTDXKKS5EI45CNV37TA2VNUO6MDUENORBWIJ324Q5",
        "nats-server running at nats://127.0.0.1:34941 (pid 14546, data /x)",
        '{"key":"a","created":"2026-12-02T18:36:47.062714Z","value":"en"}',
        "",
    ]
    printed = [
        "│ Bucket │ Created │ Size │ Last Update │",
        "├────────┼─────────┼──────┼─────────────┤",
        "│ shop_orders │ 2026-12-03 10:00:00 │ 0 B │ 445ms │",
        "  Leader: NADHMOMAWJRN2RJJRWXOE4DBMJOXW3FDFXAQKD2TVJYYZ66HVCUYDCP5",
        "nats-server running at nats://127.0.0.1:5 (pid 7, data /x)",
        '{"key":"a","created":"2026-12-03T10:00:00.5Z","value":"en"}',
    ]
    assert console.normalize(shown) == console.normalize(printed)
    # what the page says stays compared: a size, a value, a duration outside a table
    assert console.normalize(["│ a │ 1 B │"]) != console.normalize(["│ a │ 2 B │"])
    assert console.normalize(["Maximum Age: 1m0s"]) != console.normalize(["Maximum Age: 2s"])


def test_an_ellipsis_line_stands_for_any_lines() -> None:
    assert console.matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert console.matches(["a", "...", "d"], ["a", "d"])
    assert console.matches(["a", "..."], ["a", "b"])
    assert not console.matches(["a", "...", "d"], ["a", "b", "c"])
    assert not console.matches(["a", "b"], ["a", "b", "c"])


def test_a_typed_answer_is_shown_after_its_prompt() -> None:
    printed = "Delete key c > k? [y/N]: Purge key c > j? [y/N]: Skipping purge\n"
    answers = [("Delete key c > k? [y/N]: ", "y"), ("Purge key c > j? [y/N]: ", "n")]
    assert console._answered(printed, answers) == (
        "Delete key c > k? [y/N]: y\nPurge key c > j? [y/N]: n\nSkipping purge\n"
    )


def test_a_no_run_says_why() -> None:
    assert directive_problems("<!-- no-run -->\n```console\n$ x\n```\n") == [
        "'<!-- no-run -->' does not say why the block is not run"
    ]


async def test_the_test_directories_are_shown_as_the_page_shows_them(tmp_path: Path) -> None:
    home, natskv_home = tmp_path / "home", tmp_path / "natskv-home"
    status, printed = await console.run(
        console.Command('echo "$HOME/.config/nats"; echo "$NATSKV_HOME/data"'),
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "NATSKV_HOME": str(natskv_home)},
        cwd=tmp_path,
        substitute={},
        shown_paths={natskv_home: console.NATSKV_HOME_SHOWN, home: console.HOME_SHOWN},
    )
    assert (status, printed) == (0, ["/home/me/.config/nats", "/home/me/.local/share/natskv/data"])


def test_the_fixed_ports_a_page_shows_are_the_test_servers() -> None:
    server = EmbeddedServer()  # its ports are chosen when it is made
    substitute = _substitutions(f"{SHOWN_CLIENT_URL} {SHOWN_MONITOR_URL}", server)
    assert substitute == {SHOWN_CLIENT_URL: server.url, SHOWN_MONITOR_URL: server.monitor_url}
    # a free port is taken only for a command that shows the fixed one
    line = f"natskv server start {SHOWN_PORT_OPTION}"
    port = _substitutions(line, server)[SHOWN_PORT_OPTION]
    assert port.startswith("--port ") and port != SHOWN_PORT_OPTION
