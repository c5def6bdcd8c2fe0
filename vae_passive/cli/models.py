"""The commands ``list``, ``info`` and ``encode``: the zoo's models, this installation, codes of images."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import click
import numpy as np

from vae_passive import __version__, config, home
from vae_passive.cli.options import select_records, selection_options


@click.command("list")
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


@click.command()
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


@click.command()
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
