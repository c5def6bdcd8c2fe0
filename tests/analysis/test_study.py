"""The authors' study, as their code does it: subsets, reasons, noise independent across models."""

import numpy as np
import pytest

from vae_passive.analysis.analyze import score_representations
from vae_passive.latents.representations import noise_seed, sampled_representation
from vae_passive.latents.variables import LatentStatistics, Rule, classify, reasons, study_subsets


def test_pairs_only_when_both_kinds_have_latents():
    kinds = np.array(["active", "active", "mixed", "mixed", "active"])  # no passive latent
    subsets = study_subsets(kinds)
    assert list(subsets) == ["full", "active", "mixed", "active+mixed"]
    assert subsets["active+mixed"].tolist() == [0, 1, 4, 2, 3]  # the authors' column order
    everything = np.array(["active", "passive", "mixed", "passive"])
    assert list(study_subsets(everything)) == [
        "full", "active", "passive", "mixed", "active+mixed", "active+passive", "mixed+passive",
    ]  # fmt: skip
    # the correlation scores need two latents: single-latent kinds drop out, pairs stay
    assert list(study_subsets(everything, min_latents=2)) == [
        "full", "passive", "active+mixed", "active+passive", "mixed+passive",
    ]  # fmt: skip


def test_scores_skip_pairs_with_an_empty_kind():
    rng = np.random.default_rng(0)
    codes = {"mean": rng.normal(size=(500, 4)), "sampled": rng.normal(size=(500, 4))}
    kinds = np.array(["active", "active", "mixed", "mixed"])
    rows = score_representations(codes, kinds)
    assert {row["subset"] for row in rows} == {"full", "active", "mixed", "active+mixed"}
    assert len(rows) == 8


def test_every_latent_gets_the_condition_that_decided_its_kind():
    stats = LatentStatistics(
        mean_of_variance=np.array([1.0, 0.01, 0.5, 1.14, 0.5, 1.0]),
        variance_of_variance=np.array([0.0, 0.0, 0.0, 0.0, 0.3, 0.2]),
        variance_of_mean=np.array([0.0, 1.0, 0.5, 0.01, 0.2, 0.05]),
    )
    assert classify(stats).tolist() == ["passive", "active", "mixed", "mixed", "mixed", "mixed"]
    assert reasons(stats).tolist() == ["prior", "narrow", "between_bands", "above_prior", "varies", "varies"]
    legacy = Rule("mean-variance")
    assert reasons(stats, legacy).tolist() == [
        "constant_mean", "varying_mean", "varying_mean", "constant_mean", "varying_mean", "constant_mean",
    ]  # fmt: skip


def test_noise_is_repeatable_per_model_and_independent_across_models():
    assert noise_seed(2051556033, "17") == noise_seed(2051556033, "17")
    seeds = {noise_seed(2051556033, str(model_id)) for model_id in range(2000)}
    assert len(seeds) == 2000
    assert noise_seed(0, "17") != noise_seed(1, "17")
    assert all(0 <= seed < 2**63 for seed in seeds)
    mean, logvar = np.zeros((10_000, 10)), np.zeros((10_000, 10))
    first = sampled_representation(mean, logvar, noise_seed(2051556033, "0"))
    second = sampled_representation(mean, logvar, noise_seed(2051556033, "1"))
    assert abs(np.corrcoef(first.ravel(), second.ravel())[0, 1]) < 0.01
    again = sampled_representation(mean, logvar, noise_seed(2051556033, "0"))
    assert np.array_equal(first, again)


#: Pinned: saved codes and documents were sampled with these seeds; a change of the derivation
#: (SeedSequence of the seed and the key's UTF-8 CRC-32) would silently change every sampled score.
PINNED_NOISE_SEEDS = {"": 6315739163131927091, "model with spaces": 3865344662783910669, "ünïcode": 8006157570045090865}


@pytest.mark.parametrize("key", list(PINNED_NOISE_SEEDS))
def test_noise_seed_takes_any_key(key):
    assert noise_seed(5, key) == PINNED_NOISE_SEEDS[key]


def _fixed_codes(kinds: list[str], seed: int = 3):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 3, size=(450, 2))
    codes = rng.normal(size=(450, len(kinds))) + 0.8 * factors[:, [0] * len(kinds)]
    return codes[:300], factors[:300], codes[300:], factors[300:]


