"""What every metric shares: input checks, discretisation, discrete mutual information, the context of
classifier fits, and upstream-ordered sampling of (codes, factors).

Codes are (N, latents) float arrays and factors (N, factors) integer class arrays, one row per
input (disentanglement_lib stores them transposed).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import numpy as np

from vae_passive.data.base import FactorSampler, draw_batches
from vae_passive.latents.scores import discrete_mutual_info, histogram_discretize

T = TypeVar("T")

#: Maps observations (whatever the data set returns: images, or image indices) to codes (n, latents).
Represent = Callable[[np.ndarray], np.ndarray]

#: Observations represented per call by the sampling wrappers: large calls, bounded memory.
REPRESENT_CHUNK = 8192


@contextmanager
def classifier_fit() -> Iterator[None]:
    """The context of every classifier fit: one BLAS/OpenMP thread, since on 10,000 x 10 codes the
    thread hand-offs cost more than they save (LogisticRegression fits about twice as fast with
    the same result, benchmarks/classifier_threads.py; ``jobs`` processes give the parallelism), and scikit-learn's
    ConvergenceWarning silenced: upstream's settings stop lbfgs at 100 iterations, so the reference
    warns in exactly the same fits and its values are what these settings give."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def map_jobs(func: Callable[..., T], calls: list[tuple], jobs: int = 1) -> list[T]:
    """``[func(*args) for args in calls]``, spread over ``jobs`` processes (joblib) when jobs > 1.

    For independent model fits (per factor, per latent): the results do not depend on ``jobs``.
    """
    if jobs <= 1 or len(calls) <= 1:
        return [func(*args) for args in calls]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=min(jobs, len(calls)))(delayed(func)(*args) for args in calls)


def check_codes(codes: np.ndarray, name: str = "codes", keep_float: bool = False) -> np.ndarray:
    """``codes`` as a finite (N, latents) float array: float64, or its own float dtype with ``keep_float`` (float32
    codes then give ``analyze``'s exact samples). ValueError on a wrong shape, a non-numeric dtype or NaN/infinity;
    the shape and dtype are checked before any conversion, so a refused array is never copied.

    The one check of codes: the metrics use it as is, ``analysis.codes.float_codes`` with the size caps and the fix.
    """
    array = np.asarray(codes)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(f"{name} has shape {array.shape}; it must be (N, latents)")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} is not numeric ({array.dtype}); give an (N, latents) float array")
    if not (keep_float and array.dtype.kind == "f"):
        array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values; drop or fix those rows")
    return array


def check_factors(factors: np.ndarray, num: int, name: str = "factors") -> np.ndarray:
    """``factors`` as an int64 (N, factors) array of class labels with ``num`` rows."""
    array = np.asarray(factors)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array (N, factors), not shape {array.shape}")
    if len(array) != num:
        raise ValueError(f"{name} have {len(array)} rows but the codes have {num}")
    integral = np.issubdtype(array.dtype, np.floating) and np.all(np.isfinite(array)) and not np.any(array % 1)
    if not np.issubdtype(array.dtype, np.integer) and not integral:
        raise ValueError(f"{name} must be integer class labels, not {array.dtype} values")
    return array.astype(np.int64)


def dense_labels(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels (N,) renumbered 0..k-1 in sorted order, and k."""
    uniques, inverse = np.unique(values, return_inverse=True)
    return inverse.reshape(-1), len(uniques)


def discretize(codes: np.ndarray, num_bins: int) -> np.ndarray:
    """Each column cut into ``num_bins`` equal-width bins (upstream's histogram discretizer)."""
    return histogram_discretize(codes, num_bins)


def mutual_info_matrix(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """MI (first columns, second columns) between the columns of two label arrays (N, ·)."""
    left = [dense_labels(first[:, i]) for i in range(first.shape[1])]
    right = [dense_labels(second[:, j]) for j in range(second.shape[1])]
    out = np.zeros((len(left), len(right)))
    for i, (a, size_a) in enumerate(left):
        for j, (b, size_b) in enumerate(right):
            out[i, j] = discrete_mutual_info(a, size_a, b, size_b)
    return out


def entropies(labels: np.ndarray) -> np.ndarray:
    """Entropy in nats (= MI with itself) of each column of a label array (N, k)."""
    return np.array([discrete_mutual_info(*dense_labels(col), *dense_labels(col)) for col in labels.T])


def represent_all(represent: Represent, observations: list[np.ndarray]) -> np.ndarray:
    """Codes (n, latents) of the concatenated observation batches, ``REPRESENT_CHUNK`` at a time."""
    if not observations:
        raise ValueError("nothing to represent")
    joined = np.concatenate(observations)
    parts = [represent(joined[i : i + REPRESENT_CHUNK]) for i in range(0, len(joined), REPRESENT_CHUNK)]
    return np.concatenate([np.asarray(p, np.float64) for p in parts])


def sample_codes(
    data: FactorSampler, represent: Represent, num: int, random_state: np.random.RandomState, batch_size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (num, latents) and factors (num, factors) drawn as upstream's ``generate_batch_factor_code``
    (``data.sample``, ``batch_size`` at a time, from ``random_state``), represented in large chunks:
    the representation never touches ``random_state``, so the draws are the same."""
    factors, observations = draw_batches(data, num, random_state, batch_size)
    return represent_all(represent, [observations]), factors.astype(np.int64)


def sample_train_test(
    data: FactorSampler,
    represent: Represent,
    num_train: int,
    num_test: int,
    random_state: np.random.RandomState,
    batch_size: int = 16,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training then test (codes, factors), drawn in that order as upstream's metrics with a test
    set draw them: ``(codes, factors, test_codes, test_factors)``, shapes as ``sample_codes``."""
    codes, factors = sample_codes(data, represent, num_train, random_state, batch_size)
    test_codes, test_factors = sample_codes(data, represent, num_test, random_state, batch_size)
    return codes, factors, test_codes, test_factors
