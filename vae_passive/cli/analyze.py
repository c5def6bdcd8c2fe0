"""The command ``analyze``: one model (``analysis.analyze``) or a selection (``analysis.runner``)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vae_passive import home
from vae_passive.cli.format import format_summary
from vae_passive.cli.options import model_selection_options, selected_ids
from vae_passive.cli.progress import StepBar, on_terminal
from vae_passive.errors import VaePassiveError

if TYPE_CHECKING:
    from vae_passive.analysis.analyze import Settings


@dataclass(frozen=True)
class AnalyzeOptions:
    """Every option of ``analyze``, as click passes them: which models, how to analyse, where and how to run."""

    model_id: int | None
    model_dir: Path | None
    ids_spec: str | None
    dataset: str | None
    method: str | None
    hyperparameter_index: int | None
    value: float | None
    model_seed: int | None
    all_cached: bool
    num_samples: int
    seed: int
    rule: str
    var_threshold: float
    mean_tolerance: float
    data_name: str | None
    results_dir: Path | None
    as_json: bool
    save_codes: bool
    metrics_spec: str | None
    preset: str
    jobs: int
    executor: str
    scheduler: str | None
    mirrors: tuple[str, ...]
    force: bool
    quiet: bool

    @property
    def filters(self) -> tuple:
        """The catalogue selection, in ``selected_ids``'s order."""
        return (self.ids_spec, self.dataset, self.method, self.hyperparameter_index, self.value, self.model_seed)

    @property
    def selecting(self) -> bool:
        """A batch run: a selection rather than one ``--model-id`` or ``--model-dir``."""
        return self.all_cached or any(f is not None for f in self.filters)

    @property
    def results(self) -> Path:
        return self.results_dir or home.results_dir()

    def settings(self) -> Settings:
        """The analysis settings; a bad rule or metric list is a one-line error."""
        from vae_passive.analysis.analyze import Settings
        from vae_passive.latents.variables import Rule
        from vae_passive.metrics.registry import parse_metrics

        try:
            rule = Rule(self.rule, self.var_threshold, self.mean_tolerance)
            metrics = parse_metrics(self.metrics_spec) if self.metrics_spec else ()
        except ValueError as error:
            raise VaePassiveError(str(error)) from None
        return Settings(
            num_samples=self.num_samples,
            seed=self.seed,
            rule=rule,
            dataset=self.data_name,
            metrics=metrics,
            preset=self.preset,
        )


