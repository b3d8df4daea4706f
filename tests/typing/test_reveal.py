"""Type-check the samples in ``samples/`` with the project's mypy and compare, line by line,
what mypy says with what each line's comment expects.

A sample line ends in one of:

* ``# R: <type>``: mypy must reveal exactly that type (``reveal_type(...)`` on the line);
* ``# E: <fragment>``: mypy must report an error on the line containing the fragment;
* ``# E pending: <fragment>``: the same, for an expectation whose feature has not landed
  yet. While mypy reports nothing there the test is an expected failure; once it reports
  the error, the test fails until the comment becomes ``# E:``.

Any other error mypy reports in a sample fails the test, so samples stay strict-clean.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
SAMPLES = sorted((HERE / "samples").glob("*.py"))

_EXPECT = re.compile(r"#\s*(R|E|E pending):\s*(.+?)\s*$")
# path:line: severity: message  [code]
_MYPY_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<severity>\w+): (?P<message>.*)$")
_REVEALED = re.compile(r'^Revealed type is "(?P<type>.*)"$')


@dataclass
class Report:
    revealed: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


@cache
def _mypy() -> dict[str, Report]:
    """One mypy --strict run over every sample (with the project's configuration)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
            "--show-error-codes",
            *(str(p.relative_to(ROOT)) for p in SAMPLES),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1) or result.stderr.strip():
        raise AssertionError(f"mypy did not run: {result.stderr or result.stdout}")
    reports: dict[str, Report] = defaultdict(Report)
    for raw in result.stdout.splitlines():
        m = _MYPY_LINE.match(raw)
        if m is None:
            continue
        report = reports[Path(m["path"]).name]
        line, severity, message = int(m["line"]), m["severity"], m["message"]
        revealed = _REVEALED.match(message)
        if severity == "note" and revealed:
            report.revealed[line].append(revealed["type"])
        elif severity == "error":
            report.errors[line].append(message)
    return reports


def _expectations(path: Path) -> list[tuple[int, str, str]]:
    out = []
    for number, text in enumerate(path.read_text().splitlines(), 1):
        m = _EXPECT.search(text)
        if m:
            out.append((number, m[1], m[2]))
    return out


def check(path: Path, report: Report) -> tuple[list[str], list[str]]:
    """(mismatches, pending expectations still unmet) of one sample."""
    wrong: list[str] = []
    pending: list[str] = []
    expected_error_lines = set()
    for line, kind, text in _expectations(path):
        where = f"{path.name}:{line}"
        if kind == "R":
            got = report.revealed.get(line, [])
            if got != [text]:
                wrong.append(f"{where}: expected revealed type {text!r}, mypy says {got}")
            continue
        expected_error_lines.add(line)
        met = any(text in message for message in report.errors.get(line, []))
        if kind == "E" and not met:
            wrong.append(
                f"{where}: expected an error with {text!r}, mypy says {report.errors.get(line, [])}"
            )
        elif kind == "E pending":
            if met:
                wrong.append(
                    f"{where}: the pending expectation {text!r} is met now: make it '# E:'"
                )
            else:
                pending.append(f"{where}: {text}")
    for line, messages in sorted(report.errors.items()):
        if line not in expected_error_lines:
            wrong.append(f"{path.name}:{line}: unexpected error(s) {messages}")
    return wrong, pending


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_types(sample: Path) -> None:
    assert _expectations(sample), f"{sample.name} has no expectations"
    wrong, pending = check(sample, _mypy()[sample.name])
    assert wrong == []
    if pending:
        pytest.xfail("pending: " + "; ".join(pending))


def test_the_harness_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "x = 1\n"
        "reveal_type(x)  # R: builtins.str\n"
        'y: int = "a"  # E: no such message\n'
        "z: int = 2\n"
        "reveal_type(z)  # R: builtins.int\n"
    )
    report = Report()
    report.revealed[2].append("builtins.int")
    report.errors[3].append('Incompatible types in assignment (expression has type "str"')
    report.errors[4].append("an error nobody expected")
    report.revealed[5].append("builtins.int")
    wrong, pending = check(sample, report)
    assert len(wrong) == 3
    assert "expected revealed type 'builtins.str'" in wrong[0]
    assert "expected an error with 'no such message'" in wrong[1]
    assert "unexpected error" in wrong[2]
    assert pending == []


def test_the_harness_reports_pending_expectations(tmp_path: Path) -> None:
    sample = tmp_path / "pending.py"
    sample.write_text("f(x=1)  # E pending: Unexpected keyword\n")
    assert check(sample, Report()) == ([], ["pending.py:1: Unexpected keyword"])
    report = Report()
    report.errors[1].append('Unexpected keyword argument "x" for "f"')
    wrong, pending = check(sample, report)
    assert "is met now" in wrong[0]
    assert pending == []
