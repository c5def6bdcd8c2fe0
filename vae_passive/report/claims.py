"""The paper's three claims, judged against what chance gives at each model's sample size (no I/O);
docs/report.md defines each test.

"Be More Active!" (Bonheme & Grzes) claims that (a) passive latents are responsible for the
mean/sampled discrepancy: highly correlated in mean codes, not in sampled ones; (b) active latents
are equally disentangled in mean and sampled codes; (c) mean codes remain good for downstream tasks,
and removing passive latents may help. (a) and (b) are tested per model against a null distribution;
a claim's verdict asks whether the null is rejected more often than chance allows (binomial tail) and,
for (a), whether the mean code is far above its null in more models than a coin gives (sign test); (c)
takes paired differences over models with their 95 % intervals. Too few models: said so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vae_passive.latents.scores import FAR_ABOVE_NULL_P, WITHIN_NULL_P, tc_null, tc_null_quantile
from vae_passive.report.tables import TC, Tables

MIN_MODELS = 5  # fewer models with what a test needs: "too few to say"
NOISE_Z = 1.96  # (b) "equal": |mean − sampled| within 1.96 sd of the sampled TC's sampling noise
NOISE_LEVEL = 0.05  # (b) how often a difference of noise alone falls outside NOISE_Z sd
VERDICT_P = 0.05  # sign test over models: holds in more (fewer) models than chance would give
TRUNCATED = ("truncated_downstream_task_logistic_regression", "truncated_downstream_task_boosted_trees")
ACCURACY = "mean_test_accuracy"


@dataclass(frozen=True)
class Finding:
    """One headline: a short title and a sentence with the numbers behind it."""

    title: str
    text: str


def counted(n: int, noun: str = "model") -> str:
    """``1 model``, ``2 models``: a count and its noun, plural when it should be."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _spread(values: pd.Series, unit: str = "") -> str:
    """``median 0.12 (IQR 0.05 to 0.3) nats``: the median and the quartiles over models."""
    q1, q2, q3 = values.quantile([0.25, 0.5, 0.75])
    return f"median {q2:.3g} (IQR {q1:.3g} to {q3:.3g}){unit}"


# ---- the statistics -----------------------------------------------------------------------------


def sign_test(holds: int, of: int) -> float:
    """One-sided p of ``holds`` or more successes in ``of`` fair coin flips."""
    from scipy.stats import binom

    return float(binom.sf(holds - 1, of, 0.5))


def excess_test(failures: int, of: int, level: float) -> float:
    """One-sided p of ``failures`` or more rejections in ``of`` models when each rejects with probability
    ``level`` (the null is true in every model): small when the null fails more often than chance."""
    from scipy.stats import binom

    return float(binom.sf(failures - 1, of, level)) if failures else 1.0


