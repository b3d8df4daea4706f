"""The ``natskv`` command line: the verbs of natscli's ``nats kv``, and a local server.

The kv verbs are top-level commands (``natskv ls``) and also live under ``natskv kv``
(``natskv kv ls``), so natscli muscle memory works. Output comes from the formatters in
:mod:`natskv.cli.format`, which reproduce natscli's text exactly.

The CLI uses only the public API of the lower layers.
"""

from __future__ import annotations

import click

from natskv.cli._kv import ALIASES, COMMANDS
from natskv.cli._main import AliasGroup, cli, connection_options, main
from natskv.cli._server import server_group

__all__ = ["cli", "main"]


@click.group("kv", cls=AliasGroup)
@connection_options
def kv_group() -> None:
    """Interacts with a JetStream based Key-Value store (the same verbs as the top level)."""


def _register(group: AliasGroup) -> None:
    for command in COMMANDS:
        assert command.name is not None
        group.add_command(command)
        group.add_aliases(command.name, ALIASES.get(command.name, ()))


_register(cli)
_register(kv_group)
cli.add_command(kv_group)
cli.add_command(server_group)
