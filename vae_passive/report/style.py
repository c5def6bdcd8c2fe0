"""The report's look, shared by every figure and by the API's plots: one palette, score labels and units,
margins, text wrapping, score axes from zero (``zero_based_range``), and the rcParams figures are drawn and
saved with."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from cycler import cycler

from vae_passive.latents.variables import KINDS

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
#: The one palette: each role has one colour in every figure. Representations are Okabe-Ito blue and
#: orange (sky blue for the variance code's histograms); kinds are Paul Tol's dark green, dark grey and
#: purple-red, distinct under the common colour-vision deficiencies and at least 4.5:1 against white.
PALETTE = {
    "mean": OKABE_ITO["blue"],
    "sampled": OKABE_ITO["orange"],
    "variance": OKABE_ITO["sky_blue"],
    "active": "#117733",
    "mixed": "#555555",
    "passive": "#AA3377",
    "random": "#000000",
}
REPRESENTATION_COLOURS = {name: PALETTE[name] for name in ("mean", "sampled", "variance")}
REPRESENTATION_MARKERS = {"mean": "o", "sampled": "s"}
KIND_COLOURS = {name: PALETTE[name] for name in KINDS}
MARGIN = 0.12  # inches of empty border around every figure
SCORE_LABELS = {
    "gaussian_total_correlation": "total correlation",
    "gaussian_wasserstein_correlation": "Wasserstein corr.",
    "gaussian_wasserstein_correlation_norm": "Wasserstein corr. (norm.)",
    "mutual_info_score": "mutual information",
    "subset_effective_rank": "effective rank (ours, per subset)",
}
#: The unit of each score's axis (the Wasserstein ones are squared distances in code units).
SCORE_UNITS = {
    "gaussian_total_correlation": "nats",
    "gaussian_wasserstein_correlation": "code units²",
    "gaussian_wasserstein_correlation_norm": "code units²",
    "mutual_info_score": "nats",
    "subset_effective_rank": "latents",
}
# rcParams for drawing and saving: palette, fonts, no offset notation, a fixed SVG id salt so files are
# byte-identical, and no mathtext: titles and labels carry names from documents, and a "$" in them must
# not be parsed as TeX.
STYLE: dict[Any, Any] = {
    "text.parse_math": False,
    "axes.prop_cycle": cycler(color=list(OKABE_ITO.values())),
    "font.size": 9,
    "axes.titlesize": 9,
    "legend.fontsize": 8,
    "axes.formatter.useoffset": False,  # no "+3.983" offset: tick labels show the values themselves
    "svg.hashsalt": "vae-passive",
    "svg.fonttype": "path",
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}


def score_label(score: str) -> str:
    """``total correlation (nats)``: a score's axis label with its unit."""
    return f"{SCORE_LABELS.get(score, score)} ({SCORE_UNITS.get(score, 'score')})"


def wrapped(text: str, width_in: float, fontsize: float = 9.0) -> str:
    """``text`` with each line wrapped to fit ``width_in`` inches at ``fontsize`` points (so titles are never cut)."""
    chars = max(20, int((width_in - 2 * MARGIN) * 72 / (0.6 * fontsize)))
    return "\n".join(textwrap.fill(line, chars) for line in text.splitlines())


def zero_based_range(series: Sequence[pd.Series]) -> tuple[float, float]:
    """(bottom, top) shared by panels of one row: from zero (or the lowest value, when below zero) to a
    little above the highest value, so that a 3 % difference looks like 3 % and not like the full height."""
    finite = [float(v) for part in series for v in part.to_numpy(float) if np.isfinite(v)]
    low, high = min([0.0, *finite]), max([0.0, *finite])
    if high == low:
        return low, low + 1.0
    return low - 0.05 * (high - low) * (low < 0), high + 0.08 * (high - low)
