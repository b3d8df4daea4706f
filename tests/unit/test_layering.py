"""The import direction protocol -> client -> jetstream -> kv -> cli holds in every module."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import natskv

SRC = Path(natskv.__file__).parent

# What each layer may import from natskv (besides itself); errors.py is shared by all and
# _version.py (the installed version, for CONNECT and --version) by those that need it.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_version": set(),
    "protocol": {"errors"},
    "client": {"errors", "protocol", "_version"},
    "jetstream": {"errors", "protocol", "client"},
    "kv": {"errors", "protocol", "client", "jetstream"},
    "server": {"errors"},
    "ui": {"errors", "client", "jetstream", "kv"},
    "cli": {"errors", "protocol", "client", "jetstream", "kv", "server", "ui", "_version"},
    "sync": {"errors", "protocol", "client", "jetstream", "kv", "server", "<root>"},
    "testing": {"errors", "client", "jetstream", "kv", "server", "sync", "<root>"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "natskv":
                if len(parts) == 1:
                    found.add("<root>")
                else:
                    found.add(parts[1])
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    layer = _layer(path)
    assert layer in ALLOWED, f"{path}: unknown layer {layer!r}; add it to ALLOWED"
    imported = _imported_layers(path) - {layer}
    forbidden = imported - ALLOWED[layer]
    assert not forbidden, f"{path.relative_to(SRC)} ({layer}) imports {sorted(forbidden)}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The natskv modules ``path`` imports when it is imported: module-level imports
    outside ``if TYPE_CHECKING:`` (``from pkg import mod`` counts as ``pkg.mod``)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if _is_type_checking(node) or isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            ):
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = {f"{node.module}.{a.name}" for a in node.names} & modules
                found.update(subs or {node.module})
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])

    visit(ast.parse(path.read_text(), filename=str(path)).body)
    return found & modules


def _import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            connect(v)
    return cycles


def test_no_runtime_import_cycle() -> None:
    # A cycle broken by an import inside a function is still a cycle: the next test keeps
    # those out, this one the cycles at module level. A module's own packages do not
    # count (importing a submodule imports them first anyway).
    names = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {
        name: {m for m in _runtime_imports(path, set(names)) if not name.startswith(m + ".")}
        for name, path in names.items()
    }
    assert _import_cycles(graph) == []
    assert _import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# Imports inside functions that are there on purpose: optional or platform-specific modules.
_LATE_IMPORTS_ALLOWED = {"protocol/_impl.py", "server/_background.py", "server/_process.py"}
_LATE_IMPORTS_ALLOWED |= {"cli/_ui.py"}  # the ui extra (aiohttp), only for `natskv ui`


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_are_at_the_top(path: Path) -> None:
    if str(path.relative_to(SRC)) in _LATE_IMPORTS_ALLOWED:
        return
    late = [
        f"line {sub.lineno}"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for sub in ast.walk(node)
        if isinstance(sub, (ast.Import, ast.ImportFrom))
    ]
    assert late == [], f"{path.relative_to(SRC)} imports inside a function"


def test_layering_check_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from natskv.kv import KVStore\nimport natskv.cli\n")
    assert _imported_layers(bad) == {"kv", "cli"}


@pytest.mark.parametrize(
    "package",
    [
        "natskv",
        "natskv.protocol",
        "natskv.client",
        "natskv.jetstream",
        "natskv.kv",
        "natskv.server",
        "natskv.sync",
    ],
)
def test_every_exported_name_exists(package: str) -> None:
    module = importlib.import_module(package)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicate names in __all__"
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing


def test_package_is_typed() -> None:
    assert (SRC / "py.typed").exists()
