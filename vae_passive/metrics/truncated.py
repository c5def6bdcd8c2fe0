"""The authors' truncated downstream task (tc_study ``downstream_task_evaluation.py``): per factor,
a classifier trained on the full code, on each kind of latent, on each pair of kinds, and a
uniform random baseline, to see whether dropping passive latents hurts a downstream model.

As theirs: one draw of ``num_train`` then ``num_test`` points, ``batch_size`` at a time (redrawn
while the codes hold NaN or infinity, as they do for smallNORB); a single kind needs one latent and
a pair both of its kinds (``study_subsets``); a subset equal to the full code copies its scores.
Keys per subset are theirs without the ``<subset>:`` prefix, which becomes the row's ``subset``.
Deliberate difference: their uniform ``DummyClassifier`` was unseeded; ours is seeded.
"""

from __future__ import annotations

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.latents.variables import RANDOM, study_subsets
from vae_passive.metrics.classifiers import DEFAULT_CLASSIFIERS
from vae_passive.metrics.common import Represent, check_codes, check_factors, sample_codes
from vae_passive.metrics.downstream import accuracy_keys
from vae_passive.metrics.predictors import N_ESTIMATORS, fit_per_factor

#: The evaluation seeds the authors chose per predictor (those of unsupervised_study_v1's
#: sampled downstream tasks), used for both representations.
STUDY_SEEDS = {"logistic_regression": 3830135878, "boosted_trees": 1277901399}
MAX_REDRAWS = 10


def _scores(predictor: str, codes, factors, test_codes, test_factors, jobs: int, settings: tuple) -> dict[str, float]:
    fits = fit_per_factor(predictor, codes, factors, test_codes, test_factors, jobs, *settings)
    return accuracy_keys([f.train_accuracy for f in fits], [f.test_accuracy for f in fits])


def compute_truncated_downstream(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    kinds: np.ndarray,
    predictor: str,
    jobs: int = 1,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
    n_estimators: int = N_ESTIMATORS,
    cross_validated: bool = True,
) -> dict[str, dict[str, float]]:
    """Scores per subset (``full``, ``random``, then each present subset) of ``predictor``
    (``logistic_regression``, under ``classifier_defaults``, or ``boosted_trees``; ``n_estimators`` and
    ``cross_validated``: ``predictors.make_predictor``); codes (N, latents), kinds (latents,)."""
    codes, test_codes = check_codes(codes), check_codes(test_codes, "test codes")
    factors = check_factors(factors, len(codes))
    test_factors = check_factors(test_factors, len(test_codes), "test factors")
    if len(kinds) != codes.shape[1]:
        raise ValueError(f"{len(kinds)} kinds for codes of {codes.shape[1]} latents")
    settings = (classifier_defaults, n_estimators, cross_validated)
    results = {"full": _scores(predictor, codes, factors, test_codes, test_factors, jobs, settings)}
    results[RANDOM] = _scores("random", codes, factors, test_codes, test_factors, jobs, settings)
    for subset, indices in study_subsets(np.asarray(kinds)).items():
        if subset == "full":
            continue
        if len(indices) == codes.shape[1]:
            results[subset] = dict(results["full"])
        else:
            chosen, test_chosen = codes[:, indices], test_codes[:, indices]
            results[subset] = _scores(predictor, chosen, factors, test_chosen, test_factors, jobs, settings)
    return results


def _finite_sample(data: FactorSampler, represent: Represent, num: int, random_state, batch_size: int):
    """``sample_codes``, drawn again while the codes are not finite (the authors' smallNORB guard)."""
    for _ in range(MAX_REDRAWS):
        codes, factors = sample_codes(data, represent, num, random_state, batch_size)
        if np.all(np.isfinite(codes)):
            return codes, factors
    raise ValueError(f"codes held NaN or infinity in {MAX_REDRAWS} draws in a row")


def evaluate(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    kinds: np.ndarray,
    predictor: str = "logistic_regression",
    num_train: int = 10_000,
    num_test: int = 5_000,
    batch_size: int = 16,
    jobs: int = 1,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
    n_estimators: int = N_ESTIMATORS,
    cross_validated: bool = True,
) -> dict[str, dict[str, float]]:
    """Draw training then test points (the authors' order) and score every subset."""
    codes, factors = _finite_sample(data, represent, num_train, random_state, batch_size)
    test_codes, test_factors = _finite_sample(data, represent, num_test, random_state, batch_size)
    return compute_truncated_downstream(
        codes,
        factors,
        test_codes,
        test_factors,
        kinds,
        predictor,
        jobs=jobs,
        classifier_defaults=classifier_defaults,
        n_estimators=n_estimators,
        cross_validated=cross_validated,
    )
