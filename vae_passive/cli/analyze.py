"""The command ``analyze``: one model (``analysis.analyze``) or a selection (``analysis.runner``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from vae_passive import home
from vae_passive.cli.format import format_summary
from vae_passive.cli.options import Selection, json_option, old_model_filters, quiet_option, selection_options
from vae_passive.cli.progress import StepBar, on_terminal
from vae_passive.errors import VaePassiveError

if TYPE_CHECKING:
    from vae_passive.analysis.analyze import Settings
    from vae_passive.analysis.runner import Task

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AnalyzeOptions:
    """Every option of ``analyze``, as click passes them: which models, how to analyse, where and how to run."""

    model_id: int | None
    model_dir: Path | None
    codes_paths: tuple[Path, ...]
    selection: Selection
    all_cached: bool
    num_samples: int
    data_seed: int
    rule: str
    var_threshold: float
    mean_tolerance: float
    data_name: str | None
    results_dir: Path | None
    as_json: bool
    save_codes: bool
    metrics_spec: str | None
    preset: str
    classifier_defaults: str
    jobs: int
    executor: str
    scheduler: str | None
    mirrors: tuple[str, ...]
    force: bool
    quiet: bool

    @property
    def selecting(self) -> bool:
        """A batch run: a selection rather than one ``--model-id`` or ``--model-dir``."""
        return self.all_cached or self.selection.given

    @property
    def results(self) -> Path:
        return self.results_dir or home.results_dir()

    def settings(self) -> Settings:
        """The analysis settings; a bad rule or metric list is a one-line error."""
        return analysis_settings(self.data_name, **{name: getattr(self, name) for name in ANALYSIS_SETTINGS})


#: The options that set how a model is analysed (``analysis_options``), shared by ``analyze`` and ``train --analyze``.
ANALYSIS_SETTINGS = (
    "num_samples",
    "data_seed",
    "rule",
    "var_threshold",
    "mean_tolerance",
    "metrics_spec",
    "preset",
    "classifier_defaults",
)


def analysis_settings(
    data_name: str | None,
    *,
    num_samples: int,
    data_seed: int,
    rule: str,
    var_threshold: float,
    mean_tolerance: float,
    metrics_spec: str | None,
    preset: str,
    classifier_defaults: str,
) -> Settings:
    """The analysis settings of these options; a bad rule, sample size or metric list is a one-line error.
    ``--preset study`` without ``--metrics`` runs what the paper computed (``STUDY_METRICS``); with it, the list
    given wins, and a note says so."""
    from vae_passive.analysis.analyze import Settings
    from vae_passive.latents.variables import Rule

    try:
        parsed_rule = Rule(rule, var_threshold, mean_tolerance)
        metrics: tuple[str, ...] = ()
        if metrics_spec or preset == "study":  # the registry imports scikit-learn: only when asked for
            from vae_passive.metrics.registry import STUDY_METRICS, parse_metrics

            metrics = parse_metrics(metrics_spec) if metrics_spec else STUDY_METRICS
    except ValueError as error:
        raise VaePassiveError(str(error)) from None
    if preset == "study" and metrics_spec:
        click.echo(
            "note: --metrics wins over --preset study's list of metrics; --preset study only sets their sizes "
            "(the study's); drop --metrics to run what the paper computed",
            err=True,
        )
    return Settings(
        num_samples=num_samples,
        seed=data_seed,
        rule=parsed_rule,
        dataset=data_name,
        metrics=metrics,
        preset=preset,
        classifier_defaults=classifier_defaults,
    )


def analysis_options(func: F) -> F:
    """How models are analysed and where the results go: ``ANALYSIS_SETTINGS``, ``--results``, ``--save-codes``."""
    options = [
        click.option("--num-samples", default=10_000, show_default=True, type=int, help="Inputs N to encode."),
        click.option(
            "--data-seed",
            default=2051556033,
            show_default=True,
            type=int,
            help="Seed of the data draw (and of the noise).",
        ),
        click.option("--rule", type=click.Choice(["variance", "mean-variance"]), default="variance", show_default=True),
        click.option("--var-threshold", default=0.1, show_default=True, type=float),
        click.option("--mean-tolerance", default=0.1, show_default=True, type=float, help="Variance rule only."),
        click.option(
            "--results", "results_dir", type=click.Path(path_type=Path), help="Results folder [home/results]."
        ),
        click.option("--save-codes", is_flag=True, help="Also write codes.npz: mean, logvar, sampled, factors."),
        click.option(
            "--metrics",
            "metrics_spec",
            help="Disentanglement metrics too: 'all' or a comma list (see docs/metrics.md).",
        ),
        click.option(
            "--preset",
            type=click.Choice(["full", "fast", "study"]),
            default="full",
            show_default=True,
            help="Metric sizes: full (unsupervised_study_v1's), fast (small samples, 5 boosting rounds and "
            "logistic regression at C = 1 without CV, for a smoke run, not for comparisons: --metrics all in under "
            "30 s per model on a 2-core CPU, measured in docs/metrics.md), study (full sizes; without "
            "--metrics, what the paper computed: the authors' effective rank and truncated logistic-regression "
            "task; with --metrics, the list given wins).",
        ),
        click.option(
            "--classifier-defaults",
            type=click.Choice(["2019", "current"]),
            default="2019",
            show_default=True,
            help="The metrics' linear classifiers: scikit-learn 0.21.3's defaults, as the study and the zoo ran "
            "(one-vs-rest), or the installed scikit-learn's (docs/metrics.md).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command()
@click.option("--model-id", type=int, help="One model of the zoo (from the cache).")
@click.option("--model-dir", type=click.Path(path_type=Path), help="One model folder (<id>/ with model/tfhub/).")
@click.option(
    "--codes",
    "codes_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Codes from any VAE (.npz: mean, logvar, optional factors, key; docs/api.md); repeat for a batch.",
)
@old_model_filters
@selection_options
@click.option("--all-cached", is_flag=True, help="Every model in the cache (with filters: those they select).")
@click.option(
    "--data",
    "data_name",
    metavar="NAME",
    help="Images to encode (default: the model's own data set; procedural_dsprites is a stand-in).",
)
@analysis_options
@json_option
@click.option(
    "--jobs", default=1, show_default=True, type=int, help="Worker processes (local executor); one model: metric jobs."
)
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True)
@click.option("--scheduler", help="Dask scheduler address [$VAE_PASSIVE_SCHEDULER].")
@click.option("--mirror", "mirrors", multiple=True, help="Where to fetch missing models from (see fetch).")
@click.option("--force", is_flag=True, help="Redo models already analysed with the same settings.")
@quiet_option()
def analyze(**params: Any) -> None:
    """Classify latents and compare mean vs sampled codes, for one model or a selection.

    Writes <results>/<key>/analysis.json (key: the model id or the folder name). With a selection
    (the catalogue filters of `list`, --all-cached) models already analysed with the same settings
    are skipped, missing ones are fetched (unless VAE_PASSIVE_OFFLINE=1), failures are recorded in
    <key>/error.json and the run goes on; Ctrl-C stops cleanly and a rerun continues. --json prints
    the document (one model) or the run's summary (a selection).

    \b
    Examples:
      vae-passive analyze --model-id 299
      vae-passive analyze --model-dir ./my_model --data procedural_dsprites --save-codes
      vae-passive analyze --codes my_vae.npz --json
      vae-passive analyze --codes a.npz --codes b.npz --metrics mig,dci
      vae-passive analyze --ids 0-299 --jobs 2
      vae-passive analyze --study be-more-active --dataset dsprites_full --jobs 8 --json
      vae-passive analyze --model-id 299 --metrics all --jobs 2
      vae-passive analyze --model-dir ./my_model --metrics mig,dci --preset fast
      vae-passive analyze --model-dir ./my_model --preset study --classifier-defaults current
      vae-passive analyze --dataset cars3d --method beta_vae --executor dask --scheduler tcp://head:8786
    """
    options = AnalyzeOptions(**params)
    _refuse_unused(options)
    settings = options.settings()
    if options.codes_paths:
        _analyze_codes(options, settings)
    elif not options.selecting:
        _analyze_one(options, settings)
    elif options.model_id is not None or options.model_dir is not None:
        hint = ""
        if options.selection.dataset is not None or options.selection.seed is not None:
            hint = "; --dataset and --seed select zoo models: the images to encode are --data, their seed --data-seed"
        raise VaePassiveError(f"give either --model-id/--model-dir or a selection (the filters, --all-cached){hint}")
    else:
        _analyze_selection(options, settings)


def option_given(name: str) -> bool:
    """Whether the option ``name`` was given (on the command line or in the environment), not defaulted."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def _refuse_unused(options: AnalyzeOptions) -> None:
    """Every option changes what ``analyze`` does or is refused in one line: those that draw or encode images
    mean nothing for given codes, those that fetch or skip models mean nothing for one model."""
    if options.codes_paths:
        encoding = (("--num-samples", "num_samples"), ("--data", "data_name"))
        unused = [flag for flag, name in encoding if option_given(name)]
        if unused:
            raise VaePassiveError(
                f"{' and '.join(unused)} choose the images to encode; --codes are already encoded (N is their rows)"
            )
        if options.mirrors:
            raise VaePassiveError("--mirror fetches zoo models; --codes files are read as they are")
        if len(options.codes_paths) == 1 and (option_given("executor") or option_given("scheduler")):
            raise VaePassiveError(
                "--executor and --scheduler run a batch; give several --codes files, or leave them out"
            )
    elif not options.selecting and (options.mirrors or options.force):
        flags = " and ".join(n for n, on in (("--mirror", options.mirrors), ("--force", options.force)) if on)
        raise VaePassiveError(
            f"{flags} apply to a selection (e.g. --ids N): one --model-id or --model-dir is always analysed anew, "
            "from the cache (vae-passive fetch --ids N --mirror M fetches it first)"
        )


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


