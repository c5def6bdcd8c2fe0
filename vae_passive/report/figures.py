"""The report's figures: each function takes a table (or arrays) and an optional ``fig``/``ax`` and returns the figure.

No file I/O here (``render`` saves). Figures are ``matplotlib.figure.Figure`` objects built without
pyplot, so thousands of them leave no global state behind. Sizes are fixed functions of the
content (``DPI`` dots per inch), colours are Okabe-Ito (colour-blind safe).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, NullLocator

from vae_passive.latents.representations import REPRESENTATIONS
from vae_passive.latents.scores import SCORE_NAMES
from vae_passive.latents.variables import KINDS, SUBSETS
from vae_passive.report.tables import MI, SUMMARY_ITEM_COLUMNS, TC
from vae_passive.zoo import catalogue

DPI = 100
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
REPRESENTATION_COLOURS = {"mean": OKABE_ITO["blue"], "sampled": OKABE_ITO["orange"], "variance": OKABE_ITO["green"]}
REPRESENTATION_MARKERS = {"mean": "o", "sampled": "s"}
KIND_COLOURS = {"active": OKABE_ITO["green"], "mixed": OKABE_ITO["sky_blue"], "passive": OKABE_ITO["purple"]}
SUBSET_STYLES: dict[str, Any] = {"full": "-", "active": "--", "active+mixed": ":"}
METHOD_STYLES = [
    (OKABE_ITO[c], m)
    for c, m in zip(("blue", "orange", "green", "vermillion", "purple", "sky_blue", "black"), "os^Dv<>", strict=True)
]
# A diverging map readable with colour-vision deficiencies; grey marks NaN (a constant latent).
CORRELATION_CMAP = colormaps["RdBu_r"].with_extremes(bad="0.8")
SCORE_LABELS = {
    "gaussian_total_correlation": "total correlation",
    "gaussian_wasserstein_correlation": "Wasserstein corr.",
    "gaussian_wasserstein_correlation_norm": "Wasserstein corr. (norm.)",
    "mutual_info_score": "mutual information",
    "effective_rank": "effective rank",
}
# rcParams for drawing and saving: palette, fonts, a fixed SVG id salt so files are byte-identical, and no
# mathtext: titles and labels carry names from documents, and a "$" in them must not be parsed as TeX.
STYLE: dict[Any, Any] = {
    "text.parse_math": False,
    "axes.prop_cycle": cycler(color=list(OKABE_ITO.values())),
    "font.size": 9,
    "axes.titlesize": 9,
    "legend.fontsize": 8,
    "svg.hashsalt": "vae-passive",
    "svg.fonttype": "path",
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}


def _figure(fig: Figure | None, width: float, height: float) -> Figure:
    return fig if fig is not None else Figure(figsize=(width, height), dpi=DPI, layout="constrained")


class _Lines:
    """The summary rows of one method x dataset, indexed once: ``get`` gives mean and std per hyperparameter value.

    ``values`` (sorted) are the x positions; a missing level is simply absent, a missing point is NaN.
    """

    def __init__(self, summary: pd.DataFrame):
        self.values = sorted(summary["value"].dropna().unique())
        items = summary.groupby(list(SUMMARY_ITEM_COLUMNS), sort=False, observed=True)
        self._items = {item: rows for item, rows in items}

    def get(self, table: str, quantity: str, representation: str = "", subset: str = "", key: str = "") -> pd.DataFrame:
        rows = self._items.get((table, quantity, key, representation, subset))
        if rows is None:
            return pd.DataFrame({"mean": np.nan, "std": np.nan}, index=pd.Index(self.values, name="value"))
        return rows.drop_duplicates("value").set_index("value")[["mean", "std"]].reindex(self.values)


def _x_axis(ax: Axes, values: Sequence[float], label: str) -> None:
    ax.set_xticks(range(len(values)), [f"{v:g}" for v in values])
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.set_xlabel(label)


def _hyperparameter(summary: pd.DataFrame) -> str:
    names = summary["hyperparameter"].dropna().astype(str).unique()
    return ", ".join(sorted(names)) or "hyperparameter value"


def _no_data(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes, color="0.4")


def passive_size() -> tuple[float, float]:
    return 11.0, 4.2


def passive_figure(summary: pd.DataFrame, title: str, fig: Figure | None = None) -> Figure:
    """Passive-latent count as bars, TC and MI of mean vs sampled full codes as lines on a twin axis."""
    fig = _figure(fig, *passive_size())
    lines = _Lines(summary)
    values, xlabel = lines.values, _hyperparameter(summary)
    x = np.arange(len(values))
    passive = lines.get("counts", "passive")
    for ax, score in zip(fig.subplots(1, 2), (TC, MI), strict=True):
        bars = ax.bar(
            x, passive["mean"], yerr=passive["std"], color=KIND_COLOURS["passive"], alpha=0.55, capsize=3, width=0.6
        )
        ax.set_ylabel("passive latents (mean ± sd over seeds)")
        ax.set_ylim(bottom=0)
        twin = ax.twinx()
        handles: list[Artist] = [Patch(color=KIND_COLOURS["passive"], alpha=0.55, label="passive latents (left axis)")]
        for rep in REPRESENTATIONS:
            line = lines.get("scores", score, rep, "full")
            twin.errorbar(
                x,
                line["mean"],
                yerr=line["std"],
                color=REPRESENTATION_COLOURS[rep],
                marker=REPRESENTATION_MARKERS[rep],
                capsize=3,
            )
            handles.append(
                Line2D([], [], color=REPRESENTATION_COLOURS[rep], marker=REPRESENTATION_MARKERS[rep], label=f"{rep}")
            )
        twin.set_ylabel(f"{SCORE_LABELS[score]}, full code (right axis)")
        twin.set_ylim(bottom=0)
        ax.set_title(f"passive latents and {SCORE_LABELS[score]}")
        _x_axis(ax, values, xlabel)
        ax.legend(handles=handles, loc="upper left", frameon=True)
        if not len(bars):
            _no_data(ax, "models")
    fig.suptitle(title)
    return fig


def subset_scores_size(rows: int, columns: int) -> tuple[float, float]:
    return 2.3 * columns + 0.8, 1.9 * rows + 1.2


def subset_scores_figure(summary: pd.DataFrame, title: str, fig: Figure | None = None) -> Figure:
    """Each score (rows) on each latent subset (columns), mean vs sampled, over the hyperparameter values.

    The grid is laid out by hand (no constrained layout) and inner rows have no x ticks: with dozens of
    panels that halves drawing time.
    """
    scores = summary[summary["table"] == "scores"]
    present_scores = [s for s in SCORE_NAMES if (scores["quantity"] == s).any()] or [TC]
    present_subsets = [s for s in SUBSETS if (scores["subset"] == s).any()] or ["full"]
    width, height = subset_scores_size(len(present_scores), len(present_subsets))
    if fig is None:
        fig = Figure(figsize=(width, height), dpi=DPI)
        fig.subplots_adjust(
            left=0.9 / width, right=1 - 0.2 / width, bottom=1.0 / height, top=1 - 0.9 / height, wspace=0.45
        )
    lines = _Lines(summary)
    values, xlabel = lines.values, _hyperparameter(summary)
    axes = fig.subplots(len(present_scores), len(present_subsets), squeeze=False)
    for i, score in enumerate(present_scores):
        for j, subset in enumerate(present_subsets):
            ax = axes[i, j]
            drawn = False
            for rep in REPRESENTATIONS:
                line = lines.get("scores", score, rep, subset)
                if line["mean"].notna().any():
                    ax.plot(
                        range(len(values)),
                        line["mean"],
                        color=REPRESENTATION_COLOURS[rep],
                        marker=REPRESENTATION_MARKERS[rep],
                        markersize=3,
                    )
                    drawn = True
            if not drawn:
                _no_data(ax, "subset of ≥ 2 latents")
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            if i == 0:
                ax.set_title(subset)
            if j == 0:
                ax.set_ylabel(SCORE_LABELS[score])
            if i == len(present_scores) - 1:
                _x_axis(ax, values, xlabel)
            else:  # no ticks at all on inner rows: cheaper to draw than hidden shared ones
                ax.xaxis.set_major_locator(NullLocator())
                ax.set_xlim(-0.6, len(values) - 0.4)
    handles = [
        Line2D([], [], color=REPRESENTATION_COLOURS[r], marker=REPRESENTATION_MARKERS[r], label=f"{r} representation")
        for r in REPRESENTATIONS
    ]
    fig.legend(handles=handles, loc="lower center", ncols=2, frameon=False)
    fig.suptitle(f"{title}\nscores per latent subset (mean over seeds)")
    return fig


def kinds_size() -> tuple[float, float]:
    return 6.4, 4.0


def kinds_figure(summary: pd.DataFrame, title: str, ax: Axes | None = None) -> Figure:
    """Stacked bars of the mean active, mixed and passive counts per hyperparameter value."""
    if ax is None:
        ax = _figure(None, *kinds_size()).subplots()
    lines = _Lines(summary)
    values = lines.values
    bottom = np.zeros(len(values))
    for kind in KINDS:
        heights = lines.get("counts", kind)["mean"].fillna(0).to_numpy()
        ax.bar(range(len(values)), heights, bottom=bottom, color=KIND_COLOURS[kind], label=kind, width=0.6)
        bottom += heights
    _x_axis(ax, values, _hyperparameter(summary))
    ax.set_ylabel("latents (mean over seeds)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="kind")
    ax.set_title(f"{title}\nactive, mixed and passive latents")
    return cast(Figure, ax.figure)  # the figure of the given ax (a SubFigure is not used here)


def metrics_size(panels: int) -> tuple[float, float]:
    columns = min(panels, 4)
    return 3.2 * columns + 0.6, 2.8 * math.ceil(panels / columns) + 1.3


def metrics_figure(summary: pd.DataFrame, title: str, fig: Figure | None = None) -> Figure:
    """Each disentanglement metric on mean vs sampled codes, full vs active-only (and active+mixed) latents."""
    metrics = summary[summary["table"] == "metrics"]
    panels = sorted(set(zip(metrics["quantity"], metrics["key"], strict=True))) or [("no metrics", "")]
    fig = _figure(fig, *metrics_size(len(panels)))
    lines = _Lines(summary)
    values, xlabel = lines.values, _hyperparameter(summary)
    columns = min(len(panels), 4)
    axes = fig.subplots(math.ceil(len(panels) / columns), columns, squeeze=False).ravel()
    combos = [(r, s) for s in SUBSET_STYLES for r in REPRESENTATIONS if ((metrics["subset"] == s).any())]
    for ax, (metric, key) in zip(axes, panels, strict=False):
        for rep, subset in combos:
            line = lines.get("metrics", metric, rep, subset, key)
            ax.plot(
                range(len(values)),
                line["mean"],
                color=REPRESENTATION_COLOURS[rep],
                linestyle=SUBSET_STYLES[subset],
                marker=REPRESENTATION_MARKERS[rep],
                markersize=3,
            )
        ax.set_title(metric if key in ("", metric) else f"{metric}: {key}")
        ax.set_ylabel("score (mean over seeds)")
        _x_axis(ax, values, xlabel)
        if metric == "no metrics":
            _no_data(ax, "disentanglement metrics")
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    handles = [
        Line2D(
            [],
            [],
            color=REPRESENTATION_COLOURS[r],
            linestyle=SUBSET_STYLES[s],
            marker=REPRESENTATION_MARKERS[r],
            label=f"{r} code, {s} latents" if s != "full" else f"{r} code, all latents",
        )
        for r, s in combos
    ]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3))
    fig.suptitle(f"{title}\ndisentanglement metrics: mean vs sampled vs active-only codes")
    return fig


def overview_size(datasets: int) -> tuple[float, float]:
    return 3.0 * max(datasets, 1) + 1.8, 6.0


def overview_figure(summary: pd.DataFrame, title: str, fig: Figure | None = None) -> Figure:
    """Passive count and full-code TC gap over normalised regularisation strength, a line per method.

    ``summary`` needs a ``strength`` column in 0..1 (``tables.with_strength``).
    """
    datasets = _catalogue_order(summary["dataset"], catalogue.DATASETS) or ["(none)"]
    methods = _catalogue_order(summary["method"], catalogue.METHOD_NAMES)
    fig = _figure(fig, *overview_size(len(datasets)))
    axes = fig.subplots(2, len(datasets), squeeze=False, sharex=True)
    for j, dataset in enumerate(datasets):
        part = summary[summary["dataset"] == dataset]
        for k, method in enumerate(methods):
            rows = part[part["method"] == method]
            colour, marker = METHOD_STYLES[k % len(METHOD_STYLES)]
            passive = rows[(rows["table"] == "counts") & (rows["quantity"] == "passive")].sort_values("strength")
            axes[0, j].plot(passive["strength"], passive["mean"], color=colour, marker=marker, markersize=4)
            full = rows[(rows["table"] == "scores") & (rows["quantity"] == TC) & (rows["subset"] == "full")]
            gap = full.pivot_table(index="strength", columns="representation", values="mean", observed=True)
            if {"mean", "sampled"} <= set(gap.columns):
                axes[1, j].plot(gap.index, gap["mean"] - gap["sampled"], color=colour, marker=marker, markersize=4)
        axes[0, j].set_title(dataset)
        axes[1, j].axhline(0, color="0.6", linewidth=0.8)
    fig.supxlabel("regularisation strength, normalised per method (0 = weakest, 1 = strongest)")
    axes[0, 0].set_ylabel("passive latents (mean over seeds)")
    axes[1, 0].set_ylabel("TC gap, full code (mean − sampled)")
    handles = [
        Line2D([], [], color=METHOD_STYLES[k % len(METHOD_STYLES)][0], marker=METHOD_STYLES[k % len(METHOD_STYLES)][1])
        for k in range(len(methods))
    ]
    fig.legend(handles, methods, loc="outside right center", title="method")
    fig.suptitle(f"{title}\noverview across methods")
    return fig


def _catalogue_order(column: pd.Series, known: Sequence[str]) -> list[str]:
    """The distinct names in ``column``: the catalogue's ones in catalogue order, then any others sorted."""
    present = set(column.dropna().astype(str))
    return [n for n in known if n in present] + sorted(present - set(known))


