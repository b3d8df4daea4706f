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
