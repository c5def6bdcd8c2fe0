"""SAP's ``continuous_factors`` branch against a restatement of disentanglement_lib's ``sap_score``."""

import numpy as np
import pytest
from reference.sap import continuous_sap

from vae_passive.metrics.sap import compute_sap


def _codes(seed: int = 0, n: int = 500):
    """Factors (N, 3) of 40 ordered values each (integer labels, as ground-truth data gives them, treated as
    continuous); codes (N, 5): two noisy copies of factors, a mixture, noise, a constant."""
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 40, size=(n, 3))
    codes = np.column_stack(
        [
            factors[:, 0] + 4 * rng.normal(size=n),
            factors[:, 1] + 20 * rng.normal(size=n),
            factors[:, 0] + factors[:, 2] + 12 * rng.normal(size=n),
            rng.normal(size=n),
            np.full(n, 2.0),  # constant: scores 0, as upstream's variance floor says
        ]
    )
    return codes, factors


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_continuous_sap_matches_the_reference(seed):
    codes, factors = _codes(seed)
    test_codes, test_factors = _codes(seed + 10, 100)  # unused by the continuous branch, as upstream
    result = compute_sap(codes, factors, test_codes, test_factors, continuous_factors=True)
    assert result["SAP_score"] == pytest.approx(continuous_sap(codes, factors), rel=1e-9)
    assert 0.0 < result["SAP_score"] < 1.0


def test_continuous_sap_of_a_perfect_code_is_one():
    _, factors = _codes()
    perfect = np.column_stack([factors, np.full(len(factors), 3.0)])  # each factor copied once, one constant
    score = compute_sap(perfect, factors, perfect, factors, continuous_factors=True)["SAP_score"]
    assert score == pytest.approx(1.0, abs=0.01)  # 1 less the chance correlation of independent factors
