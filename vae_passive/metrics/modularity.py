"""Modularity and explicitness (Ridgeway & Mozer 2018), as disentanglement_lib's
``modularity_explicitness``."""

from __future__ import annotations

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.metrics.classifiers import DEFAULT_CLASSIFIERS, logistic_regression
from vae_passive.metrics.common import (
    Represent,
    check_codes,
    check_factors,
    classifier_fit,
    discretize,
    map_jobs,
    mutual_info_matrix,
    sample_train_test,
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


def macro_roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean over classes of the one-vs-rest ROC AUC of ``scores`` (N, classes), as scikit-learn's
    ``roc_auc_score`` on a binarised label matrix: column k is the k-th distinct label in sorted
    order. Computed from ranks (the Mann-Whitney statistic, ties counting one half), which equals
    the trapezoidal ROC area; one sort per column instead of a ROC curve per class."""
    from scipy.stats import rankdata

    uniques, inverse = np.unique(labels, return_inverse=True)
    if len(uniques) != scores.shape[1]:
        raise ValueError(
            f"{len(uniques)} distinct labels but {scores.shape[1]} score columns: a factor value seen in "
            "training is missing from the test sample (draw a larger sample)"
        )
    positive = np.zeros(scores.shape, bool)
    positive[np.arange(len(labels)), inverse.reshape(-1)] = True
    num_positive = positive.sum(axis=0).astype(np.float64)
    num_negative = len(labels) - num_positive
    if np.any(num_negative == 0):
        raise ValueError("ROC AUC needs two classes: every point has the same label")
    rank_sums = np.where(positive, rankdata(scores, axis=0), 0.0).sum(axis=0)
    auc = (rank_sums - num_positive * (num_positive + 1) / 2) / (num_positive * num_negative)
    return float(np.mean(auc))


def explicitness(
    train: np.ndarray,
    labels: np.ndarray,
    test: np.ndarray,
    test_labels: np.ndarray,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
) -> tuple[float, float]:
    """Macro ROC AUC of a logistic regression (``classifier_defaults``) from all latents to one factor,
    on train and test."""
    with classifier_fit():
        model = logistic_regression(classifier_defaults).fit(train, labels)
        train_scores, test_scores = model.predict_proba(train), model.predict_proba(test)
    return macro_roc_auc(labels, train_scores), macro_roc_auc(test_labels, test_scores)


def compute_modularity_explicitness(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    num_bins: int = 20,
    jobs: int = 1,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
) -> dict[str, float]:
    """Modularity from the MI of binned codes and factors; explicitness from standardised codes.

    codes (N, latents), factors (N, factors); test_codes/test_factors (M, ·). As upstream, test
    codes are standardised with the training mean and standard deviation. ``jobs`` processes fit
    the per-factor classifiers.
    """
    codes, test_codes = check_codes(codes), check_codes(test_codes, "test codes")
    factors = check_factors(factors, len(codes))
    test_factors = check_factors(test_factors, len(test_codes), "test factors")
    scores = {"modularity_score": modularity(mutual_info_matrix(discretize(codes, num_bins), factors))}
    mean, std = codes.mean(axis=0), codes.std(axis=0)
    train, test = (codes - mean) / std, (test_codes - mean) / std
    calls = [(train, factors[:, j], test, test_factors[:, j], classifier_defaults) for j in range(factors.shape[1])]
    pairs = map_jobs(explicitness, calls, jobs)
    scores["explicitness_score_train"] = float(np.mean([p[0] for p in pairs]))
    scores["explicitness_score_test"] = float(np.mean([p[1] for p in pairs]))
    return scores


def evaluate(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    num_train: int = 10_000,
    num_test: int = 5_000,
    batch_size: int = 16,
    num_bins: int = 20,
    jobs: int = 1,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
) -> dict[str, float]:
    """Train then test points drawn as upstream's ``compute_modularity_explicitness``, then compute."""
    codes, factors, test_codes, test_factors = sample_train_test(
        data, represent, num_train, num_test, random_state, batch_size
    )
    return compute_modularity_explicitness(
        codes, factors, test_codes, test_factors, num_bins, jobs, classifier_defaults
    )
