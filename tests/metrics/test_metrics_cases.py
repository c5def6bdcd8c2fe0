"""The cases of disentanglement_lib's own metric tests, restated: perfect codes, noise codes,
duplicated latents, bounds; plus the registry, the presets and the encode-once cache."""

import math
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score, roc_auc_score

from vae_passive.metrics import registry
from vae_passive.metrics.classifiers import LOGISTIC_REGRESSION
from vae_passive.metrics.common import check_factors, classifier_fit, mutual_info_matrix
from vae_passive.metrics.dci import compute_dci
from vae_passive.metrics.encoded import EncodedData
from vae_passive.metrics.interventions import evaluate_beta_vae, evaluate_factor_vae
from vae_passive.metrics.irs import compute_irs
from vae_passive.metrics.mig import compute_mig
from vae_passive.metrics.modularity import compute_modularity_explicitness, explicitness, macro_roc_auc, modularity
from vae_passive.metrics.sap import compute_sap
from vae_passive.metrics.unsupervised import compute_unsupervised

N = 2000


def _factors(seed: int = 0, n: int = N, sizes=(10, 10)) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, sizes, size=(n, len(sizes)))


def _noise(seed: int = 1, n: int = N, latents: int = 2) -> np.ndarray:
    return np.random.RandomState(seed).normal(size=(n, latents))


class Identity:
    """Factors of sizes (4, 5, 6) whose observation is the factors themselves (float)."""

    name = "identity"
    factor_sizes = (4, 5, 6)
    deterministic_observations = True

    def sample_factors(self, num, random_state):
        return np.stack([random_state.randint(s, size=num) for s in self.factor_sizes], axis=1)

    def sample_observations_from_factors(self, factors, random_state):
        return np.asarray(factors, np.float64)

    def sample(self, num, random_state):
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def index_of(self, factors):
        return (factors[:, 0] * 5 + factors[:, 1]) * 6 + factors[:, 2]


def test_mutual_information_equals_scikit_learn():
    labels = np.random.RandomState(3).randint(0, [7, 3, 1], size=(500, 3))
    ours = mutual_info_matrix(labels, labels)
    expected = [[mutual_info_score(labels[:, i], labels[:, j]) for j in range(3)] for i in range(3)]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def test_mig_cases():
    factors = _factors()
    assert 0.95 < compute_mig(factors.astype(float), factors)["discrete_mig"] <= 1.0
    assert compute_mig(_noise(), factors)["discrete_mig"] < 0.05
    duplicated = np.repeat(factors[:, :1].astype(float), 2, axis=1)
    assert compute_mig(duplicated, factors)["discrete_mig"] == pytest.approx(0.0, abs=1e-12)


def test_sap_cases():
    factors, test = _factors(0), _factors(1)
    perfect = compute_sap(factors.astype(float), factors, test.astype(float), test)["SAP_score"]
    assert perfect > 0.15
    assert compute_sap(_noise(2), factors, _noise(3), test)["SAP_score"] < 0.05
    dup, dup_test = (np.repeat(f[:, :1].astype(float), 2, axis=1) for f in (factors, test))
    assert compute_sap(dup, factors, dup_test, test)["SAP_score"] == pytest.approx(0.0)


def test_modularity_cases():
    assert modularity(np.eye(3)) == 1.0
    assert modularity(np.ones((3, 3))) == pytest.approx(0.0)
    assert modularity(np.zeros((2, 2))) == 0.0
    factors, test = _factors(0), _factors(1)
    perfect = compute_modularity_explicitness(factors.astype(float), factors, test.astype(float), test)
    assert perfect["modularity_score"] == pytest.approx(1.0, abs=1e-3)
    noise = compute_modularity_explicitness(_noise(2), factors, _noise(3), test)
    assert 0.4 < noise["explicitness_score_test"] < 0.6


@pytest.mark.parametrize("classes", [2, 3, 17])
def test_macro_roc_auc_equals_scikit_learn(classes):
    """The rank formula gives scikit-learn's ROC area, ties included (scores rounded to force them)."""
    rng = np.random.RandomState(classes)
    labels = rng.randint(0, classes, size=3000) * 7 + 2  # sparse label values, sorted order matters
    scores = np.round(rng.dirichlet(np.ones(classes), size=3000), 2)
    binarised = (labels[:, None] == np.unique(labels)[None, :]).astype(int)
    assert macro_roc_auc(labels, scores) == pytest.approx(roc_auc_score(binarised, scores), abs=1e-12)
    with pytest.raises(ValueError, match="missing from the test sample"):
        macro_roc_auc(labels[labels != labels[0]], scores[labels != labels[0]])


def test_irs_cases():
    factors = _factors()
    assert compute_irs(factors.astype(float), factors)["IRS"] == pytest.approx(1.0)
    assert compute_irs(_noise(), factors)["IRS"] < 0.5
    constant = np.ones((N, 3))
    assert compute_irs(constant, factors) == {"IRS": 0.0, "num_active_dims": 0}
    duplicated = np.concatenate([factors.astype(float), factors[:, :1].astype(float)], axis=1)
    assert compute_irs(duplicated, factors)["num_active_dims"] == 3


def test_unsupervised_cases():
    independent = compute_unsupervised(_noise(latents=4))
    assert abs(independent["gaussian_total_correlation"]) < 0.01
    assert independent["gaussian_wasserstein_correlation_norm"] < 0.01
    codes = _noise(latents=2)
    assert np.isinf(compute_unsupervised(np.concatenate([codes, codes[:, :1]], axis=1))["gaussian_total_correlation"])


