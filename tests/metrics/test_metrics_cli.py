"""Metrics in the analysis document (analyze --metrics) and the ``score`` command."""

import json

import numpy as np
import pytest
from support.designed import designed_weights
from support.helpers import one_line_error

from vae_passive.analysis.analyze import Settings, analyze_model, locate_model, settings_hash
from vae_passive.metrics.suite import METRIC_SUBSETS
from vae_passive.tfhub.exporter import write_model_folder

QUICK = ("mig", "irs", "unsupervised", "factor_vae_metric", "beta_vae_sklearn")


@pytest.fixture(scope="module")
def designed_model(tmp_path_factory):
    return write_model_folder(
        tmp_path_factory.mktemp("zoo"), 299, designed_weights(), dataset="dsprites_full", channels=1, num_latents=10
    )


@pytest.mark.slow
def test_analysis_document_gets_metric_rows(designed_model):
    settings = Settings(num_samples=500, dataset="procedural_dsprites", metrics=QUICK, preset="fast")
    document = analyze_model(locate_model(model_dir=designed_model), settings).document
    rows = document["metrics"]
    assert {tuple(sorted(r)) for r in rows} == {
        ("classifier_defaults", "key", "metric", "preset", "preset_version", "representation", "subset", "value")
    }
    assert {(r["preset"], r["preset_version"], r["classifier_defaults"]) for r in rows} == {("fast", 2, "2019")}
    seen = {(r["representation"], r["subset"], r["metric"]) for r in rows}
    assert seen == {(rep, sub, m) for rep in ("mean", "sampled") for sub in METRIC_SUBSETS for m in QUICK}
    value = {(r["representation"], r["subset"], r["metric"], r["key"]): r["value"] for r in rows}
    # FactorVAE keeps latents with standard deviation >= 0.05: passive means are tiny, passive samples are not
    assert value[("mean", "full", "factor_vae_metric", "num_active_dims")] == 6
    assert value[("sampled", "full", "factor_vae_metric", "num_active_dims")] == 10
    assert value[("mean", "active", "factor_vae_metric", "num_active_dims")] == 3
    assert "metrics" in document["provenance"]["timings_s"]
    assert {"scores", "latents", "counts"} <= set(document)


def test_settings_hash_changes_only_when_metrics_are_requested():
    plain = settings_hash(Settings(), "procedural_dsprites")
    assert plain == settings_hash(Settings(preset="fast"), "procedural_dsprites")
    with_metrics = settings_hash(Settings(metrics=("mig",)), "procedural_dsprites")
    assert with_metrics != plain
    assert with_metrics != settings_hash(Settings(metrics=("mig",), preset="fast"), "procedural_dsprites")


def test_analyze_cli_metrics_option(cli, designed_model, tmp_path):
    result = cli(
        "analyze", "--model-dir", designed_model, "--data", "procedural_dsprites", "--num-samples", "300",
        "--metrics", "mig,unsupervised", "--preset", "fast", "--results", tmp_path, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout[result.stdout.index("{") :])
    assert {r["metric"] for r in document["metrics"]} == {"mig", "unsupervised"}
    bad = cli("analyze", "--model-dir", designed_model, "--metrics", "mig,nope", "--results", tmp_path)
    assert "unknown metric nope" in one_line_error(bad)
    for command in (("analyze", "--model-dir", designed_model), ("score", "--codes", tmp_path / "x.npz")):
        bad = cli(*command, "--classifier-defaults", "2020")  # click's usage error, as for every choice
        assert bad.exit_code != 0 and "Traceback" not in bad.output
        assert "'2020' is not one of '2019', 'current'" in bad.stderr.strip().splitlines()[-1]


def _codes_with_factors(path, n: int = 1500):
    rng = np.random.RandomState(2)
    factors = rng.randint(0, [3, 5], size=(n, 2))
    mean = np.concatenate([factors + 0.3 * rng.normal(size=factors.shape), 0.01 * rng.normal(size=(n, 2))], axis=1)
    logvar = np.concatenate([np.full((n, 2), -4.0), np.zeros((n, 2))], axis=1)
    return _write(path, mean=mean, logvar=logvar, factors=factors)


