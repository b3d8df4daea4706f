"""The ``natskv`` root command: global options, connecting, output and error handling.

Every command runs its asynchronous work with one ``asyncio.run`` through
:meth:`Session.run`, which connects, hands a :class:`~natskv.kv.KVContext` to the work
and closes the connection afterwards. Library errors (:class:`~natskv.errors.NatsError`)
are caught once, in :class:`RootGroup`, and printed as ``natskv: error: <message>``
with exit status 1; Ctrl-C exits with 130 (``watch`` handles it itself and exits 0).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from natskv._version import __version__
from natskv.cli._context import NatsContext, load_context, selected_context_name, tls_context
from natskv.cli._parse import parse_byte_size, parse_duration
from natskv.cli._table import table_style_from_env
from natskv.cli._text import encode_output
from natskv.client import Connection, connect
from natskv.errors import NatsError
from natskv.jetstream import JetStream
from natskv.kv import KVContext
from natskv.server import ensure_background_server

__all__ = [
    "BYTE_SIZE",
    "ConnectSettings",
    "DURATION",
    "TIMEOUT",
    "AliasGroup",
    "RootGroup",
    "Session",
    "cli",
    "confirm",
    "confirmed",
    "connection_options",
    "fail",
    "force_option",
    "json_option",
    "main",
    "out",
    "session",
    "status_screen_width",
    "stdin_is_tty",
    "stdout_is_tty",
    "table_options",
    "use_color",
    "with_options",
]

T = TypeVar("T")

DEFAULT_TIMEOUT = 5.0
EXIT_INTERRUPTED = 130


# ---------------------------------------------------------------------------
# Parameter types
# ---------------------------------------------------------------------------

if TYPE_CHECKING:
    # click >= 8.2 makes ParamType generic; older versions cannot subscript it at run time
    _IntParam = click.ParamType[int]
    _FloatParam = click.ParamType[float]
    _DurationParam = click.ParamType[timedelta]
else:
    _IntParam = _FloatParam = _DurationParam = click.ParamType


class ByteSizeType(_IntParam):
    """``1024``, ``10K``, ``1MB``, ``2GiB`` ... (natscli ``ParseStringAsBytes``; empty or
    negative means unlimited, -1)."""

    name = "BYTES"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_byte_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class DurationType(_DurationParam):
    """Go durations (``90s``, ``1h30m``) plus natscli's ``d``, ``w``, ``M``, ``y`` units."""

    name = "DURATION"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class TimeoutType(_FloatParam):
    """Seconds as a number (``5``, ``1.5``) or a duration (``5s``, ``500ms``)."""

    name = "SECONDS"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            try:
                seconds = float(value)
            except ValueError:
                try:
                    seconds = parse_duration(str(value)).total_seconds()
                except ValueError as exc:
                    self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail(f"the timeout must be positive, got {value!r}", param, ctx)
        return seconds


BYTE_SIZE = ByteSizeType()
DURATION = DurationType()
TIMEOUT = TimeoutType()


# ---------------------------------------------------------------------------
# The session: how to reach the server
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectSettings:
    """Everything :func:`~natskv.connect` and :class:`~natskv.JetStream` are given: the
    flags, then the environment, then the natscli context, merged field by field."""

    url: str | None
    user: str | None
    password: str | None
    token: str | None
    creds: str | None
    nkey: str | None
    tls: ssl.SSLContext | None
    tls_first: bool
    inbox_prefix: str | None
    domain: str | None
    api_prefix: str | None