@pytest.mark.slow
def test_dci_cases():
    factors, test = _factors(0, 600, (4, 4)), _factors(1, 300, (4, 4))
    perfect = compute_dci(factors.astype(float), factors, test.astype(float), test)
    assert perfect["disentanglement"] > 0.9 and perfect["completeness"] > 0.9
    assert perfect["informativeness_test"] == 1.0
    dup = np.concatenate([factors, factors], axis=1).astype(float)
    dup_test = np.concatenate([test, test], axis=1).astype(float)
    assert compute_dci(dup, factors, dup_test, test)["completeness"] < 0.9


def test_intervention_metrics_on_a_perfect_code():
    data = Identity()
    beta = evaluate_beta_vae(data, lambda x: x, np.random.RandomState(0), batch_size=8, num_train=200, num_eval=100)
    assert beta == {"train_accuracy": 1.0, "eval_accuracy": 1.0}
    factor = evaluate_factor_vae(
        data,
        lambda x: x,
        np.random.RandomState(0),
        batch_size=8,
        num_train=200,
        num_eval=100,
        num_variance_estimate=500,
    )
    assert factor == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 3}
    collapsed = evaluate_factor_vae(data, lambda x: 0 * x, np.random.RandomState(0), 8, 10, 10, 100)
    assert collapsed == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}


@pytest.mark.parametrize("name", [n for n, s in registry.REGISTRY.items() if s.fixed_sample and not s.parallel])
def test_bounds_on_random_codes(name):
    factors, test = _factors(0, 600, (3, 5)), _factors(1, 300, (3, 5))
    params = registry.compute_params(name)
    result = registry.REGISTRY[name].compute(_noise(2, 600, 3), factors, _noise(3, 300, 3), test, **params)
    if name == "effective_rank":
        assert 1.0 <= result["effective_rank"] <= result["rank"] == 3
        return
    if name == "unsupervised":  # independent noise: correlations near 0, MI within its range of 20 bins
        correlations = ("gaussian_total_correlation", "gaussian_wasserstein_correlation")
        assert all(0.0 <= result[key] < 0.05 for key in correlations), result
        assert 0.0 <= result["gaussian_wasserstein_correlation_norm"] < 0.05, result
        assert 0.0 <= result["mutual_info_score"] <= math.log(20), result
        return
    for key, value in result.items():
        if key == "num_active_dims":
            continue
        assert 0.0 <= value <= 1.0, (key, value)


def test_encoded_data_encodes_each_image_once_and_matches_direct_encoding():
    data, calls = Identity(), []

    def encode(obs):
        calls.append(len(obs))
        return obs * 2.0, np.zeros_like(obs)

    cached = EncodedData(data, encode)
    mean = cached.represent("mean")
    direct = registry.evaluate("mig", data, lambda x: 2.0 * x, np.random.RandomState(5), "fast")
    assert registry.evaluate("mig", cached, mean, np.random.RandomState(5), "fast") == direct
    registry.evaluate("mig", cached, mean, np.random.RandomState(6), "fast")
    assert sum(calls) == cached.encoded <= 4 * 5 * 6  # every image at most once, across calls
    sampled = cached.represent("sampled", np.random.default_rng(0))
    indices = np.arange(10)
    assert not np.array_equal(sampled(indices), sampled(indices))  # fresh noise per use


def test_registry_names_presets_and_parsing():
    assert set(registry.REGISTRY) == {
        "beta_vae_sklearn", "factor_vae_metric", "mig", "dci", "sap_score", "modularity_explicitness", "irs",
        "unsupervised", "downstream_task_logistic_regression", "downstream_task_boosted_trees",
        "effective_rank", "truncated_downstream_task_logistic_regression", "truncated_downstream_task_boosted_trees",
    }  # fmt: skip
    expected = {"num_train": 10_000, "num_test": 5_000, "n_estimators": 100, "jobs": 2}
    assert registry.params("dci", "full", jobs=2) == expected
    assert registry.params("mig", "fast")["num_train"] < registry.params("mig", "full")["num_train"]
    assert registry.parse_metrics("sap_score, mig") == ("mig", "sap_score")
    assert "beta_vae_sklearn" not in registry.parse_metrics("all", fixed_sample_only=True)
    with pytest.raises(ValueError, match="unknown metric nope"):
        registry.parse_metrics("mig,nope")
    assert registry.seed_for("sampled", "unsupervised") == 2051556033
    assert registry.seed_for("mean", "dci") == 3626093760
    # the authors' seeds per predictor, for both representations
    assert registry.seed_for("mean", "truncated_downstream_task_logistic_regression") == 3830135878
    assert registry.seed_for("sampled", "truncated_downstream_task_boosted_trees") == 1277901399
    assert registry.params("truncated_downstream_task_boosted_trees", "study") == registry.params(
        "truncated_downstream_task_boosted_trees", "full"
    )


def test_classifier_fit_uses_one_thread_and_keeps_convergence_warnings_quiet():
    """Inside ``classifier_fit`` BLAS has one thread; an lbfgs fit stopped at max_iter does not warn
    (the reference stops in the same place), and outside the context it warns again."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_info

    factors = _factors(5, sizes=(10, 10))
    codes = np.hstack([factors * 1e3, _noise(6, latents=2) * 1e3])  # badly scaled: lbfgs needs > 100 steps
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with classifier_fit():
            assert all(pool["num_threads"] == 1 for pool in threadpool_info())
            explicitness(codes, factors[:, 0], codes, factors[:, 0], "current")
        assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
        LogisticRegression(**LOGISTIC_REGRESSION).fit(codes, factors[:, 0])
    assert [w for w in caught if issubclass(w.category, ConvergenceWarning)], "the fit did converge: no test"


def test_factor_checks():
    with pytest.raises(ValueError, match="integer class labels"):
        check_factors(np.full((3, 1), 0.5), 3)
    assert check_factors(np.ones((3, 1)), 3).dtype == np.int64
