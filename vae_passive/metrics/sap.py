"""Separated Attribute Predictability (Kumar et al. 2018), as disentanglement_lib's ``sap_score``."""

from __future__ import annotations

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.metrics.classifiers import DEFAULT_CLASSIFIERS, linear_svc
from vae_passive.metrics.common import (
    Represent,
    check_codes,
    check_factors,
    classifier_fit,
    map_jobs,
    sample_train_test,
)


def _svm_accuracy(train: np.ndarray, labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray, mode: str) -> float:
    """Test accuracy of upstream's linear SVM (``mode``'s defaults) from one latent (N,) to one factor's labels (N,)."""
    classifier = linear_svc(mode).fit(train[:, None], labels)
    return float(np.mean(classifier.predict(test[:, None]) == test_labels))


def _latent_accuracies(
    latent: np.ndarray, factors: np.ndarray, test_latent: np.ndarray, test_factors: np.ndarray, mode: str
) -> list[float]:
    """Test accuracy of one latent (N,) for each factor of factors (N, factors)."""
    with classifier_fit():  # entered once per latent: setting the thread limit costs milliseconds
        return [
            _svm_accuracy(latent, factors[:, j], test_latent, test_factors[:, j], mode) for j in range(factors.shape[1])
        ]


def score_matrix(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    continuous: bool,
    jobs: int = 1,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
) -> np.ndarray:
    """(latents, factors): test accuracy of a 1-D linear SVM per pair (discrete factors), or the
    squared correlation of latent and factor on the training codes (continuous factors).

    The SVMs (``classifier_defaults``: ``metrics.classifiers``) are independent: ``jobs`` processes fit
    them, one latent at a time.
    """
    if continuous:
        centred_codes = codes - codes.mean(axis=0)
        centred_factors = factors - factors.mean(axis=0)
        n = len(codes) - 1
        cov = centred_codes.T @ centred_factors / n
        var_codes = (centred_codes**2).sum(axis=0) / n
        var_factors = (centred_factors**2).sum(axis=0) / n
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = cov**2 / (var_codes[:, None] * var_factors[None, :])
        return np.where(var_codes[:, None] > 1e-12, ratio, 0.0)
    calls = [(codes[:, i], factors, test_codes[:, i], test_factors, classifier_defaults) for i in range(codes.shape[1])]
    return np.array(map_jobs(_latent_accuracies, calls, jobs))


def compute_sap(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    continuous_factors: bool = False,
    jobs: int = 1,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
) -> dict[str, float]:
    """Mean over factors of the gap between the two latents that predict it best.

    codes (N, latents >= 2), factors (N, factors); test_codes/test_factors (M, ·) score the SVMs,
    ``jobs`` processes fit them.
    """
    codes, test_codes = check_codes(codes), check_codes(test_codes, "test codes")
    factors = check_factors(factors, len(codes))
    test_factors = check_factors(test_factors, len(test_codes), "test factors")
    if codes.shape[1] < 2:
        raise ValueError("SAP needs at least 2 latents")
    matrix = score_matrix(codes, factors, test_codes, test_factors, continuous_factors, jobs, classifier_defaults)
    ordered = np.sort(matrix, axis=0)
    return {"SAP_score": float(np.mean(ordered[-1] - ordered[-2]))}


def evaluate(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    num_train: int = 10_000,
    num_test: int = 5_000,
    batch_size: int = 16,
    continuous_factors: bool = False,
    jobs: int = 1,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
) -> dict[str, float]:
    """Train then test points drawn as upstream's ``compute_sap``, then ``compute_sap``."""
    codes, factors, test_codes, test_factors = sample_train_test(
        data, represent, num_train, num_test, random_state, batch_size
    )
    return compute_sap(codes, factors, test_codes, test_factors, continuous_factors, jobs, classifier_defaults)
