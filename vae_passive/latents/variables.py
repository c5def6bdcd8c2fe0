"""Classify latent variables as active, passive or mixed (pure numpy).

Over N inputs, per latent j: m_j = E[sigma_j^2], v_j = Var[sigma_j^2] (ddof 0), and Var[mu_j].

- ``variance`` rule (the authors' rule since mid-2021, the default):
  passive if v_j < var_threshold and |m_j - 1| <= mean_tolerance (posterior ~ prior);
  active if v_j < var_threshold and m_j <= mean_tolerance (posterior always narrow);
  mixed otherwise.
- ``mean-variance`` rule (their earlier rule): passive iff Var[mu_j] < var_threshold, else active.

Every latent also gets a ``reason``: the condition that decided its kind (``REASONS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vae_passive.latents.representations import variance_representation

ACTIVE, PASSIVE, MIXED = "active", "passive", "mixed"
#: The kinds in the order the authors combine them (active, mixed, passive) and every table shows them.
KINDS = (ACTIVE, MIXED, PASSIVE)
RULES = ("variance", "mean-variance")


@dataclass(frozen=True)
class Rule:
    """A classification rule and its thresholds, recorded with every result."""

    name: str = "variance"
    var_threshold: float = 0.1
    mean_tolerance: float | None = 0.1

    def __post_init__(self) -> None:
        if self.name not in RULES:
            raise ValueError(f"unknown rule {self.name!r}; choose one of {', '.join(RULES)}")
        if self.var_threshold <= 0:
            raise ValueError(f"var_threshold must be positive, not {self.var_threshold}")
        if self.name == "variance" and (self.mean_tolerance is None or self.mean_tolerance < 0):
            raise ValueError("the variance rule needs a non-negative mean_tolerance")

    def as_dict(self) -> dict:
        """The record stored in results; the mean-variance rule has no mean tolerance."""
        data = asdict(self)
        if self.name == "mean-variance":
            data["mean_tolerance"] = None
        return data


@dataclass(frozen=True)
class LatentStatistics:
    """Per-latent statistics over N inputs, each of shape (latents,)."""

    mean_of_variance: np.ndarray
    variance_of_variance: np.ndarray
    variance_of_mean: np.ndarray


def latent_statistics(mean: np.ndarray, logvar: np.ndarray) -> LatentStatistics:
    """Statistics of mu (N, latents) and sigma^2 = exp(logvar) (N, latents), in float64, ddof 0."""
    mean = np.asarray(mean, np.float64)
    variance = variance_representation(np.asarray(logvar, np.float64))
    if mean.ndim != 2 or mean.shape != variance.shape or len(mean) < 2:
        raise ValueError(f"need mean and logvar of one shape (N >= 2, latents), got {mean.shape} and {variance.shape}")
    return LatentStatistics(
        mean_of_variance=variance.mean(axis=0),
        variance_of_variance=variance.var(axis=0),
        variance_of_mean=mean.var(axis=0),
    )


#: Why a latent got its kind: for the variance rule, a passive latent's posterior is the prior, an
#: active one's is narrow for every input, and a mixed one's sigma^2 varies across inputs or stays
#: outside both bands (between them, or above the prior's); for the mean-variance rule, whether mu varies.
REASONS: dict[str, str] = {
    "prior": "sigma^2 stays within mean_tolerance of 1 (the prior) for every input",
    "narrow": "sigma^2 stays below mean_tolerance for every input",
    "varies": "the variance of sigma^2 over inputs reaches var_threshold",
    "between_bands": "sigma^2 is stable but between the active and the passive band",
    "above_prior": "sigma^2 is stable but above the passive band (wider than the prior)",
    "constant_mean": "the variance of mu over inputs is below var_threshold (mean-variance rule)",
    "varying_mean": "the variance of mu over inputs reaches var_threshold (mean-variance rule)",
}


def classify(stats: LatentStatistics, rule: Rule = Rule()) -> np.ndarray:
    """The kind of each latent under ``rule``, an array of ``KINDS`` strings, shape (latents,)."""
    if rule.name == "mean-variance":
        return np.where(stats.variance_of_mean < rule.var_threshold, PASSIVE, ACTIVE)
    m, v, tol = stats.mean_of_variance, stats.variance_of_variance, rule.mean_tolerance
    assert tol is not None  # the variance rule always has one (Rule.__post_init__)
    stable = v < rule.var_threshold
    passive = stable & (m >= 1.0 - tol) & (m <= 1.0 + tol)
    active = stable & (m <= tol)
    return np.where(passive, PASSIVE, np.where(active, ACTIVE, MIXED))


def reasons(stats: LatentStatistics, rule: Rule = Rule()) -> np.ndarray:
    """The ``REASONS`` key that decided each latent's kind under ``rule``, shape (latents,)."""
    if rule.name == "mean-variance":
        return np.where(stats.variance_of_mean < rule.var_threshold, "constant_mean", "varying_mean")
    m, v, tol = stats.mean_of_variance, stats.variance_of_variance, rule.mean_tolerance
    assert tol is not None  # the variance rule always has one (Rule.__post_init__)
    kinds = classify(stats, rule)
    mixed = np.where(v >= rule.var_threshold, "varies", np.where(m > 1.0 + tol, "above_prior", "between_bands"))
    return np.where(kinds == PASSIVE, "prior", np.where(kinds == ACTIVE, "narrow", mixed))


