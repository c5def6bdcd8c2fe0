"""The metrics' classifier fits with BLAS's default threads vs one thread, same process.

    .venv/bin/python benchmarks/classifier_threads.py [--repeats 3]

Fits what explicitness (LogisticRegression) and SAP (LinearSVC) fit on 10,000 x 10 codes with
dSprites-sized factors, first under the default thread pools, then inside ``classifier_fit`` (one
thread), and checks that the fitted scores are identical. Prints the best time of each and the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_info

from vae_passive.metrics.common import classifier_fit
from vae_passive.metrics.modularity import explicitness
from vae_passive.metrics.sap import score_matrix

FACTOR_SIZES = (3, 6, 40, 32, 32)  # dSprites' latent factors


def inputs(seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.RandomState(seed)
    factors = np.stack([rng.randint(0, size, 15_000) for size in FACTOR_SIZES], axis=1)
    codes = rng.normal(size=(15_000, 10))
    codes[:, :5] += factors * 0.05  # five latents carry a little of each factor
    return codes[:10_000], factors[:10_000], codes[10_000:], factors[10_000:]


def explicitness_fits(train, factors, test, test_factors) -> np.ndarray:
    return np.ravel([explicitness(train, factors[:, j], test, test_factors[:, j]) for j in range(factors.shape[1])])


def sap_fits(train, factors, test, test_factors) -> np.ndarray:
    return np.ravel(score_matrix(train, factors, test, test_factors, False))


def best_time(func, repeats: int) -> tuple[float, np.ndarray]:
    times, result = [], None
    for _ in range(repeats):
        tick = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - tick)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = inputs()
    pools = ", ".join(f"{pool['internal_api']} {pool['num_threads']}" for pool in threadpool_info())
    print(f"thread pools: {pools}")

    # ``explicitness`` and ``score_matrix`` enter ``classifier_fit`` themselves; to time the default
    # pools, that context is replaced by one that changes nothing.
    import contextlib

    import vae_passive.metrics.modularity as modularity
    import vae_passive.metrics.sap as sap

    for name, func in (("explicitness (LogisticRegression)", explicitness_fits), ("SAP (LinearSVC)", sap_fits)):
        modularity.classifier_fit = sap.classifier_fit = contextlib.nullcontext
        default, default_scores = best_time(lambda func=func: func(*data), args.repeats)
        modularity.classifier_fit = sap.classifier_fit = classifier_fit
        single, single_scores = best_time(lambda func=func: func(*data), args.repeats)
        assert np.array_equal(default_scores, single_scores), f"{name}: one thread changed a score"
        print(f"{name:<34} default {default:6.2f} s   one thread {single:6.2f} s   ratio {default / single:4.1f}x")


if __name__ == "__main__":
    main()
