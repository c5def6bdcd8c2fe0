"""The commands ``fetch``, ``import`` and ``cache ls | verify | rm``: a thin layer over ``vae_passive.zoo``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from vae_passive import home
from vae_passive.cli.format import plural
from vae_passive.cli.options import Selection, json_option, quiet_option, selection_options
from vae_passive.cli.progress import model_bars
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.cache import cache_entry, cached_ids, remove_cached, remove_staging, staging_usage
from vae_passive.zoo.fetcher import Fetcher
from vae_passive.zoo.imports import import_models as install_imports
from vae_passive.zoo.imports import plan_import
from vae_passive.zoo.origin import Origin, model_origin
from vae_passive.zoo.progress import Outcome, format_bytes, format_ids, summarize
from vae_passive.zoo.sources import CLOSED_BUCKET_HELP, OFFLINE_ENV, offline, resolve_sources


def _outcome_dict(outcome: Outcome) -> dict:
    """One model's outcome as ``--json`` prints it."""
    return {
        "id": outcome.model_id,
        "status": outcome.status,
        "source": outcome.source or None,
        "size": outcome.size,
        "reason": outcome.reason or None,
    }


def _report(outcomes: list[Outcome], quiet: bool, as_json: bool) -> None:
    """The closing summary (a JSON list of outcomes with ``--json``); exit code 1 when any model failed
    (finished models stay cached)."""
    counts, problems = summarize(outcomes)
    if as_json:
        click.echo(json.dumps([_outcome_dict(o) for o in outcomes], indent=1))
    elif not quiet:
        for line in counts:
            click.echo(line)
    for line in problems:
        click.echo(line, err=True)
    if any(o.status == "failed" for o in outcomes):
        sys.exit(1)


def _offline_note(quiet: bool) -> None:
    if offline() and not quiet:
        click.echo(f"offline ({OFFLINE_ENV}=1): only the cache and folder mirrors are used", err=True)


