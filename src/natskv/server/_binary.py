"""Locating the ``nats-server`` executable."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import threading
from collections.abc import Mapping
from pathlib import Path

from ._errors import ServerNotFoundError

__all__ = ["BINARY_ENV", "binary_candidates", "find_server_binary"]

#: Environment variable naming an explicit ``nats-server`` executable.
BINARY_ENV = "NATS_SERVER_BIN"

_EXE_NAME = "nats-server.exe" if sys.platform == "win32" else "nats-server"
# sysconfig fills its configuration on first use without a lock: a lookup racing the
# first one (a cluster starts its nodes in parallel threads) sees it half filled and
# fails with AttributeError: 'userbase'.
_SYSCONFIG_LOCK = threading.Lock()


def _scripts_dirs() -> list[Path]:
    """The current interpreter's scripts directory, then the user-scheme one."""
    with _SYSCONFIG_LOCK:
        return _read_scripts_dirs()


def _read_scripts_dirs() -> list[Path]:
    dirs: list[Path] = []
    scripts = sysconfig.get_path("scripts")
    if scripts:
        dirs.append(Path(scripts))
    try:
        user_scheme = sysconfig.get_preferred_scheme("user")
    except (AttributeError, KeyError):  # pragma: no cover - very old or odd builds
        user_scheme = f"{os.name}_user"
    try:
        user_scripts = sysconfig.get_path("scripts", user_scheme)
    except KeyError:  # pragma: no cover - scheme unknown on this build
        user_scripts = ""
    if user_scripts and Path(user_scripts) not in dirs:
        dirs.append(Path(user_scripts))
    return dirs


def binary_candidates(
    binary: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> list[tuple[str, Path]]:
    """Where :func:`find_server_binary` looks, in order, as ``(source, path)`` pairs.

    ``PATH`` (``shutil.which``) is searched after these.
    """
    environ = os.environ if env is None else env
    candidates: list[tuple[str, Path]] = []
    if binary is not None:
        candidates.append(("binary argument", Path(binary).expanduser()))
    from_env = environ.get(BINARY_ENV)
    if from_env:
        candidates.append((BINARY_ENV, Path(from_env).expanduser()))
    for scripts in _scripts_dirs():
        candidates.append(("scripts directory", scripts / _EXE_NAME))
    return candidates


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_server_binary(
    binary: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> str:
    """Return the path of the ``nats-server`` executable to run.

    Lookup order: the ``binary`` argument, the ``NATS_SERVER_BIN`` environment variable,
    the current interpreter's scripts directory (then the user-scheme scripts directory),
    then ``PATH``. An explicit ``binary`` or ``NATS_SERVER_BIN`` that does not name an
    executable file is an error rather than silently falling through.

    Raises:
        ServerNotFoundError: nothing was found; the message says how to install it.
    """
    for source, path in binary_candidates(binary, env=env):
        if _is_executable(path):
            return str(path)
        if source != "scripts directory":
            raise ServerNotFoundError(f"{source} points to {str(path)!r}, not an executable file")
    environ = os.environ if env is None else env
    found = shutil.which("nats-server", path=environ.get("PATH"))
    if found:
        return found
    raise ServerNotFoundError("not given, not in NATS_SERVER_BIN, the scripts directory or PATH")
