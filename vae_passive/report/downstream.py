"""The authors' downstream figure: test accuracy per latent subset, mean vs sampled code, with the
random baseline, from the truncated downstream tasks' metric rows (tidy data in, figure out)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from vae_passive.latents.representations import REPRESENTATIONS
from vae_passive.latents.variables import RANDOM, SUBSETS
from vae_passive.report.claims import ACCURACY, TRUNCATED
from vae_passive.report.figures import new_figure, suptitle
from vae_passive.report.style import PALETTE, REPRESENTATION_COLOURS


def downstream_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """The rows of a metrics table that ``downstream_figure`` draws: truncated tasks' mean test accuracy."""
    return metrics[metrics["metric"].isin(TRUNCATED) & (metrics["metric_key"] == ACCURACY)]


def downstream_size(predictors: int) -> tuple[float, float]:
    return 5.2 * max(predictors, 1) + 0.6, 4.4


def downstream_figure(rows: pd.DataFrame, title: str, fig: Figure | None = None) -> Figure:
    """One panel per predictor: bars of the test accuracy per subset (mean ± sd over models), mean code
    vs sampled code, and the uniform random baseline as a dashed line; subsets no model has are left out."""
    predictors = [m for m in TRUNCATED if (rows["metric"] == m).any()]
    fig = new_figure(fig, *downstream_size(len(predictors)))
    axes = np.atleast_1d(fig.subplots(1, max(len(predictors), 1)))
    for ax, metric in zip(axes, predictors, strict=False):
        part = rows[rows["metric"] == metric]
        stats = part.groupby(["subset", "representation"], observed=True)["result"].agg(["mean", "std", "count"])
        subsets = [s for s in SUBSETS if (part["subset"] == s).any()]
        x = np.arange(len(subsets))
        for k, rep in enumerate(REPRESENTATIONS):
            rep_stats = stats.xs(rep, level="representation") if rep in stats.index.get_level_values(1) else None
            if rep_stats is None:
                continue
            picked = rep_stats.reindex(subsets)
            ax.bar(x + (k - 0.5) * 0.38, picked["mean"], yerr=picked["std"], width=0.36, capsize=2,
                   color=REPRESENTATION_COLOURS[rep])  # fmt: skip
        baseline = part.loc[part["subset"] == RANDOM, "result"]
        if len(baseline):
            ax.axhline(float(baseline.mean()), color=PALETTE["random"], linestyle="--", linewidth=1)
        ax.set_xticks(x, subsets, rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("test accuracy (mean over factors)")
        models = part["key"].nunique()
        name = metric.removeprefix("truncated_downstream_task_").replace("_", " ")
        ax.set_title(f"{name} ({models:,} model{'' if models == 1 else 's'})")
    if not predictors:
        axes[0].text(0.5, 0.5, "no truncated downstream rows", ha="center", va="center", transform=axes[0].transAxes)
    handles: list[Artist] = [Patch(color=REPRESENTATION_COLOURS[r], label=f"{r} code") for r in REPRESENTATIONS]
    handles.append(Line2D([], [], color=PALETTE["random"], linestyle="--", label="random baseline (uniform)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    suptitle(fig, f"{title}\ndownstream test accuracy per latent subset (bars: mean ± sd over models)")
    return fig
