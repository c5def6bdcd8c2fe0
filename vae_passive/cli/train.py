"""``vae-passive train`` and ``vae-passive demo``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import click

from vae_passive import home
from vae_passive.cli.progress import StepBar, on_terminal
from vae_passive.errors import VaePassiveError
from vae_passive.zoo import catalogue


def _loss_postfix(losses: Mapping[str, float]) -> str:
    """The bar's postfix: the latest loss terms but the ELBO, to 2 decimals (``loss=..., kl_loss=...``)."""
    return ", ".join(f"{name}={value:.2f}" for name, value in losses.items() if name != "elbo")


@click.command()
@click.option("--model-id", required=True, type=int, help="The model of unsupervised_study_v1 to train.")
@click.option("--steps", default=300_000, show_default=True, type=int, help="Training steps (the spec: 300,000).")
@click.option("--batch-size", default=64, show_default=True, type=int)
@click.option("--dataset", help="Training data (default: the model's own; procedural_dsprites is a stand-in).")
@click.option("--out", type=click.Path(path_type=Path), help="Folder to write <id>/ into [home/models].")
@click.option("--zip", "make_zip", is_flag=True, help="Also write <id>.zip (next to <id>/, or in home/zips).")
@click.option("--checkpoint-every", default=1000, show_default=True, type=click.IntRange(1))
@click.option("--restart", is_flag=True, help="Discard an existing checkpoint of this model.")
@click.option("--force", is_flag=True, help="Replace an existing model folder.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(model_id, steps, batch_size, dataset, out, make_zip, checkpoint_every, restart, force, quiet) -> None:
    """Train model N of unsupervised_study_v1 to its spec and write it in the zip layout.

    Method, hyperparameter, seed and data set come from the catalogue. Checkpoints are kept
    under home/training/<id>/ every --checkpoint-every steps and on Ctrl-C; rerunning the same
    command resumes. Runs shorter than 300,000 steps say so in train_results.json.

    \b
    Examples:
      vae-passive train --model-id 299 --steps 2000
      vae-passive train --model-id 0 --steps 500 --dataset procedural_dsprites
      vae-passive train --model-id 5 --steps 500 --out ./mirror --zip
      vae-passive train --model-id 300 --restart --quiet
    """
    from vae_passive.data import resolve_dataset
    from vae_passive.training.train import TrainConfig
    from vae_passive.training.train import train as run_training

    record = catalogue.record(model_id)
    out_root = out or home.models_dir()
    target = out_root / str(model_id)
    if target.exists() and not force:
        raise VaePassiveError(f"{target} already exists; pass --force to replace it or remove it first")
    data, note = resolve_dataset(record.dataset, dataset, record.channels)
    config = TrainConfig.for_model(model_id, data, steps, batch_size)
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
            )
    except KeyboardInterrupt:
        click.echo(f"interrupted; checkpoint kept, rerun the same command to resume model {model_id}", err=True)
        sys.exit(130)
    click.echo(f"wrote {result}" + (f" and {zip_dir / f'{model_id}.zip'}" if zip_dir else ""))


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("vae-passive-demo"), show_default=True)
@click.option("--steps", default=300, show_default=True, type=click.IntRange(1), help="Training steps per model.")
@click.option("--num-samples", default=10_000, show_default=True, type=click.IntRange(2))
def demo(out: Path, steps: int, num_samples: int) -> None:
    """Offline demo: train 4 beta-VAEs, serve them from a local mirror, fetch, analyse, report.

    Needs no data and no network; takes a few minutes on a laptop CPU. Rerunning reuses the
    trained models.

    \b
    Examples:
      vae-passive demo
      vae-passive demo --out /tmp/demo --steps 1000
    """
    from vae_passive.training.demo import run_demo

    run_demo(out, steps, num_samples, click.echo)
