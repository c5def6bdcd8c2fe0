"""Scoring given codes: the fixed-sample metrics on (codes, factors) arrays, with no model or data set.

The Python counterpart of ``vae-passive score``: ``score_codes(check_sample(codes, factors), ("mig",))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vae_passive.errors import VaePassiveError
from vae_passive.metrics.classifiers import DEFAULT_CLASSIFIERS
from vae_passive.metrics.common import check_codes, check_factors
from vae_passive.metrics.registry import PRESETS, REGISTRY, compute_params

TEST_FRACTION = 1 / 3  # held out when no test sample is given
MIN_ROWS = 4


@dataclass(frozen=True)
class Sample:
    """Checked arrays: codes (N, latents) float64, factors (N, factors) int64, and an optional test sample."""

    codes: np.ndarray
    factors: np.ndarray
    test_codes: np.ndarray | None = None
    test_factors: np.ndarray | None = None


def check_sample(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray | None = None,
    test_factors: np.ndarray | None = None,
) -> Sample:
    """The arrays as a ``Sample``; a ValueError names the array that is wrong and how."""
    if (test_codes is None) != (test_factors is None):
        raise ValueError("give both test_codes and test_factors or neither")
    codes = check_codes(codes)
    factors = check_factors(factors, len(codes))
    if test_codes is not None and test_factors is not None:
        test_codes = check_codes(test_codes, "test_codes")
        test_factors = check_factors(test_factors, len(test_codes), "test_factors")
        if test_codes.shape[1] != codes.shape[1] or test_factors.shape[1] != factors.shape[1]:
            raise ValueError("test_codes/test_factors must have as many columns as codes/factors")
    if len(codes) < MIN_ROWS:
        raise ValueError(f"need at least {MIN_ROWS} rows of codes, not {len(codes)}")
    return Sample(codes, factors, test_codes, test_factors)


def _fast_rows(name: str, size: str) -> int | None:
    """At most how many rows metric ``name`` uses under the fast preset (``size``: num_train or num_test)."""
    value = REGISTRY[name].fast.get(size)
    return max(value) if isinstance(value, tuple) else value


def score_codes(
    sample: Sample,
    metrics: tuple[str, ...],
    jobs: int = 1,
    preset: str = "full",
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
) -> dict[str, dict]:
    """Each fixed-sample metric's result on ``sample``; without a test sample, the last third of the rows is one.

    Metrics that need no test sample score every row. ``preset`` ``fast`` scores at most the fast preset's
    training and test sizes (the first rows of each) with its smaller predictors; ``full`` and ``study``
    score every given row.
    ``classifier_defaults`` picks the linear classifiers' defaults (``metrics.classifiers``). A metric that
    cannot score these codes (too few latents, say) is a one-line ``VaePassiveError``.
    """
    if preset not in PRESETS:
        raise VaePassiveError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    codes, factors = sample.codes, sample.factors
    if sample.test_codes is not None and sample.test_factors is not None:
        test_codes, test_factors = sample.test_codes, sample.test_factors
    else:
        cut = len(codes) - max(1, int(len(codes) * TEST_FRACTION))
        codes, factors, test_codes, test_factors = codes[:cut], factors[:cut], codes[cut:], factors[cut:]
    results = {}
    for name in metrics:
        spec = REGISTRY[name]
        if spec.compute is None:
            raise VaePassiveError(f"{name} intervenes on the factors and cannot score given codes")
        if codes.shape[1] < spec.min_latents:
            raise VaePassiveError(f"{name} needs at least {spec.min_latents} latents; the codes have {codes.shape[1]}")
        train_codes, train_factors = (codes, factors) if spec.needs_test else (sample.codes, sample.factors)
        test = test_codes, test_factors
        if preset == "fast":
            train_codes, train_factors = (
                train_codes[: _fast_rows(name, "num_train")],
                train_factors[: _fast_rows(name, "num_train")],
            )
            test = test_codes[: _fast_rows(name, "num_test")], test_factors[: _fast_rows(name, "num_test")]
        try:
            results[name] = spec.compute(
                train_codes, train_factors, *test, **compute_params(name, jobs, classifier_defaults, preset)
            )
        except ValueError as error:
            raise VaePassiveError(f"{name}: {str(error).splitlines()[0]}") from None
    return results
