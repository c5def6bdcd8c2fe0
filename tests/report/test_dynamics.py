"""The report's training dynamics: figures of logged models, notes for folders without logs."""

import numpy as np
import pandas as pd
import pytest
from support.report_docs import make_document, write_documents

from vae_passive.analysis.monitor import TrainingMonitor
from vae_passive.errors import VaePassiveError
from vae_passive.report import dynamics
from vae_passive.report.render import build_report


def write_logs(folder, seed, steps=(0, 50, 100)):
    """Logs in train --log-every's format (its writer), from codes whose latents 7..9 drift to the prior."""
    rng = np.random.default_rng(seed)
    with TrainingMonitor(folder, tensorboard=False) as monitor:
        for step in steps:
            mean = rng.normal(size=(300, 10)) * np.r_[np.ones(7), np.full(3, 1.0 - step / 100 + 0.01)]
            logvar = np.r_[np.full(7, -3.0), np.full(3, np.log(1.0 - 0.5 * (1 - step / 100)))] + 0 * mean
            monitor.log(step, mean, logvar)


@pytest.fixture
def logged_results(tmp_path):
    models = tmp_path / "models"
    for key in ("250", "251"):
        write_logs(models / key, int(key))
    (models / "0").mkdir(parents=True)  # a model folder without logs
    docs = [make_document(int(key), path=str(models / key)) for key in ("0", "250", "251")]
    return write_documents(tmp_path / "results", docs), models


def test_figures_per_group_and_model_and_a_note_for_the_rest(logged_results, tmp_path):
    _, models = logged_results
    frame = pd.DataFrame(
        {"key": ["0", "250", "251"], "path": [str(models / k) for k in ("0", "250", "251")]}
        | {"method": ["beta_vae"] * 3, "value": [1.0, 16.0, 16.0]}
    )
    drawn, notes = dynamics.dynamics_figures(frame, [tmp_path])
    stems = [item.stem for item in drawn]
    assert stems == [
        "dynamics__beta_vae_16.0__100-every-50",
        "model_250__dynamics_variance",
        "model_250__dynamics_correlation",
        "model_251__dynamics_variance",
        "model_251__dynamics_correlation",
        "model_250__dynamics_passive_pairs",
        "model_251__dynamics_passive_pairs",
    ]
    assert "(steps 0-100, every 50; mean ± sd over 2 runs at every point)" in drawn[0].caption
    assert "steps [0, 50, 100]" in drawn[2].caption
    assert notes == ["1 model folder(s) have no training logs (train --log-every K), so no dynamics"]
    counts_axes = drawn[0].figure.axes[0]
    passive = next(line for line in counts_axes.get_lines() if line.get_label() == "passive")
    assert passive.get_ydata()[-1] == 3  # the three drifting latents end passive


def test_unreadable_or_partial_logs_are_a_note(tmp_path):
    assert dynamics.read_logs(tmp_path, "x") is None  # no logs/ at all
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "latents.parquet").write_text("not parquet")
    with pytest.raises(VaePassiveError, match=r"cannot read .*latents\.parquet"):
        dynamics.read_logs(tmp_path, "x")
    frame = pd.DataFrame({"key": ["x"], "path": [str(tmp_path)], "method": ["beta_vae"], "value": [1.0]})
    drawn, notes = dynamics.dynamics_figures(frame, [tmp_path])
    assert drawn == [] and len(notes) == 1 and "model x: no training dynamics (cannot read" in notes[0]


def test_logs_that_are_too_large_or_not_files_are_refused(tmp_path, monkeypatch):
    from vae_passive import untrusted

    logs = tmp_path / "logs"
    logs.mkdir()
    pd.DataFrame({"step": [0, 1]}).to_parquet(logs / "latents.parquet")
    monkeypatch.setattr(untrusted, "MAX_TABLE_BYTES", 10)
    with pytest.raises(VaePassiveError, match=r"latents\.parquet has [\d,]+ bytes, more than the 10 allowed"):
        dynamics.read_logs(tmp_path, "x")
    monkeypatch.undo()
    (logs / "latents.parquet").unlink()
    (logs / "latents.parquet").mkdir()  # a folder where a file should be
    with pytest.raises(VaePassiveError, match="no training logs"):
        dynamics.read_logs(tmp_path, "x")