def test_analyze_codes_honours_the_preset_and_records_it(cli, tmp_path):
    """--preset fast scores at most the fast sizes of given codes (mig: 1,000 of 1,500 rows), and
    every metric row says which preset and classifier defaults produced it."""
    codes = _codes_with_factors(tmp_path / "c.npz")
    values = {}
    for preset in ("full", "fast"):
        result = cli(
            "analyze", "--codes", codes, "--metrics", "mig,sap_score", "--preset", preset,
            "--classifier-defaults", "current", "--results", tmp_path / preset, "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)["metrics"]
        assert {(r["preset"], r["classifier_defaults"]) for r in rows} == {(preset, "current")}
        values[preset] = {(r["representation"], r["subset"], r["metric"]): r["value"] for r in rows}
    assert values["full"][("mean", "full", "mig")] != values["fast"][("mean", "full", "mig")]


def test_preset_study_with_metrics_says_which_wins(cli, tmp_path):
    codes = _codes_with_factors(tmp_path / "c.npz", 300)
    both = cli("analyze", "--codes", codes, "--preset", "study", "--metrics", "mig", "--results", tmp_path, "--json")
    assert both.exit_code == 0, both.output
    assert "--metrics wins over --preset study" in both.stderr
    assert {r["metric"] for r in json.loads(both.stdout)["metrics"]} == {"mig"}
    study = cli("analyze", "--codes", codes, "--preset", "study", "--results", tmp_path / "s", "--json")
    assert study.exit_code == 0, study.output
    assert "truncated_downstream_task_logistic_regression draw from a model" in study.stderr
    assert {r["metric"] for r in json.loads(study.stdout)["metrics"]} == {"effective_rank"}


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.fixture
def codes_file(tmp_path):
    rng = np.random.RandomState(0)
    factors = rng.randint(0, [3, 4], size=(600, 2))
    codes = np.concatenate([factors + 0.1 * rng.normal(size=factors.shape), rng.normal(size=(600, 1))], axis=1)
    return _write(tmp_path / "codes.npz", codes=codes, factors=factors)


def test_score_json(cli, codes_file):
    result = cli(
        "score", "--codes", codes_file, "--metrics", "mig,sap_score,irs,unsupervised,modularity_explicitness", "--json"
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert set(scores) == {"mig", "sap_score", "irs", "unsupervised", "modularity_explicitness"}
    assert scores["mig"]["discrete_mig"] > 0.5
    text = cli("score", "--codes", codes_file, "--metrics", "mig")
    assert "discrete_mig" in text.stdout


def test_score_with_test_arrays_and_all(cli, tmp_path):
    rng = np.random.RandomState(1)
    factors, test_factors = rng.randint(0, 3, size=(150, 2)), rng.randint(0, 3, size=(60, 2))
    path = _write(
        tmp_path / "c.npz",
        codes=factors + 0.0,
        factors=factors,
        test_codes=test_factors + 0.0,
        test_factors=test_factors,
    )
    result = cli("score", "--codes", path, "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert "beta_vae_sklearn" not in scores and "downstream_task_boosted_trees" in scores
    assert scores["dci"]["informativeness_test"] == 1.0


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"codes": np.zeros((10, 2))}, "lacks factors"),
        ({"codes": np.ones((10, 2)), "factors": np.ones((9, 1), int)}, "9 rows but the codes have 10"),
        ({"codes": np.ones((10, 2)), "factors": np.full((10, 1), 0.5)}, "integer class labels"),
        ({"codes": np.full((10, 2), np.nan), "factors": np.ones((10, 1), int)}, "NaN or infinite"),
        (
            {"codes": np.ones((10, 2)), "factors": np.ones((10, 1), int), "test_codes": np.ones((3, 2))},
            "both or neither",
        ),
    ],
)
def test_score_bad_input_is_one_line(cli, tmp_path, arrays, message):
    path = _write(tmp_path / "bad.npz", **arrays)
    assert message in one_line_error(cli("score", "--codes", path))


