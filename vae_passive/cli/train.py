"""``vae-passive train`` and ``vae-passive demo``."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from vae_passive import home
from vae_passive.cli.options import Selection, json_option, quiet_option, selection_options
from vae_passive.cli.progress import StepBar, on_terminal
from vae_passive.cli.train_fleet import (
    AnalysisChoice,
    FleetOptions,
    analyze_options,
    fleet_options,
    train_many,
    wants_fleet,
)
from vae_passive.errors import VaePassiveError
from vae_passive.training.demo import DEMO_STEPS
from vae_passive.zoo import catalogue
from vae_passive.zoo.origin import PRECISIONS


def _loss_postfix(losses: Mapping[str, float]) -> str:
    """The bar's postfix: the latest loss terms but the ELBO, to 2 decimals (``loss=..., kl_loss=...``)."""
    return ", ".join(f"{name}={value:.2f}" for name, value in losses.items() if name != "elbo")


@click.command()
@click.option("--model-id", type=int, help="The model of unsupervised_study_v1 to train (or select several).")
@selection_options
@click.option(
    "--steps", default=catalogue.SPEC_STEPS, show_default=True, type=int, help="Training steps (the spec: 300,000)."
)
@click.option("--batch-size", default=catalogue.SPEC_BATCH_SIZE, show_default=True, type=int)
@click.option(
    "--data",
    "data_name",
    metavar="NAME",
    help="Training images (default: the model's own data set; procedural_dsprites is a stand-in).",
)
@click.option("--out", type=click.Path(path_type=Path), help="Folder to write <id>/ into [home/models].")
@click.option("--zip", "make_zip", is_flag=True, help="Also write <id>.zip (next to <id>/, or in home/zips).")
@click.option("--checkpoint-every", default=1000, show_default=True, type=click.IntRange(1))
@click.option("--restart", is_flag=True, help="Discard an existing checkpoint of this model.")
@click.option("--force", is_flag=True, help="Replace an existing model folder.")
@quiet_option()
@json_option
@click.option("--log-every", type=int, metavar="K", help="Log the latents' statistics and scores every K steps.")
@click.option(
    "--log-samples", default=10_000, show_default=True, type=int, help="Probe sample size of --log-every (N)."
)
@click.option("--keep-checkpoints", is_flag=True, help="With --log-every: keep each logged step's module.")
@fleet_options
@analyze_options
def train(
    model_id,
    selection: Selection,
    steps,
    batch_size,
    data_name,
    out,
    make_zip,
    checkpoint_every,
    restart,
    force,
    quiet,
    as_json,
    log_every,
    log_samples,
    keep_checkpoints,
    fleet: FleetOptions,
    analysis: AnalysisChoice,
) -> None:
    """Train model N of unsupervised_study_v1 (or a selection) to its spec, in the zip layout.

    Method, hyperparameter, seed and data set come from the catalogue. Checkpoints are kept
    under home/training/<id>/ every --checkpoint-every steps and on Ctrl-C; rerunning the same
    command resumes. Runs shorter than 300,000 steps say so in train_results.json. Steps are
    global steps as disentanglement_lib counted them (a FactorVAE advances 2 per iteration).

    A selection (--ids, --study, --method, ...) trains its models through the executor of
    analyze: --jobs N local processes, or --executor dask (one task per model; --gpu: one
    model per GPU worker). Models done with the same settings are skipped, the others resume
    from their checkpoints, a failing model writes home/training/<id>/error.json and the rest
    go on; the home folder must be shared with Dask workers (docs/training.md).

    --analyze analyses each model right after training it, in the same task on the same worker,
    with analyze's options (--num-samples, --data-seed, --rule, --metrics, --preset, ...; the
    images are --data's, or the model's own data set), into <results>/<id>/analysis.json, ready
    for `vae-passive report`. Models analysed with the same settings are skipped; trained models
    not yet analysed are analysed; a failed analysis writes <results>/<id>/error.json and keeps
    the model (rerun to analyse it).

    --log-every K follows the training dynamics (the paper's last experiment): at step 0, every
    K steps and the last step, the analysis' sample (N = --log-samples, seed 2051556033) is
    encoded and each latent's statistics and kind, the scores of mean and sampled codes and the
    loss terms are written to <id>/logs/ (latents.parquet, scores.parquet, losses.parquet and
    TensorBoard event files: `tensorboard --logdir <id>/logs`). --keep-checkpoints also keeps
    each logged step as a model folder, <id>/checkpoints/step-<step>/, for analyze --model-dir.

    \b
    Examples:
      vae-passive train --model-id 299 --steps 2000
      vae-passive train --model-id 0 --steps 500 --data procedural_dsprites --json
      vae-passive train --model-id 5 --steps 500 --out ./mirror --zip
      vae-passive train --model-id 300 --restart --quiet
      vae-passive train --model-id 250 --steps 3000 --data procedural_dsprites --log-every 250
      vae-passive train --ids 0-5,250 --steps 2000 --data procedural_dsprites --jobs 2
      vae-passive train --study be-more-active --seed 0 --executor dask --scheduler tcp://head:8786 --gpu
      vae-passive train --ids 0,1 --steps 2000 --data procedural_dsprites --analyze --num-samples 2000
    """
    from vae_passive.data import resolve_dataset
    from vae_passive.training.fleet import FleetSettings
    from vae_passive.training.logs import LogSettings
    from vae_passive.training.train import TrainConfig
    from vae_passive.training.train import train as run_training

    if keep_checkpoints and log_every is None:
        raise VaePassiveError("--keep-checkpoints keeps the logged steps; add --log-every K")
    log = LogSettings(log_every, log_samples, keep_checkpoints=keep_checkpoints) if log_every is not None else None
    analysis_plan = analysis.plan(data_name)
    if wants_fleet(model_id, selection, fleet, analysis_plan is not None):
        # absolute: a Dask worker's working folder is not the client's (the file system is shared, the cwd not)
        out = out.resolve() if out is not None else None
        zips = str(out or home.home().resolve() / "zips") if make_zip else None
        settings = FleetSettings(
            steps=steps,
            batch_size=batch_size,
            data=data_name,
            precision=fleet.precision,
            out_root=str(out or ""),
            checkpoint_every=checkpoint_every,
            zip_dir=zips,
            restart=restart,
            force=force,
            log=log,
            analysis=analysis_plan,
        )
        train_many(model_id, selection, settings, fleet, quiet=quiet, as_json=as_json)
        return
    record = catalogue.record(model_id)
    out_root = out or home.models_dir()
    target = out_root / str(model_id)
    if target.exists() and not force:
        raise VaePassiveError(f"{target} already exists; pass --force to replace it or remove it first")
    data, note = resolve_dataset(record.dataset, data_name, record.channels, purpose="train on")
    config = TrainConfig.for_model(model_id, data, steps, batch_size, precision=fleet.precision)
    if note:
        click.echo(f"note: {note}", err=True)
    zip_dir = (out or home.home() / "zips") if make_zip else None
    bar = StepBar(f"model {model_id} {config.method}", "step", enabled=on_terminal(quiet))
    try:
        with bar:
            result = run_training(
                config,
                data,
                out_root,
                checkpoint_every=checkpoint_every,
                zip_dir=zip_dir,
                restart=restart,
                force=force,
                progress=lambda step, total, losses: bar(step, total, _loss_postfix(losses)),
                log=log,
            )
    except KeyboardInterrupt:
        click.echo(f"interrupted; checkpoint kept, rerun the same command to resume model {model_id}", err=True)
        sys.exit(130)
    zip_path = zip_dir / f"{model_id}.zip" if zip_dir else None
    if as_json:
        facts = {"model_id": model_id, "method": config.method, "data": data.name, "steps": steps}
        paths = {"model_dir": str(result), "zip": str(zip_path) if zip_path else None}
        click.echo(json.dumps({**facts, **paths}, indent=1))
    else:
        click.echo(f"wrote {result}" + (f" and {zip_path}" if zip_path else ""))
        for line in train_summary(Path(result), data_name):
            click.echo(line)


