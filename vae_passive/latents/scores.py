"""Correlation scores of a code (pure numpy/scipy), as defined in disentanglement_lib's
``unsupervised_metrics`` plus the effective rank; codes are (N, latents).

A subset's scores use the sub-matrix of the full code's covariance (and of its pairwise mutual
information), so every subset of one representation is scored from one pass over the data.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import numpy as np
import scipy.linalg

NUM_BINS = 20
#: A TC "far above" its null of independent latents (``tc_null``): larger than the null gives in 0.1 % of draws;
#: "within" it: no larger than the null gives in 5 % of draws. The report's claim (a) and the demo use both.
FAR_ABOVE_NULL_P = 0.001
WITHIN_NULL_P = 0.05


def covariance(codes: np.ndarray) -> np.ndarray:
    """Covariance (latents, latents) of codes (N, latents), ddof 1 as ``np.cov``."""
    return np.atleast_2d(np.cov(np.asarray(codes, np.float64), rowvar=False))


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """TC of a Gaussian with covariance ``cov``: 1/2 (sum_j log C_jj - log det C)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def tc_null(tc: np.ndarray | float, n: np.ndarray | float, k: np.ndarray | float) -> np.ndarray:
    """P(TC ≥ tc) under the null of k independent Gaussian columns and n rows: TC = −½ log det R (R the
    sample correlation), and Bartlett's sphericity statistic −(n − 1 − (2k + 5)/6) log det R follows
    χ² with k(k − 1)/2 degrees of freedom."""
    from scipy.stats import chi2

    k = np.asarray(k, dtype=np.float64)
    factor = np.asarray(n, dtype=np.float64) - 1.0 - (2.0 * k + 5.0) / 6.0
    return chi2.sf(2.0 * np.asarray(tc, dtype=np.float64) * factor, k * (k - 1.0) / 2.0)


def tc_null_quantile(q: float, n: float, k: float) -> float:
    """The TC (nats) that the null of ``tc_null`` exceeds with probability 1 − q."""
    from scipy.stats import chi2

    return float(chi2.ppf(q, k * (k - 1) / 2) / (2.0 * (n - 1.0 - (2.0 * k + 5.0) / 6.0)))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    """2 tr C - 2 tr sqrtm(C * diag(C)[:, None]): the W2 distance to the independent Gaussian."""
    with warnings.catch_warnings():  # singular matrices (constant or duplicated latents) warn; the value stands
        warnings.simplefilter("ignore")
        root = scipy.linalg.sqrtm(cov * np.diag(cov)[:, None])
    return float(np.real(2 * np.trace(cov) - 2 * np.trace(root)))


def gaussian_wasserstein_correlation_norm(cov: np.ndarray) -> float:
    """The Wasserstein correlation divided by tr C."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(gaussian_wasserstein_correlation(cov)) / np.trace(cov))


def effective_rank(cov: np.ndarray) -> float:
    """exp of the entropy of the normalised non-zero singular values of ``cov``.

    Singular values below ``max * latents * eps`` (numpy's rank tolerance) count as zero.
    """
    singular = np.linalg.svd(cov, compute_uv=False)
    if not np.all(np.isfinite(singular)) or singular.max(initial=0.0) <= 0:
        return float("nan")
    singular = singular[singular > singular.max() * len(singular) * np.finfo(np.float64).eps]
    p = singular / singular.sum()
    return float(np.exp(-np.sum(p * np.log(p))))


def histogram_discretize(codes: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
    """Per latent: bin index (1..num_bins) of each value among ``num_bins`` equal-width bins."""
    codes = np.asarray(codes)
    out = np.empty(codes.shape, np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], num_bins)[1]
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def discrete_mutual_info(a: np.ndarray, size_a: int, b: np.ndarray, size_b: int) -> float:
    """MI in nats of two discrete samples (N,) with values in [0, size_a) and [0, size_b).

    The one MI formula of the package: the latents' pairwise MI here, the metrics' MI between
    codes and factors (``metrics.common``) and entropies (a sample with itself).
    """
    joint = np.bincount(a * size_b + b, minlength=size_a * size_b).reshape(size_a, size_b).astype(np.float64)
    joint /= joint.sum()
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    return float(np.sum(joint[nz] * (np.log(joint[nz]) - np.log(np.outer(pa, pb)[nz]))))


def mutual_info_matrix(codes: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
    """Pairwise discrete MI (latents, latents) of the histogram-discretised codes, in nats."""
    discrete = histogram_discretize(codes, num_bins)
    size = num_bins + 1
    latents = discrete.shape[1]
    mi = np.zeros((latents, latents))
    for i in range(latents):
        for j in range(i, latents):
            mi[i, j] = mi[j, i] = discrete_mutual_info(discrete[:, i], size, discrete[:, j], size)
    return mi


def mean_off_diagonal(matrix: np.ndarray) -> float:
    """Mean of the off-diagonal entries (the ``mutual_info_score`` of a MI matrix)."""
    n = len(matrix)
    return float((matrix.sum() - np.trace(matrix)) / (n * n - n))


def finite_or_none(value: float) -> float | None:
    """A score fit for JSON, which has no NaN or infinity: degenerate values become null."""
    value = float(value)
    return value if np.isfinite(value) else None


#: Scores computed from a covariance matrix, by result key.
COVARIANCE_SCORES: dict[str, Callable[[np.ndarray], float]] = {
    "gaussian_total_correlation": gaussian_total_correlation,
    "gaussian_wasserstein_correlation": gaussian_wasserstein_correlation,
    "gaussian_wasserstein_correlation_norm": gaussian_wasserstein_correlation_norm,
    # ours, per subset on the analysis draw; the authors' full-code number is the metric ``effective_rank``
    "subset_effective_rank": effective_rank,
}
SCORE_NAMES: tuple[str, ...] = (*COVARIANCE_SCORES, "mutual_info_score")


def score_subset(cov: np.ndarray, mi: np.ndarray, indices: np.ndarray) -> dict[str, float]:
    """Every score of the latents ``indices`` (>= 2) from the full code's covariance and MI matrices."""
    if len(indices) < 2:
        raise ValueError("a subset needs at least 2 latents to be scored")
    sub_cov = cov[np.ix_(indices, indices)]
    scores = {name: function(sub_cov) for name, function in COVARIANCE_SCORES.items()}
    scores["mutual_info_score"] = mean_off_diagonal(mi[np.ix_(indices, indices)])
    return {name: scores[name] for name in SCORE_NAMES}


def score_subsets(codes: np.ndarray, subsets: Mapping[str, np.ndarray]) -> dict[str, dict[str, float | None]]:
    """Every score of codes (N, latents) on each named subset of column indices, degenerate values None:
    the one place ``analyze`` and the API's ``scores`` compute them (the matrices once per code)."""
    cov, mi = covariance(codes), mutual_info_matrix(codes)
    return {
        name: {score: finite_or_none(value) for score, value in score_subset(cov, mi, indices).items()}
        for name, indices in subsets.items()
    }
