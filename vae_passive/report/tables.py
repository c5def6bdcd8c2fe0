"""Analysis documents -> tidy tables and their summary over seeds (pure pandas, no I/O).

Documents are streamed into column lists (one ``TableBuilder.add`` per document), so ten thousand
of them never become ten thousand small DataFrames. Every row table carries the catalogue fields
and the rule, so results of different rules never mix in a group. The headline text built from
these tables is ``findings``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vae_passive.analysis.document import check_schema
from vae_passive.errors import VaePassiveError
from vae_passive.latents.representations import REPRESENTATIONS
from vae_passive.latents.scores import SCORE_NAMES
from vae_passive.latents.variables import KINDS, REASONS, SUBSETS, missing_score_reason
from vae_passive.report.groups import (
    COMPARABILITY_COLUMNS,
    data_word,
    group_labels,
    metric_settings,
    origin_fields,
    preset_label,
)
from vae_passive.zoo import catalogue

TC, MI = "gaussian_total_correlation", "mutual_info_score"
UNKNOWN_REASON = "unknown"  # a latent's reason in documents written before reasons were recorded
# Columns every row table carries: which model, its catalogue fields, and what makes it comparable
# (``groups.COMPARABILITY_COLUMNS``: origin, steps, precision, data, N, the rule behind its kinds, preset...).
MODEL_KEY_COLUMNS = (
    "key",
    "id",
    "dataset",
    "method",
    "hyperparameter",
    "value",
    "level",
    "seed",
    *COMPARABILITY_COLUMNS,
)
MODEL_COLUMNS = (
    *MODEL_KEY_COLUMNS,
    "num_latents",
    *KINDS,
    "source",
    "real",
    "data_seed",
    "vae_passive_version",
    "path",
    "warnings",
)
# A summary group: one point of an authors' figure (the seeds are what is averaged over).
GROUP_COLUMNS = ("dataset", "method", "hyperparameter", "value", "level", *COMPARABILITY_COLUMNS)
SUMMARY_ITEM_COLUMNS = ("table", "quantity", "key", "representation", "subset")
_STRING_COLUMNS = (
    "key",
    "dataset",
    "method",
    "hyperparameter",
    "rule",
    "origin",
    "precision",
    "trained_on",
    "data",
    "preset",
    "classifier_defaults",
    "source",
    "vae_passive_version",
    "path",
    "warnings",
)
_INT_COLUMNS = ("id", "level", "seed", "steps", "num_samples", "data_seed")


class DocumentError(ValueError):
    """A document that cannot be used; the message says which field is wrong."""


@dataclass
class Tables:
    """The tidy tables of one report; ``versions`` counts each (library, version) seen in provenance."""

    models: pd.DataFrame
    latents: pd.DataFrame
    scores: pd.DataFrame
    metrics: pd.DataFrame
    upstream_metrics: pd.DataFrame
    versions: dict[str, dict[str, int]] = field(default_factory=dict)
    #: per model and subset, the sd of the sampled code's TC over redraws of its noise (``analysis.noise``)
    spread: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["key", "subset", "sd"]))


def _need(mapping: object, name: str, where: str) -> Any:
    """``mapping[name]`` of a JSON object (any JSON value), or a ``DocumentError`` naming what is missing."""
    if not isinstance(mapping, dict):
        raise DocumentError(f"{where} is not an object")
    if name not in mapping:
        raise DocumentError(f"missing {where}.{name}")
    return mapping[name]


def _number(value: object, where: str) -> float:
    """A JSON number or null (-> NaN) as float."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DocumentError(f"{where} is {value!r}, not a number")
    return float(value)


def _optional_int(value: object, where: str) -> int | None:
    """A JSON integer (or integral float) that fits the tables' int64 columns, or None; Infinity, 1e999 and
    1e300 are refused here, for one document, instead of overflowing when the whole report's tables are built."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -(2**63) <= value < 2**63:
        raise DocumentError(f"{where} is {value!r}, not an integer of at most 64 bits")
    if value != int(value):
        raise DocumentError(f"{where} is {value!r}, not an integer")
    return int(value)


def _text(value: object, where: str, allowed: Collection[str] | None = None) -> str:
    if not isinstance(value, str) or (allowed is not None and value not in allowed):
        hint = f" (expected one of {', '.join(allowed)})" if allowed else ""
        raise DocumentError(f"{where} is {value!r}{hint}")
    return value


def level_of(method: str | None, value: float) -> int | None:
    """The hyperparameter level (0-5) of ``value`` in the study's sweep of ``method``, if it is one."""
    for m in catalogue.METHODS:
        if m.name == method and value in m.values:
            return m.values.index(value)
    return None


