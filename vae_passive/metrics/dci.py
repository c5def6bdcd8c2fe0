"""Disentanglement, completeness and informativeness (Eastwood & Williams 2018), as
disentanglement_lib's ``dci``: gradient boosted trees per factor give the importance matrix."""

from __future__ import annotations

from typing import cast

import numpy as np
import scipy.stats

from vae_passive.data.base import FactorSampler
from vae_passive.metrics.common import Represent, check_codes, check_factors, sample_train_test
from vae_passive.metrics.predictors import N_ESTIMATORS, fit_per_factor

_SMOOTHING = 1e-11  # added to the importances before taking entropies, as upstream


def _weighted_one_minus_entropy(importance: np.ndarray) -> float:
    """Sum over rows of (1 - entropy of the row, base = row length) weighted by the row's share."""
    per_row = 1.0 - scipy.stats.entropy(importance.T + _SMOOTHING, base=importance.shape[1])
    weights = importance if importance.sum() != 0.0 else np.ones_like(importance)
    return float(np.sum(per_row * weights.sum(axis=1) / weights.sum()))


def disentanglement(importance: np.ndarray) -> float:
    """DCI disentanglement of an importance matrix (latents, factors)."""
    return _weighted_one_minus_entropy(importance)


def completeness(importance: np.ndarray) -> float:
    """DCI completeness of an importance matrix (latents, factors)."""
    return _weighted_one_minus_entropy(importance.T)


def compute_dci(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    jobs: int = 1,
    n_estimators: int = N_ESTIMATORS,
) -> dict[str, float]:
    """DCI of codes (N, latents) for factors (N, factors); test_codes/test_factors (M, ·).

    ``informativeness_*`` are the mean accuracies of the per-factor boosted trees (``n_estimators``
    rounds: upstream's 100; fewer only under the fast preset).
    """
    codes, test_codes = check_codes(codes), check_codes(test_codes, "test codes")
    factors = check_factors(factors, len(codes))
    test_factors = check_factors(test_factors, len(test_codes), "test factors")
    fits = fit_per_factor("boosted_trees", codes, factors, test_codes, test_factors, jobs, n_estimators=n_estimators)
    importance = np.stack([cast(np.ndarray, fit.importances) for fit in fits], axis=1)  # trees: always set
    return {
        "informativeness_train": float(np.mean([fit.train_accuracy for fit in fits])),
        "informativeness_test": float(np.mean([fit.test_accuracy for fit in fits])),
        "disentanglement": disentanglement(importance),
        "completeness": completeness(importance),
    }


def evaluate(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    num_train: int = 10_000,
    num_test: int = 5_000,
    batch_size: int = 16,
    jobs: int = 1,
    n_estimators: int = N_ESTIMATORS,
) -> dict[str, float]:
    """Train then test points drawn as upstream's ``compute_dci``, then ``compute_dci``."""
    codes, factors, test_codes, test_factors = sample_train_test(
        data, represent, num_train, num_test, random_state, batch_size
    )
    return compute_dci(codes, factors, test_codes, test_factors, jobs, n_estimators)