@dataclass
class Session:
    """The global options, shared by every command through ``ctx.obj``.

    Each field holds a flag's value or its ``NATS_*`` environment variable (click reads
    both), so either one overrides the same field of the natscli context.
    """

    server: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    user: str | None = None
    password: str | None = None
    creds: str | None = None
    nkey: str | None = None
    tlscert: str | None = None
    tlskey: str | None = None
    tlsca: str | None = None
    js_domain: str | None = None
    context: str | None = None

    def nats_context(self) -> NatsContext | None:
        """``--context`` (or ``NATS_CONTEXT``), else the context natscli has selected."""
        name = self.context or selected_context_name()
        return load_context(name) if name else None

    def settings(self) -> ConnectSettings:
        """The merged settings; a bad context or TLS file set fails the command here."""
        try:
            ctx = self.nats_context() or NatsContext(name="", path=Path())
            tls = tls_context(
                self.tlscert or ctx.cert, self.tlskey or ctx.key, self.tlsca or ctx.ca
            )
        except ValueError as exc:  # ContextError, or a certificate without its key
            fail(str(exc))
        user = self.user or ctx.user
        password = self.password or ctx.password
        token = ctx.token
        if self.user and not self.password:
            # natscli: --user without --password is a token
            user, password, token = None, None, self.user
        return ConnectSettings(
            url=self.server or os.environ.get("NATS_URL") or ctx.url,
            user=user,
            password=password,
            token=token,
            creds=self.creds or ctx.creds,
            nkey=self.nkey or ctx.nkey,
            tls=tls,
            tls_first=ctx.tls_first,
            inbox_prefix=ctx.inbox_prefix,
            domain=self.js_domain or ctx.jetstream_domain,
            api_prefix=None if self.js_domain else ctx.jetstream_api_prefix,
        )

    def url(self) -> str:
        """``--server``, else ``NATS_URL``, else the context's, else the background server
        (started if needed)."""
        return self.settings().url or ensure_background_server()

    async def _connect(self, url: str, settings: ConnectSettings) -> Connection:
        # only what is set: connect()'s defaults stay in one place, ConnectOptions
        extra: dict[str, Any] = {}
        if settings.tls is not None:
            extra["tls"] = settings.tls
        if settings.tls_first:
            extra["tls_handshake_first"] = True
        if settings.inbox_prefix:
            extra["inbox_prefix"] = settings.inbox_prefix
        return await connect(
            url,
            name="natskv",
            user=settings.user,
            password=settings.password,
            token=settings.token,
            user_credentials=settings.creds,
            nkeys_seed_file=settings.nkey,
            connect_timeout=self.timeout,
            request_timeout=self.timeout,
            **extra,
        )

    async def _run(
        self, url: str, settings: ConnectSettings, work: Callable[[KVContext], Awaitable[T]]
    ) -> T:
        try:
            nc = await self._connect(url, settings)
        except ValueError as exc:  # options connect() refuses before opening a socket
            fail(str(exc))
        try:
            js = JetStream(
                nc,
                domain=settings.domain,
                api_prefix=None if settings.domain else settings.api_prefix,
                timeout=self.timeout,
            )
            return await work(KVContext(js))
        finally:
            await nc.close()

    def run(self, work: Callable[[KVContext], Awaitable[T]]) -> T:
        """Connect, run ``work`` with a KV context, close: one ``asyncio.run``."""
        settings = self.settings()
        # resolved first: starting the background server blocks
        url = settings.url or ensure_background_server()
        return asyncio.run(self._run(url, settings, work))