def train_summary(folder: Path, data_name: str | None) -> list[str]:
    """What a finished run left: final losses, the kinds at the last logged step, where the logs are, and the
    command that analyses the model (nothing but a note for a run stopped before its last step)."""
    from vae_passive.untrusted import UnreadableFile, read_json, read_parquet
    from vae_passive.zoo.origin import TRAIN_RESULTS

    try:
        results = read_json(folder / TRAIN_RESULTS)
    except UnreadableFile:
        return [f"stopped before the last step; the checkpoint is in {folder}: rerun the same command to go on"]
    if not isinstance(results, dict):
        return []
    losses = ", ".join(
        f"{name} {value:.4g}"
        for name, value in results.items()
        if name.endswith("loss") and name != "initial_loss" and isinstance(value, (int, float))
    )
    lines = [f"final losses (step {results.get('steps', '?'):,}): {losses or 'not recorded'}"]
    logs = folder / "logs"
    if (logs / "latents.parquet").is_file():
        latents = read_parquet(logs / "latents.parquet")
        last = latents[latents["step"] == latents["step"].max()]["kind"].value_counts()
        counts = ", ".join(f"{int(last.get(kind, 0))} {kind}" for kind in ("active", "mixed", "passive"))
        lines.append(f"kinds at step {int(latents['step'].max()):,} (logged probe): {counts}")
        lines.append(f"training logs: {logs} (tensorboard --logdir {logs}; vae-passive report draws them)")
    else:
        lines.append("kinds: not logged (add --log-every K to follow them); analyze classifies the latents")
    data = f" --data {data_name}" if data_name else ""
    lines.append(f"next: vae-passive analyze --model-dir {folder}{data}")
    return lines


