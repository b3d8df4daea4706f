"""The ``nats kv`` verbs: add, edit, put, get, create, update, del, purge, history, revert,
info, watch, ls and compact (natscli ``cli/kv_command.go``).

Each command parses its arguments, does its work in one :meth:`Session.run` and prints
with the formatters of :mod:`natskv.cli.format`, which produce natscli's exact text.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import click

from natskv.cli._main import (
    BYTE_SIZE,
    DURATION,
    confirm,
    connection_options,
    fail,
    out,
    session,
    status_screen_width,
    table_options,
    use_color,
)
from natskv.cli._scalars import format_number
from natskv.cli._screen_entries import (
    HistoryRow,
    get_output,
    get_raw_output,
    history_table,
    revert_preview,
    watch_line,
)
from natskv.cli._screen_info import (
    ClusterInfo,
    ReplicaInfo,
    RepublishInfo,
    SourceInfo,
    StatusView,
    status_text,
)
from natskv.cli._screen_ls import (
    NO_BUCKETS_FOUND,
    NO_KEYS_FOUND,
    BucketRow,
    KeyRow,
    bucket_names_output,
    buckets_table,
    keys_table,
)
from natskv.errors import KeyNotFoundError
from natskv.jetstream import StreamSourceInfo
from natskv.kv import (
    KVConfig,
    KVContext,
    KVEntry,
    KVOperation,
    KVSource,
    KVStatus,
    KVStore,
    Placement,
    RePublish,
)

__all__ = ["ALIASES", "COMMANDS", "status_view"]

_MAX_INT32 = (1 << 31) - 1


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _arg_bytes(value: str) -> bytes:
    """A value given on the command line, as the bytes the user typed."""
    return value.encode("utf-8", "surrogateescape")


def _value_or_stdin(value: str | None) -> bytes:
    """natscli ``valOrReadVal``: the argument, or all of STDIN when it is empty and piped."""
    if value or sys.stdin.isatty():
        return _arg_bytes(value or "")
    return sys.stdin.buffer.read()


def _seconds(ns: int) -> float | None:
    """A JetStream "active" duration in nanoseconds (-1 or 0: never) as seconds."""
    return ns / 1e9 if ns > 0 else None


def _source_info(info: StreamSourceInfo) -> SourceInfo:
    external = info.external or {}
    api = external.get("api")
    return SourceInfo(
        name=info.name,
        external_api=str(api) if api else None,
        active=_seconds(info.active),
        lag=info.lag,
    )


def status_view(status: KVStatus) -> StatusView:
    """What ``nats kv info`` shows, from a bucket's :class:`~natskv.kv.KVStatus`."""
    republish = None
    if status.republish:
        republish = RepublishInfo(
            source=str(status.republish.get("src", "")),
            destination=str(status.republish.get("dest", "")),
            headers_only=bool(status.republish.get("headers_only", False)),
        )
    cluster = None
    if status.cluster is not None:
        cluster = ClusterInfo(
            name=status.cluster.name or "",
            leader=status.cluster.leader or "",
            replicas=tuple(
                ReplicaInfo(
                    name=peer.name,
                    current=peer.current,
                    offline=peer.offline,
                    active=_seconds(peer.active),
                    lag=peer.lag,
                )
                for peer in status.cluster.replicas or ()
            ),
        )
    return StatusView(
        bucket=status.bucket,
        created=status.created,
        history=status.history,
        values=status.values,
        compressed=status.compressed,
        limit_marker_ttl=status.limit_marker_ttl,
        backing_store=status.backing_store,
        description=status.description,
        bucket_size=status.bytes,
        max_bucket_size=status.max_bytes,
        max_value_size=status.max_value_size,
        max_age_seconds=status.ttl,
        stream_name=status.stream_name,
        storage="Memory" if status.storage.lower() == "memory" else "File",
        republish=republish,
        mirror=_source_info(status.mirror) if status.mirror is not None else None,
        sources=tuple(_source_info(s) for s in status.sources),
        metadata=status.metadata,
        cluster=cluster,
    )


def _print_status(status: KVStatus) -> None:
    out(status_text(status_view(status), screen_width=status_screen_width()))


def _history_rows(entries: Iterable[KVEntry[Any]]) -> list[HistoryRow]:
    return [HistoryRow(e.key, e.revision, e.operation.value, e.created, e.raw) for e in entries]


