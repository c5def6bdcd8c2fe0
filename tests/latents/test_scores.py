import numpy as np
import pytest
from reference import unsupervised as ref

from vae_passive.latents.scores import SCORE_NAMES, covariance, mutual_info_matrix, score_subset
from vae_passive.latents.variables import SUBSETS


def ours(codes: np.ndarray, indices=None) -> dict[str, float]:
    indices = np.arange(codes.shape[1]) if indices is None else np.asarray(indices)
    return score_subset(covariance(codes), mutual_info_matrix(codes), indices)


def assert_agree(a: dict, b: dict, rel=1e-9, abs_=1e-12):
    assert set(a) == set(b) == set(SCORE_NAMES)
    for name in SCORE_NAMES:
        x, y = a[name], b[name]
        if np.isnan(y):
            assert np.isnan(x), name
        else:
            assert x == pytest.approx(y, rel=rel, abs=abs_), name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_codes_agree(seed):
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(3000, 7)) @ rng.normal(size=(7, 7)) + rng.normal(size=7)
    assert_agree(ours(codes), ref.all_scores(codes))


def test_subsets_from_full_covariance_agree_with_subset_codes():
    rng = np.random.default_rng(4)
    codes = rng.normal(size=(2000, 6)) @ rng.normal(size=(6, 6))
    kinds = np.array(["active", "active", "passive", "mixed", "passive", "mixed"])
    for subset in SUBSETS:
        indices = np.flatnonzero(np.isin(kinds, SUBSETS[subset]))
        assert_agree(ours(codes, indices), ref.all_scores(codes[:, indices]))


@pytest.mark.parametrize("constant", [0.0, 0.3])
def test_constant_latent_agrees_with_reference(constant):
    rng = np.random.default_rng(5)
    codes = rng.normal(size=(1000, 4))
    codes[:, 2] = constant  # 0.0 has exactly zero variance: TC is NaN; 0.3 leaves rounding residue
    mine, theirs = ours(codes), ref.all_scores(codes)
    assert np.isnan(mine["gaussian_total_correlation"]) == (constant == 0.0)
    assert_agree(mine, theirs, rel=1e-6)


def test_duplicated_latent_is_maximally_correlated():
    rng = np.random.default_rng(6)
    codes = rng.normal(size=(1000, 4))
    codes[:, 3] = codes[:, 0]
    mine, theirs = ours(codes), ref.all_scores(codes)
    assert mine["gaussian_total_correlation"] > 10  # log det of a singular matrix
    assert_agree(mine, theirs, rel=1e-6)
    assert mine["subset_effective_rank"] == pytest.approx(2 * np.sqrt(2), rel=0.05)  # eigenvalues ~ 2, 1, 1, 0


def test_independent_codes_score_near_zero():
    codes = np.random.default_rng(7).normal(size=(20_000, 5))
    scores = ours(codes)
    assert abs(scores["gaussian_total_correlation"]) < 1e-3
    assert scores["subset_effective_rank"] == pytest.approx(5, rel=0.02)
    assert scores["gaussian_total_correlation"] == pytest.approx(ref.all_scores(codes)["gaussian_total_correlation"])


def test_scale_invariance_of_tc():
    rng = np.random.default_rng(8)
    codes = rng.normal(size=(1000, 3)) @ rng.normal(size=(3, 3))
    scaled = codes * np.array([1e-3, 10.0, 7.0])
    assert ours(codes)["gaussian_total_correlation"] == pytest.approx(ours(scaled)["gaussian_total_correlation"])


def test_one_latent_subset_refused():
    with pytest.raises(ValueError, match="at least 2"):
        ours(np.random.default_rng(0).normal(size=(10, 3)), [1])
