"""``vae-passive score``: the fixed-sample metrics on codes a user computed with any model (``metrics.scoring``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vae_passive.cli.options import json_option
from vae_passive.errors import VaePassiveError

if TYPE_CHECKING:
    from vae_passive.metrics.scoring import Sample


def load_sample(path: Path) -> Sample:
    """The ``metrics.scoring.Sample`` in ``path`` (.npz: codes, factors, test_codes, test_factors); one-line errors."""
    from vae_passive.metrics.scoring import check_sample
    from vae_passive.untrusted import load_npz

    arrays = load_npz(path)
    missing = [name for name in ("codes", "factors") if name not in arrays]
    if missing:
        raise VaePassiveError(
            f"{path} lacks {' and '.join(missing)}; it needs codes (N, latents) and factors (N, factors)"
        )
    if ("test_codes" in arrays) != ("test_factors" in arrays):
        raise VaePassiveError(f"{path} has only one of test_codes and test_factors; give both or neither")
    try:
        return check_sample(arrays["codes"], arrays["factors"], arrays.get("test_codes"), arrays.get("test_factors"))
    except ValueError as error:
        raise VaePassiveError(f"{path}: {error}") from None


@click.command()
@click.option("--codes", "codes_path", required=True, type=click.Path(path_type=Path), help="The .npz to score.")
@click.option("--metrics", "metrics_spec", default="all", show_default=True, help="'all' or a comma list.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1), help="Processes for boosted trees.")
@json_option
def score(codes_path: Path, metrics_spec: str, jobs: int, as_json: bool) -> None:
    """Score codes computed with any model: every metric that works on a fixed sample.

    The .npz holds codes (N x latents, float) and factors (N x factors, integer classes), and
    optionally test_codes and test_factors; without them, metrics that need a test set hold out
    the last third of the rows. beta_vae_sklearn and factor_vae_metric intervene on the factors
    and so need a model and a data set: use `analyze --metrics`.

    \b
    Examples:
      vae-passive score --codes codes.npz
      vae-passive score --codes codes.npz --metrics mig,sap_score --json
      vae-passive score --codes codes.npz --metrics dci --jobs 2
    """
    from vae_passive.metrics.registry import parse_metrics
    from vae_passive.metrics.scoring import score_codes

    try:
        metrics = parse_metrics(metrics_spec, fixed_sample_only=True)
    except ValueError as error:
        raise VaePassiveError(f"{error} (beta_vae_sklearn and factor_vae_metric need `analyze --metrics`)") from None
    results = score_codes(load_sample(codes_path), metrics, jobs)
    if as_json:
        click.echo(json.dumps(results, indent=1))
        return
    for name, values in results.items():
        click.echo(name)
        for key, value in values.items():
            click.echo(f"  {key:<40} {value:.6g}")
