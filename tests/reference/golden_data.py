"""A tiny ground-truth data set and representation for the metric golden files (numpy only).

It speaks both interfaces: disentanglement_lib's (``num_factors``, ``factors_num_values``,
``sample_observations``) and vae_passive's (``factor_sizes``, ``deterministic_observations``,
``index_of``), so the reference and this project draw from the same object.

Observations are the factors scaled to [0, 1] plus, unless ``noise`` is off, two uniform noise
columns drawn from the ``RandomState`` (like noisy dSprites, the draw order then matters). The
representation has 7 latents: 5 informative ones, a duplicate of latent 0, and a near-constant one
(standard deviation < 0.05, so FactorVAE prunes it).
"""

from __future__ import annotations

import numpy as np

FACTOR_SIZES = (3, 6, 10, 8)
NUM_LATENTS = 7


class GoldenData:
    """Factors of sizes ``FACTOR_SIZES``; observations (n, 6), or (n, 4) without noise."""

    name = "golden"
    real = False
    factor_names = ("a", "b", "c", "d")
    factor_sizes = FACTOR_SIZES

    def __init__(self, noise: bool = True):
        self.noise = noise
        self.deterministic_observations = not noise
        self.observation_shape = (6 if noise else 4,)

    @property
    def num_factors(self) -> int:
        return len(FACTOR_SIZES)

    @property
    def factors_num_values(self) -> list[int]:
        return list(FACTOR_SIZES)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        factors = np.zeros((num, len(FACTOR_SIZES)), dtype=np.int64)
        for column, size in enumerate(FACTOR_SIZES):
            factors[:, column] = random_state.randint(size, size=num)
        return factors

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        scaled = np.asarray(factors, np.float64) / (np.array(FACTOR_SIZES) - 1)
        if not self.noise:
            return scaled
        return np.concatenate([scaled, random_state.uniform(size=(len(factors), 2))], axis=1)

    def sample(self, num: int, random_state: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return self.sample(num, random_state)[1]

    def index_of(self, factors: np.ndarray) -> np.ndarray:
        index = np.zeros(len(factors), np.int64)
        for column, size in enumerate(FACTOR_SIZES):
            index = index * size + np.asarray(factors)[:, column]
        return index


_WEIGHTS = np.random.RandomState(1234).normal(size=(6, 5))
_WEIGHTS[:4] *= 2.0  # factors dominate the noise columns


def represent(observations: np.ndarray) -> np.ndarray:
    """Codes (n, 7) of observations (n, 6) or (n, 4): a fixed nonlinear map, deterministic."""
    observations = np.asarray(observations, np.float64)
    if observations.shape[1] == 4:
        observations = np.concatenate([observations, np.full((len(observations), 2), 0.5)], axis=1)
    informative = np.tanh(observations @ _WEIGHTS - _WEIGHTS.sum(axis=0) / 2)
    informative[:, 1] += 0.3 * np.sin(7.0 * observations[:, 4])
    tiny = 0.01 * (observations[:, :1] + observations[:, 5:6])
    return np.concatenate([informative, informative[:, :1], tiny], axis=1)


def fixed_arrays(seed: int = 7, num: int = 1500) -> dict[str, np.ndarray]:
    """Codes and factors (train and test) for the pure-function golden cases."""
    random_state = np.random.RandomState(seed)
    data = GoldenData()
    factors, observations = data.sample(num, random_state)
    test_factors, test_observations = data.sample(num // 2, random_state)
    return {
        "codes": represent(observations),
        "factors": factors,
        "test_codes": represent(test_observations),
        "test_factors": test_factors,
    }
