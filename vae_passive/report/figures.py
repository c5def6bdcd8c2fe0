"""The report's figures: each function takes a table (or arrays) and an optional ``fig``/``ax`` and returns the figure.

No file I/O here (``render`` saves). Figures are ``matplotlib.figure.Figure`` objects built without
pyplot, so thousands of them leave no global state behind. Sizes are fixed functions of the
content (``DPI`` dots per inch). Colours come from one ``PALETTE`` (colour-blind safe, and the kind
colours dark enough to read as text on white); every figure keeps a margin (``MARGIN``) so no text
touches the image's edge, and long titles are wrapped to the figure's width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
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
from vae_passive.report.style import (
    DPI,
    KIND_COLOURS,
    MARGIN,
    OKABE_ITO,
    PALETTE,
    REPRESENTATION_COLOURS,
    REPRESENTATION_MARKERS,
    SCORE_LABELS,
    SCORE_UNITS,
    STYLE,
    score_label,
    wrapped,
    zero_based_range,
)
from vae_passive.report.tables import GROUP_COLUMNS, MI, SUMMARY_ITEM_COLUMNS, TC
from vae_passive.zoo import catalogue

__all__ = [
    "DPI",
    "KIND_COLOURS",
    "PALETTE",
    "REPRESENTATION_COLOURS",
    "SCORE_LABELS",
    "STYLE",
]  # the API's plots use these

GROUP_KEYS = [c for c in GROUP_COLUMNS if c != "level"]  # the summary's group (level follows from value)
SUBSET_STYLES: dict[str, Any] = {"full": "-", "active": "--", "active+mixed": ":"}
METHOD_STYLES = [
    (OKABE_ITO[c], m)
    for c, m in zip(("blue", "orange", "green", "vermillion", "purple", "sky_blue", "black"), "os^Dv<>", strict=True)
]
# A diverging map readable with colour-vision deficiencies; grey marks NaN (a constant latent).
CORRELATION_CMAP = colormaps["RdBu_r"].with_extremes(bad="0.8")


def new_figure(fig: Figure | None, width: float, height: float) -> Figure:
    """``fig``, or a new constrained-layout figure of ``width`` x ``height`` inches with a ``MARGIN`` border."""
    if fig is not None:
        return fig
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)
    engine.set(w_pad=MARGIN, h_pad=MARGIN)
    return fig


def suptitle(fig: Figure, text: str) -> None:
    fig.suptitle(wrapped(text, fig.get_figwidth(), 10))


class _Lines:
    """The summary rows of one method x dataset, indexed once: ``get`` gives mean and std per hyperparameter value.

    ``values`` (sorted) are the x positions; a missing level is simply absent, a missing point is NaN.
    """

    def __init__(self, summary: pd.DataFrame):
        present = summary["value"]
        self.values = sorted(present.dropna().unique()) + ([math.nan] if present.isna().any() else [])
        items = summary.groupby(list(SUMMARY_ITEM_COLUMNS), sort=False, observed=True)
        self._items = {item: rows for item, rows in items}

    def get(self, table: str, quantity: str, representation: str = "", subset: str = "", key: str = "") -> pd.DataFrame:
        rows = self._items.get((table, quantity, key, representation, subset))
        if rows is None:
            return pd.DataFrame({"mean": np.nan, "std": np.nan}, index=pd.Index(self.values, name="value"))
        return rows.drop_duplicates("value").set_index("value")[["mean", "std"]].reindex(self.values)


def _x_axis(ax: Axes, values: Sequence[float], label: str) -> None:
    ax.set_xticks(range(len(values)), ["n/a" if math.isnan(v) else f"{v:g}" for v in values])
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.set_xlabel(label)


def _hyperparameter(summary: pd.DataFrame) -> str:
    names = summary["hyperparameter"].dropna().astype(str).unique()
    return ", ".join(sorted(names)) or "hyperparameter value"


def _no_data(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes, color="0.4")


def passive_size() -> tuple[float, float]:
    return 11.0, 4.6


def passive_figure(summary: pd.DataFrame, title: str, fig: Figure | None = None) -> Figure:
    """Passive-latent count as bars (left axis), TC and MI of mean vs sampled full codes as lines (right axis).

    Without any passive latent there are no bars and no twin axis: the scores get the left axis, and a
    note says why. The legend sits below the panels, never over the data.
    """
    fig = new_figure(fig, *passive_size())
    lines = _Lines(summary)
    values, xlabel = lines.values, _hyperparameter(summary)
    x = np.arange(len(values))
    passive = lines.get("counts", "passive")
    bars = bool((passive["mean"].fillna(0) > 0).any())
    for ax, score in zip(fig.subplots(1, 2), (TC, MI), strict=True):
        if bars:
            top = float((passive["mean"] + passive["std"].fillna(0)).max())
            ax.bar(x, passive["mean"], yerr=passive["std"], color=PALETTE["passive"], alpha=0.35, capsize=3, width=0.6,
                   error_kw={"ecolor": PALETTE["passive"]})  # fmt: skip
            ax.set_ylabel("passive latents (mean ± sd over seeds)")
            ax.set_ylim(0, max(1.0, 1.1 * top))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            score_ax = ax.twinx()
            score_ax.set_ylabel(f"{score_label(score)}, full code (right axis)")
        else:
            score_ax = ax
            score_ax.set_ylabel(f"{score_label(score)}, full code")
            ax.text(0.5, 0.97, "no passive latents in any model", ha="center", va="top", transform=ax.transAxes,
                    color="0.3")  # fmt: skip
        drawn = False
        for rep in REPRESENTATIONS:
            line = lines.get("scores", score, rep, "full")
            drawn |= bool(line["mean"].notna().any())
            score_ax.errorbar(x, line["mean"], yerr=line["std"], color=REPRESENTATION_COLOURS[rep],
                              marker=REPRESENTATION_MARKERS[rep], capsize=3)  # fmt: skip
        score_ax.set_ylim(bottom=0)
        ax.set_title(f"passive latents and {SCORE_LABELS[score]}" if bars else SCORE_LABELS[score])
        _x_axis(ax, values, xlabel)
        if not drawn:
            _no_data(ax, "models with a full-code score")
    handles: list[Artist] = [Patch(color=PALETTE["passive"], alpha=0.35, label="passive latents (bars, left axis)")]
    handles = handles if bars else []
    handles += [
        Line2D([], [], color=REPRESENTATION_COLOURS[r], marker=REPRESENTATION_MARKERS[r], label=f"{r} code")
        for r in REPRESENTATIONS
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    suptitle(fig, title)
    return fig


def subset_scores_size(rows: int, columns: int) -> tuple[float, float]:
    return 2.3 * columns + 1.0, 1.9 * rows + 1.6


def scores_layout(summary: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """(scores, subsets drawn, notes on subsets left out) of ``subset_scores_figure``.

    A subset is left out when no model has it (fewer than two latents of its kinds) or when it equals
    the full code wherever it is present (every latent of that kind): a panel identical to ``full``.
    """
    scores = summary[summary["table"] == "scores"]
    present_scores = [s for s in SCORE_NAMES if (scores["quantity"] == s).any()] or [TC]
    drawn, notes = [], []
    keys = ["quantity", "representation", *GROUP_KEYS]
    full = scores.loc[scores["subset"] == "full", [*keys, "mean"]]
    for subset in SUBSETS:
        rows = scores[scores["subset"] == subset]
        if rows.empty:
            if subset != "full":
                notes.append(f"{subset}: no model has two or more such latents")
            continue
        if subset != "full":
            pair = rows[[*keys, "mean"]].merge(full, on=keys, how="left", suffixes=("", "_full"))
            if np.allclose(pair["mean"].to_numpy(float), pair["mean_full"].to_numpy(float), equal_nan=True):
                notes.append(f"{subset}: the same as the full code in every model")
                continue
        drawn.append(subset)
    return present_scores, drawn or ["full"], notes


def subset_scores_figure(summary: pd.DataFrame, title: str, fig: Figure | None = None) -> Figure:
    """Each score (rows) on each latent subset (columns), mean vs sampled, over the hyperparameter values.

    Subsets without data or identical to the full code are not drawn; a note under the grid says which.
    The grid is laid out by hand (no constrained layout) and inner rows have no x ticks: with dozens of
    panels that halves drawing time.
    """
    present_scores, present_subsets, notes = scores_layout(summary)
    width, height = subset_scores_size(len(present_scores), len(present_subsets))
    heading = wrapped(f"{title}\nscores per latent subset (mean over seeds; each row's axis from zero)", width, 10)
    if fig is None:
        fig = Figure(figsize=(width, height), dpi=DPI)
        top = (MARGIN + 0.2 * (heading.count("\n") + 1) + 0.3) / height
        fig.subplots_adjust(left=1.0 / width, right=1 - 0.25 / width, bottom=1.3 / height, top=1 - top, wspace=0.5)
    lines = _Lines(summary)
    values, xlabel = lines.values, _hyperparameter(summary)
    axes = fig.subplots(len(present_scores), len(present_subsets), squeeze=False)
    for i, score in enumerate(present_scores):
        row_range = zero_based_range(
            [lines.get("scores", score, rep, subset)["mean"] for subset in present_subsets for rep in REPRESENTATIONS]
        )
        for j, subset in enumerate(present_subsets):
            ax = axes[i, j]
            for rep in REPRESENTATIONS:
                line = lines.get("scores", score, rep, subset)
                ax.plot(range(len(values)), line["mean"], color=REPRESENTATION_COLOURS[rep],
                        marker=REPRESENTATION_MARKERS[rep], markersize=3)  # fmt: skip
            ax.set_ylim(*row_range)  # one range per row, from zero: equal values look equal across subsets
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            if i == 0:
                ax.set_title(subset)
            if j == 0:
                ax.set_ylabel(f"{SCORE_LABELS[score]}\n({SCORE_UNITS[score]})")
            if i == len(present_scores) - 1:
                _x_axis(ax, values, xlabel)
            else:  # no ticks at all on inner rows: cheaper to draw than hidden shared ones
                ax.xaxis.set_major_locator(NullLocator())
                ax.set_xlim(-0.6, len(values) - 0.4)
    handles = [
        Line2D([], [], color=REPRESENTATION_COLOURS[r], marker=REPRESENTATION_MARKERS[r], label=f"{r} code")
        for r in REPRESENTATIONS
    ]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.35 / height), ncols=2, frameon=False)
    if notes:
        note = wrapped("not drawn: " + "; ".join(notes), width, 8)
        fig.text(0.5, MARGIN / height, note, ha="center", va="bottom", fontsize=7, color="0.3")
    fig.suptitle(heading, y=1 - MARGIN / height, va="top")
    return fig


def kinds_size() -> tuple[float, float]:
    return 6.4, 4.0


def kinds_figure(summary: pd.DataFrame, title: str, ax: Axes | None = None) -> Figure:
    """Stacked bars of the mean active, mixed and passive counts per hyperparameter value."""
    if ax is None:
        ax = new_figure(None, *kinds_size()).subplots()
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
    fig = cast(Figure, ax.figure)  # the figure of the given ax (a SubFigure is not used here)
    ax.set_title(wrapped(f"{title}\nactive, mixed and passive latents", fig.get_figwidth() - 1.2))
    return fig  # the figure of the given ax (a SubFigure is not used here)


def metrics_size(panels: int) -> tuple[float, float]:
    columns = min(panels, 3)
    return 3.4 * columns + 0.6, 3.0 * math.ceil(panels / columns) + 1.6


SUBSET_MARKERS = {"full": "o", "active": "^", "active+mixed": "D"}
_DODGE = {"full": -0.15, "active": 0.0, "active+mixed": 0.15}


def metric_families(summary: pd.DataFrame) -> list[str]:
    """The metrics (``quantity``) of ``summary``'s metric rows, sorted: one figure each."""
    return sorted(set(summary.loc[summary["table"] == "metrics", "quantity"].astype(str)))


