"""The ``vae-passive`` command line."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import click
import numpy as np

from vae_passive import __version__, config, home
from vae_passive.cli.options import model_selection_options, select_records, selected_ids, selection_options
from vae_passive.errors import VaePassiveError

DEBUG_ENV = config.DEBUG


class _Cli(click.Group):
    """Turns every failure into a one-line ``Error: ...`` and exit code 1, never a traceback.

    ``VaePassiveError`` is the user's to fix; an ``OSError`` names its file and reason ("No space left
    on device"); a TensorFlow error (a damaged module, say) gives its class and first line. Anything
    else is a bug: one line says so and that ``VAE_PASSIVE_DEBUG=1`` shows the traceback, which that
    setting shows for every failure.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as error:
            if config.text(DEBUG_ENV) not in ("", "0"):
                raise
            raise click.ClickException(_one_line(error)) from None


def _one_line(error: Exception) -> str:
    """The message ``_Cli`` prints for ``error``."""
    from vae_passive.untrusted import is_tensorflow_error, reason

    if isinstance(error, VaePassiveError):
        return str(error)
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or reason(error)}"
    if isinstance(error, OSError):
        return f"{error.strerror or reason(error)}"
    if is_tensorflow_error(error):
        return f"TensorFlow failed: {type(error).__name__}: {reason(error)}"
    return (
        f"unexpected {type(error).__name__}: {reason(error)} (a bug in vae-passive; run with {DEBUG_ENV}=1 for the "
        "traceback)"
    )


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="vae-passive")
def main() -> None:
    """Active, passive and mixed latents of disentanglement_lib VAEs: mean vs sampled codes.

    \b
    Examples:
      vae-passive list --dataset dsprites_full --method beta_vae --seed 0
      vae-passive info
      vae-passive encode --model-dir ~/models/0 --images x.npy --out codes.npz
    """


