"""The report over documents of codes computed elsewhere (``analyze --codes``, ``Analysis.save``): no zoo id,
``model.source`` "codes", catalogue fields null, ``data.real`` null (unknown)."""

import json

import numpy as np

import vae_passive


def codes_results(tmp_path):
    """A results folder with one codes document (and its codes.npz) of 3 active, 2 passive latents."""
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(400, 5))
    mean[:, 3:] *= 0.01
    logvar = np.zeros((400, 5))
    logvar[:, :3] = -8.0
    vae_passive.analyze_codes(mean, logvar, key="my_vae").save(tmp_path / "results")
    return tmp_path / "results"


def test_the_report_includes_a_codes_document(cli, tmp_path):
    results = codes_results(tmp_path)
    out = tmp_path / "report"
    result = cli("report", "--results", results, "--out", out, "--model-id", "my_vae")
    assert result.exit_code == 0, result.output
    models = (out / "tables" / "models.csv").read_text()
    assert "my_vae" in models
    figures = {path.name for path in (out / "figures").iterdir()}
    assert any("my_vae" in name and "histograms" in name for name in figures)
    assert any("my_vae" in name and "correlation" in name for name in figures)
    assert any(name.startswith("scores__") for name in figures)  # the per-method figures group it somewhere


def test_the_report_does_not_call_given_codes_a_stand_in(cli, tmp_path):
    results = codes_results(tmp_path)
    document = json.loads((results / "my_vae" / "analysis.json").read_text())
    assert document["model"]["source"] == "codes" and document["data"]["real"] is None
    out = tmp_path / "report"
    assert cli("report", "--results", results, "--out", out).exit_code == 0
    page = (out / "report.md").read_text()
    assert "stand-in" not in page and "procedural" not in page
    assert "codes" in page


def test_figure_titles_name_each_kind_of_data():
    import pandas as pd

    from vae_passive.report.render import _source_label

    models = pd.DataFrame(
        {"source": ["dsprites_full", "procedural_dsprites", "codes"], "real": pd.array([True, False, None], "boolean")}
    )
    assert _source_label(models) == (
        "data: codes (given codes, data unknown), dsprites_full (real), procedural_dsprites (procedural stand-in)"
    )


def test_a_codes_document_gets_no_notes_about_folders_and_no_nan_rows(cli, tmp_path):
    results = codes_results(tmp_path)
    out = tmp_path / "report"
    result = cli("report", "--results", results, "--out", out, "--model-id", "my_vae")
    assert result.exit_code == 0, result.output
    page = (out / "report.md").read_text()
    assert "module folder" not in page and "no traversals" not in result.stderr
    assert "training logs" not in page and "training logs" not in result.stderr
    assert "| nan |" not in page and "nan" not in page.split("Models with passive latents")[1].split("##")[0]
    assert "| not recorded | not recorded | not recorded | 1 | 1 | 100% |" in page