async def _history(store: KVStore, key: str) -> list[KVEntry[Any]]:
    """Every kept revision; none at all is ``key not found``, as nats.go ``History`` says."""
    entries = [entry async for entry in store.history(key)]
    if not entries:
        raise KeyNotFoundError(key)
    return entries


def _metadata(pairs: tuple[str, ...]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--metadata")
        result[key] = value
    return result


def _check_max_value_size(size: int | None) -> None:
    if size is not None and size > _MAX_INT32:
        fail(
            f"max value size {format_number(size)} is too big maximum is "
            f"{format_number(_MAX_INT32)}"
        )


# ---------------------------------------------------------------------------
# add / edit
# ---------------------------------------------------------------------------


def _config_options(*, edit: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The bucket configuration flags of ``kv add`` (``edit``: without defaults)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        opts: list[Callable[[Any], Any]] = [
            click.option("--description", help="A description for the bucket."),
            click.option(
                "--history",
                type=int,
                default=None if edit else 1,
                show_default=not edit,
                help="How many historic values to keep per key (1-64).",
            ),
        ]
        if not edit:
            opts.append(
                click.option(
                    "--storage",
                    type=click.Choice(["file", "f", "memory", "m"]),
                    default="file",
                    show_default=True,
                    help="Storage backend to use.",
                )
            )
        opts += [
            click.option("--ttl", type=DURATION, help="How long to keep values for."),
            click.option(
                "--marker-ttl",
                type=DURATION,
                help="Enables per-key TTLs; how long delete markers of expired keys are kept.",
            ),
            click.option(
                "--replicas",
                type=int,
                default=None if edit else 1,
                show_default=not edit,
                help="How many replicas of the data to store.",
            ),
            click.option(
                "--max-value-size", type=BYTE_SIZE, help="Maximum size for any single value."
            ),
            click.option("--max-bucket-size", type=BYTE_SIZE, help="Maximum size for the bucket."),
            click.option(
                "--tags",
                multiple=True,
                help="Place the bucket on servers that have specific tags (repeatable).",
            ),
            click.option("--cluster", help="Place the bucket on a specific cluster."),
            click.option(
                "--compress/--no-compress",
                default=None if edit else False,
                help="Compress the bucket data.",
            ),
            click.option(
                "--metadata",
                multiple=True,
                metavar="KEY=VALUE",
                help="Adds metadata to the bucket (repeatable).",
            ),
            click.option(
                "--republish-source",
                metavar="SRC",
                help="Republish messages to --republish-destination.",
            ),
            click.option(
                "--republish-destination",
                metavar="DEST",
                help="Republish destination for messages in --republish-source.",
            ),
            click.option(
                "--republish-headers",
                is_flag=True,
                default=None,
                help="Republish only message headers, no bodies.",
            ),
        ]
        if not edit:
            opts += [
                click.option("--mirror", help="Creates a mirror of a different bucket."),
                click.option(
                    "--mirror-domain", help="When mirroring find the bucket in a different domain."
                ),
            ]
        opts.append(
            click.option(
                "--source",
                multiple=True,
                metavar="BUCKET",
                help="Source from a different bucket (repeatable).",
            )
        )
        if edit:
            opts.append(
                click.option(
                    "--no-mirror",
                    is_flag=True,
                    help="Removes the mirror configuration, promoting the mirror to a bucket.",
                )
            )
        for option in reversed(opts):
            f = option(f)
        return f

    return decorate


@click.command("add")
@click.argument("bucket")
@_config_options(edit=False)
@connection_options
def add_cmd(
    bucket: str,
    description: str | None,
    history: int,
    storage: str,
    ttl: timedelta | None,
    marker_ttl: timedelta | None,
    replicas: int,
    max_value_size: int | None,
    max_bucket_size: int | None,
    tags: tuple[str, ...],
    cluster: str | None,
    compress: bool,
    metadata: tuple[str, ...],
    republish_source: str | None,
    republish_destination: str | None,
    republish_headers: bool | None,
    mirror: str | None,
    mirror_domain: str | None,
    source: tuple[str, ...],
) -> None:
    """Adds a new KV Store Bucket."""
    _check_max_value_size(max_value_size)
    config = KVConfig(
        bucket=bucket,
        description=description or "",
        max_value_size=-1 if max_value_size is None else max_value_size,
        history=history,
        ttl=ttl,
        max_bytes=-1 if max_bucket_size is None else max_bucket_size,
        storage="memory" if storage.startswith("m") else "file",
        replicas=replicas,
        placement=Placement(cluster or None, tags) if cluster or tags else None,
        republish=(
            RePublish(
                destination=republish_destination,
                source=republish_source or ">",
                headers_only=bool(republish_headers),
            )
            if republish_destination
            else None
        ),
        mirror=KVSource(mirror, domain=mirror_domain or None) if mirror else None,
        sources=[KVSource(name) for name in source],
        compression=compress,
        metadata=_metadata(metadata) or None,
        limit_marker_ttl=marker_ttl,
    )

    async def work(kv: KVContext) -> KVStatus:
        store = await kv.create_store(config)
        return await store.status()

    _print_status(session().run(work))


@click.command("edit")
@click.argument("bucket")
@_config_options(edit=True)
@connection_options
def edit_cmd(
    bucket: str,
    description: str | None,
    history: int | None,
    ttl: timedelta | None,
    marker_ttl: timedelta | None,
    replicas: int | None,
    max_value_size: int | None,
    max_bucket_size: int | None,
    tags: tuple[str, ...],
    cluster: str | None,
    compress: bool | None,
    metadata: tuple[str, ...],
    republish_source: str | None,
    republish_destination: str | None,
    republish_headers: bool | None,
    source: tuple[str, ...],
    no_mirror: bool,
) -> None:
    """Edits the configuration of a KV Store Bucket: only the given flags change."""
    _check_max_value_size(max_value_size)
    new_metadata = _metadata(metadata)

    def changes(current: KVConfig) -> dict[str, Any]:
        given = {
            "description": description,
            "history": history,
            "ttl": ttl,
            "limit_marker_ttl": marker_ttl,
            "replicas": replicas,
            "max_value_size": max_value_size,
            "max_bytes": max_bucket_size,
        }
        update: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        if cluster is not None or tags:
            placement = current.placement or Placement()
            update["placement"] = Placement(
                cluster if cluster is not None else placement.cluster,
                tags or placement.tags,
            )
        if compress is not None:
            update["compression"] = compress
        if new_metadata:
            update["metadata"] = new_metadata
        if (
            republish_source is not None
            or republish_destination is not None
            or republish_headers is not None
        ):
            base = current.republish
            destination = republish_destination or (base.destination if base else None)
            if not destination:
                fail("republishing needs --republish-destination")
            update["republish"] = RePublish(
                destination=destination,
                source=republish_source or (base.source if base else ">"),
                headers_only=(
                    republish_headers
                    if republish_headers is not None
                    else bool(base and base.headers_only)
                ),
            )
        if source:
            update["sources"] = tuple(KVSource(name) for name in source)
        if no_mirror:
            update["mirror"] = None
        return update

    async def work(kv: KVContext) -> KVStatus:
        store = await kv.get_store(bucket)
        current = (await store.status()).config
        config = dataclasses.replace(current, **changes(current))
        store = await kv.update_store(config)
        return await store.status()

    _print_status(session().run(work))


# ---------------------------------------------------------------------------
# put / get / create / update
# ---------------------------------------------------------------------------


@click.command("put")
@click.argument("bucket")
@click.argument("key")
@click.argument("value", required=False)
@connection_options
def put_cmd(bucket: str, key: str, value: str | None) -> None:
    """Puts a value into a key (the value is read from STDIN when omitted)."""
    data = _value_or_stdin(value)

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        await store.put(key, data)

    session().run(work)
    out(f"{value or ''}\n")


@click.command("get")
@click.argument("bucket")
@click.argument("key")
@click.option("--revision", type=int, default=0, help="Gets a specific revision.")
@click.option("--raw", is_flag=True, help="Show only the value string.")
@connection_options
def get_cmd(bucket: str, key: str, revision: int, raw: bool) -> None:
    """Gets a value for a key."""

    async def work(kv: KVContext) -> KVEntry[bytes]:
        store = await kv.get_store(bucket)
        return await store.get_entry(key, revision=revision if revision > 0 else None)

    entry = session().run(work)
    if raw:
        click.echo(get_raw_output(entry.raw), nl=False)
        return
    out(get_output(bucket, entry.key, entry.revision, entry.created, entry.raw))


@click.command("create")
@click.argument("bucket")
@click.argument("key")
@click.argument("value", required=False)
@click.option("--ttl", type=DURATION, help="Expire the key after this time (per-key TTL).")
@connection_options
def create_cmd(bucket: str, key: str, value: str | None, ttl: timedelta | None) -> None:
    """Puts a value into a key only if the key is new or its last operation was a delete."""
    data = _value_or_stdin(value)

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        await store.create(key, data, ttl=ttl)

    session().run(work)
    out(f"{value or ''}\n")


@click.command("update")
@click.argument("bucket")
@click.argument("key")
@click.argument("value")
@click.argument("revision", type=click.IntRange(min=0))
@connection_options
def update_cmd(bucket: str, key: str, value: str, revision: int) -> None:
    """Updates a key with a new value if the previous value matches the given revision."""
    data = _value_or_stdin(value)

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        await store.update(key, data, revision)

    session().run(work)
    out(f"{value}\n")


# ---------------------------------------------------------------------------
# del / purge / compact
# ---------------------------------------------------------------------------

_FORCE = click.option("-f", "--force", is_flag=True, help="Act without confirmation.")


@click.command("del")
@click.argument("bucket")
@click.argument("key", required=False)
@_FORCE
@connection_options
def del_cmd(bucket: str, key: str | None, force: bool) -> None:
    """Deletes a key or the entire bucket."""
    if not key:
        if not force and not confirm(f"Delete bucket {bucket}?"):
            out("Skipping delete\n")
            return

        async def delete_bucket(kv: KVContext) -> None:
            await kv.delete_store(bucket)

        session().run(delete_bucket)
        return

    async def delete_key(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        if not force and not confirm(f"Delete key {bucket} > {key}?"):
            out("Skipping delete\n")
            return
        await store.delete(key)

    session().run(delete_key)


@click.command("purge")
@click.argument("bucket")
@click.argument("key")
@_FORCE
@click.option(
    "--ttl", type=DURATION, help="Remove the purge marker itself after this time (per-key TTL)."
)
@connection_options
def purge_cmd(bucket: str, key: str, force: bool, ttl: timedelta | None) -> None:
    """Deletes a key from the bucket, clearing history before creating a delete marker."""

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        if not force and not confirm(f"Purge key {bucket} > {key}?"):
            out("Skipping purge\n")
            return
        await store.purge(key, ttl=ttl)

    session().run(work)


@click.command("compact")
@click.argument("bucket")
@_FORCE
@connection_options
def compact_cmd(bucket: str, force: bool) -> None:
    """Reclaim space used by deleted keys."""

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        question = (
            f"Purge all historic values and audit trails for deleted keys in bucket {bucket}?"
        )
        if not force and not confirm(question):
            out("Skipping delete\n")
            return
        # nats.go's default: markers younger than 30 minutes stay for lagging watchers
        await store.purge_deletes(timedelta(minutes=30))

    session().run(work)


# ---------------------------------------------------------------------------
# history / revert
# ---------------------------------------------------------------------------


@click.command("history")
@click.argument("bucket")
@click.argument("key")
@connection_options
def history_cmd(bucket: str, key: str) -> None:
    """Shows the full history for a key."""

    async def work(kv: KVContext) -> list[KVEntry[Any]]:
        store = await kv.get_store(bucket)
        return await _history(store, key)

    entries = session().run(work)
    out(history_table(bucket, key, _history_rows(entries), **table_options()))


@click.command("revert")
@click.argument("bucket")
@click.argument("key")
@click.argument("revision", type=click.IntRange(min=1))
@click.option("-f", "--force", is_flag=True, help="Force reverting without prompting.")
@connection_options
def revert_cmd(bucket: str, key: str, revision: int, force: bool) -> None:
    """Reverts a value to a previous revision using put."""

    async def work(kv: KVContext) -> list[KVEntry[Any]] | None:
        store = await kv.get_store(bucket)
        history = await _history(store, key)
        if len(history) <= 1:
            fail("cannot revert key in a bucket where history=1")
        entry = await store.get_entry(key, revision=revision)
        if not force:
            out(revert_preview(entry.revision, entry.raw))
            if not confirm(f"Really revert to revision {revision}"):
                return None
        # Update, not Put: fails if the key changed since we read its history
        await store.update(key, entry.raw, history[-1].revision)
        return await _history(store, key)

    entries = session().run(work)
    if entries is not None:
        out(history_table(bucket, key, _history_rows(entries), **table_options()))


# ---------------------------------------------------------------------------
# info / watch / ls
# ---------------------------------------------------------------------------


@click.command("info")
@click.argument("bucket", required=False)
@connection_options
def info_cmd(bucket: str | None) -> None:
    """View the status of a KV store (asks which one when no bucket is given)."""

    async def work(kv: KVContext) -> KVStatus:
        name = bucket
        if not name:
            known = [n async for n in kv.store_names()]
            if not known:
                fail("no KV buckets found")
            name = click.prompt("Select a Bucket", type=click.Choice(known))
        store = await kv.get_store(name)
        return await store.status()

    _print_status(session().run(work))


@click.command("watch")
@click.argument("bucket")
@click.argument("key", default=">")
@click.option("--history", is_flag=True, help="Include the history of the keys.")
@click.option(
    "--deletes/--no-deletes",
    default=True,
    show_default=True,
    help="Report deletes and purges.",
)
@click.option("--updates", is_flag=True, help="Only report updates, not the current values.")
@click.option(
    "--revision", type=click.IntRange(min=0), default=0, help="Start watching at this revision."
)
@click.option("--count", type=click.IntRange(min=0), default=0, hidden=True)
@connection_options
def watch_cmd(
    bucket: str,
    key: str,
    history: bool,
    deletes: bool,
    updates: bool,
    revision: int,
    count: int,
) -> None:
    """Watch the bucket or a specific key for updates (until Ctrl-C)."""
    color = use_color()

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        watcher = store.watch(
            key,
            include_history=history,
            ignore_deletes=not deletes,
            updates_only=updates,
            resume_from_revision=revision or None,
        )
        printed = 0
        async with watcher:
            async for entry in watcher:
                value = entry.raw if entry.operation is KVOperation.PUT else None
                line = watch_line(
                    entry.created,
                    entry.operation.value,
                    entry.bucket,
                    entry.key,
                    value,
                    color=color,
                )
                if not line:
                    continue
                out(line)
                printed += 1
                if count and printed >= count:
                    return

    try:
        session().run(work)
    except KeyboardInterrupt:
        return


@click.command("ls")
@click.argument("bucket", required=False)
@click.argument("key_filter", required=False, metavar="[FILTER]")
@click.option("-n", "--names", is_flag=True, help="Show just the bucket names.")
@click.option("-v", "--verbose", is_flag=True, help="Show detailed info about the keys.")
@click.option(
    "--display-value",
    is_flag=True,
    help="Display values in verbose output (has no effect without --verbose).",
)
@connection_options
def ls_cmd(
    bucket: str | None, key_filter: str | None, names: bool, verbose: bool, display_value: bool
) -> None:
    """List available buckets or the keys in a bucket."""
    if bucket:
        _ls_keys(bucket, key_filter, verbose=verbose, display_value=display_value)
    else:
        _ls_buckets(names=names)


def _ls_buckets(*, names: bool) -> None:
    async def work(kv: KVContext) -> list[KVStatus]:
        return [status async for status in kv.store_statuses()]

    found = session().run(work)
    if not found:
        out(NO_BUCKETS_FOUND + "\n")
    elif names:
        out(bucket_names_output([s.bucket for s in found]))
    else:
        rows = [
            BucketRow(s.bucket, s.description, s.created, s.bytes, s.values, s.last_update)
            for s in found
        ]
        out(buckets_table(rows, **table_options()))


def _ls_keys(bucket: str, key_filter: str | None, *, verbose: bool, display_value: bool) -> None:
    filters = (key_filter,) if key_filter else ()

    async def work(kv: KVContext) -> list[KeyRow] | None:
        store = await kv.get_store(bucket)
        if not verbose:
            found = False
            async for key in store.keys(*filters):
                found = True
                out(f"{key}\n")
            if not found:
                out(NO_KEYS_FOUND + "\n")
            return None
        rows = []
        async for key in store.keys(*filters):
            # natscli shows what Get returns for each key
            entry = await store.get_entry(key)
            rows.append(KeyRow(entry.key, entry.created, entry.delta, entry.revision, entry.raw))
        return rows

    rows = session().run(work)
    if rows is not None:
        out(keys_table(bucket, rows, display_value=display_value, **table_options()))


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

COMMANDS: tuple[click.Command, ...] = (
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
"""Every verb, registered both at the top level and under ``natskv kv``."""

ALIASES: dict[str, tuple[str, ...]] = {
    "add": ("new",),
    "del": ("rm",),
    "info": ("view", "status"),
    "ls": ("list",),
}
"""natscli's aliases of each verb."""