def metrics_figure(summary: pd.DataFrame, title: str, fig: Figure | None = None) -> Figure:
    """One metric family's values (a panel per key) on mean vs sampled codes, all latents vs active-only (and
    active+mixed). Colour: representation; marker and a small sideways shift: subset, so that each subset is
    told apart even with one hyperparameter value. Each panel's axis starts at zero."""
    metrics = summary[summary["table"] == "metrics"]
    panels = sorted(set(zip(metrics["quantity"], metrics["key"], strict=True))) or [("no metrics", "")]
    fig = new_figure(fig, *metrics_size(len(panels)))
    lines = _Lines(summary)
    values, xlabel = lines.values, _hyperparameter(summary)
    columns = min(len(panels), 3)
    axes = fig.subplots(math.ceil(len(panels) / columns), columns, squeeze=False).ravel()
    combos = [(r, s) for s in SUBSET_STYLES for r in REPRESENTATIONS if ((metrics["subset"] == s).any())]
    for ax, (metric, key) in zip(axes, panels, strict=False):
        drawn = []
        for rep, subset in combos:
            line = lines.get("metrics", metric, rep, subset, key)
            drawn.append(line["mean"])
            ax.plot(np.arange(len(values)) + _DODGE[subset], line["mean"], color=REPRESENTATION_COLOURS[rep],
                    linestyle=SUBSET_STYLES[subset], marker=SUBSET_MARKERS[subset], markersize=4)  # fmt: skip
        ax.set_ylim(*zero_based_range(drawn))
        ax.set_title(wrapped(key if key not in ("", metric) else metric, 3.2, 9))
        ax.set_ylabel("value (mean over seeds)")
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
            marker=SUBSET_MARKERS[s],
            label=f"{r} code, {s} latents" if s != "full" else f"{r} code, all latents",
        )
        for r, s in combos
    ]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), columns))  # panels wide
    family = panels[0][0] if len(metric_families(summary)) == 1 else "disentanglement metrics"
    suptitle(fig, f"{title}\n{family}: mean vs sampled vs active-only codes (each axis from zero)")
    return fig