def _kind_label(index: int, kind: str) -> str:
    return f"z{index} {kind}"


def histograms_size(latents: int) -> tuple[float, float]:
    return 9.0, 1.1 * latents + 1.0


def histograms_figure(
    mean: np.ndarray,
    sampled: np.ndarray,
    variance: np.ndarray,
    kinds: Sequence[str],
    title: str,
    fig: Figure | None = None,
) -> Figure:
    """Per latent (rows): histograms of its mean, sampled and variance codes; row labels coloured by kind."""
    fig = _figure(fig, *histograms_size(len(kinds)))
    axes = fig.subplots(len(kinds), 3, squeeze=False)
    columns = (("mean", mean), ("sampled", sampled), ("variance", variance))
    for j, (name, codes) in enumerate(columns):
        for i, kind in enumerate(kinds):
            ax = axes[i, j]
            finite = codes[:, i][np.isfinite(codes[:, i])]
            ax.hist(finite, bins=40, color=REPRESENTATION_COLOURS[name])
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"{name} code")
            if j == 0:
                ax.set_ylabel(_kind_label(i, kind), color=KIND_COLOURS[kind], rotation=0, ha="right", va="center")
    fig.suptitle(f"{title}\nper-latent histograms (row label: latent and its kind)")
    return fig


def correlation_size() -> tuple[float, float]:
    return 11.0, 6.0


