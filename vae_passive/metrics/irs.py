"""Interventional Robustness Score (Suter et al. 2019), as disentanglement_lib's ``irs``.

Upstream reports ``num_active_dims`` as the *sum of the active latents' values*; here it is the
number of latents with non-zero variance, the quantity the name promises.
"""

from __future__ import annotations

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.metrics.common import Represent, check_codes, check_factors, discretize, sample_codes


def irs_matrix(factors: np.ndarray, codes: np.ndarray, quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """IRS (latents, factors) and each latent's largest deviation from its mean (latents,).

    For each factor value, the ``quantile`` of |code - mean code given the value| is averaged over
    the factor's values and divided by the latent's largest deviation overall.
    """
    max_deviations = np.max(np.abs(codes - codes.mean(axis=0)), axis=0)
    deviations = np.zeros((codes.shape[1], factors.shape[1]))
    for j in range(factors.shape[1]):
        order = np.argsort(factors[:, j], kind="stable")
        values, starts = np.unique(factors[order, j], return_index=True)
        for group in np.split(order, starts[1:]):
            members = codes[group]
            deviations[:, j] += np.percentile(np.abs(members - members.mean(axis=0)), quantile * 100, axis=0)
        deviations[:, j] /= len(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - deviations / max_deviations[:, None], max_deviations


def compute_irs(
    codes: np.ndarray, factors: np.ndarray, diff_quantile: float = 0.99, num_bins: int = 20
) -> dict[str, float]:
    """IRS of codes (N, latents) for factors (N, factors), factors cut into ``num_bins`` bins.

    Constant latents are dropped; the score is the mean of each latent's best IRS weighted by its
    largest deviation (0 when every latent is constant).
    """
    codes = check_codes(codes)
    factors = check_factors(factors, len(codes))
    active = codes[:, codes.var(axis=0) > 0.0]
    if active.shape[1] == 0:
        return {"IRS": 0.0, "num_active_dims": 0}
    matrix, max_deviations = irs_matrix(discretize(factors, num_bins), active, diff_quantile)
    best = matrix.max(axis=1)
    score = np.average(best, weights=max_deviations) if max_deviations.sum() > 0 else np.mean(best)
    return {"IRS": float(score), "num_active_dims": int(active.shape[1])}


def evaluate(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    num_train: int = 10_000,
    batch_size: int = 16,
    diff_quantile: float = 0.99,
    num_bins: int = 20,
) -> dict[str, float]:
    """Draw ``num_train`` points as upstream's ``compute_irs`` does, then ``compute_irs``."""
    codes, factors = sample_codes(data, represent, num_train, random_state, batch_size)
    return compute_irs(codes, factors, diff_quantile, num_bins)
