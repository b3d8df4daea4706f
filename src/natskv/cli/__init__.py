"""The ``natskv`` command line: the verbs of natscli's ``nats kv``, and a local server.

The kv verbs are top-level commands (``natskv ls``) and also live under ``natskv kv``
(``natskv kv ls``), so natscli muscle memory works. Output comes from the formatters in
:mod:`natskv.cli.format`, which reproduce natscli's text exactly.

The modules, one job each: ``_main`` (the root group, global options, connecting, output
and errors), ``_context`` (natscli contexts and TLS files), ``_kv_buckets``, ``_kv_keys``
and ``_kv_watch`` (the bucket, key and watch verbs), ``_json`` (``--json`` and the export
format), ``_transfer`` (``natskv export`` and ``import``), ``_server`` (``natskv server``),
``_ui`` (``natskv ui``, serving :mod:`natskv.ui`); the formatters behind
:mod:`natskv.cli.format`.

The CLI uses only the public API of the lower layers.
"""

from __future__ import annotations

import click

from natskv.cli._kv_buckets import add_cmd, compact_cmd, edit_cmd, info_cmd, ls_cmd
from natskv.cli._kv_keys import (
    create_cmd,
    del_cmd,
    get_cmd,
    history_cmd,
    purge_cmd,
    put_cmd,
    revert_cmd,
    update_cmd,
)
from natskv.cli._kv_watch import watch_cmd
from natskv.cli._main import AliasGroup, cli, connection_options, main
from natskv.cli._server import server_group
from natskv.cli._transfer import export_cmd, import_cmd
from natskv.cli._ui import ui_cmd

__all__ = ["cli", "main"]

# every kv verb, in natscli's order
_KV_COMMANDS: tuple[click.Command, ...] = (
    add_cmd,
    edit_cmd,
    put_cmd,
    get_cmd,
    create_cmd,
    update_cmd,
    del_cmd,
    purge_cmd,
    history_cmd,
    revert_cmd,
    info_cmd,
    watch_cmd,
    ls_cmd,
    compact_cmd,
)

_ALIASES: dict[str, tuple[str, ...]] = {
    "add": ("new",),
    "del": ("rm",),
    "info": ("view", "status"),
    "ls": ("list",),
}
"""natscli's aliases of each verb."""


@click.group("kv", cls=AliasGroup)
@connection_options
def kv_group() -> None:
    """Interacts with a JetStream based Key-Value store (the same verbs as the top level)."""


def _register(group: AliasGroup) -> None:
    for command in _KV_COMMANDS:
        assert command.name is not None
        group.add_command(command)
        group.add_aliases(command.name, _ALIASES.get(command.name, ()))


_register(cli)
_register(kv_group)
cli.add_command(kv_group)
cli.add_command(export_cmd)
cli.add_command(import_cmd)
cli.add_command(server_group)
cli.add_command(ui_cmd)
