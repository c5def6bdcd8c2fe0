"""The authors' downstream figure (tc_study ``visualization.py``, ``aggregation.py``): per method ×
dataset, one panel per representation (mean, sampled), x = the method's hyperparameter value, one line
per latent subset plus the uniform ``random`` baseline, each point the mean over seeds of the truncated
logistic-regression task's test accuracy (boosted trees were never in the paper).

Model inclusion as theirs: their aggregation inner-joins the unsupervised scores, the downstream task
and the effective rank, so a model missing one of them is left out (``study_models``); the figure's
title says how many models it averages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from vae_passive.latents.representations import REPRESENTATIONS
from vae_passive.latents.variables import RANDOM, SUBSETS
from vae_passive.report.claims import TRUNCATED as TRUNCATED  # the tasks render.py keeps apart
from vae_passive.report.claims import counted, truncated_accuracy
from vae_passive.report.figures import new_figure, suptitle
from vae_passive.report.style import KIND_COLOURS, OKABE_ITO, PALETTE

LOGISTIC = "truncated_downstream_task_logistic_regression"
AUTHORS_EFFECTIVE_RANK = "effective_rank"  # the metric of the authors' effective rank (full code, own draw)
#: One colour per line: the kinds as everywhere, the full code black, the pairs Okabe-Ito colours (dashed).
SUBSET_COLOURS = {
    "full": PALETTE["random"],
    **KIND_COLOURS,
    "active+mixed": OKABE_ITO["sky_blue"],
    "active+passive": OKABE_ITO["vermillion"],
    "mixed+passive": OKABE_ITO["purple"],
}


def study_models(metrics: pd.DataFrame) -> tuple[set[str], str]:
    """The model keys the authors' figures average: those with truncated logistic-regression rows and
    the authors' effective rank (every document has the unsupervised scores); and a note on the rule.
    Without any effective-rank row (not a ``--preset study`` run) every model with the task is kept,
    and the note says so."""
    with_task = set(metrics.loc[metrics["metric"] == LOGISTIC, "key"].astype(str))
    with_rank = set(metrics.loc[metrics["metric"] == AUTHORS_EFFECTIVE_RANK, "key"].astype(str))
    if not with_rank:
        return with_task, "no model has the authors' effective rank: all models with the task, not their inner join"
    kept = with_task & with_rank
    left_out = len(with_task | with_rank) - len(kept)
    note = "the authors' inner join of scores, downstream task and effective rank"
    return kept, note + (f" ({counted(left_out)} left out)" if left_out else "")


def downstream_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """The rows ``downstream_figure`` draws: the truncated logistic-regression task's mean test accuracy
    of the models ``study_models`` keeps."""
    kept, _ = study_models(metrics)
    rows = truncated_accuracy(metrics)
    rows = rows[rows["metric"] == LOGISTIC]
    return rows[rows["key"].astype(str).isin(kept)]


def downstream_size() -> tuple[float, float]:
    return 11.0, 4.6


def downstream_figure(rows: pd.DataFrame, title: str, note: str = "", axes: Sequence[Axes] | None = None) -> Figure:
    """The authors' figure from ``downstream_rows``: one panel per representation, x = hyperparameter
    value, a line per subset plus ``random`` (dashed), each point the mean over the models (seeds) at
    that value. ``axes``: two axes to draw into (mean, sampled); else a new figure."""
    if axes is None:
        axes = list(np.atleast_1d(new_figure(None, *downstream_size()).subplots(1, len(REPRESENTATIONS), sharey=True)))
    fig = axes[0].get_figure(root=True)
    assert isinstance(fig, Figure)
    hyperparameter = str(rows["hyperparameter"].dropna().iloc[0]) if rows["hyperparameter"].notna().any() else "value"
    for ax, representation in zip(axes, REPRESENTATIONS, strict=False):
        part = rows[rows["representation"] == representation]
        means = part.groupby(["subset", "value"], observed=True)["result"].mean()
        for subset in [*SUBSETS, RANDOM]:
            if subset not in means.index.get_level_values(0):
                continue
            line = means.xs(subset, level="subset").sort_index()
            dashes = "--" if subset == RANDOM else ":" if "+" in subset else "-"
            colour, marker = SUBSET_COLOURS.get(subset, PALETTE["random"]), "" if subset == RANDOM else "o"
            x, y = line.index.to_numpy(float), line.to_numpy(float)
            ax.plot(x, y, label=subset, linestyle=dashes, color=colour, marker=marker, markersize=3)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(hyperparameter)
        ax.set_title(f"{representation} code")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (mean over factors and seeds)")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=4, frameon=False)
    models = rows["key"].nunique()
    averaged = f"mean over {counted(models)}" + (f"; {note}" if note else "")
    suptitle(fig, f"{title}\nlogistic regression on each latent subset, truncated downstream task ({averaged})")
    return fig
