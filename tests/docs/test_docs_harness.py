"""The docs harness itself: directives attach to the block after them, as its docstring says."""

from __future__ import annotations

from tests.docs.test_docs_examples import _BLOCK, directive_problems

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
