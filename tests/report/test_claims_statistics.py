"""The claims' statistics (``report.claims``): the TC null, the noise spread, paired intervals, and
verdicts that follow what the codes hold (documents written by ``analyze_codes``)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t

from vae_passive.api.codes import analyze_codes
from vae_passive.latents.scores import tc_null, tc_null_quantile
from vae_passive.report import claims, tables
from vae_passive.report.claims import paired_interval, sign_test


def _tc(codes: np.ndarray) -> float:
    return float(-0.5 * np.linalg.slogdet(np.corrcoef(codes, rowvar=False))[1])


def test_tc_null_is_calibrated_on_independent_gaussian_columns():
    """P(p < 0.05) is about 5 % when the columns are independent, and the quantile inverts the p-value."""
    rng = np.random.default_rng(0)
    p = np.array([tc_null(_tc(rng.normal(size=(400, 4))), 400, 4) for _ in range(600)])
    assert 0.03 < np.mean(p < 0.05) < 0.075
    assert 0.4 < np.mean(p < 0.5) < 0.6
    assert float(tc_null(tc_null_quantile(0.95, 400, 4), 400, 4)) == pytest.approx(0.05)
    correlated = rng.normal(size=(400, 1)) + 0.5 * rng.normal(size=(400, 4))
    assert float(tc_null(_tc(correlated), 400, 4)) < 1e-12


def test_paired_interval_and_sign_test():
    mean, low, high = paired_interval(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]))
    half = t.ppf(0.975, 4) * np.std([1, 2, 3, 4, 5], ddof=1) / math.sqrt(5)
    assert (mean, low, high) == pytest.approx((3.0, 3.0 - half, 3.0 + half))
    assert sign_test(8, 8) == pytest.approx(0.5**8)
    assert sign_test(4, 8) > 0.5


def _codes(seed: int, passive_shared: float, active_logvar: float, n: int = 3000):
    """3 active latents (correlated means) and 3 passive ones (logvar 0: sigma^2 = 1 for every input)
    whose means share one factor scaled by ``passive_shared``."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 1))
    active = shared + 0.5 * rng.normal(size=(n, 3))
    passive = passive_shared * shared + 0.01 * rng.normal(size=(n, 3))
    mean = np.hstack([active, passive])
    logvar = np.hstack([np.full((n, 3), active_logvar), np.zeros((n, 3))])
    return mean, logvar


def _tables(passive_shared: float, active_logvar: float, models: int = 6) -> tables.Tables:
    builder = tables.TableBuilder()
    for seed in range(models):
        mean, logvar = _codes(seed, passive_shared, active_logvar)
        analysis = analyze_codes(mean, logvar, key=f"m{seed}", seed=seed)
        assert analysis.counts == {"active": 3, "mixed": 0, "passive": 3}
        builder.add(analysis.document)
    return builder.build()


def test_claim_a_follows_the_codes():
    """Passive means correlated but tiny next to their unit noise: high in the mean code, none in the
    sampled one. Passive means as large as their noise: the sampled code is correlated too."""
    paper = claims.claim_a(_tables(passive_shared=0.05, active_logvar=-6, models=10))
    # "none" fails in 5 % of models by chance alone (its level): the sign test allows for that
    assert paper.text.startswith("Supported: the mean code's TC far above its null in 10 of 10"), paper.text
    assert "the sampled code's differs from its null in 2 of 10 models, as often as chance gives" in paper.text
    assert "95th percentile" in paper.text and "N = 3,000, k = 3" in paper.text
    loud = claims.claim_a(_tables(passive_shared=1.5, active_logvar=-6))
    assert "the sampled code's differs from its null in 6 of 6 models, more often than chance" in loud.text
    assert loud.text.startswith("Not supported"), loud.text
    # independent passive means: the mean code is not high in any model, so the claim fails whatever the
    # sampled code does (it once read "Supported" when no model was high: 0 skipped that half of the test)
    independent = claims.claim_a(_tables(passive_shared=0.0, active_logvar=-6))
    assert independent.text.startswith("Not supported: the mean code's TC far above its null in 0 of 6"), independent
    few = claims.claim_a(_tables(passive_shared=0.05, active_logvar=-6, models=3))
    assert few.text.startswith("Too few models to say (3 with what the test needs")


def test_claim_b_compares_with_the_sampling_noise():
    """Active latents whose noise is large (logvar -3) decorrelate the sampled code by far more than
    redrawing the noise moves it: not equal. The document records that spread per subset."""
    noisy = _tables(passive_shared=0.05, active_logvar=-3.0)
    assert set(noisy.spread["subset"]) >= {"full", "active", "passive"}
    found = claims.claim_b(noisy)
    assert found.text.startswith("Not supported: the mean − sampled TC difference differs from its null in 6 of 6")
    assert "Judged by TC" in found.text and "noise sd" in found.text
    old = tables.Tables(noisy.models, noisy.latents, noisy.scores, noisy.metrics, noisy.upstream_metrics)
    assert "6 models left out: written before the sampling spread" in claims.claim_b(old).text


def test_claim_c_pairs_the_models():
    """Mean-code accuracy below the sampled code's in every model: the interval says so."""
    builder = tables.TableBuilder()
    for i in range(6):
        mean, logvar = _codes(i, 0.05, -6, n=200)
        document = analyze_codes(mean, logvar, key=f"m{i}").to_document()
        rows = []
        for representation, accuracy in (("mean", 0.4 + 0.01 * i), ("sampled", 0.6 + 0.01 * i)):
            for subset, value in (("full", accuracy), ("random", 0.1), ("active", accuracy + 0.05)):
                rows.append(
                    {"representation": representation, "subset": subset, "key": "mean_test_accuracy",
                     "metric": "truncated_downstream_task_logistic_regression", "value": value}
                )  # fmt: skip
        document["metrics"] = rows
        builder.add(document)
    text = claims.claim_c(builder.build()).text
    assert "logistic regression: not supported" in text
    assert "mean − sampled -0.200 (95 % CI -0.200 to -0.200, below 0; 6 models)" in text
    assert "without passive − full (mean code) +0.050" in text