def test_report_embeds_the_dynamics(logged_results, tmp_path):
    results, _ = logged_results
    out = tmp_path / "report"
    build_report(results, out, model_roots=(tmp_path,))
    names = sorted(p.name for p in (out / "figures").glob("*dynamics*"))
    assert names == [
        "dynamics__beta_vae_16.0__zoo-models-stand-in-data__100-every-50.png",
        "model_250__dynamics_correlation.png",
        "model_250__dynamics_passive_pairs.png",
        "model_250__dynamics_variance.png",
        "model_251__dynamics_correlation.png",
        "model_251__dynamics_passive_pairs.png",
        "model_251__dynamics_variance.png",
    ]
    index = (out / "index.html").read_text()
    assert "training dynamics" in index and index.count("data:image/png;base64") >= 5
    assert "have no training logs" in (out / "report.md").read_text()


def _trained(key, steps, folder):
    fields = {"dataset": "dsprites_full", "method": "beta_vae", "hyperparameter": "beta", "value": 1.0, "seed": 0}
    origin = {"kind": "trained", "steps": steps, "data": "procedural_dsprites"}
    return make_document(None, key=key, catalogue_fields=fields, origin=origin, path=str(folder))


def test_runs_of_other_schedules_or_lengths_are_never_averaged(tmp_path):
    """Two 100-step runs logged every 50 are averaged; a 100-step run logged every 25 and a 300-step run
    logged every 100 are each drawn alone, and every title says how many runs stand behind its points."""
    models = tmp_path / "models"
    schedules = {"a": (0, 50, 100), "b": (0, 50, 100), "c": (0, 25, 50, 75, 100), "d": (0, 100, 200, 300)}
    for seed, (key, steps) in enumerate(schedules.items()):
        write_logs(models / key, seed, steps)
    length = {"a": 100, "b": 100, "c": 100, "d": 300}
    docs = [_trained(key, length[key], models / key) for key in schedules]
    from vae_passive.report.tables import TableBuilder

    builder = TableBuilder()
    for doc in docs:
        builder.add(doc)
    drawn, notes = dynamics.dynamics_figures(builder.build().models, [tmp_path])
    averaged = [item for item in drawn if item.stem.startswith("dynamics__")]
    assert [item.stem for item in averaged] == [
        "dynamics__beta_vae_1.0__trained-here-100-steps-on-procedural-dsprites-stand-in-data__100-every-50",
        "dynamics__beta_vae_1.0__trained-here-100-steps-on-procedural-dsprites-stand-in-data__100-every-25",
        "dynamics__beta_vae_1.0__trained-here-300-steps-on-procedural-dsprites-stand-in-data__300-every-100",
    ]
    assert "mean ± sd over 2 runs at every point" in averaged[0].caption
    assert "steps 0-100, every 25; 1 run" in averaged[1].caption
    assert "trained here, 300 steps" in averaged[2].caption and "1 run" in averaged[2].caption
    assert [note for note in notes if "no pairs to draw" not in note] == []  # only the passive-pairs notes


def test_a_point_with_fewer_runs_says_how_many():
    from matplotlib.figure import Figure

    table = pd.DataFrame({"key": ["a", "a", "b", "b"], "step": [0, 10, 0, 10], "value": [1.0, 2.0, 1.0, np.nan]})
    ax = Figure().subplots()
    dynamics._band(ax, table, "x", color="k")
    assert [text.get_text() for text in ax.texts] == ["n=1"]


def test_tc_axis_labels_are_plain_numbers_within_a_decade():
    """TC between 0.07 and 0.11 has no major tick on a log axis; the minor ticks' labels were mathtext, which the
    report's style (no math parsing) showed raw as ``$\\mathdefault{9\\times10^{-2}}$``."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from vae_passive.report import figures

    steps = [0, 500, 1000]
    scores = pd.DataFrame(
        [(s, r, "full", tc, "m") for s, tc in zip(steps, (0.07, 0.11, 0.09), strict=True) for r in ("mean", "sampled")],
        columns=["step", "representation", "subset", "gaussian_total_correlation", "key"],
    )
    with matplotlib.rc_context(figures.STYLE):
        fig = dynamics.total_correlation_figure(scores, "t")
        FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    shown = [
        label.get_text()
        for tick, label in zip(ax.yaxis.get_minorticklocs(), ax.yaxis.get_minorticklabels(), strict=True)
        if low <= tick <= high and label.get_text()
    ]
    assert shown and all("$" not in text and float(text) > 0 for text in shown), shown
