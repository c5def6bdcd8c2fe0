"""An independent restatement of disentanglement_lib's ``sap_score`` for continuous factors.

Upstream (``evaluation/metrics/sap_score.py``) scores each (latent, factor) pair with the squared
covariance over the product of the variances, from a 2 x 2 ``np.cov`` with ``ddof=1`` of the training
codes (the test codes are not used), gives 0 to a latent whose variance is at most 1e-12, and averages
over factors the gap between the two best latents. Codes here are (N, latents), as in ``vae_passive``;
the loop over pairs is kept, and no code is shared with ``vae_passive``.
"""

from __future__ import annotations

import numpy as np


def pair_score(latent: np.ndarray, factor: np.ndarray) -> float:
    """cov(latent, factor)^2 / (var latent * var factor), or 0 for a constant latent."""
    cov = np.cov(latent, factor, ddof=1)
    if cov[0, 0] <= 1e-12:
        return 0.0
    return float(cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1]))


def continuous_sap(codes: np.ndarray, factors: np.ndarray) -> float:
    """Mean over factors of (best - second best) pair score."""
    matrix = np.array(
        [[pair_score(codes[:, i], factors[:, j]) for j in range(factors.shape[1])] for i in range(codes.shape[1])]
    )
    ordered = np.sort(matrix, axis=0)
    return float(np.mean(ordered[-1] - ordered[-2]))
