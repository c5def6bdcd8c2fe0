"""An independent restatement of the authors' truncated downstream task, for agreement tests.

It follows tc_study's ``compute_truncated_downstream_task`` and ``truncated_downstream_task``
with disentanglement_lib's ``_compute_loss`` literally: codes as (latents, N), one predictor per
factor, the subsets formed from the index lists, a subset of every latent copying the full scores.
It shares no code with ``vae_passive``. Two changes make it comparable: the predictors are built
as disentanglement_lib builds them but seeded (boosted trees and the uniform baseline are unseeded
upstream), and the keys are returned per subset.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import KFold


def logistic_regression_cv():
    return LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))


def gradient_boosting_classifier():
    return GradientBoostingClassifier(random_state=0)


def compute_loss(x_train, y_train, x_test, y_test, predictor_fn):
    train_loss, test_loss = [], []
    for i in range(y_train.shape[0]):
        model = predictor_fn()
        model.fit(x_train, y_train[i, :])
        train_loss.append(np.mean(model.predict(x_train) == y_train[i, :]))
        test_loss.append(np.mean(model.predict(x_test) == y_test[i, :]))
    return train_loss, test_loss


def one_subset(idxs, mus_train, ys_train, mus_test, ys_test, predictor_fn):
    train_err, test_err = compute_loss(
        np.transpose(mus_train[idxs]), ys_train, np.transpose(mus_test[idxs]), ys_test, predictor_fn
    )
    scores = {
        "mean_train_accuracy": np.mean(train_err),
        "mean_test_accuracy": np.mean(test_err),
        "min_train_accuracy": np.min(train_err),
        "min_test_accuracy": np.min(test_err),
    }
    for i in range(len(train_err)):
        scores[f"train_accuracy_factor_{i}"] = train_err[i]
        scores[f"test_accuracy_factor_{i}"] = test_err[i]
    return scores


def truncated_downstream(mus_train, ys_train, mus_test, ys_test, active, mixed, passive, predictor_fn):
    """Scores per subset name; mus (latents, N), ys (factors, N), index lists per kind."""
    num_codes = mus_train.shape[0]
    variables = {"active": active, "passive": passive, "mixed": mixed}
    variables.update(
        {
            f"{a}_{b}": variables[a] + variables[b]
            for a, b in combinations(["active", "mixed", "passive"], 2)
            if len(variables[a]) > 0 and len(variables[b]) > 0
        }
    )
    full = list(range(num_codes))
    scores = {"full": one_subset(full, mus_train, ys_train, mus_test, ys_test, predictor_fn)}
    scores["random"] = one_subset(
        full, mus_train, ys_train, mus_test, ys_test, lambda: DummyClassifier(strategy="uniform", random_state=0)
    )
    for prefix, indexes in variables.items():
        if not indexes:
            continue
        if len(indexes) == num_codes:
            scores[prefix] = dict(scores["full"])
        else:
            scores[prefix] = one_subset(indexes, mus_train, ys_train, mus_test, ys_test, predictor_fn)
    return scores