@click.command()
@click.option("--model-id", type=int, help="One model of the zoo (from the cache).")
@click.option("--model-dir", type=click.Path(path_type=Path), help="One model folder (<id>/ with model/tfhub/).")
@model_selection_options
@click.option("--all-cached", is_flag=True, help="Every model in the cache.")
@click.option("--num-samples", default=10_000, show_default=True, type=int, help="Inputs N to encode.")
@click.option("--seed", default=2051556033, show_default=True, type=int, help="Seed of the data draw and noise.")
@click.option("--rule", type=click.Choice(["variance", "mean-variance"]), default="variance", show_default=True)
@click.option("--var-threshold", default=0.1, show_default=True, type=float)
@click.option("--mean-tolerance", default=0.1, show_default=True, type=float, help="Variance rule only.")
@click.option(
    "--dataset", "data_name", help="Data to encode (default: the model's own; procedural_dsprites is a stand-in)."
)
@click.option("--results", "results_dir", type=click.Path(path_type=Path), help="Results folder [home/results].")
@click.option("--json", "as_json", is_flag=True, help="Print the result document on stdout (one model).")
@click.option("--save-codes", is_flag=True, help="Also write codes.npz: mean, logvar, sampled, factors.")
@click.option(
    "--metrics", "metrics_spec", help="Disentanglement metrics too: 'all' or a comma list (see docs/metrics.md)."
)
@click.option("--preset", type=click.Choice(["full", "fast"]), default="full", show_default=True, help="Metric sizes.")
@click.option(
    "--jobs", default=1, show_default=True, type=int, help="Worker processes (local executor); one model: metric jobs."
)
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True)
@click.option("--scheduler", help="Dask scheduler address [$VAE_PASSIVE_SCHEDULER].")
@click.option("--mirror", "mirrors", multiple=True, help="Where to fetch missing models from (see fetch).")
@click.option("--force", is_flag=True, help="Redo models already analysed with the same settings.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def analyze(**params: Any) -> None:
    """Classify latents and compare mean vs sampled codes, for one model or a selection.

    Writes <results>/<key>/analysis.json (key: the model id or the folder name). With a selection
    (--ids, the catalogue filters, --all-cached) models already analysed with the same settings
    are skipped, missing ones are fetched (unless VAE_PASSIVE_OFFLINE=1), failures are recorded in
    <key>/error.json and the run goes on; Ctrl-C stops cleanly and a rerun continues.

    \b
    Examples:
      vae-passive analyze --model-id 299
      vae-passive analyze --model-dir ./my_model --dataset procedural_dsprites --save-codes
      vae-passive analyze --ids 0-299 --jobs 2
      vae-passive analyze --model-id 299 --metrics all --jobs 2
      vae-passive analyze --model-dir ./my_model --metrics mig,dci --preset fast
      vae-passive analyze --model-dataset cars3d --method beta_vae --executor dask --scheduler tcp://head:8786
    """
    options = AnalyzeOptions(**params)
    settings = options.settings()
    if not options.selecting:
        _analyze_one(options, settings)
    elif options.model_id is not None or options.model_dir is not None:
        raise VaePassiveError("give either --model-id/--model-dir or a selection (--ids, filters, --all-cached)")
    else:
        _analyze_selection(options, settings)


def _analyze_one(options: AnalyzeOptions, settings: Settings) -> None:
    """One model: analyse, write, print the summary (or the document with ``--json``)."""
    from vae_passive.analysis.analyze import analyze_model, locate_model, write_results

    source = locate_model(options.model_id, options.model_dir)
    with StepBar("metrics", "step", enabled=bool(settings.metrics) and on_terminal(options.quiet)) as bar:
        result = analyze_model(source, settings, jobs=options.jobs, metrics_progress=bar)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    path = write_results(options.results, result, options.save_codes)
    if options.as_json:
        click.echo(json.dumps(result.document, indent=1))
    else:
        click.echo(format_summary(result.document))
        click.echo(f"\nwrote {path}")


def _selected_ids(options: AnalyzeOptions) -> list[int]:
    """The ids of a batch run: the catalogue selection, within the cache with ``--all-cached``."""
    chosen = selected_ids(*options.filters)
    ids = None if chosen is None else set(chosen)
    if options.all_cached:
        from vae_passive.zoo.cache import cached_ids

        cached = set(cached_ids())
        ids = cached if ids is None else ids & cached
    if not ids:
        raise VaePassiveError("no model matches this selection")
    return sorted(ids)


def _analyze_selection(options: AnalyzeOptions, settings: Settings) -> None:
    """The batch path: plan, run, summarise; exit 1 if any model failed."""
    from vae_passive.analysis.runner import run, tasks_for_ids

    ids = _selected_ids(options)
    results = options.results
    with StepBar("analyze", "model", enabled=on_terminal(options.quiet)) as bar:
        summary = run(
            tasks_for_ids(ids),
            settings,
            results,
            jobs=options.jobs,
            executor=options.executor,
            scheduler=options.scheduler,
            sources=list(options.mirrors) or None,
            force=options.force,
            save_codes=options.save_codes,
            progress=bar,
        )
    click.echo(
        f"analysed {len(summary.done)}, already done {len(summary.skipped)}, failed {len(summary.failed)} "
        f"in {summary.elapsed_s:.1f} s; results in {results}"
    )
    for key, error in sorted(summary.failed.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0):
        click.echo(f"  failed {key}: {error}", err=True)
    if summary.failed:
        sys.exit(1)