def overview_size(datasets: int) -> tuple[float, float]:
    return 3.0 * max(datasets, 1) + 2.2, 6.4


def overview_figure(summary: pd.DataFrame, title: str, fig: Figure | None = None) -> Figure:
    """Passive count and full-code TC gap over normalised regularisation strength, a line per method.

    ``summary`` needs a ``strength`` column in 0..1 (``tables.with_strength``).
    """
    datasets = _catalogue_order(summary["dataset"], catalogue.DATASETS) or ["(none)"]
    methods = _catalogue_order(summary["method"], catalogue.METHOD_NAMES)
    fig = new_figure(fig, *overview_size(len(datasets)))
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
        axes[0, j].set_ylim(bottom=0)  # counts from zero: one level (or equal counts) is not blown up to full height
        axes[1, j].axhline(0, color="0.6", linewidth=0.8)
        axes[1, j].set_xlim(-0.05, 1.05)  # the normalised strength's whole range, also for one level
    fig.supxlabel(
        wrapped("regularisation strength, normalised per method (0 = weakest, 1 = strongest)", fig.get_figwidth() - 1.5)
    )
    axes[0, 0].set_ylabel("passive latents\n(mean over seeds)")  # two lines: the rows are short
    axes[1, 0].set_ylabel("TC gap, full code\n(mean − sampled, nats)")
    handles = [
        Line2D([], [], color=METHOD_STYLES[k % len(METHOD_STYLES)][0], marker=METHOD_STYLES[k % len(METHOD_STYLES)][1])
        for k in range(len(methods))
    ]
    fig.legend(handles, methods, loc="outside right center", title="method")
    suptitle(fig, f"{title}\noverview across methods")
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
    """Per latent (rows): histograms of its mean, sampled and variance codes; row labels coloured by kind.

    Each column shares one x range and one set of bins, so a passive latent's narrow mean code looks
    narrow next to an active one's; the range is in the column's title.
    """
    fig = new_figure(fig, *histograms_size(len(kinds)))
    axes = fig.subplots(len(kinds), 3, squeeze=False, sharex="col")
    columns = (("mean", mean), ("sampled", sampled), ("variance", variance))
    for j, (name, codes) in enumerate(columns):
        finite_all = codes[np.isfinite(codes)]
        low, high = (float(finite_all.min()), float(finite_all.max())) if finite_all.size else (0.0, 1.0)
        bins = np.linspace(low, high if high > low else low + 1.0, 61)
        for i, kind in enumerate(kinds):
            ax = axes[i, j]
            finite = codes[:, i][np.isfinite(codes[:, i])]
            ax.hist(finite, bins=bins, color=REPRESENTATION_COLOURS[name])
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"{name} code (x from {low:.3g} to {high:.3g})")
            if j == 0:
                ax.set_ylabel(_kind_label(i, kind), color=KIND_COLOURS[kind], rotation=0, ha="right", va="center")
    suptitle(fig, f"{title}\nper-latent histograms, one x range per column (row label: latent and its kind)")
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
    fig = new_figure(fig, *correlation_size())
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
    suptitle(fig, f"{title}\ncorrelation between latents")
    return fig


