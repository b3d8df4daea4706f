"""Every program in ``examples/`` is run by a test, and listed on docs/examples.md.

An example added without a test would rot unseen; this fails first.
"""

from __future__ import annotations

import re

import pytest
from tests.examples.helpers import EXAMPLES

ROOT = EXAMPLES.parent
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.py"))
# the seed's quick start has its own test at the top of the suite (with the README's)
ELSEWHERE = {"quickstart": (ROOT / "tests" / "test_quickstart.py", 'examples" / "quickstart.py"')}


def test_there_are_examples() -> None:
    assert {"config_service", "lock", "leader_election", "cache", "bulk_load"} <= set(NAMES)
    assert {"quickstart", "quickstart_sync"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_the_example_has_a_test_that_runs_it(name: str) -> None:
    test, call = ELSEWHERE.get(
        name, (ROOT / "tests" / "examples" / f"test_{name}.py", f'run_example("{name}"')
    )
    assert test.is_file(), f"examples/{name}.py has no {test.relative_to(ROOT)}"
    assert call in re.sub(r"\(\s+", "(", test.read_text()), f"{test.name} does not run it"


def test_the_examples_page_lists_every_example() -> None:
    page = (ROOT / "docs" / "examples.md").read_text()
    listed = re.findall(r"^\| \[`(\w+)\.py`\]", page, re.MULTILINE)
    assert sorted(listed) == NAMES