def paired_interval(differences: pd.Series) -> tuple[float, float, float]:
    """Mean of paired differences over models and its 95 % t interval."""
    from scipy.stats import t

    values = differences.to_numpy(np.float64)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = float(t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return mean, mean - half, mean + half


def _null_verdict(holds: int | None, failures: int, of: int, level: float, what: tuple[str, str]) -> str:
    """The verdict of a claim that ``what[0]`` is far from its null in most models (``holds`` of them, by a sign
    test; None: the claim has no such part) while ``what[1]`` is indistinguishable from its null: it may differ
    from it (``failures``) only as often as its ``level`` gives by chance (``excess_test``)."""
    if of < MIN_MODELS:
        return f"Too few models to say ({of:,} with what the test needs; {MIN_MODELS} wanted)"
    excess = excess_test(failures, of, level)
    often = "as often as chance gives" if excess >= VERDICT_P else "more often than chance gives"
    text = f"{what[1]} differs from its null in {failures:,} of {of:,} models, {often}"
    text += f" ({level:.0%} expected, p = {excess:.2g})"
    if holds is not None:
        text = f"{what[0]} far above its null in {holds:,} of {of:,} (sign test p = {sign_test(holds, of):.2g}); {text}"
    supported = excess >= VERDICT_P and (holds is None or sign_test(holds, of) < VERDICT_P)
    return f"{'Supported' if supported else 'Not supported'}: {text}"


# ---- tidy helpers -------------------------------------------------------------------------------


def per_model(frame: pd.DataFrame, quantity: str, column: str = "score") -> pd.DataFrame:
    """One row per model key, a column per (subset, representation) of ``quantity`` in ``column``: the one
    pivot the claims and the findings read their per-model pairs from."""
    rows = frame[frame[column] == quantity]
    return rows.pivot_table(
        index="key", columns=["subset", "representation"], values="result", aggfunc="first", observed=True
    )


def pair(wide: pd.DataFrame, subset: str) -> pd.DataFrame | None:
    """Mean and sampled columns of ``subset`` (a ``per_model`` frame) for the models that have both, or None."""
    columns = [(subset, "mean"), (subset, "sampled")]
    if not all(c in wide.columns for c in columns):
        return None
    both = wide[columns].dropna()
    both.columns = ["mean", "sampled"]
    return both if len(both) else None


def _kept_subset(models: pd.DataFrame) -> dict[str, str]:
    """Per model key: the subset of its non-passive latents as the study names it."""
    return {
        str(key): "active+mixed" if a and m else "active" if a else "mixed"
        for key, a, m in zip(models["key"], models["active"], models["mixed"], strict=True)
    }


def _kept_values(wide: pd.DataFrame, kept: dict[str, str], representation: str) -> pd.Series:
    """Per model key in ``kept``: the value of its non-passive subset in ``representation`` (NaN if absent)."""
    values = {}
    for key, subset in kept.items():
        column = (subset, representation)
        values[key] = float(wide[column].get(key, math.nan)) if column in wide.columns else math.nan
    return pd.Series(values, dtype="float64")


def without_passive(wide: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """Mean and sampled columns of each model's non-passive latents (active, mixed or both: its
    ``_kept_subset``) for the models with passive latents that have both values: what removing the
    passive latents leaves, for claim (a)'s gap and the findings' MI gap alike."""
    kept = _kept_subset(models[models["passive"] > 0])
    frame = pd.DataFrame({r: _kept_values(wide, kept, r) for r in ("mean", "sampled")}, dtype="float64")
    return frame.dropna()


def truncated_accuracy(metrics: pd.DataFrame) -> pd.DataFrame:
    """The truncated downstream tasks' mean test accuracy rows: what claim (c) and the authors'
    downstream figure read."""
    return metrics[metrics["metric"].isin(TRUNCATED) & (metrics["metric_key"] == ACCURACY)]


def _sizes(tables: Tables, subset: str) -> pd.DataFrame:
    """Per model key: N (inputs) and the number of latents of ``subset``."""
    scores = tables.scores[(tables.scores["subset"] == subset) & (tables.scores["score"] == TC)]
    latents = scores.groupby("key", observed=True)["num_latents"].first()
    n = tables.models.set_index("key")["num_samples"]
    return pd.DataFrame({"n": n.reindex(latents.index).astype("float64"), "k": latents.astype("float64")}).dropna()


# ---- the claims ---------------------------------------------------------------------------------


def claim_a(tables: Tables) -> Finding:
    """(a) On the passive latents the mean code's TC is far above the null of independent Gaussian
    columns (p < ``FAR_ABOVE_NULL_P``) and the sampled code's indistinguishable from it (p ≥ ``WITHIN_NULL_P``)."""
    title = "Claim (a): passive latents cause the mean/sampled discrepancy"
    wide = per_model(tables.scores, TC)
    passive = pair(wide, "passive")
    if passive is None:
        return Finding(title, "not measurable: no model has two or more passive latents with TC scores.")
    judged = passive.join(_sizes(tables, "passive"), how="inner")
    if judged.empty:
        return Finding(title, "not measurable: the documents do not record N for the models with passive TC.")
    p_mean = tc_null(judged["mean"], judged["n"], judged["k"])
    p_sampled = tc_null(judged["sampled"], judged["n"], judged["k"])
    high, none = int((p_mean < FAR_ABOVE_NULL_P).sum()), int((p_sampled >= WITHIN_NULL_P).sum())
    n, k = float(judged["n"].median()), float(judged["k"].median())
    what = ("the mean code's TC", "the sampled code's")
    verdict = _null_verdict(high, len(judged) - none, len(judged), WITHIN_NULL_P, what)
    text = (
        f"{verdict}. Test per model: TC of the passive latents against its null, k independent "
        f"Gaussian columns of the model's N rows (Bartlett: 2·TC·(N − 1 − (2k + 5)/6) ~ χ² with k(k − 1)/2 degrees "
        f'of freedom); "high" is p < {FAR_ABOVE_NULL_P:g}, "none" p ≥ {WITHIN_NULL_P:g}. Mean code high in {high:,} '
        f"and sampled code none in {none:,} of {counted(len(judged))}; TC of the mean code "
        f"{_spread(judged['mean'], ' nats')}, of the sampled code {_spread(judged['sampled'], ' nats')}, where the "
        f"null's 95th percentile is {tc_null_quantile(0.95, n, k):.2g} nats (median N = {n:,.0f}, k = {k:g})."
    )
    return Finding(title, text + _gap_text(wide, tables.models))


def _gap_text(wide: pd.DataFrame, models: pd.DataFrame) -> str:
    """The full code's mean − sampled TC gap (``wide``: ``per_model`` TC) against the gap on each model's
    non-passive latents, paired."""
    full, kept = pair(wide, "full"), without_passive(wide, models)
    if full is None:
        return ""
    gaps = pd.DataFrame(
        {"full": (full["mean"] - full["sampled"]).abs(), "kept": (kept["mean"] - kept["sampled"]).abs()}
    )
    gaps = gaps.dropna()
    if gaps.empty:
        return ""
    change = _interval_text("non-passive − full", gaps["kept"] - gaps["full"])
    return (
        f" Without the passive latents the |mean − sampled| TC gap changes by: {change} "
        f"(full code {_spread(gaps['full'], ' nats')}); "
        "the subset is smaller than the full code and TC grows with the number of latents, so part of the change "
        "may come from its size alone."
    )


def claim_b(tables: Tables) -> Finding:
    """(b) On the active latents the mean − sampled TC difference within ``NOISE_Z`` standard deviations
    of what redrawing the sampled code's noise alone gives (the document's ``sampling_spread``)."""
    title = "Claim (b): active latents are equally disentangled in mean and sampled codes"
    active = pair(per_model(tables.scores, TC), "active")
    if active is None:
        return Finding(title, "not measurable: no model has two or more active latents with TC scores.")
    spread = tables.spread[tables.spread["subset"] == "active"].groupby("key", observed=True)["sd"].first()
    judged = active.join(spread.rename("sd"), how="inner")
    unrecorded = len(active) - len(judged)
    difference = judged["mean"] - judged["sampled"]
    holds = int((difference.abs() <= NOISE_Z * judged["sd"]).sum())
    verdict = _null_verdict(
        None, len(judged) - holds, len(judged), NOISE_LEVEL, ("", "the mean − sampled TC difference")
    )
    text = (
        f"{verdict}. Judged by TC; test per model: the mean − sampled TC difference on the "
        f"active latents against the spread of the sampled TC when only its noise ε is drawn again (20 redraws "
        f'at analysis time); "equal" is within {NOISE_Z} sd'
    )
    if len(judged):
        text += (
            f": equal in {holds:,} of {counted(len(judged))}; difference {_spread(difference, ' nats')}, noise sd "
            f"{_spread(judged['sd'], ' nats')}"
        )
    if unrecorded:
        text += f". {counted(unrecorded)} left out: written before the sampling spread was recorded (analyze again)"
    return Finding(title, text + ".")


def _interval_text(name: str, differences: pd.Series) -> str:
    mean, low, high = paired_interval(differences)
    if len(differences) < MIN_MODELS:
        return f"{name} {mean:+.3f} (too few models for an interval: {len(differences)})"
    side = "above 0" if low > 0 else "below 0" if high < 0 else "includes 0"
    return f"{name} {mean:+.3f} (95 % CI {low:+.3f} to {high:+.3f}, {side}; {counted(len(differences))})"


def _predictor_text(wide: pd.DataFrame, full: pd.DataFrame, kept: dict[str, str], name: str) -> tuple[str, bool]:
    """One predictor's paired differences and whether the mean code is good: above random, not below sampled."""
    versus_sampled = full["mean"] - full["sampled"]
    parts = [_interval_text("mean − sampled", versus_sampled)]
    good = len(full) >= MIN_MODELS and paired_interval(versus_sampled)[2] >= 0
    if ("random", "mean") in wide.columns:
        versus_random = (full["mean"] - wide[("random", "mean")].reindex(full.index)).dropna()
        parts.append(_interval_text("mean − random", versus_random))
        good = good and len(versus_random) >= MIN_MODELS and paired_interval(versus_random)[1] > 0
    kept_minus_full = (_kept_values(wide, kept, "mean") - full["mean"]).dropna()
    if len(kept_minus_full):
        parts.append(_interval_text("without passive − full (mean code)", kept_minus_full))
    return f"{name}: test accuracy differences, " + "; ".join(parts), good


def claim_c(tables: Tables) -> Finding:
    """(c) Per predictor, paired differences over models of the test accuracy: mean − sampled, mean −
    random and non-passive − full, each with its 95 % t interval."""
    title = "Claim (c): mean codes remain good downstream; removing passive latents may help"
    rows = truncated_accuracy(tables.metrics)
    if rows.empty:
        return Finding(
            title,
            "not measured: the documents have no truncated downstream rows; run `vae-passive analyze --preset study`.",
        )
    parts, verdicts = [], []
    kept = _kept_subset(tables.models[tables.models["passive"] > 0])
    for metric in TRUNCATED:
        wide = per_model(rows, metric, "metric")
        full = pair(wide, "full")
        if full is None:
            continue
        name = metric.removeprefix("truncated_downstream_task_").replace("_", " ")
        text, good = _predictor_text(wide, full, kept, name)
        parts.append(text)
        verdicts.append((name, good, len(full)))
    if not parts:
        return Finding(title, "not measured: no model has truncated downstream rows for both representations.")
    if all(count < MIN_MODELS for _, _, count in verdicts):
        verdict = f"Too few models to say (at most {max(c for _, _, c in verdicts)}; {MIN_MODELS} wanted)"
    else:
        judged = [
            f"{name}: {'supported' if good else 'not supported'}" for name, good, c in verdicts if c >= MIN_MODELS
        ]
        verdict = "Mean code above random and not below sampled (95 % intervals) — " + ", ".join(judged)
    return Finding(title, f"{verdict}. " + "; ".join(parts) + ".")


def claims(tables: Tables) -> list[Finding]:
    """The three claims, in the paper's order."""
    return [claim_a(tables), claim_b(tables), claim_c(tables)]
