"""Representations built from encoder outputs: mean, sampled and variance codes (pure numpy).

All arrays are (N, latents).
"""

from __future__ import annotations

import zlib

import numpy as np

#: The two codes the study compares, in the order every table and figure shows them.
REPRESENTATIONS = ("mean", "sampled")


def sample(mean: np.ndarray, logvar: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The reparametrisation z = mu + exp(logvar / 2) * eps, eps ~ N(0, 1) from ``rng``, in float64:
    the one sampling formula of the package (the analysis, the metrics' sampled codes)."""
    return mean + np.exp(logvar / 2.0) * rng.standard_normal(np.shape(mean))


def sampled_representation(mean: np.ndarray, logvar: np.ndarray, rng: np.random.Generator | int) -> np.ndarray:
    """``sample`` of mean and logvar (N, latents), in mean's dtype; ``rng`` a Generator or a seed."""
    mean, logvar = np.asarray(mean), np.asarray(logvar)
    if mean.shape != logvar.shape:
        raise ValueError(f"mean {mean.shape} and logvar {logvar.shape} must have the same shape")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return sample(mean, logvar, generator).astype(mean.dtype, copy=False)


def noise_seed(seed: int, key: str) -> int:
    """The seed of one model's sampling noise: independent across models, repeatable per model.

    disentanglement_lib drew fresh noise for every model; one shared seed would give every model
    the same noise matrix and correlate their sampled scores. Mixing the run's ``seed`` with the
    CRC-32 of the model's ``key`` (``SeedSequence([seed, crc32(key)])``) keeps a model's codes the
    same on every run. 63 bits, so it fits an int64 column.
    """
    sequence = np.random.SeedSequence([int(seed), zlib.crc32(key.encode("utf-8"))])
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


def variance_representation(logvar: np.ndarray) -> np.ndarray:
    """sigma^2(x) = exp(logvar(x))."""
    return np.exp(np.asarray(logvar))
