"""Shell completion: click's scripts, and bucket names completed from the server the global
options (or the running background server) point at."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from tests.cli.helpers import ok, runner

from natskv.cli import cli
from natskv.server import background_status


def complete(*words: str, env: dict[str, str] | None = None) -> Result:
    """What bash's completion gets for ``natskv <words>`` (the last word is completed)."""
    line = ["natskv", *words]
    return runner().invoke(
        cli,
        [],
        prog_name="natskv",
        env={
            "_NATSKV_COMPLETE": "bash_complete",
            "COMP_WORDS": " ".join(line),
            "COMP_CWORD": str(len(line) - 1),
            **(env or {}),
        },
        catch_exceptions=False,
    )


def _values(result: Result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_the_completion_scripts(nats_url: str) -> None:
    for shell in ("bash", "zsh", "fish"):
        result = runner().invoke(
            cli, [], prog_name="natskv", env={"_NATSKV_COMPLETE": f"{shell}_source"}
        )
        assert result.exit_code == 0
        assert "_NATSKV_COMPLETE" in result.stdout


def test_verbs_are_completed() -> None:
    values = _values(complete("exp"))
    assert values == ["export"]


def test_bucket_names_are_completed(nats_url: str, hist_bucket: str) -> None:
    other = hist_bucket + "_other"
    ok(nats_url, "add", other)
    try:
        prefix = hist_bucket[:-2]
        for verb in ("get", "info", "ls", "watch", "export", "import"):
            assert _values(complete("-s", nats_url, verb, prefix)) == [hist_bucket, other]
        # options after the verb count too, and under `natskv kv`
        assert _values(complete("kv", "put", "--server", nats_url, other)) == [other]
        assert _values(complete("get", hist_bucket[:3] + "\u2603", "-s", nats_url)) == []
    finally:
        ok(nats_url, "del", other, "-f")


def test_bucket_completion_is_silent_without_a_server(
    natskv_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)
    result = complete("info", "")
    assert _values(result) == []
    assert result.stderr == ""
    assert background_status() is None  # completion never starts the background server
    for broken in (("-s", "nats://127.0.0.1:1"), ("--context", "missing")):
        result = complete(*broken, "info", "")
        assert _values(result) == []
        assert result.stderr == ""
