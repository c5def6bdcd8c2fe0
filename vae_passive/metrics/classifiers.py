"""The metrics' linear classifiers under two sets of defaults: scikit-learn's of 2019 or today's.

tc_study pinned scikit-learn 0.21.3 and disentanglement_lib's zoo results came from about 0.20; their
``LogisticRegressionCV()``, ``LogisticRegression()`` and ``LinearSVC()`` meant other algorithms than
today's (docs/metrics.md has the table):

- ``"2019"`` (the default): ``LogisticRegressionCV`` one-vs-rest (per class a binary lbfgs problem, C
  chosen per class by its fold accuracy, refit, prediction by the largest decision value);
  ``LogisticRegression`` liblinear one-vs-rest with the intercept penalised; ``LinearSVC`` dual with at
  most 1,000 iterations. Emulated with today's scikit-learn (``OneVsRestClassifier``, ``liblinear``,
  ``dual=True``), never by pinning an old one.
- ``"current"``: the defaults of the scikit-learn installed (multinomial lbfgs, primal SVM), which the
  agreement tests with disentanglement_lib on today's scikit-learn use.
"""

from __future__ import annotations

import inspect

import numpy as np

CLASSIFIER_DEFAULTS = ("2019", "current")
DEFAULT_CLASSIFIERS = "2019"

# Today's defaults, pinned so that a future scikit-learn cannot change a metric silently.
LOGISTIC_REGRESSION = {"C": 1.0, "solver": "lbfgs", "max_iter": 100, "tol": 1e-4}
LOGISTIC_REGRESSION_CV = {"Cs": 10, "folds": 5, "solver": "lbfgs", "max_iter": 100, "tol": 1e-4}
LINEAR_SVC = {"C": 0.01, "class_weight": "balanced", "dual": False, "loss": "squared_hinge", "tol": 1e-4}
#: What 0.21.3 did instead: LogisticRegression's solver='warn' meant liblinear (ovr, intercept penalised
#: as a feature of value intercept_scaling = 1); LinearSVC solved the dual, at most 1,000 iterations.
LOGISTIC_REGRESSION_2019 = {"C": 1.0, "solver": "liblinear", "max_iter": 100, "tol": 1e-4, "intercept_scaling": 1.0}
LINEAR_SVC_2019 = {**LINEAR_SVC, "dual": True, "max_iter": 1000}
#: numpy's int32 maximum: 0.21.3's liblinear fit drew ``random_state.randint(LIBLINEAR_SEED_BOUND)`` once.
LIBLINEAR_SEED_BOUND = int(np.iinfo(np.int32).max)


def check_classifier_defaults(mode: str) -> str:
    """``mode`` if it is one of ``CLASSIFIER_DEFAULTS``; a ValueError that lists them otherwise."""
    if mode not in CLASSIFIER_DEFAULTS:
        raise ValueError(
            f"unknown classifier defaults {mode!r}; choose 2019 (scikit-learn 0.21.3's, as the study and the zoo "
            "ran) or current (the installed scikit-learn's)"
        )
    return mode


def logistic_regression_cv(mode: str = DEFAULT_CLASSIFIERS, cross_validated: bool = True):
    """disentanglement_lib's ``LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))`` under ``mode``.

    ``cross_validated=False`` (the fast preset) fits the same model with C fixed at 1 instead: what
    ``LogisticRegressionCV(Cs=[1.0])`` refits, without the folds that one candidate makes pointless.
    """
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import KFold

    settings = dict(LOGISTIC_REGRESSION_CV)
    folds = settings.pop("folds")
    if cross_validated:
        settings["scoring"] = "accuracy"  # the old default, stated: scikit-learn 1.11 changes it
        if "use_legacy_attributes" in inspect.signature(LogisticRegressionCV).parameters:
            # scikit-learn >= 1.9 asks for these to be explicit; both keep pure L2
            settings.update(l1_ratios=(0.0,), use_legacy_attributes=False)
        model = LogisticRegressionCV(cv=KFold(n_splits=folds), **settings)
    else:
        del settings["Cs"]
        model = LogisticRegression(C=1.0, **settings)
    if check_classifier_defaults(mode) == "current":
        return model
    from sklearn.multiclass import OneVsRestClassifier

    # 0.21.3's multi_class='warn' -> 'ovr': per class a binary problem (with CV: over the same folds, its own C)
    return OneVsRestClassifier(model)


def logistic_regression(mode: str = DEFAULT_CLASSIFIERS, random_state: int | np.random.RandomState | None = None):
    """upstream's ``LogisticRegression()`` under ``mode``. In 2019 mode an int ``random_state`` seeds
    liblinear (``liblinear_seed`` draws it as 0.21.3 did); one-vs-rest is a wrapper, since today's
    liblinear refuses more than two classes."""
    from sklearn.linear_model import LogisticRegression

    if check_classifier_defaults(mode) == "current":
        return LogisticRegression(**LOGISTIC_REGRESSION, random_state=random_state)
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(LogisticRegression(**LOGISTIC_REGRESSION_2019, random_state=random_state))


def liblinear_seed(random_state: np.random.RandomState) -> int:
    """The one draw 0.21.3's liblinear fit took from the random state it was given (``_fit_liblinear``):
    upstream's BetaVAE metric hands its sampling state to the classifier, so its evaluation points
    come after this draw."""
    return int(random_state.randint(LIBLINEAR_SEED_BOUND))


def linear_svc(mode: str = DEFAULT_CLASSIFIERS):
    """SAP's ``LinearSVC(C=0.01, class_weight="balanced")`` under ``mode`` (seeded: upstream's was not)."""
    from sklearn.svm import LinearSVC

    settings = LINEAR_SVC_2019 if check_classifier_defaults(mode) == "2019" else LINEAR_SVC
    return LinearSVC(**settings, random_state=0)