def correlation_matrix(codes: np.ndarray) -> np.ndarray:
    """Pearson correlation of the columns of ``codes``; NaN where a latent is constant."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.corrcoef(np.asarray(codes, np.float64), rowvar=False).reshape(codes.shape[1], codes.shape[1])


def correlation_figure(
    mean: np.ndarray, sampled: np.ndarray, kinds: Sequence[str], title: str, fig: Figure | None = None
) -> Figure:
    """Heatmaps of the latent-latent correlation of the mean and of the sampled codes, labels coloured by kind."""
    fig = _figure(fig, *correlation_size())
    axes = fig.subplots(1, 2)
    labels = [_kind_label(i, k) for i, k in enumerate(kinds)]
    image = None
    for ax, (name, codes) in zip(axes, (("mean", mean), ("sampled", sampled)), strict=True):
        matrix = correlation_matrix(codes)
        image = ax.imshow(np.ma.masked_invalid(matrix), cmap=CORRELATION_CMAP, vmin=-1, vmax=1)
        ticks = range(len(kinds))
        ax.set_xticks(ticks, labels, rotation=90, fontsize=7)
        ax.set_yticks(ticks, labels, fontsize=7)
        for tick_labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            for label, kind in zip(tick_labels, kinds, strict=True):
                label.set_color(KIND_COLOURS[kind])
        if len(kinds) <= 12:
            for (r, c), value in np.ndenumerate(matrix):
                if np.isfinite(value):
                    colour = "white" if abs(value) > 0.6 else "black"
                    ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=6, color=colour)
        ax.set_title(f"{name} code: Pearson correlation")
    assert image is not None
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="correlation (grey: constant latent)")
    fig.suptitle(f"{title}\ncorrelation between latents")
    return fig


def traversal_size(latents: int, steps: int) -> tuple[float, float]:
    return 0.8 * steps + 1.6, 0.8 * latents + 1.2


def traversal_figure(
    images: np.ndarray, values: Sequence[float], kinds: Sequence[str], title: str, fig: Figure | None = None
) -> Figure:
    """Decoded traversals: row i varies latent i over ``values`` (columns); passive rows are labelled and framed.

    ``images`` is (latents, steps, 64, 64, channels) in [0, 1].
    """
    fig = _figure(fig, *traversal_size(len(kinds), len(values)))
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)  # a given fig must use the constrained layout too
    engine.set(w_pad=0.01, h_pad=0.01, wspace=0.0, hspace=0.0)
    axes = fig.subplots(len(kinds), len(values), squeeze=False)
    for i, kind in enumerate(kinds):
        for j, value in enumerate(values):
            ax = axes[i, j]
            picture = images[i, j]
            if picture.shape[-1] == 1:
                ax.imshow(picture[..., 0], cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(np.clip(picture, 0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
            if kind == "passive":
                for spine in ax.spines.values():
                    spine.set_edgecolor(KIND_COLOURS["passive"])
                    spine.set_linewidth(2)
            if i == 0:
                ax.set_title(f"{value:+.2g}", fontsize=7)
            if j == 0:
                ax.set_ylabel(_kind_label(i, kind), color=KIND_COLOURS[kind], rotation=0, ha="right", va="center")
    fig.suptitle(f"{title}\ntraversals: one latent varied (columns), others fixed; passive rows framed")
    return fig
