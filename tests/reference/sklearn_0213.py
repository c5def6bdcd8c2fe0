"""Independent restatements of what scikit-learn 0.21.3's default classifiers computed, for the tests
of ``vae_passive.metrics.classifiers``'s 2019 mode.

Read from scikit-learn 0.21.3's source (``sklearn/linear_model/logistic.py``: ``_check_solver``,
``_check_multi_class``, ``_logistic_regression_path``, ``_log_reg_scoring_path``,
``LogisticRegressionCV.fit``; ``sklearn/svm/classes.py`` ``LinearSVC``; ``sklearn/svm/base.py``
``_fit_liblinear``; liblinear's ``train``/``train_one``) and written again with numpy and scipy only,
sharing no code with ``vae_passive`` or today's scikit-learn estimators:

- ``LogisticRegressionCV()``: ``multi_class='warn'`` meant one-vs-rest. Per class (sorted labels; one
  problem for two classes), labels +1/-1, Cs = logspace(-4, 4, 10), per fold a warm-started path of
  ``fmin_l_bfgs_b`` on the *summed* logistic loss + C^-1 |w|^2 / 2 (intercept unpenalised), pgtol 1e-4,
  at most 100 iterations; the fold score is binary accuracy (decision > 0); the C with the largest
  score summed over folds wins (first on ties); refit on all rows from the folds' mean coefficients
  at that C; predict the class of largest decision value.
- ``LogisticRegression()``: ``solver='warn'`` meant liblinear: per class one-vs-rest, the intercept a
  feature of value 1 penalised like the weights: minimise |w~|^2 / 2 + C sum log(1 + exp(-y w~.x~)).
  Probabilities: the sigmoid of each class's decision, normalised over classes.
- ``LinearSVC(C, class_weight="balanced")``: dual=True by default, but the optimum is the primal's:
  |w~|^2 / 2 + sum C_i max(0, 1 - y_i w~.x~_i)^2, intercept penalised; in liblinear's one-vs-rest a
  class's positives weigh C * n / (K n_k) and its negatives C (both weighted for two classes).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.special import expit


def _loss_grad(w: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """0.21.3's summed logistic loss with an unpenalised intercept (last entry of w) and its gradient."""
    z = x @ w[:-1] + w[-1]
    yz = y * z
    loss = np.sum(np.logaddexp(0.0, -yz)) + 0.5 * alpha * w[:-1] @ w[:-1]
    z0 = (expit(yz) - 1.0) * y
    return loss, np.concatenate([x.T @ z0 + alpha * w[:-1], [z0.sum()]])


def _lbfgs(w0: np.ndarray, x: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    return optimize.fmin_l_bfgs_b(_loss_grad, w0, args=(x, y, 1.0 / c), pgtol=1e-4, maxiter=100)[0]


def _binary_problems(labels: np.ndarray) -> tuple[np.ndarray, list]:
    classes = np.unique(labels)
    return classes, list(classes[1:] if len(classes) == 2 else classes)


def logistic_regression_cv_ovr(x: np.ndarray, labels: np.ndarray, x_test: np.ndarray, folds: int = 5) -> np.ndarray:
    """Predicted labels of x_test by 0.21.3's ``LogisticRegressionCV(Cs=10, cv=KFold(folds))``."""
    cs = np.logspace(-4, 4, 10)
    sizes = np.full(folds, len(x) // folds)
    sizes[: len(x) % folds] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    classes, positives = _binary_problems(labels)
    decisions = []
    for positive in positives:
        y = np.where(labels == positive, 1.0, -1.0)
        scores = np.zeros((folds, len(cs)))
        paths = np.zeros((folds, len(cs), x.shape[1] + 1))
        for k in range(folds):
            test = np.zeros(len(x), bool)
            test[bounds[k] : bounds[k + 1]] = True
            w = np.zeros(x.shape[1] + 1)
            for i, c in enumerate(cs):
                w = _lbfgs(w, x[~test], y[~test], c)
                paths[k, i] = w
                predicted = np.where(x[test] @ w[:-1] + w[-1] > 0, 1.0, -1.0)
                scores[k, i] = np.mean(predicted == y[test])
        best = int(np.argmax(scores.sum(axis=0)))
        w = _lbfgs(paths[:, best].mean(axis=0), x, y, cs[best])
        decisions.append(x_test @ w[:-1] + w[-1])
    if len(classes) == 2:
        return classes[(decisions[0] > 0).astype(int)]
    return classes[np.argmax(np.stack(decisions, axis=1), axis=1)]


def _with_bias(x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))])


def _minimise(objective, size: int) -> np.ndarray:
    result = optimize.minimize(objective, np.zeros(size), jac=True, method="L-BFGS-B", options={"gtol": 1e-10})
    return result.x


def liblinear_logistic_regression(x: np.ndarray, labels: np.ndarray, x_test: np.ndarray, c: float = 1.0):
    """(predicted labels, probabilities) of x_test by 0.21.3's ``LogisticRegression()`` (liblinear, ovr)."""
    xb, xb_test = _with_bias(x), _with_bias(x_test)
    classes, positives = _binary_problems(labels)

    def objective(w, y):
        yz = y * (xb @ w)
        return 0.5 * w @ w + c * np.sum(np.logaddexp(0.0, -yz)), w + c * xb.T @ ((expit(yz) - 1.0) * y)

    decisions = np.stack(
        [
            xb_test @ _minimise(lambda w, p=p: objective(w, np.where(labels == p, 1.0, -1.0)), xb.shape[1])
            for p in positives
        ],
        axis=1,
    )
    if len(classes) == 2:
        p = expit(decisions[:, 0])
        return classes[(decisions[:, 0] > 0).astype(int)], np.stack([1 - p, p], axis=1)
    probabilities = expit(decisions)
    return classes[np.argmax(decisions, axis=1)], probabilities / probabilities.sum(axis=1, keepdims=True)


def liblinear_linear_svc(x: np.ndarray, labels: np.ndarray, x_test: np.ndarray, c: float = 0.01) -> np.ndarray:
    """Predicted labels of x_test by 0.21.3's ``LinearSVC(C=c, class_weight="balanced")``."""
    xb, xb_test = _with_bias(x), _with_bias(x_test)
    classes, positives = _binary_problems(labels)
    counts = np.array([np.sum(labels == k) for k in classes])
    weights = dict(zip(classes, len(labels) / (len(classes) * counts), strict=True))

    def objective(w, y, ci):
        margin = np.maximum(0.0, 1.0 - y * (xb @ w))
        return 0.5 * w @ w + np.sum(ci * margin**2), w - 2.0 * xb.T @ (ci * margin * y)

    decisions = []
    for p in positives:
        y = np.where(labels == p, 1.0, -1.0)
        both = c * np.array([weights[k] for k in labels])  # two classes: both sides weighted
        ci = both if len(classes) == 2 else np.where(y > 0, c * weights[p], c)
        decisions.append(xb_test @ _minimise(lambda w, y=y, ci=ci: objective(w, y, ci), xb.shape[1]))
    if len(classes) == 2:
        return classes[(decisions[0] > 0).astype(int)]
    return classes[np.argmax(np.stack(decisions, axis=1), axis=1)]
