"""The report's headline: findings and the prevalence table, computed from one rule's tables (no I/O).

The sentences state the numbers behind them and are worded without overclaiming: a subset with
fewer latents may score differently for its size alone, and procedural data is called so elsewhere.
"""

from __future__ import annotations

import math

import pandas as pd

from vae_passive.latents.variables import MIXED
from vae_passive.report.claims import Finding, claims, counted, pair, per_model, without_passive
from vae_passive.report.tables import MI, TC, Tables

PREVALENCE_HEADER = ["method", "hyperparameter", "value", "models", "with passive", "share"]
# TC on the passive latents and the TC gap are claim (a); MI's counterparts stay here.
_SCORE_NAMES = {MI: ("discrete mutual information (averaged over latent pairs)", "MI")}


def _fmt(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def findings(tables: Tables) -> list[Finding]:
    """The paper's claims re-measured, then headline findings for one rule's tables, worded without overclaiming."""
    models = tables.models
    out = [*claims(tables)]
    undefined = _undefined_passive_scores(tables)
    if undefined is not None:
        out.append(undefined)
    out.append(_passive_share(models))
    mixed = _mixed_reasons(tables.latents)
    if mixed is not None:
        out.append(mixed)
    for score, (name, short) in _SCORE_NAMES.items():
        wide = per_model(tables.scores, score)
        out.append(_mean_vs_sampled(pair(wide, "passive"), name, short))
        gap = _removal_gap(pair(wide, "full"), without_passive(wide, models), short)
        if gap is not None:
            out.append(gap)
    return out


def _undefined_passive_scores(tables: Tables) -> Finding | None:
    """The models whose TC on their passive latents is undefined, and why: claim (a) cannot use them, and
    the report says so instead of dropping them without a word."""
    rows = tables.scores[
        (tables.scores["score"] == TC) & (tables.scores["subset"] == "passive") & tables.scores["result"].isna()
    ]
    if rows.empty:
        return None
    keys = rows["key"].astype(str).unique()
    reasons = "; ".join(
        f"model {key}, {rep} code: {why}"
        for key, rep, why in rows[["key", "representation", "missing"]].astype(str).itertuples(index=False)
    )
    return Finding(
        "Undefined scores",
        f"{counted(len(keys))} with two or more passive latents cannot enter claim (a): "
        f"their TC on the passive latents is undefined ({reasons}). They are counted among the models with "
        "passive latents below.",
    )


def _passive_share(models: pd.DataFrame) -> Finding:
    """How many models have a passive latent (overall and per method), and the mean count per kind."""
    n = len(models)
    has_passive = models["passive"] > 0
    per_method = (
        models.assign(has_passive=has_passive)
        .groupby("method", observed=True, sort=True)["has_passive"]
        .agg(["sum", "size"])
    )
    by_method = "; ".join(f"{m} {int(r['sum']):,}/{int(r['size']):,}" for m, r in per_method.iterrows())
    return Finding(
        "Models with passive latents",
        f"{int(has_passive.sum()):,} of {counted(n)} ({has_passive.mean():.0%}) have at least one passive latent"
        + (f" (per method: {by_method})" if by_method else "")
        + f". A model has {models['active'].mean():.2f} active, {models['mixed'].mean():.2f} mixed "
        f"and {models['passive'].mean():.2f} passive latents out of {models['num_latents'].mean():.3g} on average.",
    )


def _mixed_reasons(latents: pd.DataFrame) -> Finding | None:
    """Mixed latents broken down by the condition that made them mixed (``unknown`` in older documents)."""
    mixed = latents[latents["kind"] == MIXED]
    if mixed.empty:
        return None
    counts = mixed["reason"].astype(str).value_counts()
    parts = ", ".join(f"{reason} {n:,} ({n / len(mixed):.0%})" for reason, n in counts.items())
    return Finding(
        "Mixed latents by reason",
        f"{counted(len(mixed), 'mixed latent')} in {counted(mixed['key'].nunique())}: {parts}. "
        "varies: σ² varies across inputs; "
        "between_bands: σ² stable between the active and passive bands; "
        "above_prior: σ² stable above the prior's; "
        "unknown: written before reasons were recorded.",
    )


def _mean_vs_sampled(passive: pd.DataFrame | None, name: str, short: str) -> Finding:
    """The score on the passive latents (``claims.pair``), mean vs sampled representation."""
    title = f"Passive latents: mean vs sampled {short}"
    if passive is None:
        return Finding(
            title, f"No model has two or more passive latents with a {short} score, so this cannot be compared."
        )
    mean_rep, sampled_rep = passive["mean"], passive["sampled"]
    return Finding(
        title,
        f"On the passive latents of the {counted(len(passive))} "
        f"with at least two of them, the {name} "
        f"has a mean of {_fmt(mean_rep.mean())} nats (median {_fmt(mean_rep.median())}) for the mean "
        f"representation and {_fmt(sampled_rep.mean())} nats (median {_fmt(sampled_rep.median())}) for the "
        f"sampled one; the mean representation's is the higher in {int((mean_rep > sampled_rep).sum()):,} "
        "of them.",
    )


def _removal_gap(full: pd.DataFrame | None, kept: pd.DataFrame, short: str) -> Finding | None:
    """The mean-minus-sampled gap on the full code (``claims.pair``) vs on the non-passive latents
    (``claims.without_passive``), in the models with passive latents that have both."""
    if full is None:
        return None
    both = full.join(kept, how="inner", lsuffix="_full")
    if not len(both):
        return None
    full_gap = both["mean_full"] - both["sampled_full"]
    kept_gap = both["mean"] - both["sampled"]
    share = 100 * kept_gap.mean() / full_gap.mean() if full_gap.mean() else math.nan
    return Finding(
        f"Removing passive latents: {short} gap",
        f"In the {counted(len(both))} with passive latents "
        "(and at least two other latents), the "
        f"mean-minus-sampled {short} gap averages {_fmt(full_gap.mean())} nats on the full code and "
        f"{_fmt(kept_gap.mean())} nats on the non-passive (active and mixed) latents alone "
        f"({_fmt(share)}% of the full-code gap). "
        "The subset has fewer latents, so part of any change may come from its size alone.",
    )


def prevalence_rows(prevalence: pd.DataFrame) -> list[list[str]]:
    """Models with passive latents per method x value, all datasets together (one rule's ``tables.prevalence``)."""
    grouped = prevalence.groupby(["method", "hyperparameter", "value"], observed=True, sort=True, dropna=False)[
        ["models", "with_passive"]
    ].sum()
    counts = zip(grouped.index, grouped["models"], grouped["with_passive"], strict=True)
    return [
        [
            "not recorded" if pd.isna(m) else str(m),
            "not recorded" if pd.isna(h) else str(h),
            "not recorded" if pd.isna(v) else f"{v:g}",
            f"{int(models):,}",
            f"{int(with_passive):,}",
            f"{with_passive / models:.0%}",
        ]
        for (m, h, v), models, with_passive in counts
    ]


def findings_table(group_findings: list[tuple]) -> pd.DataFrame:
    """The headline as a table, one row per finding of each comparability group (the claims first): what a
    script reads instead of report.md."""
    rows = [
        {"group": group.label, "models": int(group.models), "title": finding.title, "text": finding.text}
        for group, found, _ in group_findings
        for finding in found
    ]
    frame = pd.DataFrame(rows, columns=["group", "models", "title", "text"])
    return frame.astype({"group": "string", "models": "int64", "title": "string", "text": "string"})
