"""The ``vae-passive report`` command: tables, figures, report.md and index.html from analysis documents."""

from __future__ import annotations

import json
from pathlib import Path

import click

from vae_passive import home
from vae_passive.cli.options import Selection, json_option, quiet_option, selection_options
from vae_passive.errors import VaePassiveError


@click.command()
@click.option(
    "--results",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of <model>/analysis.json documents.  [default: <home>/results]",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder to write the report into.")
@click.option(
    "--format",
    "formats",
    default="png",
    show_default=True,
    metavar="LIST",
    help="Figure formats, comma-separated: png, pdf, svg.",
)
@click.option(
    "--model-id",
    "model_ids",
    multiple=True,
    metavar="ID",
    help="Also draw per-model figures (histograms, correlations, traversals) for this model id or results "
    "folder name; repeatable.",
)
@click.option("--note", help="A sentence shown at the top of report.md and index.html (e.g. what the run was).")
@click.option(
    "--model-root",
    "model_roots",
    multiple=True,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    metavar="DIR",
    help="A folder whose model folders the documents may name (model.path: training logs, traversals' "
    "modules); repeatable. Only folders inside --results, the home and these are followed.",
)
@selection_options
@quiet_option("No progress messages; warnings are still shown.")
@json_option
def report(
    results: Path | None,
    out: Path,
    formats: str,
    model_ids: tuple[str, ...],
    note: str | None,
    model_roots: tuple[Path, ...],
    selection: Selection,
    quiet: bool,
    as_json: bool,
) -> None:
    """Summarise analysis documents: tidy tables, figures, report.md and a self-contained index.html.

    Works on whatever results exist (one model or thousands, any latent count, missing levels).
    Documents that cannot be read are listed in the report, not fatal. The catalogue filters of
    `list` keep only the documents of the zoo models they select.

    \b
    Examples:
      vae-passive report --out report/
      vae-passive report --results ~/results --out report/ --format png,svg
      vae-passive report --out report/ --study be-more-active --dataset dsprites_full
      vae-passive report --out report/ --model-id 0 --model-id 1800
      vae-passive report --results results/ --out report/ --model-root ~/trained
      vae-passive report --out report/ --note "Pilot run on 300 cached models" --json
    """
    from vae_passive.report.render import build_report

    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats.split(",") if f.strip()))
    if not chosen:
        raise VaePassiveError("--format is empty; give one or more of png, pdf, svg")
    path = build_report(
        results if results is not None else home.results_dir(),
        out,
        chosen,
        tuple(str(m).strip() for m in model_ids),
        progress=lambda message: _message(message, quiet),
        note=note,
        ids=selection.ids(),
        model_roots=model_roots,
    )
    if as_json:
        click.echo(json.dumps({"report": str(path), "index": str(path.parent / "index.html"), "out": str(out)}))
    else:
        click.echo(f"report: {path}")


def _message(message: str, quiet: bool) -> None:
    """A progress message of the report on stderr; with ``--quiet`` only warnings and notes."""
    from vae_passive.untrusted import printable

    if not quiet or message.startswith(("warning", "note")):
        click.echo(printable(message), err=True)  # messages quote document strings: no escape sequences
