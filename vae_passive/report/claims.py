"""The paper's three claims, re-measured on one rule's tables (no I/O); docs/report.md defines each test.

"Be More Active!" (Bonheme & Grzes) claims that (a) passive latents are responsible for the
mean/sampled discrepancy: highly correlated in mean codes, not in sampled ones; (b) active latents
are equally disentangled in mean and sampled codes; (c) mean codes remain good for downstream tasks,
and removing passive latents may help. Each test is per model; a claim's verdict counts the models
where it holds, and says so plainly when too few models have what the test needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from vae_passive.report.tables import MI, TC, Tables

MIN_MODELS = 5  # fewer models with what a test needs: "too few to say"
HOLDS_SHARE = 0.75  # a claim is supported when its test holds in at least this share of the models
EQUAL_TOLERANCE = 0.10  # (b): mean and sampled "equal" when they differ by at most 10 % of the larger
TRUNCATED = ("truncated_downstream_task_logistic_regression", "truncated_downstream_task_boosted_trees")
ACCURACY = "mean_test_accuracy"
_SHORT = {TC: "TC", MI: "MI"}


@dataclass(frozen=True)
class Finding:
    """One headline: a short title and a sentence with the numbers behind it."""

    title: str
    text: str


def _spread(values: pd.Series, unit: str = "") -> str:
    """``median 0.12 (IQR 0.05 to 0.3) nats``: the median and the quartiles over models."""
    q1, q2, q3 = values.quantile([0.25, 0.5, 0.75])
    return f"median {q2:.3g} (IQR {q1:.3g} to {q3:.3g}){unit}"


def _status(holds: int, of: int) -> str:
    """``supported``, ``not supported`` or ``too few models`` (``_verdict`` in a word or two)."""
    if of < MIN_MODELS:
        return "too few models"
    return "supported" if holds / of >= HOLDS_SHARE else "not supported"


def _verdict(holds: int, of: int) -> str:
    """The verdict of a test that holds in ``holds`` of ``of`` models, with its numbers."""
    if of < MIN_MODELS:
        return f"Too few models to say ({of:,} with what the test needs; {MIN_MODELS} wanted)"
    share = holds / of
    if share >= HOLDS_SHARE:
        return f"Supported: holds in {holds:,} of {of:,} models ({share:.0%})"
    return f"Not supported by these data: holds in only {holds:,} of {of:,} models ({share:.0%})"


def counted(n: int, noun: str = "model") -> str:
    """``1 model``, ``2 models``: a count and its noun, plural when it should be."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _wide(frame: pd.DataFrame, quantity: str, column: str) -> pd.DataFrame:
    """One row per model key, a column per (subset, representation) of ``quantity`` in ``column``."""
    rows = frame[frame[column] == quantity]
    return rows.pivot_table(
        index="key", columns=["subset", "representation"], values="result", aggfunc="first", observed=True
    )


def _pair(wide: pd.DataFrame, subset: str) -> pd.DataFrame | None:
    """Mean and sampled columns of ``subset`` for the models that have both, or None."""
    columns = [(subset, "mean"), (subset, "sampled")]
    if not all(c in wide.columns for c in columns):
        return None
    both = wide[columns].dropna()
    both.columns = ["mean", "sampled"]
    return both if len(both) else None


def _kept_subset(models: pd.DataFrame) -> dict[str, str]:
    """Per model key: the subset of its non-passive latents as the study names it (``active+mixed``,
    ``active`` or ``mixed``)."""
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


