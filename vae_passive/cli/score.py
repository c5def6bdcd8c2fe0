"""``vae-passive score``: the fixed-sample metrics on codes a user computed with any model."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from vae_passive.errors import VaePassiveError

TEST_FRACTION = 1 / 3  # held out when the file has no test_codes/test_factors


def load_codes(path: Path) -> dict[str, np.ndarray]:
    """codes, factors, test_codes, test_factors from ``path`` (.npz), checked; one-line errors."""
    from vae_passive.metrics.common import check_codes, check_factors
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
        codes = check_codes(arrays["codes"])
        out = {"codes": codes, "factors": check_factors(arrays["factors"], len(codes))}
        if "test_codes" in arrays:
            test_codes = check_codes(arrays["test_codes"], "test_codes")
            out["test_codes"] = test_codes
            out["test_factors"] = check_factors(arrays["test_factors"], len(test_codes), "test_factors")
            if test_codes.shape[1] != codes.shape[1] or out["test_factors"].shape[1] != out["factors"].shape[1]:
                raise ValueError("test_codes/test_factors must have as many columns as codes/factors")
    except ValueError as error:
        raise VaePassiveError(f"{path}: {error}") from None
    if len(codes) < 4:
        raise VaePassiveError(f"{path}: need at least 4 rows of codes, not {len(codes)}")
    return out


def score_codes(arrays: dict[str, np.ndarray], metrics: tuple[str, ...], jobs: int = 1) -> dict[str, dict]:
    """Each metric's result on the arrays; without a test set, the last third of the rows is one."""
    from vae_passive.metrics.registry import REGISTRY, compute_params

    codes, factors = arrays["codes"], arrays["factors"]
    if "test_codes" in arrays:
        test_codes, test_factors = arrays["test_codes"], arrays["test_factors"]
    else:
        cut = len(codes) - max(1, int(len(codes) * TEST_FRACTION))
        codes, factors, test_codes, test_factors = codes[:cut], factors[:cut], codes[cut:], factors[cut:]
    results = {}
    for name in metrics:
        spec = REGISTRY[name]
        if codes.shape[1] < spec.min_latents:
            raise VaePassiveError(f"{name} needs at least {spec.min_latents} latents; the codes have {codes.shape[1]}")
        params = compute_params(name, jobs)
        train_codes, train_factors = (codes, factors) if spec.needs_test else (arrays["codes"], arrays["factors"])
        try:
            results[name] = spec.compute(train_codes, train_factors, test_codes, test_factors, **params)
        except ValueError as error:
            raise VaePassiveError(f"{name}: {str(error).splitlines()[0]}") from None
    return results


@click.command()
@click.option("--codes", "codes_path", required=True, type=click.Path(path_type=Path), help="The .npz to score.")
@click.option("--metrics", "metrics_spec", default="all", show_default=True, help="'all' or a comma list.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1), help="Processes for boosted trees.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
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

    try:
        metrics = parse_metrics(metrics_spec, fixed_sample_only=True)
    except ValueError as error:
        raise VaePassiveError(f"{error} (beta_vae_sklearn and factor_vae_metric need `analyze --metrics`)") from None
    results = score_codes(load_codes(codes_path), metrics, jobs)
    if as_json:
        click.echo(json.dumps(results, indent=1))
        return
    for name, values in results.items():
        click.echo(name)
        for key, value in values.items():
            click.echo(f"  {key:<40} {value:.6g}")
