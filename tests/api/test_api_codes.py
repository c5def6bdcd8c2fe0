"""The Python API: ``vae_passive.analyze_codes`` gives what ``analyze`` gives, from arrays; ``Analysis``'s
tables, figures, document and results folder; ``classify`` and ``scores``; a light ``import vae_passive``."""

import json
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from reference import unsupervised as ref
from support.designed import EXPECTED_KINDS, designed_weights

import vae_passive
from vae_passive.analysis.analyze import Settings, analyze_model, locate_model
from vae_passive.latents import variables
from vae_passive.tfhub.exporter import write_model_folder


@pytest.fixture(scope="module")
def module_result(tmp_path_factory):
    """analyze_model of a designed module (known kinds) on 1,000 stand-in inputs."""
    folder = write_model_folder(
        tmp_path_factory.mktemp("zoo"),
        7,
        designed_weights(),
        dataset="dsprites_full",
        channels=1,
        num_latents=10,
        gin_bindings={"vae_passive.training_data": "procedural_dsprites"},
    )
    return analyze_model(locate_model(model_dir=folder), Settings(num_samples=1000, seed=5))


def test_analyze_codes_equals_analyze_on_a_designed_module(module_result):
    codes, document = module_result.codes, module_result.document
    analysis = vae_passive.analyze_codes(codes["mean"], codes["logvar"], seed=5, key="7")
    assert list(analysis.kinds) == EXPECTED_KINDS
    assert np.array_equal(analysis.sampled, codes["sampled"])
    assert analysis.document["latents"] == document["latents"]
    assert analysis.document["scores"] == document["scores"]
    assert analysis.document["counts"] == document["counts"]
    assert analysis.document["data"]["noise_seed"] == document["data"]["noise_seed"]
    other = vae_passive.analyze_codes(codes["mean"], codes["logvar"], seed=5, key="8")  # another model's noise
    assert not np.array_equal(other.sampled, codes["sampled"])
    assert list(vae_passive.classify(codes["mean"], codes["logvar"])) == EXPECTED_KINDS
    # both entry points share their code: check the values against what is computed here, independently
    noise = (codes["sampled"] - codes["mean"]) / np.exp(codes["logvar"] / 2.0)  # z = mu + sigma * eps
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1.0) < 0.05
    kinds = np.array(EXPECTED_KINDS)
    for row in document["scores"]:
        chosen = list(variables.KINDS) if row["subset"] == "full" else row["subset"].split("+")
        columns = np.flatnonzero(np.isin(kinds, chosen))
        assert row["num_latents"] == len(columns) >= 2
        expected = ref.all_scores(codes[row["representation"]][:, columns])
        for name, value in expected.items():
            assert row[name] == pytest.approx(value, rel=1e-5, abs=1e-9), (row["representation"], row["subset"], name)


