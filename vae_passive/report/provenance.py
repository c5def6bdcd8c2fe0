"""What the report says about its inputs: where the numbers come from, and a warning for procedural data."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from vae_passive.analysis.document import library_versions
from vae_passive.report.groups import CODES, TRAINED, UNRECORDED, ZOO
from vae_passive.zoo import catalogue


def report_versions() -> dict[str, str]:
    """The libraries that wrote the report (``analysis.document.versions`` lists those that analysed)."""
    return library_versions(("vae_passive", "python", "numpy", "pandas", "pyarrow", "matplotlib"))


def data_kind(real: object) -> str:
    """How the report names a document's data: real, the procedural stand-in, or unknown (given codes)."""
    if real is None or real is pd.NA:
        return "given codes, data unknown"
    return "real" if bool(real) else "procedural"


def demo_warning(models: pd.DataFrame) -> str | None:
    """A warning when some models were analysed on procedural stand-in data; None when all data was real."""
    procedural = models.loc[models["real"].eq(False).fillna(False).astype(bool), "source"].astype(str)
    if procedural.empty:
        return None
    sources = ", ".join(sorted(procedural.unique()))
    return (
        f"{len(procedural):,} of {len(models):,} models were analysed on procedural stand-in data ({sources}), "
        "not on the real data sets: treat their numbers as a demonstration of the pipeline, not as evidence "
        "about the study."
    )


def _share(part: int, whole: int) -> str:
    """``4.6%``, or ``under 0.1%`` for a share too small to show (no "<": report.md would show it as an entity)."""
    share = part / whole
    return "under 0.1%" if 0 < share < 0.001 else f"{share:.1%}"


def study_coverage(models: pd.DataFrame) -> str:
    """Which of the catalogue's studies the zoo's own models cover, and how completely, e.g.
    ``be-more-active: 412 of the study's 9,000 models (4.6%)``; models trained here (which may carry a
    catalogue id), given codes and models without a recorded origin are counted beside them, never in."""
    origin = models["origin"].astype(str)
    zoo = models[origin == ZOO]
    ids = sorted(int(i) for i in zoo["id"].dropna().unique())
    beside = [
        (int((origin == TRAINED).sum()), "trained here"),
        (int((origin == CODES).sum()), "given as codes"),
        (int((origin == UNRECORDED).sum()), "whose origin is not recorded"),
        (int(zoo["id"].isna().sum()), "of the zoo without a model id"),
    ]
    listed = [f"{n:,} model{'' if n == 1 else 's'} {what}" for n, what in beside if n]
    extra = f"; beside them, not counted in: {', '.join(listed)}" if listed else ""
    if not ids:
        return f"no model of the zoo's catalogue{extra}"
    covering = catalogue.studies_covering(ids)
    if not covering:
        return f"{len(ids):,} zoo models, not all released, so in none of the studies{extra}"
    parts = [
        f"{study.name}: {len(ids):,} of the study's {study.size:,} zoo models ({_share(len(ids), study.size)})"
        for study in covering
    ]
    return "; ".join(parts) + extra


def _first_few(column: pd.Series, shown: int = 10) -> str:
    """``3 distinct: 0, 1, 2`` (the first ``shown`` of them)."""
    values = sorted(int(v) for v in column.dropna().unique())
    listed = ", ".join(map(str, values[:shown])) + (", …" if len(values) > shown else "")
    return f"{len(values)} distinct: {listed}" if values else "not recorded"


def _rule_text(rule: str, var_threshold: float, mean_tolerance: float, models: int) -> str:
    tolerance = "" if math.isnan(mean_tolerance) else f", mean_tolerance {mean_tolerance:g}"
    return f"{rule} (var_threshold {var_threshold:g}{tolerance}): {models:,} models"


def provenance(
    results: Path,
    models: pd.DataFrame,
    rule_table: pd.DataFrame,
    versions: dict[str, dict[str, int]],
    unplaced: int,
) -> list[tuple[str, str]]:
    """(fact, text) pairs: models, data, N, seeds, rules, catalogue fields, library versions."""
    counted = models.groupby(["source", "real"], observed=True, dropna=False).size()
    sources = zip(counted.index, counted, strict=True)
    columns = ["rule", "var_threshold", "mean_tolerance", "models"]
    rules = (_rule_text(*row) for row in rule_table[columns].itertuples(index=False))
    analysed = (f"{lib} " + ", ".join(f"{v} ({n:,})" for v, n in counts.items()) for lib, counts in versions.items())
    facts = [
        ("models", f"{len(models):,} (from {results})"),
        ("study", study_coverage(models)),
        ("data", "; ".join(f"{s} ({data_kind(r)}): {n:,} models" for (s, r), n in sources)),
        ("samples per model (N)", ", ".join(f"{int(n):,}" for n in sorted(models["num_samples"].dropna().unique()))),
        ("data seeds", _first_few(models["data_seed"])),
        ("rules", "; ".join(rules)),
        ("model seeds", _first_few(models["seed"])),
        (
            "catalogue fields",
            f"{int(models['id'].notna().sum()):,} models from the catalogue by id, "
            f"{int(models['id'].isna().sum()):,} as their documents state",
        ),
        ("analysed with", "; ".join(analysed) or "(no versions recorded)"),
        ("report written with", ", ".join(f"{k} {v}" for k, v in report_versions().items())),
    ]
    if unplaced:
        facts.append(
            (
                "without catalogue fields",
                f"{unplaced:,} model{'' if unplaced == 1 else 's'} without a method or dataset in the document, "
                "drawn in groups named 'any method' or 'any dataset'",
            )
        )
    return facts
