"""disentanglement_lib's ``unsupervised`` metric: Gaussian total and Wasserstein correlation and
the mean pairwise mutual information of the binned codes (the scores of ``vae_passive.latents.scores``)."""

from __future__ import annotations

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.latents import scores
from vae_passive.metrics.common import Represent, check_codes, sample_codes


def compute_unsupervised(codes: np.ndarray, num_bins: int = 20) -> dict[str, float]:
    """The four upstream scores of codes (N, latents >= 2); factors are not used."""
    codes = check_codes(codes)
    if codes.shape[1] < 2:
        raise ValueError("the unsupervised scores need at least 2 latents")
    cov = scores.covariance(codes)
    return {
        "gaussian_total_correlation": scores.gaussian_total_correlation(cov),
        "gaussian_wasserstein_correlation": scores.gaussian_wasserstein_correlation(cov),
        "gaussian_wasserstein_correlation_norm": scores.gaussian_wasserstein_correlation_norm(cov),
        "mutual_info_score": scores.mean_off_diagonal(scores.mutual_info_matrix(codes, num_bins)),
    }


def evaluate(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    num_train: int = 10_000,
    batch_size: int = 16,
    num_bins: int = 20,
) -> dict[str, float]:
    """Draw ``num_train`` points as upstream's ``unsupervised_metrics`` does, then score them."""
    codes, _ = sample_codes(data, represent, num_train, random_state, batch_size)
    return compute_unsupervised(codes, num_bins)