def numpy_codes(n=500, seed=0):
    """What a user's encoder gives: 3 active, 2 passive, 1 mixed latent, and 2 factors."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(n, 6)).astype(np.float32)
    mean[:, 3:5] *= 0.01
    logvar = np.zeros((n, 6), np.float32)
    logvar[:, :3] = -8.0
    logvar[:, 5] = rng.normal(scale=2.0, size=n)
    return mean, logvar, rng.integers(0, 4, size=(n, 2))


def test_the_docs_flow_with_numpy_arrays(cli, tmp_path):
    """docs/api.md's example, with numpy arrays standing in for the PyTorch encoder's."""
    mean, logvar, factors = numpy_codes()
    analysis = vae_passive.analyze_codes(mean, logvar, factors=factors, key="my_vae", metrics=["mig"])
    assert analysis.counts == {"active": 3, "mixed": 1, "passive": 2}
    assert list(analysis.reasons) == ["narrow"] * 3 + ["prior"] * 2 + ["varies"]
    latents, scores = analysis.latents, analysis.scores
    assert list(latents["kind"]) == list(analysis.kinds) and set(latents["key"]) == {"my_vae"}
    assert {"representation", "subset", "score", "result"} <= set(scores.columns)
    full_tc = scores[(scores["subset"] == "full") & (scores["score"] == "gaussian_total_correlation")]
    assert len(full_tc) == 2
    assert set(analysis.metrics["metric"]) == {"mig"}
    document = analysis.to_document()
    assert document["schema"] == "vae-passive/analysis/1" and document["model"]["source"] == "codes"
    document["counts"]["active"] = 0  # a copy
    assert analysis.counts["active"] == 3
    path = analysis.save(tmp_path / "results")
    assert json.loads(path.read_text()) == analysis.document
    assert set(np.load(path.parent / "codes.npz").files) == {"mean", "logvar", "sampled", "factors", "key"}
    result = cli("report", "--results", tmp_path / "results", "--out", tmp_path / "report", "--model-id", "my_vae")
    assert result.exit_code == 0, result.output
    assert "my_vae" in (tmp_path / "report" / "report.md").read_text()


def test_plots_return_figures_and_take_one(tmp_path):
    analysis = vae_passive.analyze_codes(*numpy_codes()[:2])
    histograms, correlations, scores = analysis.plot_histograms(), analysis.plot_correlations(), analysis.plot_scores()
    assert all(isinstance(fig, Figure) for fig in (histograms, correlations, scores))
    assert len(histograms.axes) == 6 * 3
    assert len(scores.axes) == 5  # one panel per score
    given = Figure()
    assert analysis.plot_scores(fig=given) is given
    scores.savefig(tmp_path / "scores.png")
    assert (tmp_path / "scores.png").stat().st_size > 0


def test_scores_of_the_pieces():
    mean, logvar, _ = numpy_codes()
    analysis = vae_passive.analyze_codes(mean, logvar)
    by_kinds = vae_passive.scores(analysis.sampled, analysis.kinds)
    rows = {(r["subset"], r["representation"]): r for r in analysis.document["scores"]}
    assert set(by_kinds) == {subset for subset, rep in rows if rep == "sampled"}
    for subset, values in by_kinds.items():
        expected = rows[subset, "sampled"]
        assert values == {name: expected[name] for name in values}
    custom = vae_passive.scores(analysis.mean, {"first_two": [0, 1]})
    assert set(custom) == {"first_two"}
    expected = ref.all_scores(analysis.mean[:, [0, 1]])  # the restatement of upstream's scores
    assert custom["first_two"] == pytest.approx({name: expected[name] for name in custom["first_two"]}, rel=1e-6)


BAD_CALLS = {
    "shapes": (lambda m, lv, f: vae_passive.analyze_codes(m, lv[:, :2]), "differ in shape"),
    "nan": (lambda m, lv, f: vae_passive.analyze_codes(np.where(m > 2, np.nan, m), lv), "NaN"),
    "one row": (lambda m, lv, f: vae_passive.analyze_codes(m[:1], lv[:1]), "N >= 2"),
    "factors": (lambda m, lv, f: vae_passive.analyze_codes(m, lv, factors=f[:3]), "3 rows"),
    "metrics without factors": (lambda m, lv, f: vae_passive.analyze_codes(m, lv, metrics="mig"), "need factors"),
    "intervening metric": (
        lambda m, lv, f: vae_passive.analyze_codes(m, lv, factors=f, metrics=["factor_vae_metric"]),
        "fixed-sample",
    ),
    "rule": (lambda m, lv, f: vae_passive.analyze_codes(m, lv, rule="median"), "unknown rule"),
    "subsets": (lambda m, lv, f: vae_passive.scores(m, ["active"]), "one kind"),
}


@pytest.mark.parametrize("case", BAD_CALLS, ids=list(BAD_CALLS))
def test_bad_input_is_one_line(tmp_path, case):
    call, message = BAD_CALLS[case]
    with pytest.raises(vae_passive.VaePassiveError, match=message) as raised:
        call(*numpy_codes())
    assert "\n" not in str(raised.value)


def test_import_is_light_and_fast():
    code = (
        "import sys, time; t = time.perf_counter(); import vae_passive; t = time.perf_counter() - t; "
        "heavy = [m for m in ('tensorflow', 'pandas', 'matplotlib', 'sklearn', 'scipy') if m in sys.modules]; "
        "print(t, heavy, set(vae_passive.__all__) <= set(dir(vae_passive)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert float(out[0]) < 1.0
    assert out[1].strip() == "[] True"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        vae_passive.nothing  # noqa: B018


def test_plot_scores_has_units_a_zero_based_axis_and_a_legend_off_the_bars():
    mean, logvar, _ = numpy_codes()
    analysis = vae_passive.analyze_codes(mean, logvar)
    fig = analysis.plot_scores()
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert panels and all(ax.get_legend() is None for ax in panels) and fig.legends
    assert {ax.get_ylabel() for ax in panels} >= {"nats"}
    assert all(ax.get_ylim()[0] == 0.0 for ax in panels)


def test_print_shows_a_short_summary_not_the_arrays():
    mean, logvar, _ = numpy_codes()
    text = repr(vae_passive.analyze_codes(mean, logvar, key="my_vae"))
    assert text.startswith("Analysis(key='my_vae', N=500, latents=6: 3 active, 1 mixed, 2 passive; passive TC mean ")
    assert len(text) < 300 and "array" not in text
    warned = repr(vae_passive.analyze_codes(mean, np.exp(logvar / 2)))  # sigma where log sigma^2 belongs
    assert "warning(s): every log-variance is ≥ 0" in warned


def test_saving_two_analyses_without_a_key_does_not_overwrite_silently(tmp_path):
    mean, logvar, _ = numpy_codes()
    first, second = vae_passive.analyze_codes(mean, logvar), vae_passive.analyze_codes(mean[::-1], logvar[::-1])
    path = first.save(tmp_path)
    assert first.save(tmp_path) == path  # the same analysis again: fine
    with pytest.raises(vae_passive.VaePassiveError, match="holds another analysis; give analyze_codes a key="):
        second.save(tmp_path)
    assert json.loads(path.read_text())["provenance"] == first.document["provenance"]
    second.save(tmp_path, overwrite=True)
    assert json.loads(path.read_text())["provenance"] == second.document["provenance"]
