"""Downstream classification (disentanglement_lib's ``downstream_task``): per factor, a classifier
from the code, trained on several training-set sizes and tested on a fixed-size test set."""

from __future__ import annotations

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.metrics.classifiers import DEFAULT_CLASSIFIERS
from vae_passive.metrics.common import Represent, check_codes, check_factors, sample_train_test
from vae_passive.metrics.predictors import N_ESTIMATORS, fit_per_factor


def accuracy_keys(train: list[float], test: list[float], prefix: str = "") -> dict[str, float]:
    """Upstream's keys for per-factor accuracies: mean and min accuracies, then one pair per factor, each
    after ``prefix`` (``"<size>:"`` for one training size of the downstream task, none for the authors'
    truncated task)."""
    scores = {
        f"{prefix}mean_train_accuracy": float(np.mean(train)),
        f"{prefix}mean_test_accuracy": float(np.mean(test)),
        f"{prefix}min_train_accuracy": float(np.min(train)),
        f"{prefix}min_test_accuracy": float(np.min(test)),
    }
    for i, (a, b) in enumerate(zip(train, test, strict=True)):
        scores[f"{prefix}train_accuracy_factor_{i}"] = a
        scores[f"{prefix}test_accuracy_factor_{i}"] = b
    return scores


def compute_downstream(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    predictor: str,
    jobs: int = 1,
    size: int | None = None,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
    n_estimators: int = N_ESTIMATORS,
    cross_validated: bool = True,
) -> dict[str, float]:
    """Train/test accuracy per factor of ``predictor`` (``logistic_regression`` or ``boosted_trees``).

    codes (N, latents), factors (N, factors); test_codes/test_factors (M, ·). Keys are prefixed
    with ``size`` (default N), as upstream prefixes them with the training-set size. Logistic
    regression follows ``classifier_defaults`` (``metrics.classifiers``); ``n_estimators`` and
    ``cross_validated`` size the predictor (``predictors.make_predictor``).
    """
    codes, test_codes = check_codes(codes), check_codes(test_codes, "test codes")
    factors = check_factors(factors, len(codes))
    test_factors = check_factors(test_factors, len(test_codes), "test factors")
    fits = fit_per_factor(
        predictor, codes, factors, test_codes, test_factors, jobs, classifier_defaults, n_estimators, cross_validated
    )
    prefix = f"{len(codes) if size is None else size}:"
    return accuracy_keys([f.train_accuracy for f in fits], [f.test_accuracy for f in fits], prefix)


def evaluate(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    predictor: str = "logistic_regression",
    num_train: tuple[int, ...] = (10, 100, 1_000, 10_000),
    num_test: int = 5_000,
    batch_size: int = 16,
    jobs: int = 1,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
    n_estimators: int = N_ESTIMATORS,
    cross_validated: bool = True,
) -> dict[str, float]:
    """For each training size in turn: draw train then test points (upstream's order), fit, score."""
    scores: dict[str, float] = {}
    for size in num_train:
        codes, factors, test_codes, test_factors = sample_train_test(
            data, represent, size, num_test, random_state, batch_size
        )
        scores.update(
            compute_downstream(
                codes,
                factors,
                test_codes,
                test_factors,
                predictor,
                jobs,
                classifier_defaults=classifier_defaults,
                n_estimators=n_estimators,
                cross_validated=cross_validated,
            )
        )
    return scores