def _analyze_codes(options: AnalyzeOptions, settings: Settings) -> None:
    """Codes computed elsewhere: one file like one model, several through the batch runner (no TensorFlow)."""
    import dataclasses

    from vae_passive.analysis.analyze import analyze_codes, write_results
    from vae_passive.analysis.codes import key_of, read_codes

    if options.model_id is not None or options.model_dir is not None or options.selecting:
        raise VaePassiveError("give either --codes or a model (--model-id, --model-dir, a selection), not both")
    if options.metrics_spec:  # only the fixed-sample metrics can score given codes
        from vae_passive.metrics.registry import parse_metrics

        try:
            settings = dataclasses.replace(settings, metrics=parse_metrics(options.metrics_spec, True))
        except ValueError as error:
            raise VaePassiveError(f"{error} (from codes only the fixed-sample metrics run)") from None
    elif options.preset == "study":
        from vae_passive.metrics.registry import REGISTRY

        fixed = tuple(name for name in settings.metrics if REGISTRY[name].fixed_sample)
        drawn = ", ".join(name for name in settings.metrics if name not in fixed)
        click.echo(f"note: --preset study on given codes runs {', '.join(fixed)}; {drawn} draw from a model", err=True)
        settings = dataclasses.replace(settings, metrics=fixed)
    if len(options.codes_paths) > 1:
        from vae_passive.analysis.runner import tasks_for_codes

        _run_batch(options, settings, tasks_for_codes(options.codes_paths))
        return
    path = options.codes_paths[0]
    codes = read_codes(path)
    with StepBar("metrics", "step", enabled=bool(settings.metrics) and on_terminal(options.quiet)) as bar:
        result = analyze_codes(codes, settings, key_of(codes, path), str(path.resolve()), options.jobs, bar)
    written = write_results(options.results, result, options.save_codes)
    click.echo(json.dumps(result.document, indent=1) if options.as_json else f"{format_summary(result.document)}\n")
    if not options.as_json:
        click.echo(f"wrote {written}")


