"""``vae-passive mirror build | verify``: share the cache as a folder any static server can host."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from vae_passive.cli.format import plural
from vae_passive.cli.options import Selection, json_option, quiet_option, selection_options
from vae_passive.cli.progress import model_bars
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.progress import format_bytes, format_ids


@click.group()
def mirror() -> None:
    """Build a mirror of your cache for others to fetch from, and check one.

    A mirror is a folder of <id>.zip (the upstream layout), SHA256SUMS and index.json; serve it with
    any static web server, a bucket, a Hugging Face dataset repository or a Zenodo record, and others
    run `vae-passive fetch --mirror URL`.

    \b
    Examples:
      vae-passive mirror build --out /srv/dlib_zoo
      vae-passive mirror verify /srv/dlib_zoo
      cd /srv/dlib_zoo && python -m http.server 8000
    """


@mirror.command("build")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="The mirror folder.")
@selection_options
@click.option(
    "--from",
    "extra",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Also take the <id>/ model folders in this folder (e.g. what `train --out` wrote); repeatable.",
)
@click.option("--jobs", default=4, show_default=True, type=click.IntRange(1, 64), help="Zips written at a time.")
@quiet_option("No progress bar and no summary; failures are still reported.")
@json_option
def build(out: Path, selection: Selection, extra: tuple[Path, ...], jobs: int, quiet: bool, as_json: bool) -> None:
    """Write the cached models (and models trained here) as a mirror folder.

    Takes every complete model in the cache, or those the filters select, plus the model folders
    of --from. Writes <id>.zip (one top folder <id>/, reproducible: an unchanged model gives the
    same bytes), SHA256SUMS and index.json (catalogue fields, size, sha256, and whether each model
    is an original of the zoo or was trained here, with its steps and data). Rerunning zips only
    new or changed models; Ctrl-C keeps the finished zips listed, and the next run resumes.
    Exit code 1 if any model failed.

    \b
    Examples:
      vae-passive mirror build --out /srv/dlib_zoo
      vae-passive mirror build --out /srv/dlib_zoo --study be-more-active --jobs 8
      vae-passive mirror build --out ./zoo --dataset dsprites_full --from ./trained --json
    """
    from vae_passive.zoo.mirror import build_items, build_mirror  # requests and zipping: only when used

    ids = selection.ids()
    if ids is not None and not ids:
        raise VaePassiveError("no model matches this selection; check it with `vae-passive list` and the same options")
    items = build_items(ids, extra)
    if not items:
        raise VaePassiveError(
            "no cached model to put on the mirror"
            + (" matches this selection" if ids is not None else "")
            + "; fetch, import or train models first (`vae-passive cache ls` shows what is cached)"
        )
    with model_bars(len(items), quiet) as bars:
        result = build_mirror(out, items, jobs, bars)
    outcomes = result.outcomes
    written = [o for o in outcomes if o.status == "written"]
    failed = [o for o in outcomes if o.status == "failed"]
    trained = sorted(i for i, e in result.entries.items() if e.origin.trained)
    if as_json:
        rows = [{"id": o.model_id, "status": o.status, "size": o.size, "reason": o.reason or None} for o in outcomes]
        summary = {
            "out": str(out),
            "models": rows,
            "mirror_models": len(result.entries),
            "mirror_bytes": result.mirror_bytes,
        }
        click.echo(json.dumps({**summary, "trained_here": trained}, indent=1))
    elif not quiet:
        click.echo(
            f"wrote {plural(len(written), 'zip')}"
            + (f" ({format_bytes(sum(o.size or 0 for o in written))})" if written else "")
            + f", "
            f"unchanged {sum(o.status == 'unchanged' for o in outcomes)}, failed {len(failed)}"
        )
        click.echo(
            f"mirror {out}: {plural(len(result.entries), 'model')}, {format_bytes(result.mirror_bytes)}"
            + (f" ({len(trained)} trained here: {format_ids(trained)})" if trained else "")
        )
    for outcome in failed:
        click.echo(f"failed {outcome.model_id}: {outcome.reason}", err=True)
    if failed:
        sys.exit(1)


@mirror.command("verify")
@click.argument("folder", type=click.Path(path_type=Path))
@quiet_option("No progress bar and no summary; problems are still reported.")
@json_option
def verify(folder: Path, quiet: bool, as_json: bool) -> None:
    """Check a mirror folder as a fetch would.

    Every <id>.zip against SHA256SUMS and index.json, its members (one top folder <id>/, no
    absolute or '..' paths, no symlinks, a TF1 Hub module), the size limits and every member's
    CRC-32. Exit code 1 if anything is wrong.

    \b
    Examples:
      vae-passive mirror verify /srv/dlib_zoo
      vae-passive mirror verify ./zoo --json
    """
    from vae_passive.zoo.mirror import mirror_zips, verify_mirror

    count = len(mirror_zips(folder)) if folder.is_dir() else 0
    with model_bars(count, quiet) as bars:
        result = verify_mirror(folder, progress=bars)
    if as_json:
        click.echo(
            json.dumps({"folder": str(folder), "checked": result.checked, "problems": result.problems}, indent=1)
        )
    elif not quiet:
        click.echo(f"verified {plural(result.checked, 'zip')}: {plural(len(result.problems), 'problem')}")
    for problem in result.problems:
        click.echo(problem, err=True)
    if result.problems:
        sys.exit(1)
