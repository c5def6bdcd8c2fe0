"""``vae-passive data``: list, fetch and sample the ground-truth data sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from vae_passive.cli.format import plural
from vae_passive.cli.options import json_option, quiet_option, renamed
from vae_passive.cli.progress import ByteBar, on_terminal
from vae_passive.errors import VaePassiveError


@click.group()
def data() -> None:
    """The ground-truth data sets: what is here, fetching them, drawing samples.

    Files are looked up under $DISENTANGLEMENT_LIB_DATA with upstream's relative paths, then
    under the home folder's data/.

    \b
    Examples:
      vae-passive data ls
      vae-passive data fetch dsprites_full
      vae-passive data sample dsprites_full --num 1000 --data-seed 0 --out sample.npz
    """


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


@data.command("ls")
@json_option
def data_ls(as_json: bool) -> None:
    """Show each data set: ok, missing or damaged, its size on disk, and where its files are.

    Checks read file headers only, so this is quick even for multi-GB files. The last row,
    procedural_dsprites, is the built-in stand-in (`--data procedural_dsprites`): no files, not
    the published data.

    \b
    Examples:
      vae-passive data ls
      DISENTANGLEMENT_LIB_DATA=/data/dlib vae-passive data ls --json
    """
    from vae_passive.data import files
    from vae_passive.data.fetch import check
    from vae_passive.data.registry import STAND_IN
    from vae_passive.zoo.progress import format_bytes

    rows: list[dict[str, Any]] = []
    for name, requirements in files.REQUIREMENTS.items():
        found = [files.find(alternatives) for alternatives in requirements]
        present = [p for p in found if p is not None]
        if len(present) < len(found):
            missing = files.write_root() / requirements[found.index(None)][0]
            status, where = "missing", f"needs {missing}"
        else:
            problem = check(name)
            status, where = ("damaged", problem) if problem else ("ok", ", ".join(map(str, present)))
        rows.append(
            {"name": name, "status": status, "size": sum(map(_size, present)), "where": where, "stand_in": False}
        )
    stand_in = "built in: a procedural stand-in, not the published data"
    rows.append({"name": STAND_IN, "status": "ok", "size": 0, "where": stand_in, "stand_in": True})
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    click.echo(f"data folders: {', '.join(map(str, files.roots()))}")
    for row in rows:
        click.echo(f"{row['name']:<19} {row['status']:<8} {format_bytes(row['size'] or None):>9}  {row['where']}")


@data.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option(
    "--url", "mirror", help="Mirror: a base URL with the files under their published names [$VAE_PASSIVE_DATA_MIRROR]."
)
@click.option("--force", is_flag=True, help="Download again even when the files are present.")
@quiet_option()
@json_option
def data_fetch(names: tuple[str, ...], mirror: str | None, force: bool, quiet: bool, as_json: bool) -> None:
    """Download data sets from where they are published, to upstream's relative paths.

    Writes into $DISENTANGLEMENT_LIB_DATA when set, else the home folder's data/. Downloads resume
    after an interruption, retry transient failures, and record each file's sha256 and source in
    <folder>/.vae-passive.json. smallNORB is decompressed and Cars3D extracted after download.

    \b
    Examples:
      vae-passive data fetch dsprites_full
      vae-passive data fetch smallnorb cars3d shapes3d
      vae-passive data fetch mpi3d_toy --url https://mirror.example.org/dlib-data --json
    """
    from vae_passive.data.fetch import PUBLISHED, fetch
    from vae_passive.zoo.progress import format_bytes

    unknown = [name for name in names if name not in PUBLISHED]
    if unknown:
        raise VaePassiveError(f"unknown data set {unknown[0]!r}; choose from {', '.join(PUBLISHED)}")
    bar = ByteBar(on_terminal(quiet))
    rows: list[dict[str, Any]] = []
    try:
        for name in names:
            for done in fetch(name, mirror, force, bar):
                row = {"name": name, "status": done.status, "target": str(done.target), "size": done.size}
                rows.append({**row, "url": done.url if done.status == "fetched" else None})
                if not as_json:
                    detail = f" ({format_bytes(done.size)} from {done.url})" if done.status == "fetched" else ""
                    click.echo(f"{name}: {done.status} {done.target}{detail}")
    finally:
        bar.close()
    if as_json:
        click.echo(json.dumps(rows, indent=1))


@data.command("sample")
@click.argument("name")
@click.option("--num", default=10_000, show_default=True, type=click.IntRange(1), help="Samples to draw.")
@click.option("--data-seed", default=0, show_default=True, type=int, help="Seed of numpy's RandomState for the draw.")
@renamed("--seed", "--data-seed", "data_seed", type=int)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output .npz: factors, images.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1), help="Draw batch (upstream: 16).")
@json_option
def data_sample(name: str, num: int, data_seed: int, out: Path, batch_size: int, as_json: bool) -> None:
    """Draw factors and images for a seed, in disentanglement_lib's call order, into an .npz.

    The file holds factors (int64, N x factors) and images (float32 in [0, 1], N x 64 x 64 x C),
    drawn batch by batch as upstream's metrics draw them: the analysis' sample for the same seed.

    \b
    Examples:
      vae-passive data sample dsprites_full --num 10000 --data-seed 2051556033 --out dsprites.npz
      vae-passive data sample procedural_dsprites --num 64 --out stand_in.npz --json
    """
    import numpy as np

    from vae_passive.atomic import save_npz
    from vae_passive.data import draw_batches, get_dataset

    dataset = get_dataset(name)
    factors, images = draw_batches(dataset, num, np.random.RandomState(data_seed), batch_size)
    save_npz(out, factors=factors, images=images)
    if as_json:
        facts = {"out": str(out), "data": name, "stand_in": not dataset.real, "num": num, "data_seed": data_seed}
        click.echo(json.dumps({**facts, "factors": list(factors.shape), "images": list(images.shape)}, indent=1))
        return
    label = "" if dataset.real else " (a procedural stand-in, not published data)"
    click.echo(f"wrote {out}: {plural(num, 'sample')} of {name}{label}, factors {factors.shape}, images {images.shape}")
