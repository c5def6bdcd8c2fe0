"""Separated Attribute Predictability (Kumar et al. 2018), as disentanglement_lib's ``sap_score``."""

from __future__ import annotations

import numpy as np

from vae_passive.metrics.common import LINEAR_SVC, Represent, check_codes, check_factors, sample_codes


def score_matrix(
    codes: np.ndarray, factors: np.ndarray, test_codes: np.ndarray, test_factors: np.ndarray, continuous: bool
) -> np.ndarray:
    """(latents, factors): test accuracy of a 1-D linear SVM per pair (discrete factors), or the
    squared correlation of latent and factor on the training codes (continuous factors)."""
    from sklearn.svm import LinearSVC

    out = np.zeros((codes.shape[1], factors.shape[1]))
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
    for i in range(codes.shape[1]):
        for j in range(factors.shape[1]):
            classifier = LinearSVC(**LINEAR_SVC, random_state=0)
            classifier.fit(codes[:, i : i + 1], factors[:, j])
            out[i, j] = np.mean(classifier.predict(test_codes[:, i : i + 1]) == test_factors[:, j])
    return out


def compute_sap(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    continuous_factors: bool = False,
) -> dict[str, float]:
    """Mean over factors of the gap between the two latents that predict it best.

    codes (N, latents >= 2), factors (N, factors); test_codes/test_factors (M, ·) score the SVMs.
    """
    codes, test_codes = check_codes(codes), check_codes(test_codes, "test codes")
    factors = check_factors(factors, len(codes))
    test_factors = check_factors(test_factors, len(test_codes), "test factors")
    if codes.shape[1] < 2:
        raise ValueError("SAP needs at least 2 latents")
    ordered = np.sort(score_matrix(codes, factors, test_codes, test_factors, continuous_factors), axis=0)
    return {"SAP_score": float(np.mean(ordered[-1] - ordered[-2]))}


def evaluate(
    data,
    represent: Represent,
    random_state: np.random.RandomState,
    num_train: int = 10_000,
    num_test: int = 5_000,
    batch_size: int = 16,
    continuous_factors: bool = False,
) -> dict[str, float]:
    """Train then test points drawn as upstream's ``compute_sap``, then ``compute_sap``."""
    codes, factors = sample_codes(data, represent, num_train, random_state, batch_size)
    test_codes, test_factors = sample_codes(data, represent, num_test, random_state, batch_size)
    return compute_sap(codes, factors, test_codes, test_factors, continuous_factors)
