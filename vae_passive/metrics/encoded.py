"""Encode each needed image once per model and serve mean or sampled codes by image index.

Metrics draw the same images again and again (BetaVAE alone draws about 2 million images from
dSprites' 737,280). For a data set of stored images (``sample_indices`` and ``images_at``, the
real loaders), or whose images are a pure function of their factors with an ``index_of`` (the
procedural stand-in), ``EncodedData`` stands in for the data set: its
"observations" are image indices, and ``represent`` gathers codes from a cache that encodes each
image the first time it is needed. The random draws are unchanged, so every metric sees the
factors upstream would draw, and mean and sampled codes share one encoding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeGuard

import numpy as np

from vae_passive.data.base import FactorSampler, IndexedFactors, IndexedImages
from vae_passive.latents.representations import sample
from vae_passive.metrics.common import Represent

ENCODE_CHUNK = 16_384  # images rendered and encoded per call


class EncodedData:
    """A ground-truth data set whose observations are image indices, with a per-index code cache.

    ``encode`` maps images (n, 64, 64, C) to (mean, logvar), each (n, latents). Indices are
    recorded when drawn and encoded in bulk when their codes are first gathered.
    """

    #: Observations are image indices: one integer each.
    observation_shape: tuple[int, ...] = ()

    def __init__(
        self, data: IndexedImages | IndexedFactors, encode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    ):
        self.data: FactorSampler = data
        self.name = data.name
        self.factor_sizes = data.factor_sizes
        self.deterministic_observations = bool(data.deterministic_observations)
        self._encode = encode
        # Image indices of (factors, random_state), and the images of (indices, their factors).
        self._indices_of: Callable[[np.ndarray, np.random.RandomState], np.ndarray]
        self._images_of: Callable[[np.ndarray, np.ndarray], np.ndarray]
        if reads_images_by_index(data):
            size = data.num_images
            self._indices_of = data.sample_indices
            self._images_of = lambda indices, _factors: data.images_at(indices)
        elif indexes_factors(data):
            size = int(np.prod(data.factor_sizes))
            self._indices_of = lambda factors, _random_state: data.index_of(factors)
            # Images are a pure function of the factors: no random state is drawn from.
            self._images_of = lambda _indices, factors: data.sample_observations_from_factors(factors, None)
        else:
            raise ValueError(f"{data.name} has no fixed, indexed images; encode directly instead")
        self._slots = np.full(size, -1, np.int64)  # row of each encoded image in the code arrays
        self._mean = np.zeros((0, 0), np.float32)
        self._logvar = np.zeros((0, 0), np.float32)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # (indices, factors) not yet encoded
        self.encoded = 0

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return self.data.sample_factors(num, random_state)

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        """Image indices (n,) of ``factors``, drawing nuisance factors as the data set would."""
        indices = np.asarray(self._indices_of(factors, random_state), np.int64)
        missing = self._slots[indices] < 0
        if missing.any():
            self._pending.append((indices[missing], np.asarray(factors)[missing]))
        return indices

    def sample(self, num: int, random_state: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def _encode_pending(self) -> None:
        indices = np.concatenate([p[0] for p in self._pending])
        factors = np.concatenate([p[1] for p in self._pending])
        self._pending = []
        new, first = np.unique(indices, return_index=True)
        new, first = new[self._slots[new] < 0], first[self._slots[new] < 0]
        means, logvars = [self._mean], [self._logvar]
        for start in range(0, len(new), ENCODE_CHUNK):
            chunk = slice(start, start + ENCODE_CHUNK)
            mean, logvar = self._encode(self._images_of(new[chunk], factors[first[chunk]]))
            means.append(np.asarray(mean, np.float32))
            logvars.append(np.asarray(logvar, np.float32))
        if self.encoded == 0:
            means, logvars = means[1:], logvars[1:]
        self._mean, self._logvar = np.concatenate(means), np.concatenate(logvars)
        self._slots[new] = self.encoded + np.arange(len(new))
        self.encoded += len(new)

    def codes(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cached (mean, logvar) of image indices (n,), each (n, latents)."""
        if self._pending:
            self._encode_pending()
        slots = self._slots[np.asarray(indices, np.int64)]
        return self._mean[slots], self._logvar[slots]

    def represent(self, representation: str, rng: np.random.Generator | None = None) -> Represent:
        """Indices -> ``mean`` codes, or ``sampled`` codes with fresh noise from ``rng`` per call."""
        if representation == "mean":
            return lambda indices: self.codes(indices)[0]
        if representation != "sampled" or rng is None:
            raise ValueError("representation must be 'mean', or 'sampled' with a Generator")
        return lambda indices: sample(*self.codes(indices), rng)


def reads_images_by_index(data: FactorSampler) -> TypeGuard[IndexedImages]:
    """True for stored images read by index (``sample_indices`` and ``images_at``)."""
    return callable(getattr(data, "sample_indices", None)) and callable(getattr(data, "images_at", None))


def indexes_factors(data: FactorSampler) -> TypeGuard[IndexedFactors]:
    """True for images that are a pure function of factors with an ``index_of``."""
    return bool(getattr(data, "deterministic_observations", False)) and callable(getattr(data, "index_of", None))


def supports_index_cache(data: FactorSampler) -> TypeGuard[IndexedImages | IndexedFactors]:
    """True for stored images read by index, or images that are a pure function of indexed factors."""
    return reads_images_by_index(data) or indexes_factors(data)


def image_representation(
    encode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], representation: str, rng: np.random.Generator | None
) -> Represent:
    """Images -> codes by encoding every call: for data sets without fixed, indexed images."""
    if representation == "mean":
        return lambda images: encode(images)[0]
    if representation != "sampled" or rng is None:
        raise ValueError("representation must be 'mean', or 'sampled' with a Generator")
    return lambda images: sample(*encode(images), rng)