@pytest.mark.parametrize(
    ("kinds", "predictor", "tolerance"),
    [
        (["active", "passive", "mixed", "active", "passive"], "logistic_regression", 1e-9),
        (["active", "active", "mixed"], "logistic_regression", 1e-9),
        (["passive", "passive", "passive"], "logistic_regression", 1e-9),
        (["active", "passive", "mixed", "passive"], "boosted_trees", 0.0),
    ],
)
def test_truncated_downstream_agrees_with_the_authors(kinds, predictor, tolerance):
    from reference.truncated import gradient_boosting_classifier, logistic_regression_cv, truncated_downstream

    from vae_passive.metrics.truncated import compute_truncated_downstream

    codes, factors, test_codes, test_factors = _fixed_codes(kinds)
    # the restatement runs on today's scikit-learn, so ours runs with its defaults ("current")
    ours = compute_truncated_downstream(
        codes, factors, test_codes, test_factors, np.array(kinds), predictor, classifier_defaults="current"
    )
    index = {kind: [j for j, k in enumerate(kinds) if k == kind] for kind in ("active", "mixed", "passive")}
    theirs = truncated_downstream(
        codes.T, factors.T, test_codes.T, test_factors.T, index["active"], index["mixed"], index["passive"],
        logistic_regression_cv if predictor == "logistic_regression" else gradient_boosting_classifier,
    )  # fmt: skip
    assert {name.replace("+", "_") for name in ours} == set(theirs)
    for name, scores in ours.items():
        expected = theirs[name.replace("+", "_")]
        assert scores.keys() == expected.keys()
        for key, value in scores.items():
            assert value == pytest.approx(expected[key], abs=tolerance), (name, key)


@pytest.mark.slow
def test_truncated_downstream_rows_in_the_document(tmp_path):
    from support.designed import designed_weights

    from vae_passive.analysis.analyze import Settings, analyze_model, locate_model
    from vae_passive.metrics.registry import STUDY_METRICS, parse_metrics
    from vae_passive.tfhub.exporter import write_model_folder

    assert parse_metrics("study") == STUDY_METRICS
    folder = write_model_folder(tmp_path, 299, designed_weights(), dataset="dsprites_full", channels=1, num_latents=10)
    name = "truncated_downstream_task_logistic_regression"
    settings = Settings(num_samples=300, dataset="procedural_dsprites", metrics=(name, "effective_rank"), preset="fast")
    rows = analyze_model(locate_model(model_dir=folder), settings).document["metrics"]
    ranks = [r for r in rows if r["metric"] == "effective_rank"]
    assert {(r["representation"], r["subset"], r["key"]) for r in ranks} == {
        (rep, "full", key) for rep in ("mean", "sampled") for key in ("rank", "effective_rank")
    }
    assert all(1.0 <= r["value"] <= 10.0 for r in ranks)
    rows = [r for r in rows if r["metric"] == name]
    subsets = {"full", "random", "active", "passive", "mixed", "active+mixed", "active+passive", "mixed+passive"}
    for representation in ("mean", "sampled"):
        mine = [r for r in rows if r["representation"] == representation]
        assert {r["subset"] for r in mine} == subsets
        assert {r["metric"] for r in mine} == {name}
        value = {(r["subset"], r["key"]): r["value"] for r in mine}
        # procedural dSprites has 5 factors: one accuracy pair per factor besides the summaries
        assert len([k for s, k in value if s == "full"]) == 4 + 2 * 5
        assert all(0.0 <= v <= 1.0 for v in value.values())
        # the baseline guesses uniformly: dSprites' x position has 32 values
        assert value[("random", "test_accuracy_factor_3")] < 0.2


def test_effective_rank_as_the_authors_compute_it():
    from vae_passive.metrics.effective_rank import compute_effective_rank

    rng = np.random.default_rng(1)
    codes = rng.normal(size=(1000, 6)) * np.array([3.0, 1.0, 1.0, 0.5, 0.1, 0.0])
    # their lines: np.cov of (latents, N), svd, drop exact zeros, normalise, exp of the entropy
    singular = np.linalg.svd(np.cov(codes.T), compute_uv=False)
    p = singular[singular != 0] / singular[singular != 0].sum()
    expected = np.exp(-(p * np.log(p)).sum())
    assert compute_effective_rank(codes) == {"rank": 6.0, "effective_rank": pytest.approx(expected, rel=1e-12)}


def test_the_studies_model_selections():
    from vae_passive.errors import VaePassiveError
    from vae_passive.zoo import catalogue

    authors = [r.id for r in catalogue.select(study="be-more-active")]
    assert len(authors) == 9000 == catalogue.STUDIES["be-more-active"].size
    assert {catalogue.record(i).method for i in authors} == set(catalogue.METHOD_NAMES) - {"dip_vae_i"}
    assert {catalogue.record(i).dataset for i in authors} == set(catalogue.DATASETS) - {"shapes3d"}
    assert len(list(catalogue.select(study="unsupervised_study_v1"))) == 10_800
    # combinable with the other filters
    cars = list(catalogue.select(study="be-more-active", dataset="cars3d", method="beta_vae"))
    assert len(cars) == 300
    with pytest.raises(VaePassiveError, match="outside the study be-more-active"):
        list(catalogue.select([0, 600], study="be-more-active"))  # 600 is dip_vae_i
    with pytest.raises(VaePassiveError, match="choose one of be-more-active, unsupervised_study_v1"):
        list(catalogue.select(study="paper"))
    assert [s.name for s in catalogue.studies_covering([0, 9000])] == ["be-more-active", "unsupervised_study_v1"]
    assert [s.name for s in catalogue.studies_covering([600])] == ["unsupervised_study_v1"]
