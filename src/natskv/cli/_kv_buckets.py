"""The bucket verbs of ``nats kv``: add, edit, info, ls and compact (natscli
``cli/kv_command.go``).

add, edit and info print the status screen, built from the bucket's
:class:`~natskv.kv.KVStatus` by :func:`status_view`; ls lists the buckets, or the keys of
one. Each command does its work in one :meth:`~natskv.cli._main.Session.run`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click

from natskv.cli._complete import bucket_argument
from natskv.cli._json import dumps, entry_json, status_json
from natskv.cli._main import (
    BYTE_SIZE,
    DURATION,
    confirmed,
    connection_options,
    fail,
    force_option,
    json_option,
    out,
    session,
    status_screen_width,
    stdin_is_tty,
    table_options,
    with_options,
)
from natskv.cli._scalars import format_number
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
from natskv.jetstream import StreamSourceInfo
from natskv.kv import KVConfig, KVContext, KVSource, KVStatus, Placement, RePublish
from natskv.server import background_status

__all__ = ["add_cmd", "compact_cmd", "edit_cmd", "info_cmd", "ls_cmd", "status_view"]

_MAX_INT32 = (1 << 31) - 1


# ---------------------------------------------------------------------------
# The status screen
# ---------------------------------------------------------------------------


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
        replicas=status.replicas,
        sync_policy=status.sync_policy,
    )


def _monitoring_url(given: str | None = None) -> str | None:
    """Where to read the server's sync policy: ``given`` (``--monitoring-url``), else the
    background server's monitoring endpoint when the command runs on it, else none."""
    if given:
        return given
    if session().settings().url is None:
        background = background_status()
        if background is not None and background.running and background.monitor_port:
            return f"http://127.0.0.1:{background.monitor_port}"
    return None


def _print_status(status: KVStatus) -> None:
    out(status_text(status_view(status), screen_width=status_screen_width()))


# ---------------------------------------------------------------------------
# add / edit
# ---------------------------------------------------------------------------


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
        return with_options(f, opts)

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
        return await store.status(monitoring_url=_monitoring_url())

    _print_status(session().run(work))


@click.command("edit")
@bucket_argument()
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
        return await store.status(monitoring_url=_monitoring_url())

    _print_status(session().run(work))


# ---------------------------------------------------------------------------
# info / ls
# ---------------------------------------------------------------------------


@click.command("info")
@bucket_argument(required=False)
@json_option
@click.option(
    "--monitoring-url",
    metavar="URL",
    envvar="NATSKV_MONITORING_URL",
    show_envvar=True,
    help="The server's monitoring endpoint (http://host:8222), to show its sync policy.",
)
@connection_options
def info_cmd(bucket: str | None, as_json: bool, monitoring_url: str | None) -> None:
    """View the status of a KV store (asks which one when no bucket is given).

    Shows the stream's replicas and the server's sync policy (when an acknowledged write
    is fsynced), read from the monitoring endpoint (the background server's by itself);
    "unknown" without one."""
    if not bucket and not stdin_is_tty():
        # a prompt nobody can answer would end in click's bare "Aborted!"
        fail("give the bucket to show (natskv info BUCKET): there is no terminal to ask on")

    async def work(kv: KVContext) -> KVStatus:
        name = bucket
        if not name:
            known = [n async for n in kv.store_names()]
            if not known:
                fail("no KV buckets found")
            name = click.prompt("Select a Bucket", type=click.Choice(known))
        store = await kv.get_store(name)
        return await store.status(monitoring_url=_monitoring_url(monitoring_url))

    status = session().run(work)
    if as_json:
        out(dumps(status_json(status)) + "\n")
    else:
        _print_status(status)


@click.command("ls")
@bucket_argument(required=False)
@click.argument("key_filter", required=False, metavar="[FILTER]")
@click.option("-n", "--names", is_flag=True, help="Show just the bucket names.")
@click.option("-v", "--verbose", is_flag=True, help="Show detailed info about the keys.")
@click.option(
    "--display-value",
    is_flag=True,
    help="Display values in verbose output (has no effect without --verbose).",
)
@json_option
@connection_options
def ls_cmd(
    bucket: str | None,
    key_filter: str | None,
    names: bool,
    verbose: bool,
    display_value: bool,
    as_json: bool,
) -> None:
    """List available buckets or the keys in a bucket.

    With --json: an array of the buckets (their names with -n), of the keys, or of the
    keys' latest entries with -v.
    """
    if bucket and as_json:
        _ls_keys_json(bucket, key_filter, verbose=verbose)
    elif bucket:
        _ls_keys(bucket, key_filter, verbose=verbose, display_value=display_value)
    else:
        _ls_buckets(names=names, as_json=as_json)


def _ls_buckets(*, names: bool, as_json: bool) -> None:
    async def work(kv: KVContext) -> list[KVStatus]:
        return [status async for status in kv.store_statuses()]

    found = session().run(work)
    if as_json:
        if names:
            out(dumps([s.bucket for s in found]) + "\n")
        else:
            out(dumps([status_json(s) for s in found]) + "\n")
    elif not found:
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


def _ls_keys_json(bucket: str, key_filter: str | None, *, verbose: bool) -> None:
    """One JSON array, written as the keys stream in: memory stays bounded."""
    filters = (key_filter,) if key_filter else ()

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        separator = "["
        async for key in store.keys(*filters):
            item = entry_json(await store.get_entry(key)) if verbose else key
            out(separator + dumps(item))
            separator = ","
        out("[]\n" if separator == "[" else "]\n")

    session().run(work)


# ---------------------------------------------------------------------------
# compact
# ---------------------------------------------------------------------------


@click.command("compact")
@bucket_argument()
@force_option
@connection_options
def compact_cmd(bucket: str, force: bool) -> None:
    """Reclaim space used by deleted keys."""

    async def work(kv: KVContext) -> None:
        store = await kv.get_store(bucket)
        question = (
            f"Purge all historic values and audit trails for deleted keys in bucket {bucket}?"
        )
        if not confirmed(question, force=force, skipped="delete"):
            return
        # nats.go's default: markers younger than 30 minutes stay for lagging watchers
        await store.purge_deletes(timedelta(minutes=30))

    session().run(work)
