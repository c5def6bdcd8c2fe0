"""Per-factor predictors shared by DCI and the downstream tasks, fitted in parallel over factors.

Each factor's model is independent of the others, so ``jobs`` > 1 spreads the factors over
processes (joblib); the result does not depend on ``jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vae_passive.metrics.classifiers import DEFAULT_CLASSIFIERS, logistic_regression_cv
from vae_passive.metrics.common import classifier_fit, map_jobs

BOOSTED_TREES_SEED = 0  # upstream leaves GradientBoostingClassifier unseeded; fixed here for repeatability
#: GradientBoostingClassifier's default number of boosting rounds, which upstream kept.
N_ESTIMATORS = 100
RANDOM_BASELINE_SEED = 0  # the authors' uniform DummyClassifier was unseeded; fixed here likewise


def make_predictor(
    kind: str,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
    n_estimators: int = N_ESTIMATORS,
    cross_validated: bool = True,
):
    """A fresh scikit-learn classifier: ``boosted_trees`` (``n_estimators`` rounds) or
    ``logistic_regression`` (upstream's, under ``classifier_defaults``: ``metrics.classifiers``; C
    chosen by cross-validation unless ``cross_validated`` is False), or ``random``, the authors'
    baseline that guesses uniformly among the classes seen in training. Smaller than upstream's only
    under the fast preset."""
    if kind == "random":
        from sklearn.dummy import DummyClassifier

        return DummyClassifier(strategy="uniform", random_state=RANDOM_BASELINE_SEED)
    if kind == "boosted_trees":
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(n_estimators=n_estimators, random_state=BOOSTED_TREES_SEED)
    if kind == "logistic_regression":
        return logistic_regression_cv(classifier_defaults, cross_validated)
    raise ValueError(f"unknown predictor {kind!r}")


@dataclass(frozen=True)
class FactorFit:
    """One factor's model: train and test accuracy, and feature importances (boosted trees only)."""

    train_accuracy: float
    test_accuracy: float
    importances: np.ndarray | None


def _fit_one(
    kind: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    classifier_defaults: str,
    n_estimators: int,
    cross_validated: bool,
) -> FactorFit:
    model = make_predictor(kind, classifier_defaults, n_estimators, cross_validated)
    with classifier_fit():
        model.fit(x_train, y_train)
        accuracies = float(np.mean(model.predict(x_train) == y_train)), float(np.mean(model.predict(x_test) == y_test))
    importances = np.abs(model.feature_importances_) if hasattr(model, "feature_importances_") else None
    return FactorFit(*accuracies, importances)


def fit_per_factor(
    kind: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    jobs: int = 1,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
    n_estimators: int = N_ESTIMATORS,
    cross_validated: bool = True,
) -> list[FactorFit]:
    """One model per factor column of y (N, factors) from codes x (N, latents); ``jobs`` processes.
    ``n_estimators`` and ``cross_validated``: ``make_predictor``."""
    settings = (classifier_defaults, n_estimators, cross_validated)
    calls = [(kind, x_train, y_train[:, j], x_test, y_test[:, j], *settings) for j in range(y_train.shape[1])]
    return map_jobs(_fit_one, calls, jobs)
