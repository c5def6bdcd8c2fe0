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


def load_sample(path: Path, representation: str | None = None) -> Sample:
    """The ``metrics.scoring.Sample`` in ``path``: the codes layout's ``representation`` (``analysis.codes``;
    default mean) or plain ``codes``, with ``factors`` (and ``test_codes``, ``test_factors``); one-line errors."""
    from vae_passive.analysis.codes import read_arrays
    from vae_passive.metrics.scoring import check_sample

    arrays = read_arrays(path, ("codes", "mean", "sampled", "factors", "test_codes", "test_factors"))
    if "codes" in arrays and representation is not None:
        raise VaePassiveError(f"{path} holds plain codes; --representation picks mean or sampled of the codes layout")
    name = "codes" if "codes" in arrays else representation or "mean"
    missing = [array for array in (name, "factors") if array not in arrays]
    if missing:
        raise VaePassiveError(
            f"{path} lacks {' and '.join(missing)}; give the codes layout (mean, logvar, sampled, factors; "
            "docs/api.md) or codes (N, latents) and factors (N, factors)"
        )
    if ("test_codes" in arrays) != ("test_factors" in arrays):
        raise VaePassiveError(f"{path} has only one of test_codes and test_factors; give both or neither")
    try:
        return check_sample(arrays[name], arrays["factors"], arrays.get("test_codes"), arrays.get("test_factors"))
    except ValueError as error:
        raise VaePassiveError(f"{path}: {error}") from None


@click.command()
@click.option("--codes", "codes_path", required=True, type=click.Path(path_type=Path), help="The .npz to score.")
@click.option(
    "--representation",
    type=click.Choice(["mean", "sampled"]),
    help="Which code of the codes layout to score [mean]; not for a file with plain codes.",
)
@click.option("--metrics", "metrics_spec", default="all", show_default=True, help="'all' or a comma list.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1), help="Processes for boosted trees.")
@click.option(
    "--classifier-defaults",
    type=click.Choice(["2019", "current"]),
    default="2019",
    show_default=True,
    help="The linear classifiers: scikit-learn 0.21.3's defaults (the study's, the zoo's) or the installed one's.",
)
@json_option
def score(
    codes_path: Path, representation: str | None, metrics_spec: str, jobs: int, classifier_defaults: str, as_json: bool
) -> None:
    """Score codes computed with any model: every metric that works on a fixed sample.

    The .npz is in the codes layout of `encode`, `analyze --save-codes` and `analyze --codes`
    (mean, logvar, sampled, factors; docs/api.md; --representation picks mean or sampled), or holds
    plain codes (N x latents, float); factors (N x factors, integer classes) are required, and
    optionally test_codes and test_factors; without them, metrics that need a test set hold out
    the last third of the rows. beta_vae_sklearn and factor_vae_metric intervene on the factors
    and so need a model and a data set: use `analyze --metrics`. --classifier-defaults picks the
    defaults of the linear classifiers (logistic regressions, SAP's SVM): 2019, as the study and the
    zoo ran, or current (docs/metrics.md).

    \b
    Examples:
      vae-passive score --codes codes.npz
      vae-passive score --codes codes.npz --metrics mig,sap_score --json
      vae-passive score --codes results/299/codes.npz --representation sampled --metrics mig
      vae-passive score --codes codes.npz --metrics dci --jobs 2
      vae-passive score --codes codes.npz --metrics sap_score --classifier-defaults current
    """
    from vae_passive.metrics.registry import parse_metrics
    from vae_passive.metrics.scoring import score_codes

    try:
        metrics = parse_metrics(metrics_spec, fixed_sample_only=True)
    except ValueError as error:
        raise VaePassiveError(f"{error} (beta_vae_sklearn and factor_vae_metric need `analyze --metrics`)") from None
    sample = load_sample(codes_path, representation)
    results = score_codes(sample, metrics, jobs, classifier_defaults=classifier_defaults)
    if as_json:
        click.echo(json.dumps(results, indent=1))
        return
    click.echo(f"classifier defaults: {classifier_defaults} (docs/metrics.md)")
    for name, values in results.items():
        click.echo(name)
        for key, value in values.items():
            click.echo(f"  {key:<40} {value:.6g}")
