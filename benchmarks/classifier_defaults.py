"""The metrics under scikit-learn's 2019 defaults vs today's, on codes where they differ.

    PYTHONPATH=. python benchmarks/classifier_defaults.py

A 10-latent code whose latent 0 carries a 32-class ordinal factor (dSprites' posX: 2,000 training and
1,000 test points) and latent 1 a 3-class factor; the other latents are noise. Prints the logistic-
regression downstream accuracy per factor, SAP and explicitness under both modes, and the time.
"""

from __future__ import annotations

import time

import numpy as np

from vae_passive.metrics.downstream import compute_downstream
from vae_passive.metrics.modularity import compute_modularity_explicitness
from vae_passive.metrics.sap import compute_sap


def codes_and_factors(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    factors = np.stack([rng.randint(0, 32, 3_000), rng.randint(0, 3, 3_000)], axis=1)
    codes = rng.normal(size=(3_000, 10))
    codes[:, 0] = (factors[:, 0] - 15.5) / 9.2 + rng.normal(scale=0.05, size=3_000)
    codes[:, 1] = factors[:, 1] - 1 + rng.normal(scale=0.3, size=3_000)
    return codes, factors


def main() -> None:
    codes, factors = codes_and_factors()
    train, test = (codes[:2_000], factors[:2_000]), (codes[2_000:], factors[2_000:])
    for mode in ("2019", "current"):
        tick = time.perf_counter()
        lr = compute_downstream(*train, *test, "logistic_regression", classifier_defaults=mode)
        sap = compute_sap(*train, *test, classifier_defaults=mode)["SAP_score"]
        explicit = compute_modularity_explicitness(*train, *test, classifier_defaults=mode)["explicitness_score_test"]
        print(
            f"{mode:>7}: logistic regression test accuracy posX {lr['2000:test_accuracy_factor_0']:.3f}, "
            f"3-class {lr['2000:test_accuracy_factor_1']:.3f}; SAP {sap:.4f}; explicitness {explicit:.4f} "
            f"({time.perf_counter() - tick:.1f} s)"
        )


if __name__ == "__main__":
    main()
