"""The authors' downstream figure (``report.downstream``): their inner join, their axes and lines."""

import numpy as np
from matplotlib.figure import Figure
from support.report_docs import make_document

from vae_passive.report import downstream, tables

KINDS = ["active"] * 4 + ["mixed"] + ["passive"] * 3
RANK = {"representation": "mean", "subset": "full", "metric": "effective_rank", "key": "effective_rank", "value": 4.0}


def _tables(ids_with_rank: set[int], ids: tuple[int, ...] = (0, 1, 50, 51, 100)) -> tables.Tables:
    builder = tables.TableBuilder()
    for model_id in ids:
        document = make_document(model_id, kinds=KINDS, downstream=True)
        if model_id in ids_with_rank:
            document["metrics"].append(dict(RANK))
        builder.add(document)
    return builder.build()


def test_the_authors_inner_join_leaves_out_models_without_the_effective_rank():
    metrics = _tables({0, 1, 50, 100}).metrics
    kept, note = downstream.study_models(metrics)
    assert kept == {"0", "1", "50", "100"} and "inner join" in note and "1 model left out" in note
    rows = downstream.downstream_rows(metrics)
    assert set(rows["key"]) == {"0", "1", "50", "100"}
    assert set(rows["metric"]) == {"truncated_downstream_task_logistic_regression"}  # boosted trees: not theirs
    everything, note = downstream.study_models(_tables(set()).metrics)
    assert len(everything) == 5 and "not their inner join" in note


def test_one_panel_per_representation_a_line_per_subset_the_mean_over_seeds():
    metrics = _tables({0, 1, 50, 51, 100}).metrics
    rows = downstream.downstream_rows(metrics)
    fig = downstream.downstream_figure(rows, "beta_vae × dsprites_full", "the authors' inner join")
    assert isinstance(fig, Figure)
    mean_ax, sampled_ax = fig.axes[:2]
    assert (mean_ax.get_title(), sampled_ax.get_title()) == ("mean code", "sampled code")
    assert mean_ax.get_xlabel() == "vae.beta"
    lines = {line.get_label(): line for line in mean_ax.get_lines()}
    assert set(lines) == {
        "full",
        "active",
        "mixed",
        "passive",
        "active+mixed",
        "active+passive",
        "mixed+passive",
        "random",
    }
    assert lines["random"].get_linestyle() == "--"
    full = rows[(rows["representation"] == "mean") & (rows["subset"] == "full")]
    expected = full.groupby("value")["result"].mean()
    np.testing.assert_allclose(lines["full"].get_xdata(), [1.0, 2.0, 4.0])
    np.testing.assert_allclose(lines["full"].get_ydata(), expected.to_numpy())
    assert "mean over 5 models" in fig.get_suptitle()
