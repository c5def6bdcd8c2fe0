"""The commands ``list``, ``info`` and ``encode``: the zoo's models, this installation, codes of images."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import click
import numpy as np

from vae_passive import __version__, config, home
from vae_passive.cli.format import plural
from vae_passive.cli.options import Selection, json_option, renamed, selection_options
from vae_passive.errors import VaePassiveError


@click.command("list")
@selection_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@json_option
def list_models(selection: Selection, fmt: str, as_json: bool) -> None:
    """List models of unsupervised_study_v1 with their training settings.

    Without a filter, all 12,600 models (the 10,800 released and 1,800 of shapes3d).
    With --json (or --format json) each model also has `origin` ("original" or "trained"), `steps`
    and `precision`: as `cache ls --json` gives them when the model is cached, null when it is not.

    \b
    Examples:
      vae-passive list --ids 0-5,1800
      vae-passive list --study be-more-active --method beta_vae --seed 0
      vae-passive list --method factor_vae --value 100 --format csv
      vae-passive list --dataset cars3d --hyperparameter-index 5 --seed 0 --json
    """
    if as_json and fmt not in ("table", "json"):
        raise VaePassiveError(f"--json and --format {fmt} disagree; give one of them")
    records = [r.public_dict() for r in selection.records()]
    if as_json or fmt == "json":
        from vae_passive.zoo.origin import cached_origin

        unknown = {"origin": None, "steps": None, "precision": None}  # not cached: nothing to read an origin from
        for record in records:
            origin = cached_origin(int(record["id"]))
            record.update(origin.facts() if origin else unknown)
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
@json_option
def info(as_json: bool) -> None:
    """Show the home folder, data and result paths, versions, and whether TensorFlow sees a GPU.

    \b
    Example:
      vae-passive info
      VAE_PASSIVE_HOME=/scratch/vae vae-passive info --json
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
@click.option("--noise-seed", default=0, show_default=True, type=int, help="Seed of the sampled codes' noise.")
@renamed("--seed", "--noise-seed", "noise_seed", type=int)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output .npz with mean, logvar, sampled.")
@json_option
def encode(model_dir: Path, images_path: Path, batch_size: int, noise_seed: int, out: Path, as_json: bool) -> None:
    """Encode images with a model and write mean, logvar and sampled codes.

    The .npz is in the codes layout (docs/api.md) that `analyze --codes` and `score` read.

    \b
    Examples:
      vae-passive encode --model-dir ~/.cache/vae-passive/models/0 --images x.npy --out codes.npz
      vae-passive encode --model-dir ./my_model --images x.npy --noise-seed 3 --out codes.npz --json
    """
    from vae_passive.analysis.codes import Codes, save_codes
    from vae_passive.latents.representations import sampled_representation
    from vae_passive.tfhub.module import Module
    from vae_passive.untrusted import load_npy

    images = load_npy(images_path)
    module = Module(model_dir)
    codes = module.encode(images, batch_size=batch_size)
    sampled = sampled_representation(codes.mean, codes.logvar, noise_seed)
    save_codes(out, Codes(codes.mean, codes.logvar, sampled))
    if as_json:
        facts = {"out": str(out), "images": len(images), "latents": module.num_latents, "noise_seed": noise_seed}
        click.echo(json.dumps(facts, indent=1))
    else:
        click.echo(f"wrote {out}: {plural(len(images), 'image')} x {plural(module.num_latents, 'latent')}")
