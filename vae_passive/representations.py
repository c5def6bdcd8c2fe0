"""Representations built from encoder outputs: mean, sampled and variance codes (pure numpy).

All arrays are (N, latents).
"""

from __future__ import annotations

import numpy as np


def mean_representation(mean: np.ndarray) -> np.ndarray:
    """mu(x): the code most downstream uses take."""
    return np.asarray(mean)


def sampled_representation(mean: np.ndarray, logvar: np.ndarray, rng: np.random.Generator | int) -> np.ndarray:
    """z = mu + exp(logvar / 2) * eps with eps ~ N(0, 1) drawn from ``rng`` (a Generator or a seed)."""
    mean, logvar = np.asarray(mean), np.asarray(logvar)
    if mean.shape != logvar.shape:
        raise ValueError(f"mean {mean.shape} and logvar {logvar.shape} must have the same shape")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    noise = generator.standard_normal(mean.shape, dtype=np.float64)
    return (mean + np.exp(logvar / 2.0) * noise).astype(mean.dtype, copy=False)


def variance_representation(logvar: np.ndarray) -> np.ndarray:
    """sigma^2(x) = exp(logvar(x))."""
    return np.exp(np.asarray(logvar))
