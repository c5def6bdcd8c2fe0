"""An independent restatement of disentanglement_lib's unsupervised scores, for agreement tests.

It follows the upstream definitions literally (codes as (latents, N), ``np.cov``, ``slogdet``,
``scipy.linalg.sqrtm``, histogram discretisation with ``np.histogram``/``np.digitize`` and
scikit-learn's ``mutual_info_score`` over all pairs) and shares no code with ``vae_passive``.
Run it directly to print the reference values for a fixed random code:

    .venv/bin/python tests/reference/unsupervised.py
"""

from __future__ import annotations

import json

import numpy as np
import scipy.linalg
from sklearn.metrics import mutual_info_score


def total_correlation(codes_t: np.ndarray) -> float:
    cov = np.cov(codes_t)
    return 0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1])


def wasserstein(codes_t: np.ndarray) -> tuple[float, float]:
    cov = np.cov(codes_t)
    root = scipy.linalg.sqrtm(cov * np.expand_dims(np.diag(cov), axis=1))
    value = 2 * np.trace(cov) - 2 * np.trace(root)
    return float(np.real(value)), float(np.real(value / np.trace(cov)))


def discretize(codes_t: np.ndarray, bins: int = 20) -> np.ndarray:
    out = np.zeros_like(codes_t, dtype=np.int64)
    for i in range(codes_t.shape[0]):
        out[i, :] = np.digitize(codes_t[i, :], np.histogram(codes_t[i, :], bins)[1][:-1])
    return out


def mutual_info(codes_t: np.ndarray) -> float:
    discrete = discretize(codes_t)
    n = discrete.shape[0]
    matrix = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            matrix[i, j] = mutual_info_score(discrete[j, :], discrete[i, :])
    return float((np.sum(matrix) - np.sum(np.diag(matrix))) / (n**2 - n))


def effective_rank(codes_t: np.ndarray) -> float:
    s = np.linalg.svd(np.cov(codes_t), compute_uv=False)
    s = s[s > s.max() * len(s) * np.finfo(float).eps]
    p = s / np.sum(s)
    return float(np.exp(-np.sum(p * np.log(p))))


def all_scores(codes: np.ndarray) -> dict[str, float]:
    """Reference scores of codes (N, latents)."""
    codes_t = np.asarray(codes, np.float64).T
    w, w_norm = wasserstein(codes_t)
    return {
        "gaussian_total_correlation": float(total_correlation(codes_t)),
        "gaussian_wasserstein_correlation": w,
        "gaussian_wasserstein_correlation_norm": w_norm,
        "mutual_info_score": mutual_info(codes_t),
        "subset_effective_rank": effective_rank(codes_t),  # our name for the per-subset number
    }


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(10_000, 6)) @ rng.normal(size=(6, 6))
    print(json.dumps(all_scores(codes), indent=1))