@main.command("list")
@selection_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def list_models(ids_spec, dataset, method, hyperparameter_index, value, model_seed, fmt) -> None:
    """List models of unsupervised_study_v1 with their training settings.

    \b
    Examples:
      vae-passive list --ids 0-5,1800
      vae-passive list --method factor_vae --value 100 --format csv
      vae-passive list --dataset cars3d --hyperparameter-index 5 --seed 0 --format json
    """
    records = [
        r.public_dict() for r in select_records(ids_spec, dataset, method, hyperparameter_index, value, model_seed)
    ]
    if fmt == "json":
        click.echo(json.dumps(records, indent=1))
        return
    import pandas as pd

    frame = pd.DataFrame(
        records, columns=["id", "dataset", "method", "hyperparameter", "value", "seed", "channels", "released"]
    )
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif records:
        click.echo(frame.to_string(index=False))
    else:
        click.echo("no model matches this selection", err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def info(as_json: bool) -> None:
    """Show the home folder, data and result paths, versions, and whether TensorFlow sees a GPU.

    \b
    Example:
      VAE_PASSIVE_HOME=/scratch/vae vae-passive info
    """
    from vae_passive.tfhub.runtime import gpu_names, tensorflow

    facts = {
        "vae_passive": __version__,
        "python": platform.python_version(),
        "tensorflow": tensorflow().__version__,
        "numpy": np.__version__,
        "gpus": gpu_names(),
        "home": str(home.home()),
        "home_from": config.HOME if config.text(config.HOME) else "user cache folder",
        "models": str(home.models_dir()),
        "data": str(home.data_dir()),
        "results": str(home.results_dir()),
        "disentanglement_lib_data": config.text(config.DATA) or None,
    }
    if as_json:
        click.echo(json.dumps(facts, indent=1))
        return
    width = max(map(len, facts))
    for key, value in facts.items():
        shown = ", ".join(value) or "none" if isinstance(value, list) else value
        click.echo(f"{key:<{width}}  {shown if shown is not None else '(not set)'}")


@main.command()
@click.option("--model-dir", required=True, type=click.Path(path_type=Path), help="Model folder or module folder.")
@click.option(
    "--images",
    "images_path",
    required=True,
    type=click.Path(path_type=Path),
    help="(N, 64, 64, C) .npy, float in [0, 1].",
)
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the sampled representation's noise.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output .npz with mean, logvar, sampled.")
def encode(model_dir: Path, images_path: Path, batch_size: int, seed: int, out: Path) -> None:
    """Encode images with a model and write mean, logvar and sampled codes.

    \b
    Example:
      vae-passive encode --model-dir ~/.cache/vae-passive/models/0 --images x.npy --out codes.npz
    """
    from vae_passive.atomic import save_npz
    from vae_passive.latents.representations import sampled_representation
    from vae_passive.tfhub.module import Module
    from vae_passive.untrusted import load_npy

    images = load_npy(images_path)
    module = Module(model_dir)
    codes = module.encode(images, batch_size=batch_size)
    sampled = sampled_representation(codes.mean, codes.logvar, seed)
    save_npz(out, mean=codes.mean, logvar=codes.logvar, sampled=sampled)
    click.echo(f"wrote {out}: {len(images)} images x {module.num_latents} latents")


@main.command()
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
def analyze(
    model_id,
    model_dir,
    ids_spec,
    dataset,
    method,
    hyperparameter_index,
    value,
    model_seed,
    all_cached,
    num_samples,
    seed,
    rule,
    var_threshold,
    mean_tolerance,
    data_name,
    results_dir,
    as_json,
    save_codes,
    metrics_spec,
    preset,
    jobs,
    executor,
    scheduler,
    mirrors,
    force,
    quiet,
) -> None:
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
    from vae_passive.analysis.analyze import Settings, analyze_model, locate_model, write_results
    from vae_passive.latents.variables import Rule

    try:
        rule_obj = Rule(rule, var_threshold, mean_tolerance)
    except ValueError as error:
        raise VaePassiveError(str(error)) from None
    metrics = _parse_metrics(metrics_spec) if metrics_spec else ()
    settings = Settings(
        num_samples=num_samples, seed=seed, rule=rule_obj, dataset=data_name, metrics=metrics, preset=preset
    )
    results = results_dir or home.results_dir()
    filters = (ids_spec, dataset, method, hyperparameter_index, value, model_seed)
    selecting = all_cached or any(f is not None for f in filters)
    if selecting:
        if model_id is not None or model_dir is not None:
            raise VaePassiveError("give either --model-id/--model-dir or a selection (--ids, filters, --all-cached)")
        _analyze_selection(
            filters, all_cached, settings, results, jobs, executor, scheduler, mirrors, force, quiet, save_codes
        )
        return
    source = locate_model(model_id, model_dir)
    with _MetricsBar(enabled=bool(metrics) and not quiet and sys.stderr.isatty()) as bar:
        result = analyze_model(source, settings, jobs=jobs, metrics_progress=bar.update)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    path = write_results(results, result, save_codes)
    if as_json:
        click.echo(json.dumps(result.document, indent=1))
    else:
        click.echo(format_summary(result.document))
        click.echo(f"\nwrote {path}")


class _MetricsBar:
    """A tqdm bar over one model's metric steps on stderr (a full run takes many minutes)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def __enter__(self) -> _MetricsBar:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="metrics", unit="step", file=sys.stderr)
        self.bar.n = done
        self.bar.set_postfix_str(label, refresh=True)


def _parse_metrics(spec: str) -> tuple[str, ...]:
    """``--metrics``: 'all' or a comma list of metric names."""
    from vae_passive.metrics.registry import parse_metrics

    try:
        return parse_metrics(spec)
    except ValueError as error:
        raise VaePassiveError(str(error)) from None


def _analyze_selection(
    filters, all_cached, settings, results, jobs, executor, scheduler, mirrors, force, quiet, save_codes
) -> None:
    """The batch path of ``analyze``: plan, run, summarise; exit 1 if any model failed."""
    from vae_passive.analysis.runner import run, tasks_for_ids

    chosen = selected_ids(*filters)
    ids = None if chosen is None else set(chosen)
    if all_cached:
        from vae_passive.zoo.cache import cached_ids

        cached = set(cached_ids())
        ids = cached if ids is None else ids & cached
    if not ids:
        raise VaePassiveError("no model matches this selection")
    summary = run(
        tasks_for_ids(sorted(ids)),
        settings,
        results,
        jobs=jobs,
        executor=executor,
        scheduler=scheduler,
        sources=list(mirrors) or None,
        force=force,
        save_codes=save_codes,
        progress=not quiet and sys.stderr.isatty(),
    )
    click.echo(
        f"analysed {len(summary.done)}, already done {len(summary.skipped)}, failed {len(summary.failed)} "
        f"in {summary.elapsed_s:.1f} s; results in {results}"
    )
    for key, error in sorted(summary.failed.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0):
        click.echo(f"  failed {key}: {error}", err=True)
    if summary.failed:
        sys.exit(1)


def format_summary(document: dict) -> str:
    """A readable summary: one row per latent, then mean-vs-sampled TC per subset."""
    model, data, rule = document["model"], document["data"], document["rule"]
    title = f"model {model['key']}" + (
        f" ({model['dataset']}, {model['method']} {model['value']:g})" if model["method"] else ""
    )
    stand_in = "" if data["real"] else " (stand-in, not the published data)"
    lines = [
        title,
        f"data: {data['source']}{stand_in}, N = {data['num_samples']}, seed {data['seed']}",
        f"rule: {rule['name']} (var threshold {rule['var_threshold']}"
        + (f", mean tolerance {rule['mean_tolerance']})" if rule["mean_tolerance"] is not None else ")"),
        "",
        f"{'latent':>6}  {'kind':<8}  {'E[var]':>9}  {'Var[var]':>9}  {'Var[mean]':>9}",
    ]
    for latent in document["latents"]:
        lines.append(
            f"{latent['index']:>6}  {latent['kind']:<8}  {latent['mean_of_variance']:>9.4f}  "
            f"{latent['variance_of_variance']:>9.4f}  {latent['variance_of_mean']:>9.4f}"
        )
    counts = document["counts"]
    lines += ["", f"active {counts['active']}, passive {counts['passive']}, mixed {counts['mixed']}", ""]
    lines.append(f"{'subset':<15}  {'latents':>7}  {'TC mean':>9}  {'TC sampled':>10}")
    by_subset: dict[str, dict] = {}
    for row in document["scores"]:
        by_subset.setdefault(row["subset"], {"n": row["num_latents"]})[row["representation"]] = row[
            "gaussian_total_correlation"
        ]

    def show(value):
        return "n/a" if value is None else f"{value:.4f}"

    for subset, row in by_subset.items():
        lines.append(f"{subset:<15}  {row['n']:>7}  {show(row.get('mean')):>9}  {show(row.get('sampled')):>10}")
    if not by_subset:
        lines.append("(no subset has 2 or more latents)")
    return "\n".join(lines)


from vae_passive.cli.zoo import cache, fetch, import_models  # noqa: E402

main.add_command(fetch)
main.add_command(import_models)
main.add_command(cache)

from vae_passive.cli.train import demo, train  # noqa: E402

main.add_command(train)
main.add_command(demo)

from vae_passive.cli.report import report  # noqa: E402

main.add_command(report)

from vae_passive.cli.data import data  # noqa: E402

main.add_command(data)

from vae_passive.cli.score import score  # noqa: E402

main.add_command(score)
