"""Modularity and explicitness (Ridgeway & Mozer 2018), as disentanglement_lib's
``modularity_explicitness``."""

from __future__ import annotations

import numpy as np

from vae_passive.metrics.common import (
    LOGISTIC_REGRESSION,
    Represent,
    check_codes,
    check_factors,
    discretize,
    mutual_info_matrix,
    sample_codes,
)


def modularity(mi: np.ndarray) -> float:
    """Mean over latents of 1 - (sum of squared MI minus its max) / (max * (factors - 1)); 0 for a
    latent that shares no information with any factor. ``mi`` is (latents, factors)."""
    squared = np.square(mi)
    top = squared.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - (squared.sum(axis=1) - top) / (top * (squared.shape[1] - 1.0))
    score[top == 0.0] = 0.0
    return float(np.mean(score))


def _one_hot(labels: np.ndarray) -> np.ndarray:
    """Indicator matrix (N, distinct labels), columns in sorted label order."""
    uniques, inverse = np.unique(labels, return_inverse=True)
    out = np.zeros((len(labels), len(uniques)), np.int64)
    out[np.arange(len(labels)), inverse.reshape(-1)] = 1
    return out


def explicitness(
    train: np.ndarray, labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray
) -> tuple[float, float]:
    """Macro ROC AUC of a logistic regression from all latents to one factor, on train and test."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    model = LogisticRegression(**LOGISTIC_REGRESSION).fit(train, labels)
    return (
        float(roc_auc_score(_one_hot(labels), model.predict_proba(train))),
        float(roc_auc_score(_one_hot(test_labels), model.predict_proba(test))),
    )


def compute_modularity_explicitness(
    codes: np.ndarray, factors: np.ndarray, test_codes: np.ndarray, test_factors: np.ndarray, num_bins: int = 20
) -> dict[str, float]:
    """Modularity from the MI of binned codes and factors; explicitness from standardised codes.

    codes (N, latents), factors (N, factors); test_codes/test_factors (M, ·). As upstream, test
    codes are standardised with the training mean and standard deviation.
    """
    codes, test_codes = check_codes(codes), check_codes(test_codes, "test codes")
    factors = check_factors(factors, len(codes))
    test_factors = check_factors(test_factors, len(test_codes), "test factors")
    scores = {"modularity_score": modularity(mutual_info_matrix(discretize(codes, num_bins), factors))}
    mean, std = codes.mean(axis=0), codes.std(axis=0)
    train, test = (codes - mean) / std, (test_codes - mean) / std
    pairs = [explicitness(train, factors[:, j], test, test_factors[:, j]) for j in range(factors.shape[1])]
    scores["explicitness_score_train"] = float(np.mean([p[0] for p in pairs]))
    scores["explicitness_score_test"] = float(np.mean([p[1] for p in pairs]))
    return scores


def evaluate(
    data,
    represent: Represent,
    random_state: np.random.RandomState,
    num_train: int = 10_000,
    num_test: int = 5_000,
    batch_size: int = 16,
    num_bins: int = 20,
) -> dict[str, float]:
    """Train then test points drawn as upstream's ``compute_modularity_explicitness``, then compute."""
    codes, factors = sample_codes(data, represent, num_train, random_state, batch_size)
    test_codes, test_factors = sample_codes(data, represent, num_test, random_state, batch_size)
    return compute_modularity_explicitness(codes, factors, test_codes, test_factors, num_bins)