#: A passive latent's mean stays near 0 (its posterior is the prior); one whose Var[μ] reaches this varies like
#: an active latent's (whose Var[μ] is near 1 under the KL term): the codes are not what the kinds assume.
PASSIVE_MEAN_VARIANCE_LIMIT = 0.5


def sanity_warnings(logvar: np.ndarray, stats: LatentStatistics, kinds: np.ndarray) -> list[str]:
    """Warnings when the kinds contradict the codes, each naming the likely mix-up (empty when none).

    Every log-variance ≥ 0 means no latent is narrower than the prior, which no trained VAE shows: variances
    or standard deviations were likely passed as log-variances. A "passive" latent whose mean varies like an
    active one's (Var[μ] ≥ ``PASSIVE_MEAN_VARIANCE_LIMIT``) points the same way: exp of a small σ² is ≈ 1.
    """
    out = []
    logvar = np.asarray(logvar, np.float64)
    if logvar.size and bool(np.all(logvar[np.isfinite(logvar)] >= 0)):
        out.append(
            "every log-variance is ≥ 0 (no latent is narrower than the prior, which no trained VAE shows): "
            "were variances (sigma^2) or standard deviations (sigma) passed where log-variances belong? "
            "Pass log(sigma^2)."
        )
    loud = np.flatnonzero((kinds == PASSIVE) & (stats.variance_of_mean >= PASSIVE_MEAN_VARIANCE_LIMIT))
    if len(loud):
        listed = ", ".join(str(int(j)) for j in loud)
        out.append(
            f"latent(s) {listed} are called passive (sigma^2 near 1) but their means vary like an active latent's "
            f"(Var[mu] up to {float(stats.variance_of_mean[loud].max()):.3g}): were variances passed where "
            "log-variances belong (exp of a small sigma^2 is near 1)?"
        )
    return out


def missing_score_reason(latents: Sequence[Mapping[str, Any]], subset: str, representation: str) -> str:
    """Why a score of ``subset`` (a key of ``SUBSETS``) is undefined, from a document's latent rows: the
    constant columns of the mean code by name, or a singular covariance in general."""
    members = [latent for latent in latents if latent.get("kind") in SUBSETS.get(subset, ())]
    constant = [str(latent["index"]) for latent in members if latent.get("variance_of_mean") == 0]
    if representation == "mean" and constant:
        return f"undefined: latent(s) {', '.join(constant)} constant in the mean code (zero variance)"
    return "undefined: a singular covariance (latents that are constant or exact copies of others)"


#: Latent subsets scored in the study, as the kinds they combine.
SUBSETS: dict[str, tuple[str, ...]] = {
    "full": KINDS,
    "active": (ACTIVE,),
    "passive": (PASSIVE,),
    "mixed": (MIXED,),
    "active+mixed": (ACTIVE, MIXED),
    "active+passive": (ACTIVE, PASSIVE),
    "mixed+passive": (MIXED, PASSIVE),
}
#: The row "subset" of the truncated downstream tasks' uniform baseline: no latents, a random guess.
RANDOM = "random"


def study_subsets(kinds: np.ndarray, min_latents: int = 1) -> dict[str, np.ndarray]:
    """The subsets the authors score, in ``SUBSETS`` order, with their indices (tc_study's rule).

    ``full`` always; a single kind when it has latents; a pair only when **both** of its kinds
    have latents (otherwise it equals one kind and would be counted twice); then any subset with
    fewer than ``min_latents`` latents is left out (2 for the correlation scores). A pair's columns
    are its first kind's then its second's, as the authors concatenate them (tree-based classifiers
    can break ties by column order; the correlation scores do not depend on it).
    """
    present = {kind: bool(np.any(kinds == kind)) for kind in KINDS}
    chosen = {}
    for name, parts in SUBSETS.items():
        if name == "full":
            indices = np.arange(len(kinds))
        elif all(present[kind] for kind in parts):
            indices = np.concatenate([np.flatnonzero(kinds == kind) for kind in parts])
        else:
            continue
        if len(indices) >= min_latents:
            chosen[name] = indices
    return chosen