def claim_a(tables: Tables) -> Finding:
    """(a) Passive latents: TC high in the mean code, not in the sampled; and they carry the full-code gap."""
    title = "Claim (a): passive latents cause the mean/sampled discrepancy"
    wide = _wide(tables.scores, TC, "score")
    pair = _pair(wide, "passive")
    if pair is None:
        return Finding(title, "not measurable: no model has two or more passive latents with TC scores.")
    holds = int((pair["mean"] > pair["sampled"]).sum())
    text = (
        f"{_verdict(holds, len(pair))}. On the passive latents of the {counted(len(pair))} with at least two, "
        f"TC of the mean code is {_spread(pair['mean'], ' nats')}, "
        f"of the sampled code {_spread(pair['sampled'], ' nats')}; "
        f"the mean code's is the higher in {holds:,}."
    )
    models = tables.models[tables.models["passive"] > 0]
    kept = _kept_subset(models)
    full = _pair(wide, "full")
    if full is not None:
        kept_gap = _kept_values(wide, kept, "mean") - _kept_values(wide, kept, "sampled")
        gaps = pd.DataFrame({"full": full["mean"] - full["sampled"], "kept": kept_gap}).dropna()
        if len(gaps):
            smaller = int((gaps["kept"].abs() < gaps["full"].abs()).sum())
            text += (
                f" Without the passive latents the mean−sampled TC gap shrinks in {smaller:,} of {counted(len(gaps))} "
                f"({_status(smaller, len(gaps))}): full code {_spread(gaps['full'], ' nats')}, "
                f"non-passive latents {_spread(gaps['kept'], ' nats')}. The subset is smaller than the full code, "
                "and TC grows with the number of latents, so part of the change may come from its size alone."
            )
    return Finding(title, text)


def claim_b(tables: Tables) -> Finding:
    """(b) Active latents: TC and MI of the mean and sampled codes within ``EQUAL_TOLERANCE`` of each other."""
    title = "Claim (b): active latents are equally disentangled in mean and sampled codes"
    parts, verdict = [], None
    for score in (TC, MI):
        pair = _pair(_wide(tables.scores, score, "score"), "active")
        if pair is None:
            continue
        larger = pair.abs().max(axis=1)
        relative = (pair["mean"] - pair["sampled"]).abs() / larger.where(larger > 0)
        holds = int((relative.fillna(0) <= EQUAL_TOLERANCE).sum())
        verdict = verdict or _verdict(holds, len(pair))
        parts.append(
            f"{_SHORT[score]} mean − sampled {_spread(pair['mean'] - pair['sampled'], ' nats')}, within "
            f"{EQUAL_TOLERANCE:.0%} of each other in {holds:,} of {counted(len(pair))}"
        )
    if not parts:
        return Finding(title, "not measurable: no model has two or more active latents with scores.")
    return Finding(title, f"{verdict}, judged by TC. On the active latents: " + "; ".join(parts) + ".")


def claim_c(tables: Tables) -> Finding:
    """(c) Downstream: the mean code's test accuracy vs the sampled code's and vs the random baseline,
    and the non-passive latents' vs the full code's, from the truncated downstream rows."""
    title = "Claim (c): mean codes remain good downstream; removing passive latents may help"
    rows = tables.metrics[tables.metrics["metric"].isin(TRUNCATED) & (tables.metrics["metric_key"] == ACCURACY)]
    if rows.empty:
        return Finding(
            title,
            "not measured: the documents have no truncated downstream rows; run `vae-passive analyze --metrics study`.",
        )
    parts, verdict = [], None
    kept = _kept_subset(tables.models[tables.models["passive"] > 0])
    for metric in TRUNCATED:
        wide = _wide(rows, metric, "metric")
        full = _pair(wide, "full")
        if full is None:
            continue
        name = metric.removeprefix("truncated_downstream_task_").replace("_", " ")
        good = full["mean"] >= full["sampled"]
        if ("random", "mean") in wide.columns:
            good &= full["mean"] > wide[("random", "mean")].reindex(full.index)
        verdict = verdict or _verdict(int(good.sum()), len(full))
        text = (
            f"{name}: mean-code test accuracy {_spread(full['mean'])}, sampled {_spread(full['sampled'])}; "
            f"the mean code at least as good as the sampled one and above the random baseline in {int(good.sum()):,} "
            f"of {counted(len(full))}"
        )
        diffs = (_kept_values(wide, kept, "mean") - full["mean"]).dropna()
        if len(diffs):
            helped = int((diffs >= 0).sum())
            text += (
                f"; without passive latents accuracy changes by {_spread(diffs)} "
                f"(no loss in {helped:,} of {counted(len(diffs))})"
            )
        parts.append(text)
    if not parts:
        return Finding(title, "not measured: no model has truncated downstream rows for both representations.")
    return Finding(title, f"{verdict}. " + "; ".join(parts) + ".")


def claims(tables: Tables) -> list[Finding]:
    """The three claims, in the paper's order."""
    return [claim_a(tables), claim_b(tables), claim_c(tables)]