def _selected_ids(options: AnalyzeOptions) -> list[int]:
    """The ids of a batch run: the catalogue selection, within the cache with ``--all-cached``."""
    chosen = options.selection.ids()
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
    from vae_passive.analysis.runner import tasks_for_ids

    _run_batch(options, settings, tasks_for_ids(_selected_ids(options)))


def _run_batch(options: AnalyzeOptions, settings: Settings, tasks: list[Task]) -> None:
    """Run ``tasks`` (zoo models or codes files), summarise; exit 1 if any failed."""
    from vae_passive.analysis.runner import run

    results = options.results
    with StepBar("analyze", "model", enabled=on_terminal(options.quiet)) as bar:
        summary = run(
            tasks,
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
    if options.as_json:
        facts = {"analysed": summary.done, "already_done": summary.skipped, "failed": summary.failed}
        click.echo(json.dumps({**facts, "elapsed_s": round(summary.elapsed_s, 3), "results": str(results)}, indent=1))
    else:
        click.echo(
            f"analysed {len(summary.done)}, already done {len(summary.skipped)}, failed {len(summary.failed)} "
            f"in {summary.elapsed_s:.1f} s; results in {results}"
        )
    for key, error in sorted(summary.failed.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0):
        click.echo(f"  failed {key}: {error}", err=True)
    if summary.failed:
        sys.exit(1)
