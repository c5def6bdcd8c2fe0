"""Metrics that intervene on the factors: BetaVAE (Higgins et al. 2017, ``beta_vae_sklearn``) and
FactorVAE (Kim & Mnih 2018, ``factor_vae_metric``).

Both draw batches in which one factor is held fixed, exactly as disentanglement_lib does (same
``RandomState`` calls in the same order), but represent many batches per call of ``represent``.
Upstream's FactorVAE ``num_active_dims`` counts every latent; here it counts the kept ones.
"""

from __future__ import annotations

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.metrics.classifiers import DEFAULT_CLASSIFIERS, liblinear_seed, logistic_regression
from vae_passive.metrics.common import REPRESENT_CHUNK, Represent, classifier_fit, represent_all

# ---- BetaVAE ----------------------------------------------------------------------------------


def beta_vae_features(codes1: np.ndarray, codes2: np.ndarray) -> np.ndarray:
    """Mean |difference| per latent of paired batches (points, batch, latents) -> (points, latents)."""
    return np.mean(np.abs(codes1 - codes2), axis=1)


def _beta_vae_points(
    data: FactorSampler, represent: Represent, batch_size: int, num_points: int, random_state: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """Features (num_points, latents) and fixed-factor labels (num_points,), as upstream draws them."""
    per_call = max(1, REPRESENT_CHUNK // (2 * batch_size))
    labels = np.zeros(num_points, np.int64)
    features = []
    for start in range(0, num_points, per_call):
        count = min(per_call, num_points - start)
        first, second = [], []
        for k in range(count):
            index = random_state.randint(len(data.factor_sizes))
            factors1 = data.sample_factors(batch_size, random_state)
            factors2 = data.sample_factors(batch_size, random_state)
            factors2[:, index] = factors1[:, index]
            first.append(data.sample_observations_from_factors(factors1, random_state))
            second.append(data.sample_observations_from_factors(factors2, random_state))
            labels[start + k] = index
        codes = represent_all(represent, first + second).reshape(2, count, batch_size, -1)
        features.append(beta_vae_features(codes[0], codes[1]))
    return np.concatenate(features), labels


def evaluate_beta_vae(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
) -> dict[str, float]:
    """Upstream's ``compute_beta_vae_sklearn``: train points, fit (the classifier gets the same
    ``random_state``, as upstream: under 2019 defaults liblinear draws one seed from it, so the
    evaluation points come after that draw), then evaluation points."""
    train, train_labels = _beta_vae_points(data, represent, batch_size, num_train, random_state)
    seed = liblinear_seed(random_state) if classifier_defaults == "2019" else random_state
    with classifier_fit():
        model = logistic_regression(classifier_defaults, random_state=seed).fit(train, train_labels)
        train_accuracy = float(np.mean(model.predict(train) == train_labels))
    evaluation, eval_labels = _beta_vae_points(data, represent, batch_size, num_eval, random_state)
    return {"train_accuracy": train_accuracy, "eval_accuracy": float(model.score(evaluation, eval_labels))}


# ---- FactorVAE --------------------------------------------------------------------------------


def factor_vae_votes(
    batches: np.ndarray, labels: np.ndarray, global_variances: np.ndarray, active: np.ndarray, num_factors: int
) -> np.ndarray:
    """Votes (factors, latents): for each batch (points, batch, latents) with fixed factor ``labels``,
    the kept latent (position among the kept ones, as upstream) of least normalised variance."""
    local = np.var(batches, axis=1, ddof=1)
    argmin = np.argmin(local[:, active] / global_variances[active], axis=1)
    votes = np.bincount(labels * len(global_variances) + argmin, minlength=num_factors * len(global_variances))
    return votes.reshape(num_factors, len(global_variances))


def _factor_vae_votes(
    data: FactorSampler,
    represent: Represent,
    batch_size: int,
    num_points: int,
    random_state: np.random.RandomState,
    global_variances: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    per_call = max(1, REPRESENT_CHUNK // batch_size)
    num_factors = len(data.factor_sizes)
    votes = np.zeros((num_factors, len(global_variances)), np.int64)
    for start in range(0, num_points, per_call):
        count = min(per_call, num_points - start)
        labels = np.zeros(count, np.int64)
        observations = []
        for k in range(count):
            labels[k] = random_state.randint(num_factors)
            factors = data.sample_factors(batch_size, random_state)
            factors[:, labels[k]] = factors[0, labels[k]]
            observations.append(data.sample_observations_from_factors(factors, random_state))
        codes = represent_all(represent, observations).reshape(count, batch_size, -1)
        votes += factor_vae_votes(codes, labels, global_variances, active, num_factors)
    return votes


def factor_vae_accuracy(train_votes: np.ndarray, eval_votes: np.ndarray) -> tuple[float, float]:
    """Majority-vote classifier from the training votes (factors, latents), applied to both."""
    classifier = np.argmax(train_votes, axis=0)
    columns = np.arange(train_votes.shape[1])
    return (
        float(train_votes[classifier, columns].sum() / train_votes.sum()),
        float(eval_votes[classifier, columns].sum() / eval_votes.sum()),
    )


def evaluate_factor_vae(
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    num_variance_estimate: int = 10_000,
    prune_threshold: float = 0.05,
) -> dict[str, float]:
    """Upstream's ``compute_factor_vae``: global variances from ``num_variance_estimate`` points,
    latents with standard deviation < ``prune_threshold`` dropped, then train and eval votes."""
    _, observations = data.sample(num_variance_estimate, random_state)
    global_variances = np.var(represent_all(represent, [observations]), axis=0, ddof=1)
    active = np.sqrt(global_variances) >= prune_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    draw = (data, represent, batch_size)
    train_votes = _factor_vae_votes(*draw, num_train, random_state, global_variances, active)
    eval_votes = _factor_vae_votes(*draw, num_eval, random_state, global_variances, active)
    train_accuracy, eval_accuracy = factor_vae_accuracy(train_votes, eval_votes)
    return {"train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy, "num_active_dims": int(active.sum())}