def _set_session(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            session = ctx.find_object(Session) or ctx.ensure_object(Session)
            setattr(session, attr, value)

    return callback


def _global_options(*, hidden: bool) -> list[Callable[[Any], Any]]:
    def opt(*decls: str, attr: str, env: str | None = None, **kwargs: Any) -> Callable[[Any], Any]:
        # the environment is read once, by the root's options: an option after the verb
        # must not take it again over a flag given before the verb
        return click.option(
            *decls,
            expose_value=False,
            is_eager=True,
            hidden=hidden,
            callback=_set_session(attr),
            envvar=None if hidden else env,
            show_envvar=env is not None,
            **kwargs,
        )

    def path(help: str) -> dict[str, Any]:
        return {"type": click.Path(dir_okay=False), "metavar": "FILE", "help": help}

    return [
        opt(
            "-s",
            "--server",
            attr="server",
            env="NATS_URL",
            metavar="URL",
            help="NATS server URL(s), comma separated. Default: the natscli context's, else "
            "a local background nats-server started on first use.",
        ),
        opt(
            "--timeout",
            attr="timeout",
            env="NATS_TIMEOUT",
            type=TIMEOUT,
            help=f"Time to wait for responses, in seconds (default {DEFAULT_TIMEOUT:g}).",
        ),
        opt("--user", attr="user", env="NATS_USER", help="Username or token."),
        opt("--password", attr="password", env="NATS_PASSWORD", help="Password."),
        opt("--creds", attr="creds", env="NATS_CREDS", **path("User credentials (.creds file).")),
        opt("--nkey", attr="nkey", env="NATS_NKEY", **path("User NKEY seed file.")),
        opt("--tlscert", attr="tlscert", env="NATS_CERT", **path("TLS client certificate.")),
        opt("--tlskey", attr="tlskey", env="NATS_KEY", **path("TLS client private key.")),
        opt("--tlsca", attr="tlsca", env="NATS_CA", **path("TLS certificate authority chain.")),
        opt("--js-domain", attr="js_domain", metavar="DOMAIN", help="JetStream domain."),
        opt(
            "--context",
            attr="context",
            env="NATS_CONTEXT",
            metavar="NAME",
            help="natscli configuration context to use (default: the selected one).",
        ),
    ]


def with_options(
    f: Callable[..., Any], options: Sequence[Callable[[Any], Any]]
) -> Callable[..., Any]:
    """``f`` decorated with ``options``, which ``--help`` lists in the order given."""
    for option in reversed(options):
        f = option(f)
    return f


def connection_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The global options, hidden, on a command: natscli accepts them after the verb too."""
    return with_options(f, _global_options(hidden=True))


force_option = click.option("-f", "--force", is_flag=True, help="Act without confirmation.")
"""``-f``/``--force`` of the destructive commands, which otherwise ask first."""


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON instead of text, for scripts."
)
"""``--json`` of the read verbs (the objects of :mod:`natskv.cli._json`)."""


def session() -> Session:
    """The current command's :class:`Session` (a default one outside the root group)."""
    ctx = click.get_current_context()
    return ctx.find_object(Session) or ctx.ensure_object(Session)


# ---------------------------------------------------------------------------
# Output and prompts
# ---------------------------------------------------------------------------


def out(text: str) -> None:
    """Write formatter output exactly (raw wire bytes survive as surrogate escapes)."""
    click.echo(encode_output(text), nl=False)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def stdin_is_tty() -> bool:
    """Whether a prompt can be answered: off a terminal, commands must not ask."""
    return sys.stdin.isatty()


def table_options() -> dict[str, Any]:
    """``style`` and ``width_max`` for the table formatters, as natscli chooses them."""
    width = shutil.get_terminal_size().columns if stdout_is_tty() else 0
    return {"style": table_style_from_env(os.environ), "width_max": width}


def status_screen_width() -> int:
    """natscli's metadata truncation width: 80 off a terminal, else its width - 30."""
    if not stdout_is_tty():
        return 80
    return max(shutil.get_terminal_size().columns - 30, 10)


def use_color(environ: Mapping[str, str] = os.environ) -> bool:
    """fatih/color's rule: a terminal, ``NO_COLOR`` unset or empty and ``TERM`` not dumb."""
    return stdout_is_tty() and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def confirm(question: str) -> bool:
    """Ask a yes/no question (default no); end of input counts as no, Ctrl-C interrupts.

    Not ``click.confirm``: it turns Ctrl-C and end of input into the same ``Abort``, and
    Ctrl-C must exit with 130 while a closed STDIN is a plain "no".
    """
    prompt = f"{question} [y/N]: "
    while True:
        click.echo(prompt, nl=False)
        try:
            answer = input().strip().lower()
        except EOFError:
            click.echo()
            return False
        if answer in ("y", "yes"):
            return True
        if answer in ("", "n", "no"):
            return False
        click.echo("Error: invalid input")


def confirmed(question: str, *, force: bool, skipped: str) -> bool:
    """``--force``, or a yes to ``question``; a no prints ``Skipping <skipped>``, as natscli."""
    if force or confirm(question):
        return True
    out(f"Skipping {skipped}\n")
    return False


def fail(message: str) -> NoReturn:
    """Print ``natskv: error: <message>`` to stderr and exit with status 1."""
    click.echo(f"natskv: error: {message}", err=True)
    raise click.exceptions.Exit(1)


# ---------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------


class AliasGroup(click.Group):
    """A group whose commands may have aliases (``add``/``new``, ``ls``/``list`` ...)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases: dict[str, str] = {}

    def add_aliases(self, name: str, aliases: Iterable[str]) -> None:
        for alias in aliases:
            self.aliases[alias] = name

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd is not None else name), cmd, rest

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        by_name: dict[str, list[str]] = {}
        for alias, name in self.aliases.items():
            by_name.setdefault(name, []).append(alias)
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            cmd = self.commands.get(name)
            if cmd is None or cmd.hidden:
                continue
            label = name
            if name in by_name:
                label += f" ({', '.join(by_name[name])})"
            rows.append((label, cmd.get_short_help_str(limit=formatter.width - 6)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class RootGroup(AliasGroup):
    """The ``natskv`` group: the one place where library errors become exit statuses."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NatsError as exc:
            fail(str(exc) or type(exc).__name__)
        except BrokenPipeError:
            raise  # `natskv ls b | head`: click's main exits quietly with status 1
        except OSError as exc:  # e.g. an unreadable --creds or --nkey file
            fail(str(exc) or type(exc).__name__)
        except KeyboardInterrupt:
            click.echo(err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


def _root_options(f: Callable[..., Any]) -> Callable[..., Any]:
    return with_options(f, _global_options(hidden=False))


@click.group(
    cls=RootGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@_root_options
@click.version_option(__version__, "--version", prog_name="natskv", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """A NATS JetStream Key/Value client: the verbs of `nats kv`, plus a local server.

    Without --server and NATS_URL, commands use a durable nats-server started in the
    background on first use (see `natskv server`). Where `nats` is configured natskv
    connects the same way: its selected context (or --context), NATS_* variables and
    flags, in natscli's order (flags, then environment, then context). The global options
    may also follow the command, as in natscli.

    \b
    Shell completion (bucket names too), in ~/.bashrc, ~/.zshrc or fish's config:
      eval "$(_NATSKV_COMPLETE=bash_source natskv)"
      eval "$(_NATSKV_COMPLETE=zsh_source natskv)"
      _NATSKV_COMPLETE=fish_source natskv | source
    """
    ctx.ensure_object(Session)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="natskv")
