"""The 2019 classifier defaults (``metrics.classifiers``) against restatements of scikit-learn 0.21.3
(``tests/reference/sklearn_0213.py``), on codes where the 2019 and today's behaviours differ."""

import numpy as np
import pytest
from reference import sklearn_0213 as reference

from vae_passive.metrics import classifiers, registry
from vae_passive.metrics.common import classifier_fit
from vae_passive.metrics.interventions import evaluate_beta_vae
from vae_passive.metrics.modularity import compute_modularity_explicitness


def _ordinal_factor(n: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An ordinal factor of ``classes`` values read off latent 0 of a 2-latent code (latent 1 is noise)."""
    rng = np.random.RandomState(seed)
    factor = rng.randint(0, classes, n)
    codes = rng.normal(size=(n, 2))
    codes[:, 0] = (factor - classes / 2) / (classes / 3.5) + rng.normal(scale=0.05, size=n)
    return codes, factor


@pytest.mark.slow
def test_logistic_regression_cv_2019_is_one_vs_rest():
    """One-vs-rest on an ordinal factor: the middle classes are never the largest binary decision, so
    it scores far below the multinomial model; ours predicts as 0.21.3's algorithm does."""
    codes, factor = _ordinal_factor(1000, 16)
    train, test = slice(0, 700), slice(700, None)
    expected = reference.logistic_regression_cv_ovr(codes[train], factor[train], codes[test])
    with classifier_fit():
        old = classifiers.logistic_regression_cv("2019").fit(codes[train], factor[train]).predict(codes[test])
        new = classifiers.logistic_regression_cv("current").fit(codes[train], factor[train]).predict(codes[test])
    assert np.mean(old == expected) >= 0.99  # lbfgs stops at a tolerance: a point on a boundary may flip
    accuracy_old, accuracy_new = np.mean(old == factor[test]), np.mean(new == factor[test])
    assert accuracy_new > accuracy_old + 0.3, (accuracy_old, accuracy_new)


def test_logistic_regression_cv_2019_binary_matches_reference():
    codes, factor = _ordinal_factor(400, 2, seed=3)
    expected = reference.logistic_regression_cv_ovr(codes[:300], factor[:300], codes[300:])
    with classifier_fit():
        ours = classifiers.logistic_regression_cv("2019").fit(codes[:300], factor[:300]).predict(codes[300:])
    assert np.mean(ours == expected) >= 0.99


def test_logistic_regression_2019_is_liblinear_with_a_penalised_intercept():
    """Codes far from the origin: the penalised intercept and one-vs-rest change the probabilities."""
    rng = np.random.RandomState(1)
    labels = rng.randint(0, 4, 900)
    codes = rng.normal(size=(900, 3)) + 0.7 * labels[:, None] + 5.0
    expected_labels, expected_proba = reference.liblinear_logistic_regression(codes[:600], labels[:600], codes[600:])
    with classifier_fit():
        old = classifiers.logistic_regression("2019").fit(codes[:600], labels[:600])
        new = classifiers.logistic_regression("current").fit(codes[:600], labels[:600])
    np.testing.assert_array_equal(old.predict(codes[600:]), expected_labels)
    np.testing.assert_allclose(old.predict_proba(codes[600:]), expected_proba, atol=1e-3)
    assert np.abs(new.predict_proba(codes[600:]) - expected_proba).max() > 0.1


def test_linear_svc_2019_solves_the_dual_with_liblinears_class_weights():
    codes, factor = _ordinal_factor(900, 6, seed=2)
    expected = reference.liblinear_linear_svc(codes[:600, :1], factor[:600], codes[600:, :1])
    model = classifiers.linear_svc("2019")
    assert (model.dual, model.max_iter) == (True, 1000)
    with classifier_fit():
        ours = model.fit(codes[:600, :1], factor[:600]).predict(codes[600:, :1])
    assert np.mean(ours == expected) >= 0.99


def test_explicitness_differs_between_the_modes():
    rng = np.random.RandomState(4)
    factors = rng.randint(0, 8, size=(900, 2))
    codes = np.hstack([factors + rng.normal(scale=0.3, size=factors.shape), rng.normal(size=(900, 2))]) + 4.0
    old = compute_modularity_explicitness(codes[:600], factors[:600], codes[600:], factors[600:])
    new = compute_modularity_explicitness(
        codes[:600], factors[:600], codes[600:], factors[600:], classifier_defaults="current"
    )
    assert old["modularity_score"] == new["modularity_score"]
    assert abs(old["explicitness_score_test"] - new["explicitness_score_test"]) > 1e-3


class _Identity:
    factor_sizes = (4, 5)

    def sample_factors(self, num, random_state):
        return np.stack([random_state.randint(s, size=num) for s in self.factor_sizes], axis=1)

    def sample_observations_from_factors(self, factors, random_state):
        return np.asarray(factors, np.float64)


def _eval_factors(state: np.random.RandomState, skip_seed: bool) -> np.ndarray:
    """The factors of upstream's 20 evaluation points (batch 4) after 40 training points, replayed."""
    data, drawn = _Identity(), []
    for point in range(60):
        if point == 40 and skip_seed:
            state.randint(classifiers.LIBLINEAR_SEED_BOUND)
        index = state.randint(2)
        first, second = data.sample_factors(4, state), data.sample_factors(4, state)
        second[:, index] = first[:, index]
        drawn.append((first, second))
    return np.concatenate([np.concatenate(pair) for pair in drawn[40:]])


def test_beta_vae_2019_draws_liblinears_seed_from_the_sampling_state():
    """0.21.3's liblinear fit drew one randint(2**31 - 1) from the state upstream hands it: the
    evaluation points come after that draw; today's lbfgs draws nothing."""
    seen: dict[str, list] = {"2019": [], "current": []}
    for mode, observations in seen.items():
        represent = lambda x, seen=observations: seen.append(np.array(x)) or x  # noqa: E731
        evaluate_beta_vae(_Identity(), represent, np.random.RandomState(7), 4, 40, 20, classifier_defaults=mode)
    for mode, skip in (("2019", True), ("current", False)):
        evaluated = np.concatenate(seen[mode])[-20 * 2 * 4 :]
        per_point = evaluated.reshape(2, 20, 4, 2).transpose(1, 0, 2, 3).reshape(-1, 2)
        np.testing.assert_array_equal(per_point, _eval_factors(np.random.RandomState(7), skip))
    assert not np.array_equal(np.concatenate(seen["2019"])[-160:], np.concatenate(seen["current"])[-160:])


def test_every_classifier_metric_takes_the_mode_and_bad_modes_list_both():
    names = [name for name, spec in registry.REGISTRY.items() if spec.classifiers]
    assert set(names) == {
        "beta_vae_sklearn", "sap_score", "modularity_explicitness", "downstream_task_logistic_regression",
        "truncated_downstream_task_logistic_regression",
    }  # fmt: skip
    assert registry.params("sap_score", "full", classifier_defaults="current")["classifier_defaults"] == "current"
    assert "classifier_defaults" not in registry.params("mig")
    with pytest.raises(ValueError, match=r"choose 2019 .* or current"):
        registry.params("sap_score", classifier_defaults="2020")


@pytest.mark.filterwarnings("ignore:The fitted attributes of LogisticRegressionCV")
@pytest.mark.parametrize("mode", classifiers.CLASSIFIER_DEFAULTS)
def test_the_fast_presets_fixed_c_is_logistic_regression_cv_with_one_candidate(mode):
    """``cross_validated=False`` is what ``LogisticRegressionCV(Cs=[1.0])`` refits (one-vs-rest in 2019
    mode), without its pointless folds: the same predictions and, to lbfgs's tolerance, coefficients."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold
    from sklearn.multiclass import OneVsRestClassifier

    codes, factor = _ordinal_factor(600, 5, seed=4)
    single = LogisticRegressionCV(Cs=[1.0], cv=KFold(n_splits=5), scoring="accuracy", max_iter=100, tol=1e-4)
    reference_model = OneVsRestClassifier(single) if mode == "2019" else single
    with classifier_fit():
        ours = classifiers.logistic_regression_cv(mode, cross_validated=False).fit(codes[:400], factor[:400])
        expected = reference_model.fit(codes[:400], factor[:400])
        cross_validated = classifiers.logistic_regression_cv(mode).fit(codes[:400], factor[:400])
    np.testing.assert_array_equal(ours.predict(codes[400:]), expected.predict(codes[400:]))
    np.testing.assert_allclose(ours.predict_proba(codes[400:]), expected.predict_proba(codes[400:]), atol=1e-3)
    assert isinstance(ours, OneVsRestClassifier) == isinstance(cross_validated, OneVsRestClassifier) == (mode == "2019")
    assert not hasattr(ours.estimators_[0] if mode == "2019" else ours, "Cs_")  # no CV was run


def test_the_fast_preset_records_and_uses_smaller_predictors():
    """Each predictor-fitting metric names its predictor's size in its settings: upstream's under
    ``full`` and ``study``, 5 boosting rounds and a fixed C under ``fast``, for drawn and given codes."""
    from vae_passive.metrics.predictors import make_predictor

    trees = ("dci", "downstream_task_boosted_trees", "truncated_downstream_task_boosted_trees")
    linear = ("downstream_task_logistic_regression", "truncated_downstream_task_logistic_regression")
    for preset in ("full", "study"):
        assert all(registry.params(name, preset)["n_estimators"] == 100 for name in trees)
        assert all(registry.params(name, preset)["cross_validated"] is True for name in linear)
    assert all(registry.params(name, "fast")["n_estimators"] == 5 for name in trees)
    assert all(registry.params(name, "fast")["cross_validated"] is False for name in linear)
    assert registry.compute_params("dci", preset="fast") == {"jobs": 1, "n_estimators": 5}
    assert make_predictor("boosted_trees", n_estimators=5).n_estimators == 5
    assert make_predictor("boosted_trees").n_estimators == 100


def test_given_codes_under_the_fast_preset_use_its_predictors():
    """``score_codes(..., preset="fast")``: DCI on the fast rows with 5 boosting rounds, the logistic
    task at a fixed C; ``full`` keeps upstream's 100 rounds and its cross-validation."""
    from vae_passive.metrics.dci import compute_dci
    from vae_passive.metrics.downstream import compute_downstream
    from vae_passive.metrics.scoring import check_sample, score_codes

    codes, factor = _ordinal_factor(300, 6, seed=5)
    factors = np.stack([factor, factor % 2], axis=1)
    sample = check_sample(codes[:200], factors[:200], codes[200:], factors[200:])
    fast = score_codes(sample, ("dci", "downstream_task_logistic_regression"), preset="fast")
    assert fast["dci"] == compute_dci(codes[:100], factors[:100], codes[200:], factors[200:], n_estimators=5)
    expected = compute_downstream(
        codes[:10], factors[:10], codes[200:], factors[200:], "logistic_regression", cross_validated=False
    )
    assert fast["downstream_task_logistic_regression"] == expected
    full = score_codes(sample, ("dci",), preset="full")
    assert full["dci"] == compute_dci(codes[:200], factors[:200], codes[200:], factors[200:])
