"""``analyze_codes``: the paper's analysis of mean and log-variance arrays from any VAE, as an ``Analysis``.

The same classification, sampled code and scores as ``vae-passive analyze`` (``analysis.analyze``),
from arrays (N x latents) instead of a module; ``Analysis`` gives them as arrays, the report's tidy
DataFrames and figures, the result document, and a results folder that ``vae-passive report`` reads.
pandas and matplotlib are imported only when a table or a figure is asked for.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vae_passive.analysis.analyze import DEFAULT_SEED, Settings
from vae_passive.analysis.analyze import analyze_codes as analyze_checked_codes
from vae_passive.analysis.codes import check_codes, float_codes, results_key
from vae_passive.analysis.document import AnalysisDocument, write_document
from vae_passive.errors import VaePassiveError
from vae_passive.latents import variables
from vae_passive.latents.representations import variance_representation
from vae_passive.latents.scores import score_subsets
from vae_passive.untrusted import UnreadableFile, read_json

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from vae_passive.report.tables import Tables

DEFAULT_KEY = "codes"


def _rule(rule: str, var_threshold: float, mean_tolerance: float | None) -> variables.Rule:
    try:
        return variables.Rule(rule, var_threshold, mean_tolerance)
    except ValueError as error:
        raise VaePassiveError(str(error)) from None


def _metric_names(metrics: str | Sequence[str]) -> tuple[str, ...]:
    """``"all"``, a comma list or names -> fixed-sample metric names (``metrics.registry.parse_metrics``)."""
    if not metrics:
        return ()
    from vae_passive.metrics.registry import parse_metrics

    text = metrics if isinstance(metrics, str) else ",".join(metrics)
    try:
        return parse_metrics(text, fixed_sample_only=True)
    except ValueError as error:
        raise VaePassiveError(f"{error}; from codes only the fixed-sample metrics run (docs/metrics.md)") from None


@dataclass(frozen=True, eq=False)
class Analysis:
    """One model's analysis: the result document and the arrays it was computed from (N x latents)."""

    document: AnalysisDocument
    mean: np.ndarray
    logvar: np.ndarray
    sampled: np.ndarray
    factors: np.ndarray | None = None
    _tables: list[Tables] = field(default_factory=list, repr=False)

    @property
    def key(self) -> str:
        return self.document["model"]["key"]

    @property
    def kinds(self) -> np.ndarray:
        """The kind of each latent (``"active"``, ``"mixed"``, ``"passive"``), shape (latents,)."""
        return np.array([latent["kind"] for latent in self.document["latents"]])

    @property
    def reasons(self) -> np.ndarray:
        """The condition that decided each latent's kind (``latents.variables.REASONS``), shape (latents,)."""
        return np.array([latent.get("reason", "") for latent in self.document["latents"]])

    @property
    def counts(self) -> dict[str, int]:
        """Latents per kind."""
        return dict(self.document["counts"])

    def _report_tables(self) -> Tables:
        """The report's tidy tables of this one document, built once."""
        if not self._tables:
            from vae_passive.report.tables import TableBuilder

            builder = TableBuilder()
            builder.add(self.document)
            self._tables.append(builder.build())
        return self._tables[0]

    @property
    def latents(self) -> pd.DataFrame:
        """One row per latent in the report's columns (``latents`` table): kind and the three statistics."""
        return self._report_tables().latents

    @property
    def scores(self) -> pd.DataFrame:
        """One row per (representation, subset, score) in the report's columns (``scores`` table)."""
        return self._report_tables().scores

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per metric value (``metrics`` table); empty without ``metrics=``."""
        return self._report_tables().metrics

    def to_document(self) -> AnalysisDocument:
        """A copy of the ``vae-passive/analysis/1`` document (docs/analysis.md)."""
        return copy.deepcopy(self.document)

    def save(self, results_dir: str | Path, overwrite: bool = False) -> Path:
        """Write ``<results_dir>/<key>/analysis.json`` and ``codes.npz``, as ``analyze --save-codes`` does; the
        path of the document. ``vae-passive report --results results_dir`` then includes this model. A key of
        digits only (a zoo model id, allowed in memory to draw that model's sampled code) is refused here.

        A folder that already holds another analysis (other codes or settings under the same key, e.g. two
        analyses saved without a ``key``) is refused with a one-line ``VaePassiveError``, not overwritten
        silently; ``overwrite=True`` replaces it. The same analysis saved again is simply rewritten."""
        results_key(self.key)
        if not overwrite:
            self._check_not_another(Path(results_dir) / self.key / "analysis.json")
        codes = {"mean": self.mean, "logvar": self.logvar, "sampled": self.sampled}
        if self.factors is not None:
            codes["factors"] = self.factors
        return write_document(Path(results_dir), self.document, codes)

    def _check_not_another(self, path: Path) -> None:
        """Raise unless ``path`` is absent or holds this very analysis (same settings hash: codes, key, seed, rule)."""
        if not path.exists():
            return
        try:
            existing: Any = read_json(path)
            same = existing["provenance"]["settings_hash"] == self.document["provenance"]["settings_hash"]
        except (UnreadableFile, KeyError, TypeError):
            same = False
        if not same:
            raise VaePassiveError(
                f"{path} holds another analysis; give analyze_codes a key='...' of its own, "
                "or save(..., overwrite=True) to replace it"
            )

    def __repr__(self) -> str:
        """A short summary (the arrays are in ``mean``, ``logvar``, ``sampled``; the numbers in ``document``)."""
        counts = ", ".join(f"{self.counts.get(kind, 0)} {kind}" for kind in ("active", "mixed", "passive"))
        text = f"Analysis(key={self.key!r}, N={len(self.mean):,}, latents={self.mean.shape[1]}: {counts}"
        passive = {r["representation"]: r["gaussian_total_correlation"] for r in self.document["scores"]
                   if r["subset"] == "passive"}  # fmt: skip
        if passive:
            shown = {rep: "n/a" if value is None else f"{value:.3g}" for rep, value in passive.items()}
            text += f"; passive TC mean {shown.get('mean')} vs sampled {shown.get('sampled')} nats"
        warnings = self.document.get("warnings", [])
        return text + (f"; {len(warnings)} warning(s): {warnings[0]}" if warnings else "") + ")"

    def _title(self) -> str:
        return f"model {self.key} · given codes, N = {len(self.mean):,}"

    def plot_histograms(self, fig: Figure | None = None) -> Figure:
        """Per latent: histograms of its mean, sampled and variance codes (the report's per-model figure)."""
        from vae_passive.api.plots import styled
        from vae_passive.report.figures import histograms_figure

        with styled():
            return histograms_figure(
                self.mean, self.sampled, variance_representation(self.logvar), list(self.kinds), self._title(), fig
            )

    def plot_correlations(self, fig: Figure | None = None) -> Figure:
        """Heatmaps of the latent-latent correlation of the mean and the sampled codes (the report's figure)."""
        from vae_passive.api.plots import styled
        from vae_passive.report.figures import correlation_figure

        with styled():
            return correlation_figure(self.mean, self.sampled, list(self.kinds), self._title(), fig)

    def plot_scores(self, fig: Figure | None = None) -> Figure:
        """Each score on each latent subset, mean vs sampled code, as bars (``api.plots.scores_figure``)."""
        from vae_passive.api.plots import scores_figure

        return scores_figure(self.scores, self._title(), fig)


def analyze_codes(
    mean: np.ndarray,
    logvar: np.ndarray,
    *,
    factors: np.ndarray | None = None,
    seed: int = DEFAULT_SEED,
    rule: str = "variance",
    var_threshold: float = 0.1,
    mean_tolerance: float | None = 0.1,
    metrics: str | Sequence[str] = (),
    key: str | None = None,
    jobs: int = 1,
    preset: str = "full",
    classifier_defaults: str = "2019",
) -> Analysis:
    """Classify the latents of codes (N x latents) from any VAE and score mean vs sampled codes.

    ``mean`` and ``logvar`` are the encoder's μ(x) and log σ²(x) for N >= 2 inputs. The sampled code
    is drawn as ``analyze`` draws it, from ``noise_seed(seed, key)``: the same arrays, seed and key give
    the same document as ``vae-passive analyze``. ``metrics`` (``"all"`` or names) adds the fixed-sample
    disentanglement metrics, which need ``factors`` (N x factors, integer classes), scored on every row
    (``preset="fast"``: at most the fast preset's sizes and its smaller predictors) with the linear
    classifiers' ``classifier_defaults`` (``"2019"``, scikit-learn 0.21.3's as the study ran, or
    ``"current"``; docs/metrics.md). Bad input raises a one-line ``VaePassiveError``.
    """
    codes = check_codes(mean, logvar, factors=factors, key=key)
    settings = Settings(
        seed=seed,
        rule=_rule(rule, var_threshold, mean_tolerance),
        metrics=_metric_names(metrics),
        preset=preset,
        classifier_defaults=classifier_defaults,
    )
    result = analyze_checked_codes(codes, settings, codes.key or DEFAULT_KEY, jobs=jobs)
    return Analysis(result.document, codes.mean, codes.logvar, result.codes["sampled"], codes.factors)


def classify(
    mean: np.ndarray,
    logvar: np.ndarray,
    rule: str = "variance",
    var_threshold: float = 0.1,
    mean_tolerance: float | None = 0.1,
) -> np.ndarray:
    """The kind of each latent of codes (N x latents), as ``analyze_codes(...).kinds``, without the scores."""
    codes = check_codes(mean, logvar)
    stats = variables.latent_statistics(codes.mean, codes.logvar)
    return variables.classify(stats, _rule(rule, var_threshold, mean_tolerance))


def scores(codes: np.ndarray, subsets: Sequence[str] | np.ndarray | Mapping[str, Sequence[int]]) -> dict[str, dict]:
    """The correlation scores of ``codes`` (N x latents) per subset: ``{subset: {score: value or None}}``.

    ``subsets`` is either the latents' kinds (the study's subsets of >= 2 latents are formed, as
    ``analyze`` does) or a mapping of names to column indices. A degenerate score is None.
    """
    checked = float_codes("codes", codes)
    if isinstance(subsets, Mapping):
        chosen = {name: np.asarray(indices, dtype=np.int64) for name, indices in subsets.items()}
    else:
        kinds = np.asarray(subsets)
        if kinds.shape != (checked.shape[1],) or not set(kinds.tolist()) <= set(variables.KINDS):
            raise VaePassiveError(
                f"subsets must be one kind ({', '.join(variables.KINDS)}) per latent ({checked.shape[1]}) "
                "or a mapping of names to column indices"
            )
        chosen = variables.study_subsets(kinds, min_latents=2)
    for name, indices in chosen.items():
        if indices.ndim != 1 or len(indices) < 2 or indices.min() < 0 or indices.max() >= checked.shape[1]:
            raise VaePassiveError(
                f"subset {name!r} must list at least 2 column indices between 0 and {checked.shape[1] - 1}"
            )
    return score_subsets(checked, chosen)
