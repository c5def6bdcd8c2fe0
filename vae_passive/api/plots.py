"""The one figure of the API that the report has no counterpart for: one model's scores as bars.

Drawn in the report's style (``report.figures.STYLE``, its colours and score labels), without pyplot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vae_passive.latents.representations import REPRESENTATIONS
from vae_passive.latents.scores import SCORE_NAMES
from vae_passive.latents.variables import SUBSETS
from vae_passive.report.figures import DPI, REPRESENTATION_COLOURS, SCORE_LABELS, STYLE, zero_based_range
from vae_passive.report.style import SCORE_UNITS


@contextlib.contextmanager
def styled() -> Iterator[None]:
    """The report's rcParams, for figures drawn outside a report."""
    with matplotlib.rc_context(STYLE):
        yield


def scores_figure(scores: pd.DataFrame, title: str, fig: Figure | None = None) -> Figure:
    """Each score (panels) on each latent subset (x), mean vs sampled code as paired bars.

    ``scores`` is the report's ``scores`` table of one model; undefined scores are left blank. Each panel's
    axis starts at zero and names its unit; the legend sits below the panels, never over a bar.
    """
    present = [s for s in SCORE_NAMES if (scores["score"] == s).any()]
    subsets = [s for s in SUBSETS if (scores["subset"] == s).any()]
    with styled():
        if fig is None:
            fig = Figure(figsize=(2.6 * max(1, len(present)) + 0.6, 3.4), dpi=DPI, layout="constrained")
        axes = fig.subplots(1, max(1, len(present)), squeeze=False)[0]
        width = 0.4
        for ax, score in zip(axes, present, strict=False):
            rows = scores[scores["score"] == score]
            for offset, representation in zip((-width / 2, width / 2), REPRESENTATIONS, strict=True):
                picked = rows[rows["representation"] == representation].set_index("subset")["result"]
                heights = [float(picked.get(subset, np.nan)) for subset in subsets]
                ax.bar(
                    np.arange(len(subsets)) + offset,
                    heights,
                    width,
                    color=REPRESENTATION_COLOURS[representation],
                    label=f"{representation} representation",
                )
            ax.set_xticks(range(len(subsets)), subsets, rotation=45, ha="right")
            ax.set_title(SCORE_LABELS[score])
            ax.set_ylabel(SCORE_UNITS[score])
            ax.set_ylim(*zero_based_range([rows["result"]]))
        if not present:
            axes[0].text(0.5, 0.5, "no subset of ≥ 2 latents", ha="center", va="center", transform=axes[0].transAxes)
        else:
            fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2, frameon=False)
        fig.suptitle(f"{title}\nscores per latent subset")
    return fig