def traversal_size(latents: int, steps: int) -> tuple[float, float]:
    return 0.8 * steps + 1.6, 0.8 * latents + 1.2


def traversal_figure(
    images: np.ndarray, values: Sequence[float], kinds: Sequence[str], title: str, fig: Figure | None = None
) -> Figure:
    """Decoded traversals: row i varies latent i over ``values`` (columns); passive rows are labelled and framed.

    ``images`` is (latents, steps, 64, 64, channels) in [0, 1].
    """
    fig = new_figure(fig, *traversal_size(len(kinds), len(values)))
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)  # a given fig must use the constrained layout too
    # Images nearly touch each other (small pads), so the pads cannot keep the figure's MARGIN: the grid is
    # laid out in a rectangle MARGIN inside the edges, under a title placed by hand (its lines' height).
    x, y = MARGIN / fig.get_figwidth(), MARGIN / fig.get_figheight()
    heading = wrapped(
        f"{title}\ntraversals: one latent varied (columns), others fixed; passive rows framed", fig.get_figwidth(), 10
    )
    text = fig.suptitle(heading, y=1 - y, va="top")
    below_title = (heading.count("\n") + 1) * 1.3 * float(text.get_fontsize()) / 72 / fig.get_figheight()
    engine.set(w_pad=0.01, h_pad=0.01, wspace=0.0, hspace=0.0, rect=(x, y, 1 - 2 * x, 1 - 2 * y - below_title))
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
    return fig
