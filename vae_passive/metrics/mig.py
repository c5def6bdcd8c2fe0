"""Mutual Information Gap (Chen et al. 2018), as disentanglement_lib's ``mig``."""

from __future__ import annotations

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.metrics.common import (
    Represent,
    check_codes,
    check_factors,
    discretize,
    entropies,
    mutual_info_matrix,
    sample_codes,
)


def compute_mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> dict[str, float]:
    """Mean over factors of (largest - second largest MI with a latent) / H(factor).

    codes (N, latents >= 2), factors (N, factors); codes are cut into ``num_bins`` bins.
    A factor with a single value has H = 0, and the result is NaN, as upstream.
    """
    codes = check_codes(codes)
    factors = check_factors(factors, len(codes))
    if codes.shape[1] < 2:
        raise ValueError("MIG needs at least 2 latents")
    mi = mutual_info_matrix(discretize(codes, num_bins), factors)
    top = np.sort(mi, axis=0)[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = (top[0] - top[1]) / entropies(factors)
    return {"discrete_mig": float(np.mean(gap))}


def evaluate(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    num_train: int = 10_000,
    batch_size: int = 16,
    num_bins: int = 20,
) -> dict[str, float]:
    """Draw ``num_train`` points as upstream's ``compute_mig`` does, then ``compute_mig``."""
    codes, factors = sample_codes(data, represent, num_train, random_state, batch_size)
    return compute_mig(codes, factors, num_bins)
