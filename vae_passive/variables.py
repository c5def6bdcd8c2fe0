"""Classify latent variables as active, passive or mixed (pure numpy).

Over N inputs, per latent j: m_j = E[sigma_j^2], v_j = Var[sigma_j^2] (ddof 0), and Var[mu_j].

- ``variance`` rule (the authors' rule since mid-2021, the default):
  passive if v_j < var_threshold and |m_j - 1| <= mean_tolerance (posterior ~ prior);
  active if v_j < var_threshold and m_j <= mean_tolerance (posterior always narrow);
  mixed otherwise.
- ``mean-variance`` rule (their earlier rule): passive iff Var[mu_j] < var_threshold, else active.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

ACTIVE, PASSIVE, MIXED = "active", "passive", "mixed"
KINDS = (ACTIVE, PASSIVE, MIXED)
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
    variance = np.exp(np.asarray(logvar, np.float64))
    if mean.ndim != 2 or mean.shape != variance.shape or len(mean) < 2:
        raise ValueError(f"need mean and logvar of one shape (N >= 2, latents), got {mean.shape} and {variance.shape}")
    return LatentStatistics(
        mean_of_variance=variance.mean(axis=0),
        variance_of_variance=variance.var(axis=0),
        variance_of_mean=mean.var(axis=0),
    )


def classify(stats: LatentStatistics, rule: Rule = Rule()) -> np.ndarray:
    """The kind of each latent under ``rule``, an array of ``KINDS`` strings, shape (latents,)."""
    if rule.name == "mean-variance":
        return np.where(stats.variance_of_mean < rule.var_threshold, PASSIVE, ACTIVE)
    m, v, tol = stats.mean_of_variance, stats.variance_of_variance, rule.mean_tolerance
    stable = v < rule.var_threshold
    passive = stable & (m >= 1.0 - tol) & (m <= 1.0 + tol)
    active = stable & (m <= tol)
    return np.where(passive, PASSIVE, np.where(active, ACTIVE, MIXED))


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


def subset_indices(kinds: np.ndarray, subset: str) -> np.ndarray:
    """Indices of the latents in ``subset`` (a key of ``SUBSETS``), ascending."""
    return np.flatnonzero(np.isin(kinds, SUBSETS[subset]))
