"""The authors' effective rank (tc_study ``effective_rank.py``): the full code's covariance, on a
draw of its own (evaluation seed 0), as Razin and Cohen define it.

The analysis document also has an ``effective_rank`` per subset, computed on the analysis draw
with numpy's rank tolerance; this metric is the authors' number: singular values that are exactly
zero are dropped, nothing else.
"""

from __future__ import annotations

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.metrics.common import Represent, check_codes, sample_codes

STUDY_SEED = 0  # the authors' evaluation.random_seed for the effective rank


def compute_effective_rank(codes: np.ndarray) -> dict[str, float]:
    """``effective_rank`` (exp of the entropy of the normalised non-zero singular values of the
    covariance) and ``rank`` (the number of latents, as the authors report it) of codes (N, latents)."""
    codes = check_codes(codes)
    singular = np.linalg.svd(np.atleast_2d(np.cov(codes, rowvar=False)), compute_uv=False)
    nonzero = singular[singular != 0]
    if nonzero.size == 0 or not np.all(np.isfinite(nonzero)):
        raise ValueError("the covariance of the codes has no finite non-zero singular value")
    p = nonzero / nonzero.sum()
    return {"rank": float(singular.shape[0]), "effective_rank": float(np.exp(-np.sum(p * np.log(p))))}


def evaluate(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    num_train: int = 10_000,
    batch_size: int = 16,
) -> dict[str, float]:
    """Draw ``num_train`` points as the authors did (``generate_batch_factor_code``), then score them."""
    codes, _ = sample_codes(data, represent, num_train, random_state, batch_size)
    return compute_effective_rank(codes)