def _model_fields(model: dict) -> dict:
    """Catalogue fields: from the catalogue when the model has an id, else as the document says."""
    model_id = _optional_int(_need(model, "id", "model"), "model.id")
    if model_id is not None:
        try:
            rec = catalogue.record(model_id)
        except VaePassiveError as error:
            raise DocumentError(str(error)) from None
        return {
            "id": model_id,
            "dataset": rec.dataset,
            "method": rec.method,
            "hyperparameter": rec.hyperparameter,
            "value": rec.value,
            "level": rec.hyperparameter_index,
            "seed": rec.seed,
        }
    dataset, method, hyperparameter = (
        None if model.get(name) is None else _text(model[name], f"model.{name}")
        for name in ("dataset", "method", "hyperparameter")
    )
    value = _number(model.get("value"), "model.value")
    return {
        "id": None,
        "dataset": dataset,
        "method": method,
        "hyperparameter": hyperparameter,
        "value": value,
        "level": level_of(method, value),
        "seed": _optional_int(model.get("seed"), "model.seed"),
    }


class TableBuilder:
    """Collects documents into column lists; ``build`` turns them into ``Tables``."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._models: dict[str, list] = {c: [] for c in MODEL_COLUMNS}
        self._latents: dict[str, list] = {
            c: []
            for c in (
                "_model",
                "latent",
                "kind",
                "reason",
                "mean_of_variance",
                "variance_of_variance",
                "variance_of_mean",
            )
        }
        self._scores: dict[str, list] = {
            c: [] for c in ("_model", "representation", "subset", "num_latents", "score", "result", "missing")
        }
        self._metrics: dict[str, list] = {
            c: []
            for c in (
                "_model", "representation", "subset", "metric", "metric_key", "preset", "classifier_defaults", "result"
            )
        }  # fmt: skip
        self._upstream: dict[str, list] = {
            c: [] for c in ("_model", "representation", "metric", "metric_key", "result")
        }
        self._spread: dict[str, list] = {c: [] for c in ("_model", "subset", "sd")}
        self._versions: Counter[tuple[str, str]] = Counter()

    def __len__(self) -> int:
        return len(self._models["key"])

    def add(self, doc: object) -> None:
        """Validate one document and append its rows; on ``DocumentError`` nothing is appended."""
        check_schema(doc)
        assert isinstance(doc, dict)  # check_schema refuses anything else
        row, versions = _model_row(doc)
        latent_rows = _latent_rows(doc)
        row.update(_kind_counts(doc, latent_rows))
        present = {kind for kind in KINDS if row[kind]}
        score_rows, metric_rows = _score_rows(doc, present), _metric_rows(doc, present)
        upstream_rows = _upstream_rows(doc)
        index = len(self)
        for name in MODEL_COLUMNS:
            self._models[name].append(row[name])
        _extend(self._latents, index, latent_rows)
        _extend(self._scores, index, score_rows)
        _extend(self._metrics, index, metric_rows)
        _extend(self._upstream, index, upstream_rows)
        _extend(self._spread, index, _spread_rows(doc))
        for library, version in versions.items():
            self._versions[(str(library), str(version))] += 1

    def build(self) -> Tables:
        """The tables collected so far (the builder's lists are released)."""
        models = pd.DataFrame(self._models, columns=list(MODEL_COLUMNS))
        for name in _STRING_COLUMNS:
            models[name] = models[name].astype("category")
        for name in _INT_COLUMNS:
            models[name] = models[name].astype("Int64")
        for name in ("value", "var_threshold", "mean_tolerance"):
            models[name] = models[name].astype("float64")
        for name in ("num_latents", *KINDS):
            models[name] = models[name].astype("int64")
        models["real"] = models["real"].astype("boolean")
        versions: dict[str, dict[str, int]] = {}
        for (library, version), count in sorted(self._versions.items()):
            versions.setdefault(library, {})[version] = count
        tables = Tables(
            models=models,
            latents=_rows_frame(models, self._latents, ("kind", "reason"), ("latent",)),
            scores=_rows_frame(
                models, self._scores, ("representation", "subset", "score", "missing"), ("num_latents",)
            ),
            metrics=_rows_frame(models, self._metrics, METRIC_CATEGORIES, ()),
            upstream_metrics=_rows_frame(models, self._upstream, ("representation", "metric", "metric_key"), ()),
            versions=versions,
            spread=_rows_frame(models, self._spread, ("subset",), ()),
        )
        self._reset()
        return tables


def _model_row(doc: dict[str, Any]) -> tuple[dict, dict]:
    """The models-table row of a document (without its counts) and its provenance versions."""
    model = _need(doc, "model", "document")
    data = _need(doc, "data", "document")
    rule = _need(doc, "rule", "document")
    row = _model_fields(model)
    row["key"] = _text(_need(model, "key", "model"), "model.key")
    row["path"] = str(model.get("path") or "")
    row["rule"] = _text(_need(rule, "name", "rule"), "rule.name")
    row["var_threshold"] = _number(_need(rule, "var_threshold", "rule"), "rule.var_threshold")
    row["mean_tolerance"] = _number(rule.get("mean_tolerance"), "rule.mean_tolerance")
    row["source"] = _text(_need(data, "source", "data"), "data.source")
    real = _need(data, "real", "data")  # null for given codes: the data are unknown
    if real is not None and not isinstance(real, bool):
        raise DocumentError(f"data.real is {real!r} (expected true, false or null)")
    row["real"] = real
    row["data"] = data_word(real)
    row["num_samples"] = _optional_int(data.get("num_samples"), "data.num_samples")
    row["data_seed"] = _optional_int(data.get("seed"), "data.seed")
    row.update(origin_fields(model))
    row.update(metric_settings(doc.get("metrics")))
    versions = (doc.get("provenance") or {}).get("versions") or {}
    row["vae_passive_version"] = str(versions.get("vae_passive", ""))
    warnings = doc.get("warnings") or []
    row["warnings"] = "; ".join(str(w) for w in warnings) if isinstance(warnings, list) else ""
    return row, versions


def _latent_rows(doc: dict[str, Any]) -> list[tuple]:
    """(index, kind, reason, mean_of_variance, variance_of_variance, variance_of_mean) per latent.

    ``reason`` is ``UNKNOWN_REASON`` in documents written before reasons were recorded."""
    latents = _need(doc, "latents", "document")
    if not isinstance(latents, list) or not latents:
        raise DocumentError("latents is not a non-empty list")
    rows = []
    for i, latent in enumerate(latents):
        where = f"latents[{i}]"
        rows.append(
            (
                _optional_int(_need(latent, "index", where), f"{where}.index"),
                _text(_need(latent, "kind", where), f"{where}.kind", KINDS),
                _text(latent.get("reason", UNKNOWN_REASON), f"{where}.reason", (*REASONS, UNKNOWN_REASON)),
                _number(_need(latent, "mean_of_variance", where), f"{where}.mean_of_variance"),
                _number(_need(latent, "variance_of_variance", where), f"{where}.variance_of_variance"),
                _number(_need(latent, "variance_of_mean", where), f"{where}.variance_of_mean"),
            )
        )
    return rows


def _kind_counts(doc: dict[str, Any], latent_rows: list[tuple]) -> dict[str, int]:
    """The count per kind and ``num_latents``, checked against the document's ``counts``."""
    kinds = Counter(r[1] for r in latent_rows)
    counts = _need(doc, "counts", "document")
    row = {}
    for kind in KINDS:
        if _optional_int(counts.get(kind, 0), f"counts.{kind}") != kinds[kind]:
            raise DocumentError(f"counts.{kind} = {counts.get(kind)} disagrees with the latents ({kinds[kind]})")
        row[kind] = kinds[kind]
    row["num_latents"] = len(latent_rows)
    return row


def in_study(subset: str, present: Collection[str]) -> bool:
    """Whether the authors form ``subset`` for a model whose latents have the kinds ``present``: ``full``
    always, any other only when each of its kinds has latents (documents written before that rule hold
    pair rows such as ``active+passive`` for models without a passive latent, which merely repeat one kind)."""
    return subset not in SUBSETS or subset == "full" or all(kind in present for kind in SUBSETS[subset])


#: Score keys renamed since documents were first written: the new name and the old one.
RENAMED_SCORES = {"subset_effective_rank": "effective_rank"}


def _score_rows(doc: dict[str, Any], present: Collection[str]) -> list[tuple]:
    """(representation, subset, num_latents, score, result, missing) per score present in each entry, for the
    subsets the study forms (``in_study``); ``missing`` says why a null (undefined) score has no value."""
    entries = _need(doc, "scores", "document")
    if not isinstance(entries, list):
        raise DocumentError("scores is not a list")
    rows = []
    for i, entry in enumerate(entries):
        where = f"scores[{i}]"
        rep = _text(_need(entry, "representation", where), f"{where}.representation", REPRESENTATIONS)
        subset = _text(_need(entry, "subset", where), f"{where}.subset", SUBSETS)
        size = _optional_int(_need(entry, "num_latents", where), f"{where}.num_latents")
        if not in_study(subset, present):
            continue
        for score in SCORE_NAMES:
            stored = score if score in entry else RENAMED_SCORES.get(score, score)  # documents before the rename
            if stored in entry:
                value = _number(entry[stored], f"{where}.{stored}")
                why = missing_score_reason(doc["latents"], subset, rep) if math.isnan(value) else ""
                rows.append((rep, subset, size, score, value, why))
    return rows


#: The metrics table's text columns: which value, and the settings that changed it (``preset``; the
#: classifiers' ``classifier_defaults``, docs/metrics.md).
METRIC_CATEGORIES = ("representation", "subset", "metric", "metric_key", "preset", "classifier_defaults")
#: What rows of documents written before the settings were recorded get: the preset is unknown; the
#: classifiers were today's scikit-learn defaults (``current``).
UNRECORDED_PRESET, EARLIER_CLASSIFIERS = "unrecorded", "current"


def _preset(entry: dict[str, Any], where: str) -> str:
    """A row's preset, with its version when the preset's settings changed since it was first recorded
    (``fast v2``): rows of two versions differ in their numbers' settings and are never pooled."""
    preset = _text(entry.get("preset", UNRECORDED_PRESET), f"{where}.preset")
    version = entry.get("preset_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 1000:
        raise DocumentError(f"{where}.preset_version is {version!r} (expected a version number)")
    return preset_label(preset, version)


def _metric_rows(doc: dict[str, Any], present: Collection[str]) -> list[tuple]:
    """(representation, subset, metric, key, preset, classifier_defaults, result) per metric entry of a
    subset the study forms (``in_study``; the truncated tasks' ``random`` baseline too). A metric that
    failed (``key`` null, with an ``error``) has no value and no row."""
    rows = []
    for i, entry in enumerate(doc.get("metrics") or []):
        where = f"metrics[{i}]"
        metric = _text(_need(entry, "metric", where), f"{where}.metric")
        subset = _text(_need(entry, "subset", where), f"{where}.subset")
        if not in_study(subset, present) or ("key" in entry and entry["key"] is None and "error" in entry):
            continue
        rows.append(
            (
                _text(_need(entry, "representation", where), f"{where}.representation"),
                subset,
                metric,
                _text(entry.get("key", metric), f"{where}.key"),  # documents before the metrics issue
                _preset(entry, where),
                _text(entry.get("classifier_defaults", EARLIER_CLASSIFIERS), f"{where}.classifier_defaults"),
                _number(_need(entry, "value", where), f"{where}.value"),
            )
        )
    return rows


def _spread_rows(doc: dict[str, Any]) -> list[tuple]:
    """(subset, sd) of each ``sampling_spread`` entry with a number (none in documents written before)."""
    entries = doc.get("sampling_spread") or []
    return [(str(e["subset"]), float(e["sd"])) for e in entries if isinstance(e, dict) and _is_number(e.get("sd"))]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _upstream_rows(doc: dict[str, Any]) -> list[tuple]:
    """(representation, metric, key, result) per numeric upstream value (uuids and the like are skipped)."""
    upstream = doc.get("upstream_metrics") or {}
    if not isinstance(upstream, dict):
        raise DocumentError("upstream_metrics is not an object")
    rows = []
    for rep, by_metric in upstream.items():
        for metric, values in (by_metric or {}).items():
            for key, value in (values or {}).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    rows.append((rep, metric, key, float(value)))
    return rows


def _extend(columns: dict[str, list], model_index: int, rows: list[tuple]) -> None:
    names = [c for c in columns if c != "_model"]
    columns["_model"].extend([model_index] * len(rows))
    for name, values in zip(names, zip(*rows, strict=True) if rows else [()] * len(names), strict=True):
        columns[name].extend(values)


def _rows_frame(models: pd.DataFrame, columns: dict[str, list], categories: tuple, ints: tuple) -> pd.DataFrame:
    """A row table with the model key columns joined in front (by position, not by a merge)."""
    at = np.asarray(columns["_model"], dtype=np.int64)
    frame = {name: models[name].iloc[at].reset_index(drop=True) for name in MODEL_KEY_COLUMNS}
    for name, values in columns.items():
        if name == "_model":
            continue
        if name in categories:
            frame[name] = pd.Series(values, dtype="category")
        elif name in ints:
            frame[name] = pd.Series(values, dtype="Int64")
        else:
            frame[name] = pd.Series(values, dtype="float64")
    return pd.DataFrame(frame)


def by_group(tables: Tables, groups: pd.DataFrame) -> list[Tables]:
    """The tables split by comparability group, one part per row of ``groups`` (``groups.group_table``),
    in its order; a single group gives ``tables`` itself."""
    if len(groups) == 1:
        return [tables]
    labels = group_labels(tables.models)
    return [select_keys(tables, tables.models.loc[labels == name, "key"]) for name in groups["label"]]


def summarize(tables: Tables) -> pd.DataFrame:
    """Mean, std (ddof 1) and count over seeds of every count, score and metric, per dataset x method x value x
    comparability group (``groups.COMPARABILITY_COLUMNS``: never across origins, run lengths, precisions, data, N
    or rules)."""
    group = list(GROUP_COLUMNS)
    parts = []
    counts = tables.models[[*group, *KINDS]].melt(id_vars=group, var_name="quantity", value_name="result")
    counts = counts.assign(table="counts", key="", representation="", subset="")
    parts.append(counts)
    scores = tables.scores[[*group, "representation", "subset", "score", "result"]].rename(
        columns={"score": "quantity"}
    )
    parts.append(scores.assign(table="scores", key=""))
    metrics = tables.metrics[[*group, "representation", "subset", "metric", "metric_key", "result"]]
    parts.append(metrics.rename(columns={"metric": "quantity", "metric_key": "key"}).assign(table="metrics"))
    upstream = tables.upstream_metrics[[*group, "representation", "metric", "metric_key", "result"]]
    upstream = upstream.rename(columns={"metric": "quantity", "metric_key": "key"})
    parts.append(upstream.assign(table="upstream_metrics", subset="full"))
    parts = [p.astype({c: "str" for c in SUMMARY_ITEM_COLUMNS}) for p in parts]
    long = pd.concat([p[[*group, *SUMMARY_ITEM_COLUMNS, "result"]] for p in parts], ignore_index=True)
    summary = (
        long.groupby([*group, *SUMMARY_ITEM_COLUMNS], dropna=False, observed=True, sort=True)["result"]
        .agg(["mean", "std", "count"])
        .reset_index()
    )
    return summary


def prevalence(models: pd.DataFrame) -> pd.DataFrame:
    """How many models have at least one passive latent, per method x dataset x value x comparability group."""
    keys = ["method", "dataset", "hyperparameter", "value", "level", *COMPARABILITY_COLUMNS]
    frame = models.assign(with_passive=models["passive"] > 0)
    out = frame.groupby(keys, dropna=False, observed=True, sort=True).agg(
        models=("key", "size"), with_passive=("with_passive", "sum"), mean_passive=("passive", "mean")
    )
    out = out.reset_index()
    out["share_with_passive"] = out["with_passive"] / out["models"]
    return out


# Methods whose hyperparameter regularises less as it grows: annealed_vae's c_max is the capacity allowed.
INVERSE_STRENGTH = ("annealed_vae",)


def with_strength(summary: pd.DataFrame) -> pd.DataFrame:
    """``summary`` plus ``strength`` in 0..1: regularisation strength, comparable across methods.

    The study's levels map to level / 5 (reversed for annealed_vae, whose larger c_max regularises
    less); values outside the study's sweep fall back to min-max scaling of the values present per method.
    """
    strength = pd.Series(np.nan, index=summary.index)
    for method, rows in summary.groupby("method", observed=True, sort=False):
        levels = rows["level"].astype("float64")
        values = rows["value"].astype("float64")
        low, high = values.min(), values.max()
        scaled = (values - low) / (high - low) if high > low else values * 0.0
        part = (levels / (catalogue.LEVELS - 1)).fillna(scaled)
        strength[rows.index] = 1.0 - part if method in INVERSE_STRENGTH else part
    return summary.assign(strength=strength)


def select_keys(tables: Tables, keys: pd.Index) -> Tables:
    """The rows of ``tables`` that belong to the models named by ``keys``."""

    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["key"].isin(keys)].reset_index(drop=True)

    return Tables(
        models=pick(tables.models),
        latents=pick(tables.latents),
        scores=pick(tables.scores),
        metrics=pick(tables.metrics),
        upstream_metrics=pick(tables.upstream_metrics),
        versions=tables.versions,
        spread=pick(tables.spread),
    )
