"""Which models may be pooled: the one comparability key of the report (pure pandas, no I/O).

Two models' numbers are averaged, drawn in one figure or counted in one finding only when they agree
on everything that changes those numbers besides the catalogue fields: where the model comes from
(an original of the zoo, trained here, or codes computed elsewhere), how long it was trained, in what
precision (fp32, bf16), on what, the data it was analysed on (real, the procedural stand-in, or given
codes), N, the rule and its thresholds, and, when metric rows record them, the metrics' preset and
classifier defaults. Tables, findings, figures and the training dynamics all split by
``COMPARABILITY_COLUMNS``; a group's ``label`` names it in words ("trained here, 3,000 steps, stand-in
data"; "..., bf16, ..." for a bf16 run).
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

RULE_COLUMNS = ("rule", "var_threshold", "mean_tolerance")
ZOO, TRAINED, CODES, UNRECORDED = "zoo", "trained", "codes", "not recorded"
ORIGINS = (ZOO, TRAINED, CODES, UNRECORDED)
REAL, STAND_IN, GIVEN = "real", "stand-in", "given"
#: The published zoo was trained by disentanglement_lib (TensorFlow 1) in float32: a zoo model's precision.
FP32 = "fp32"
#: What makes two models' numbers comparable (besides dataset, method and hyperparameter value).
COMPARABILITY_COLUMNS = (
    "origin",
    "steps",
    "precision",
    "trained_on",
    "data",
    "num_samples",
    *RULE_COLUMNS,
    "preset",
    "classifier_defaults",
)
_SLUG = re.compile(r"[^a-z0-9.]+")


def data_word(real: object) -> str:
    """``real``, ``stand-in`` or ``given`` for a document's ``data.real`` (true, false, null)."""
    if real is None or real is pd.NA or (isinstance(real, float) and math.isnan(real)):
        return GIVEN
    return REAL if bool(real) else STAND_IN


def rule_label(rule: str, var_threshold: float, mean_tolerance: float) -> str:
    """A short, file-name-safe label of a rule and its thresholds, e.g. ``variance-v0.1-t0.1``."""
    label = f"{rule}-v{var_threshold:g}"
    return label if math.isnan(mean_tolerance) else f"{label}-t{mean_tolerance:g}"


def origin_fields(model: dict) -> dict:
    """A document's ``origin`` (zoo, trained, codes or not recorded), a trained model's ``steps``, ``precision`` and
    ``trained_on``.

    Any recorded origin but "original" counts as trained, as ``zoo.origin`` reads it: never an original by mistake.
    A zoo model's precision is fp32 (as published); a trained model's is as recorded, "" when it is not (documents
    written before ``train --precision``), a key of its own.
    """
    fields: dict = {"origin": CODES if model.get("source") == "codes" else UNRECORDED, "steps": None}
    fields.update(precision="", trained_on="")
    origin = model.get("origin")
    if isinstance(origin, dict):
        fields["origin"] = ZOO if origin.get("kind") == "original" else TRAINED
        steps, on, precision = origin.get("steps"), origin.get("data"), origin.get("precision")
        if fields["origin"] == ZOO:
            fields["precision"] = FP32
        if fields["origin"] == TRAINED:
            fields["steps"] = steps if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 0 else None
            fields["precision"] = precision[:20] if isinstance(precision, str) else ""
            fields["trained_on"] = on[:200] if isinstance(on, str) else ""
    return fields


def preset_label(preset: str, version: object) -> str:
    """A metric row's preset, with its version when the preset's settings changed after documents first recorded
    it (``fast v2``; ``metrics.registry.PRESET_VERSIONS``): two versions' numbers are never pooled."""
    return (
        f"{preset} v{version}" if isinstance(version, int) and not isinstance(version, bool) and version > 1 else preset
    )


def metric_settings(entries: object) -> dict[str, str]:
    """The metrics' ``preset`` (``preset_label``) and ``classifier_defaults`` as a document's metric rows record
    them ("" when none does; several distinct ones joined with "+", a group of their own)."""
    rows = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    presets = {preset_label(e["preset"], e.get("preset_version")) for e in rows if isinstance(e.get("preset"), str)}
    classifiers = {e["classifier_defaults"] for e in rows if isinstance(e.get("classifier_defaults"), str)}
    return {"preset": "+".join(sorted(presets)), "classifier_defaults": "+".join(sorted(classifiers))}