@click.command()
@selection_options
@click.option(
    "--mirror",
    "mirrors",
    multiple=True,
    metavar="SRC",
    help="http(s):// base URL (a web server, a bucket's HTTPS endpoint, a Hugging Face dataset's .../resolve/main, "
    "a Zenodo record's .../files?download=1), file:// URL, folder, or gs://bucket/prefix; repeat to try several "
    "in order (the first that has a model wins). Its SHA256SUMS and index.json are used when present. "
    "Default: VAE_PASSIVE_MIRROR (separated by spaces). The upstream bucket is always tried last.",
)
@click.option(
    "--all-listed",
    is_flag=True,
    help="Every model the mirrors' index.json lists (with a filter: those it selects); "
    "an error for a mirror without one.",
)
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64), help="Parallel downloads.")
@click.option("--dry-run", is_flag=True, help="Print what would be fetched from where, with sizes; change nothing.")
@quiet_option("No progress bar and no summary; failures are still reported.")
@json_option
def fetch(
    selection: Selection,
    mirrors: tuple[str, ...],
    all_listed: bool,
    workers: int,
    dry_run: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Download, verify and cache models.

    Models go to models/<id>/ under the home folder. Sources are tried in order: each --mirror,
    then the upstream bucket (closed since 2026). Interrupted downloads resume; models already
    cached are skipped. Exit code 1 if any failed.

    \b
    Examples:
      vae-passive fetch --ids 0-9 --mirror https://lab.example.org/dlib_zoo
      vae-passive fetch --ids 0-9 --mirror https://huggingface.co/datasets/LAB/dlib-zoo/resolve/main
      vae-passive fetch --dataset dsprites_full --seed 0 --mirror /shared/zoo --workers 4
      vae-passive fetch --study be-more-active --method beta_vae --mirror /shared/zoo --json
      VAE_PASSIVE_MIRROR=gs://my-bucket/zoo vae-passive fetch --ids 300-349 --dry-run
      vae-passive fetch --mirror https://lab.example.org/dlib_zoo --all-listed
    """
    ids = selection.ids()
    sources = resolve_sources(mirrors or None)
    if all_listed:
        with Fetcher(sources, workers=workers) as lister:
            listed = lister.listed_ids()
        ids = listed if ids is None else sorted(set(ids) & set(listed))
    if ids is None:
        raise VaePassiveError(
            "choose the models to fetch with --ids or a filter, e.g. --ids 0-9 or --seed 0 "
            "(or --all-listed for what a mirror's index.json lists)"
        )
    if not ids:
        raise VaePassiveError("no model matches this selection; check it with `vae-passive list` and the same options")
    _offline_note(quiet)
    if dry_run:
        with Fetcher(sources, workers=workers) as fetcher:
            _print_probes(fetcher.probe(ids), as_json)
        return
    bars = model_bars(len(ids), quiet, with_bytes=True)
    with bars, Fetcher(sources, workers=workers, progress=bars) as fetcher:
        outcomes = fetcher.fetch(ids)
    _report(outcomes, quiet, as_json)


def _print_probes(probes: list[Outcome], as_json: bool) -> None:
    """The dry-run table and its totals (a JSON list with ``--json``); exit code 1 when a model is in no source."""
    available = [p for p in probes if p.status == "available"]
    missing = [p for p in probes if p.status == "missing"]
    if as_json:
        click.echo(json.dumps([_outcome_dict(p) for p in probes], indent=1))
    else:
        for probe in probes:
            where = probe.source if probe.status != "missing" else probe.reason
            click.echo(f"{probe.model_id:<6} {probe.status:<9} {format_bytes(probe.size):>9}  {where}")
        sized = [p.size for p in available if p.size is not None]
        known = f", {format_bytes(sum(sized))}" + ("" if len(sized) == len(available) else " known") if sized else ""
        click.echo(
            f"would fetch {len(available)}{known}; already cached {sum(p.status == 'cached' for p in probes)}; "
            f"in no source {len(missing)}"
        )
    if any(p.upstream_closed for p in missing):
        click.echo(CLOSED_BUCKET_HELP, err=True)
    if missing:
        sys.exit(1)


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@quiet_option("No progress bar and no summary; failures are still reported.")
@json_option
def import_models(paths: tuple[Path, ...], quiet: bool, as_json: bool) -> None:
    """Add zips or model folders you already have to the cache.

    PATH is an <id>.zip, an extracted <id>/ folder, or a folder holding either. They are checked
    like downloads and copied (a colleague's copy, say); the originals are left alone. Exit code 1 if any failed.

    \b
    Examples:
      vae-passive import ~/Downloads/0.zip ~/Downloads/1.zip
      vae-passive import /mnt/shared/unsupervised_study_v1
      vae-passive import ~/old_project/models/300 --json
    """
    items = plan_import(paths)
    with model_bars(len(items), quiet) as bars:
        outcomes = install_imports(items, bars)
    _report(outcomes, quiet, as_json)


@click.group()
def cache() -> None:
    """Show, verify and remove cached models.

    The cache is models/<id>/ under the home folder (VAE_PASSIVE_HOME). Each command takes the
    catalogue filters of `list` (--ids, --dataset, --method, ..., --study).

    \b
    Examples:
      vae-passive cache ls
      vae-passive cache ls --study be-more-active --json
      vae-passive cache verify --ids 0-99
      vae-passive cache rm --ids 5
    """


def _cached(selection: Selection) -> list[int]:
    """The cached ids, within the selection when one is given."""
    cached = cached_ids()
    chosen = selection.ids()
    return cached if chosen is None else sorted(set(cached) & set(chosen))


@cache.command("ls")
@selection_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@json_option
def cache_ls(selection: Selection, fmt: str, as_json: bool) -> None:
    """List cached models with size, status, time fetched, origin and source.

    Status: ok (installed by this tool), unmanaged (a module placed by hand, no manifest),
    incomplete (neither). `cache verify` re-checks every file. Origin: zoo or trained here, with
    steps and precision as recorded (JSON: `origin` original/trained, `steps`, `precision`: fp32 for
    originals as published, null when not recorded). Below the models: partial downloads (resumed
    by the next fetch) and extraction folders left by killed runs (`cache rm --partial`).

    \b
    Examples:
      vae-passive cache ls
      vae-passive cache ls --dataset cars3d --json
    """
    entries = [cache_entry(model_id) for model_id in _cached(selection)]
    origins: dict[int, Origin] = {e.model_id: model_origin(e.path) for e in entries}
    staging = staging_usage()
    if as_json or fmt == "json":
        rows = [
            {
                "id": e.model_id,
                "status": e.status,
                "size": e.size,
                "fetched_at": e.fetched_at,
                **origins[e.model_id].facts(),
                "source": e.source,
                "path": str(e.path),
            }
            for e in entries
        ]
        usage = {
            "staging_bytes": staging.partial_bytes + staging.stale_bytes,
            "partial_download_bytes": staging.partial_bytes,
            "stale_extraction_bytes": staging.stale_bytes,
        }
        click.echo(json.dumps({"models": rows, **usage}, indent=1))
        return
    if entries:
        click.echo(f"{'id':<6} {'status':<10} {'size':>9}  {'fetched at':<25}  {'origin':<34}  source")
    for e in entries:
        when, origin = e.fetched_at or "-", origins[e.model_id].words()
        click.echo(f"{e.model_id:<6} {e.status:<10} {format_bytes(e.size):>9}  {when:<25}  {origin:<34}  {e.source}")
    total = sum(e.size for e in entries)
    click.echo(f"{plural(len(entries), 'model')}, {format_bytes(total)} in {home.models_dir()}")
    if staging.partial_files:
        click.echo(
            f"partial downloads: {plural(staging.partial_files, 'file')}, {format_bytes(staging.partial_bytes)} "
            "(resumed by fetch; `vae-passive cache rm --partial` removes them)"
        )
    if staging.stale_folders:
        click.echo(
            f"extraction folders left by killed runs: {staging.stale_folders}, "
            f"{format_bytes(staging.stale_bytes)} (removed by the next fetch or import of their model, "
            "or `vae-passive cache rm --partial`)"
        )
    if staging.busy_folders:
        click.echo(f"extractions in progress: {staging.busy_folders}")


@cache.command("verify")
@selection_options
@json_option
def cache_verify(selection: Selection, as_json: bool) -> None:
    """Re-check cached models against their manifests: every file present, same size and CRC-32.

    Without a selection, every cached model is checked. Exit code 1 if any is damaged.

    \b
    Examples:
      vae-passive cache verify
      vae-passive cache verify --ids 0-99 --json
    """
    entries = [cache_entry(model_id, deep=True) for model_id in _cached(selection)]
    bad = [e.model_id for e in entries if e.status in ("damaged", "incomplete")]
    if as_json:
        rows = [{"id": e.model_id, "status": e.status, "problem": e.problem or None} for e in entries]
        click.echo(json.dumps(rows, indent=1))
    else:
        for e in entries:
            if e.status != "ok":
                note = e.problem or "no manifest (placed by hand), not checked"
                click.echo(f"{e.model_id:<6} {e.status:<10} {note}", err=e.status in ("damaged", "incomplete"))
        click.echo(f"verified {len(entries)}: {len(entries) - len(bad)} fine, {len(bad)} damaged or incomplete")
    if bad:
        click.echo(
            f"remove them with `vae-passive cache rm --ids {format_ids(bad)}` and fetch or import them again",
            err=True,
        )
        sys.exit(1)


@cache.command("rm")
@selection_options
@click.option(
    "--partial",
    is_flag=True,
    help="Also (or only) remove every partial download and extraction folder that no running fetch or import holds.",
)
@json_option
def cache_rm(selection: Selection, partial: bool, as_json: bool) -> None:
    """Delete cached models (and their partial downloads and extraction leftovers).

    \b
    Examples:
      vae-passive cache rm --ids 5
      vae-passive cache rm --dataset cars3d
      vae-passive cache rm --method dip_vae_i --study unsupervised_study_v1 --json
      vae-passive cache rm --partial
    """
    selected = selection.ids()
    if selected is None and not partial:
        raise VaePassiveError("choose the models to remove with --ids or a filter, e.g. --ids 0-9, or pass --partial")
    removed = remove_cached(selected) if selected is not None else []
    count, staging_freed = remove_staging() if partial else (0, 0)
    freed = sum(size for _, size in removed)
    if as_json:
        facts = {
            "removed": [model_id for model_id, _ in removed],
            "freed_bytes": freed,
            "partial_removed": count,
            "partial_freed_bytes": staging_freed,
        }
        click.echo(json.dumps(facts, indent=1))
        return
    if selected is not None:
        click.echo(f"removed {plural(len(removed), 'model')}, freed {format_bytes(freed)}")
    if partial:
        noun = plural(count, "partial download or extraction folder", "partial downloads and extraction folders")
        click.echo(f"removed {noun}, freed {format_bytes(staging_freed)}")
