import numpy as np
import pytest

from vae_passive.latents.variables import LatentStatistics, Rule, classify, latent_statistics, study_subsets


def stats(m, v, vm=None):
    m, v = np.array(m, float), np.array(v, float)
    return LatentStatistics(m, v, np.array(vm if vm is not None else np.zeros_like(m), float))


def test_variance_rule_table():
    s = stats([1.0, 0.9, 1.1, 0.05, 0.1, 0.5, 1.0, 0.0, 1.2], [0, 0.05, 0.0999, 0, 0.01, 0, 0.1, 0.2, 0])
    assert classify(s).tolist() == [
        "passive",
        "passive",
        "passive",
        "active",
        "active",
        "mixed",
        "mixed",  # variance of variance at the threshold is not < 0.1
        "mixed",
        "mixed",
    ]


def test_thresholds_are_parameters():
    s = stats([0.8, 0.15], [0.0, 0.0])
    assert classify(s, Rule("variance", 0.1, 0.2)).tolist() == ["passive", "active"]
    assert classify(s, Rule("variance", 0.1, 0.1)).tolist() == ["mixed", "mixed"]


def test_mean_variance_rule():
    s = stats([1, 1, 1], [0, 0, 0], vm=[0.01, 0.5, 0.0999])
    assert classify(s, Rule("mean-variance", 0.1)).tolist() == ["passive", "active", "passive"]
    expected = {"name": "mean-variance", "var_threshold": 0.1, "mean_tolerance": None}
    assert Rule("mean-variance", 0.1).as_dict() == expected


def test_latent_statistics_use_population_variance():
    mean = np.array([[0.0, 1.0], [2.0, 1.0]])
    logvar = np.log(np.array([[1.0, 0.5], [3.0, 0.5]]))
    s = latent_statistics(mean, logvar)
    assert np.allclose(s.mean_of_variance, [2.0, 0.5])
    assert np.allclose(s.variance_of_variance, [1.0, 0.0])  # ddof 0
    assert np.allclose(s.variance_of_mean, [1.0, 0.0])
    with pytest.raises(ValueError):
        latent_statistics(mean[:1], logvar[:1])


def test_bad_rules():
    with pytest.raises(ValueError):
        Rule("median")
    with pytest.raises(ValueError):
        Rule("variance", 0.1, -1)
    with pytest.raises(ValueError):
        Rule("variance", 0.0)


def test_subsets_partition():
    subsets = study_subsets(np.array(["active", "passive", "mixed", "passive"]))
    assert subsets["full"].tolist() == [0, 1, 2, 3]
    assert subsets["mixed+passive"].tolist() == [2, 1, 3]  # the authors' order: the first kind's columns first
    assert subsets["active+mixed"].tolist() == [0, 2]