def rules(models: pd.DataFrame) -> pd.DataFrame:
    """The distinct rules with their model counts, most used first."""
    counted = models.groupby(list(RULE_COLUMNS), dropna=False, observed=True).size().rename("models").reset_index()
    counted["label"] = [rule_label(*row) for row in counted[list(RULE_COLUMNS)].itertuples(index=False)]
    return counted.sort_values(["models", "label"], ascending=[False, True], ignore_index=True)


def _origin_words(origin: str, steps: Any, trained_on: Any, precision: str, precision_varies: bool) -> str:
    """Origin, run length and data in words; a trained model's precision unless fp32 ("precision not recorded"
    only when other models trained here record theirs)."""
    if origin == TRAINED:
        length = f", {int(steps):,} steps" if pd.notna(steps) else ", steps not recorded"
        on = f" on {trained_on}" if pd.notna(trained_on) and str(trained_on) else ""
        if precision == FP32 or not (precision or precision_varies):
            return f"trained here{length}{on}"
        return f"trained here{length}{on}, {precision or 'precision not recorded'}"
    return {ZOO: "zoo models", CODES: "given codes"}.get(origin, "origin not recorded")


def _data_words(data: str) -> str:
    return {REAL: "real data", STAND_IN: "stand-in data"}.get(data, "data unknown")


def label(row: pd.Series, varying: set[str]) -> str:
    """A group in words: origin and data always; precision, N, rule, preset and classifier defaults when set or
    varying."""
    precision = "" if pd.isna(row["precision"]) else str(row["precision"])
    parts = [_origin_words(str(row["origin"]), row["steps"], row["trained_on"], precision, "precision" in varying)]
    if str(row["origin"]) != CODES:
        parts.append(_data_words(str(row["data"])))
    if "num_samples" in varying and pd.notna(row["num_samples"]):
        parts.append(f"N {int(row['num_samples']):,}")
    if varying & set(RULE_COLUMNS):
        parts.append(f"rule {rule_label(row['rule'], row['var_threshold'], row['mean_tolerance'])}")
    if str(row["preset"]):
        parts.append(f"preset {row['preset']}")
    if str(row["classifier_defaults"]):
        parts.append(f"{row['classifier_defaults']} classifier defaults")
    return ", ".join(parts)


def _key_text(models: pd.DataFrame) -> pd.Series:
    """Each model's comparability key as one string (missing values alike), indexed like ``models``."""
    rows = models[list(COMPARABILITY_COLUMNS)].itertuples(index=False)
    text = ["\x1f".join("" if pd.isna(v) else str(v) for v in row) for row in rows]
    return pd.Series(text, index=models.index, dtype=object)


def _varying(models: pd.DataFrame) -> set[str]:
    """The key columns with more than one value; ``precision`` when it varies among the models trained here."""
    varying = {c for c in COMPARABILITY_COLUMNS if c != "precision" and models[c].astype(str).nunique() > 1}
    if models.loc[models["origin"].astype(str) == TRAINED, "precision"].astype(str).nunique() > 1:
        varying.add("precision")
    return varying


def group_table(models: pd.DataFrame) -> pd.DataFrame:
    """The distinct comparability groups: their columns, ``models`` (count), ``label`` and ``slug``; the zoo's
    first, then models trained here by run length, given codes, unrecorded origins; largest first within."""
    keys = _key_text(models)
    first = models.loc[~keys.duplicated(), list(COMPARABILITY_COLUMNS)].reset_index(drop=True)
    first["models"] = keys.value_counts().reindex(keys.drop_duplicates()).to_numpy()
    varying = _varying(models)
    first["label"] = [label(row, varying) for _, row in first.iterrows()]
    first["slug"] = [slug(text) for text in first["label"]]
    first["_order"] = [ORIGINS.index(str(o)) if str(o) in ORIGINS else len(ORIGINS) for o in first["origin"]]
    first["_steps"] = pd.to_numeric(first["steps"], errors="coerce").fillna(-1)
    ordered = first.sort_values(["_order", "_steps", "models", "label"], ascending=[True, True, False, True])
    return ordered.drop(columns=["_order", "_steps"]).reset_index(drop=True)


def slug(text: str) -> str:
    """``trained-here-3-000-steps...``: a group label as part of a file name."""
    return _SLUG.sub("-", text.lower()).strip("-")


def group_labels(models: pd.DataFrame) -> pd.Series:
    """Each model's group ``label`` (as ``group_table`` names it), indexed like ``models``."""
    keys = _key_text(models)
    first = models[~keys.duplicated()]
    varying = _varying(models)
    by_key = {keys[i]: label(first.loc[i], varying) for i in first.index}
    return keys.map(by_key)