DEMO_PRECISION_HELP = "Training precision [fp32, the spec; bf16: what it changes on this recipe, docs/training.md]."


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Folder of the run.  [default: vae-passive-demo, or vae-passive-mini-study]",
)
@click.option(
    "--steps", default=DEMO_STEPS, show_default=True, type=click.IntRange(1), help="Training steps per model."
)
@click.option("--num-samples", default=10_000, show_default=True, type=click.IntRange(2))
@click.option(
    "--mini-study",
    is_flag=True,
    help="A reduced design of the study instead: 8 beta-VAEs (beta 1: 2 seeds, beta 16: 6 seeds) trained on every "
    "core, the paper's metrics at the fast preset, and the report's verdicts on its three claims; about 20 "
    'minutes on a 2-core CPU (docs/training.md, "The mini study").',
)
@click.option("--precision", type=click.Choice(PRECISIONS), default="fp32", help=DEMO_PRECISION_HELP)
def demo(out: Path | None, steps: int, num_samples: int, mini_study: bool, precision: str) -> None:
    """Offline demo: train 2 beta-VAEs (beta 1 and 16), serve them from a local mirror, fetch,
    analyse, report, and print what it measured: whether the passive latents are correlated in the
    mean code but not in the sampled one (the paper's finding), or plainly that this did not show.
    With --mini-study: 8 models, and the report's verdicts on the paper's three claims.

    Needs no data and no network; about 9 minutes on a 2-core CPU (docs/training.md). Rerunning
    reuses the trained models.

    \b
    Examples:
      vae-passive demo
      vae-passive demo --out /tmp/demo --steps 1000
      vae-passive demo --mini-study
      vae-passive demo --out /tmp/demo-bf16 --precision bf16
    """
    from vae_passive.training.demo import DEMO, MINI_STUDY, run_demo

    design = MINI_STUDY if mini_study else DEMO
    default_out = Path("vae-passive-mini-study" if mini_study else "vae-passive-demo")
    run_demo(out or default_out, steps, num_samples, click.echo, design, precision)
