"""Modules whose latents have a known kind, for classification and signature tests.

Weights start random; the heads are then set from the e5 features on procedural dSprites so that
latents 0-2 are active (log-variance -10, mean varies with the input), 3-6 are passive
(log-variance 0, a tiny mean shared by all four: correlated means, independent samples) and
7-9 are mixed (an informative mean, and a log-variance that swings with the input).
"""

from __future__ import annotations

import numpy as np

from support import numpy_reference
from vae_passive.data.procedural import ProceduralDSprites
from vae_passive.tfhub.architecture import random_weights

EXPECTED_KINDS = ["active"] * 3 + ["passive"] * 4 + ["mixed"] * 3


def designed_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Weights of a 1-channel, 10-latent model with ``EXPECTED_KINDS``."""
    weights = random_weights(1, 10, seed=seed)
    _, images = ProceduralDSprites().sample(400, np.random.RandomState(seed))
    features = numpy_reference.hidden(weights, images)
    rng = np.random.default_rng(seed)

    def direction() -> tuple[np.ndarray, float]:
        """A unit-variance projection of the features: kernel column and bias."""
        w = rng.normal(size=features.shape[1])
        projected = features @ w
        scale = projected.std() or 1.0
        return w / scale, -projected.mean() / scale

    means_k = np.zeros((256, 10))
    means_b = np.zeros(10)
    logvar_k = np.zeros((256, 10))
    logvar_b = np.zeros(10)
    for j in range(3):  # active: unit-variance mean, variance e^-10
        means_k[:, j], means_b[j] = direction()
        logvar_b[j] = -10.0
    shared_k, shared_b = direction()
    for j in range(3, 7):  # passive: sigma^2 = 1, tiny correlated means
        own_k, own_b = direction()
        means_k[:, j] = 0.01 * (shared_k + 0.1 * own_k)
        means_b[j] = 0.01 * (shared_b + 0.1 * own_b)
    for j in range(7, 10):  # mixed: an informative mean, log-variance with standard deviation 2 around 0
        means_k[:, j], means_b[j] = direction()
        logvar_k[:, j], logvar_b[j] = direction()
        logvar_k[:, j] *= 2.0
        logvar_b[j] *= 2.0
    weights["encoder/means/kernel"] = means_k.astype(np.float32)
    weights["encoder/means/bias"] = means_b.astype(np.float32)
    weights["encoder/log_var/kernel"] = logvar_k.astype(np.float32)
    weights["encoder/log_var/bias"] = logvar_b.astype(np.float32)
    return weights
