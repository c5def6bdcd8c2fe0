"""How much the sampled code's total correlation moves when only its noise ε is drawn again: the
spread that claim (b) of the report compares the mean-vs-sampled difference with (docs/report.md).

Pure: codes and a generator in, rows out. The redraws use their own generator (seeded by the caller
from the model's noise seed), so the document's sampled code is unchanged.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from vae_passive.latents.representations import sampled_representation
from vae_passive.latents.scores import covariance, finite_or_none, gaussian_total_correlation
from vae_passive.latents.variables import study_subsets

REDRAWS = 20
SCORE = "gaussian_total_correlation"


class SpreadRow(TypedDict):
    """One subset: mean and standard deviation (ddof 1) of the sampled code's TC over ``redraws`` draws of ε."""

    subset: str
    score: str
    redraws: int
    mean: float | None
    sd: float | None


def sampling_spread(
    mean: np.ndarray, logvar: np.ndarray, kinds: np.ndarray, rng: np.random.Generator, redraws: int = REDRAWS
) -> list[SpreadRow]:
    """Per study subset of >= 2 latents: the sampled code's TC over ``redraws`` fresh draws of ε."""
    subsets = study_subsets(kinds, min_latents=2)
    values: dict[str, list[float]] = {name: [] for name in subsets}
    for _ in range(redraws):
        cov = covariance(sampled_representation(mean, logvar, rng))
        for name, indices in subsets.items():
            values[name].append(gaussian_total_correlation(cov[np.ix_(indices, indices)]))
    rows: list[SpreadRow] = []
    for name, drawn in values.items():
        array = np.asarray(drawn, dtype=np.float64)
        finite = bool(np.all(np.isfinite(array)))
        rows.append(
            {
                "subset": name,
                "score": SCORE,
                "redraws": redraws,
                "mean": finite_or_none(array.mean()) if finite else None,
                "sd": finite_or_none(array.std(ddof=1)) if finite else None,
            }
        )
    return rows