def test_score_rejects_missing_files_and_intervention_metrics(cli, tmp_path, codes_file):
    assert "does not exist" in one_line_error(cli("score", "--codes", tmp_path / "none.npz"))
    (tmp_path / "junk.npz").write_text("not a zip")
    assert "cannot read" in one_line_error(cli("score", "--codes", tmp_path / "junk.npz"))
    assert "need `analyze --metrics`" in one_line_error(
        cli("score", "--codes", codes_file, "--metrics", "beta_vae_sklearn")
    )


@pytest.mark.slow
def test_every_registered_metric_in_one_analysis(designed_model):
    from vae_passive.metrics.registry import REGISTRY

    # all but the three that fit boosted trees per factor (two thirds of the time): their wrappers and
    # rows are those of their logistic-regression siblings, and their values are checked against the
    # reference in test_metrics_golden.py (dci, downstream_task_boosted_trees) and test_study.py
    boosted = {"dci", "downstream_task_boosted_trees", "truncated_downstream_task_boosted_trees"}
    metrics = tuple(name for name in REGISTRY if name not in boosted)
    settings = Settings(num_samples=300, dataset="procedural_dsprites", metrics=metrics, preset="fast")
    steps = []
    document = analyze_model(
        locate_model(model_dir=designed_model), settings, jobs=2, metrics_progress=lambda *step: steps.append(step)
    ).document
    assert {r["metric"] for r in document["metrics"]} == set(metrics)
    rows = document["metrics"]
    assert all(isinstance(r["value"], float) or r["value"] is None for r in rows)
    # a metric may fail on a degenerate subset (one row naming the error), never on the full code, and
    # every metric gives a number on the full mean code
    failed = [r for r in rows if r["value"] is None]
    assert all(r.get("error") and r["key"] is None for r in failed), failed
    assert not [r for r in failed if r["subset"] == "full"]
    full = [r for r in rows if r["representation"] == "mean" and r["subset"] == "full"]
    assert {r["metric"] for r in full if isinstance(r["value"], float)} == set(metrics)
    # progress: one call before each (representation, subset, metric) that ran, then a final one
    # (the truncated downstream tasks run once, on the full code, and write a row per subset)
    ran = {
        (r["representation"], "full" if REGISTRY[r["metric"]].per_subset else r["subset"], r["metric"])
        for r in document["metrics"]
    }
    assert [done for done, _, _ in steps] == list(range(len(ran) + 1))
    assert {tuple(label.split("/")) for _, _, label in steps[:-1]} == ran
    assert steps[-1] == (len(ran), len(ran), "done")


@pytest.mark.slow
def test_batch_run_with_metrics_skips_only_identical_settings(designed_model, isolated_home, tmp_path):
    """Metrics through the runner's worker processes; the settings hash covers the metric list."""
    import shutil
    import subprocess
    import sys

    shutil.copytree(designed_model, isolated_home / "models" / "299")

    def analyze(*extra):
        return subprocess.run(
            [
                *(sys.executable, "-m", "vae_passive", "analyze", "--ids", "299", "--data", "procedural_dsprites"),
                *("--num-samples", "300", "--preset", "fast", "--results", str(tmp_path), "--quiet", *extra),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = analyze("--metrics", "mig")
    assert first.returncode == 0, first.stderr
    assert "analysed 1, already done 0" in first.stdout
    document = json.loads((tmp_path / "299" / "analysis.json").read_text())
    assert {r["metric"] for r in document["metrics"]} == {"mig"}
    assert "analysed 0, already done 1" in analyze("--metrics", "mig").stdout
    assert "analysed 1, already done 0" in analyze("--metrics", "mig,irs").stdout


def test_scoring_is_pure_python():
    """``metrics.scoring``: the ``score`` command without files or click."""
    from vae_passive.metrics.scoring import check_sample, score_codes

    rng = np.random.RandomState(0)
    factors = rng.randint(0, 3, size=(300, 2))
    results = score_codes(check_sample(factors + 0.01 * rng.normal(size=factors.shape), factors), ("mig", "dci"))
    assert set(results) == {"mig", "dci"} and results["mig"]["discrete_mig"] > 0.5
    with pytest.raises(ValueError, match="both test_codes and test_factors"):
        check_sample(factors + 0.0, factors, test_codes=factors + 0.0)
    with pytest.raises(ValueError, match="at least 4 rows"):
        check_sample(np.zeros((3, 2)), np.zeros((3, 1), int))
