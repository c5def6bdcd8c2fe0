"""Analysis documents -> tidy tables, their summary over seeds, and headline findings (pure pandas, no I/O).

Documents are streamed into column lists (one ``TableBuilder.add`` per document), so ten thousand
of them never become ten thousand small DataFrames. Every row table carries the catalogue fields
and the rule, so results of different rules never mix in a group.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vae_passive.errors import VaePassiveError
from vae_passive.latents import variables
from vae_passive.latents.scores import SCORE_NAMES
from vae_passive.zoo import catalogue

SCHEMA_PREFIX = "vae-passive/analysis/"
SCHEMA_VERSION = 1
KINDS = ("active", "mixed", "passive")
REPRESENTATIONS = ("mean", "sampled")
SUBSETS = tuple(variables.SUBSETS)
SCORES = SCORE_NAMES
TC, MI = "gaussian_total_correlation", "mutual_info_score"
RULE_COLUMNS = ("rule", "var_threshold", "mean_tolerance")
# Columns every row table carries: which model, its catalogue fields, and the rule behind its kinds.
MODEL_KEY_COLUMNS = ("key", "id", "dataset", "method", "hyperparameter", "value", "level", "seed", *RULE_COLUMNS)
MODEL_COLUMNS = (
    *MODEL_KEY_COLUMNS,
    "num_latents",
    *KINDS,
    "source",
    "real",
    "num_samples",
    "data_seed",
    "vae_passive_version",
    "path",
)
# A summary group: one point of an authors' figure (the seeds are what is averaged over).
GROUP_COLUMNS = ("dataset", "method", "hyperparameter", "value", "level", *RULE_COLUMNS)
SUMMARY_ITEM_COLUMNS = ("table", "quantity", "key", "representation", "subset")
_STRING_COLUMNS = ("key", "dataset", "method", "hyperparameter", "rule", "source", "vae_passive_version", "path")
_INT_COLUMNS = ("id", "level", "seed", "num_samples", "data_seed")


class DocumentError(ValueError):
    """A document that cannot be used; the message says which field is wrong."""


class NewerSchemaError(DocumentError):
    """A document written by a newer vae-passive than this one."""


@dataclass
class Tables:
    """The tidy tables of one report; ``versions`` counts each (library, version) seen in provenance."""

    models: pd.DataFrame
    latents: pd.DataFrame
    scores: pd.DataFrame
    metrics: pd.DataFrame
    upstream_metrics: pd.DataFrame
    versions: dict[str, dict[str, int]] = field(default_factory=dict)


def _need(mapping: object, name: str, where: str) -> object:
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
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise DocumentError(f"{where} is {value!r}, not an integer")
    return int(value)


def _text(value: object, where: str, allowed: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or (allowed is not None and value not in allowed):
        hint = f" (expected one of {', '.join(allowed)})" if allowed else ""
        raise DocumentError(f"{where} is {value!r}{hint}")
    return value


def check_schema(doc: object) -> None:
    """Raise ``NewerSchemaError`` for a newer schema and ``DocumentError`` for anything not an analysis document."""
    schema = _need(doc, "schema", "document")
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_PREFIX):
        raise DocumentError(f"schema {schema!r} is not a vae-passive analysis document")
    version = schema[len(SCHEMA_PREFIX) :]
    if not version.isdigit():
        raise DocumentError(f"schema {schema!r} has no version number")
    if int(version) > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"schema {schema} is newer than this vae-passive reads ({SCHEMA_PREFIX}{SCHEMA_VERSION}); "
            "upgrade vae-passive (pip install -U vae-passive)"
        )


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
    fields = {"id": None}
    for name in ("dataset", "method", "hyperparameter"):
        value = model.get(name)
        fields[name] = None if value is None else _text(value, f"model.{name}")
    fields["value"] = _number(model.get("value"), "model.value")
    fields["level"] = level_of(fields["method"], fields["value"])
    fields["seed"] = _optional_int(model.get("seed"), "model.seed")
    return fields


class TableBuilder:
    """Collects documents into column lists; ``build`` turns them into ``Tables``."""

    def __init__(self) -> None:
        self._models: dict[str, list] = {c: [] for c in MODEL_COLUMNS}
        self._latents: dict[str, list] = {
            c: [] for c in ("_model", "latent", "kind", "mean_of_variance", "variance_of_variance", "variance_of_mean")
        }
        self._scores: dict[str, list] = {
            c: [] for c in ("_model", "representation", "subset", "num_latents", "score", "result")
        }
        self._metrics: dict[str, list] = {
            c: [] for c in ("_model", "representation", "subset", "metric", "key", "result")
        }
        self._upstream: dict[str, list] = {c: [] for c in ("_model", "representation", "metric", "key", "result")}
        self._versions: Counter[tuple[str, str]] = Counter()

    def __len__(self) -> int:
        return len(self._models["key"])

    def add(self, doc: object) -> None:
        """Validate one document and append its rows; on ``DocumentError`` nothing is appended."""
        check_schema(doc)
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
        row["real"] = bool(_need(data, "real", "data"))
        row["num_samples"] = _optional_int(data.get("num_samples"), "data.num_samples")
        row["data_seed"] = _optional_int(data.get("seed"), "data.seed")
        versions = (doc.get("provenance") or {}).get("versions") or {}
        row["vae_passive_version"] = str(versions.get("vae_passive", ""))

        latents = _need(doc, "latents", "document")
        if not isinstance(latents, list) or not latents:
            raise DocumentError("latents is not a non-empty list")
        latent_rows = []
        for i, latent in enumerate(latents):
            where = f"latents[{i}]"
            latent_rows.append(
                (
                    _optional_int(_need(latent, "index", where), f"{where}.index"),
                    _text(_need(latent, "kind", where), f"{where}.kind", KINDS),
                    _number(_need(latent, "mean_of_variance", where), f"{where}.mean_of_variance"),
                    _number(_need(latent, "variance_of_variance", where), f"{where}.variance_of_variance"),
                    _number(_need(latent, "variance_of_mean", where), f"{where}.variance_of_mean"),
                )
            )
        kinds = Counter(r[1] for r in latent_rows)
        counts = _need(doc, "counts", "document")
        for kind in KINDS:
            if _optional_int(counts.get(kind, 0), f"counts.{kind}") != kinds[kind]:
                raise DocumentError(f"counts.{kind} = {counts.get(kind)} disagrees with the latents ({kinds[kind]})")
            row[kind] = kinds[kind]
        row["num_latents"] = len(latent_rows)

        score_rows = []
        entries = _need(doc, "scores", "document")
        if not isinstance(entries, list):
            raise DocumentError("scores is not a list")
        for i, entry in enumerate(entries):
            where = f"scores[{i}]"
            rep = _text(_need(entry, "representation", where), f"{where}.representation", REPRESENTATIONS)
            subset = _text(_need(entry, "subset", where), f"{where}.subset", SUBSETS)
            size = _optional_int(_need(entry, "num_latents", where), f"{where}.num_latents")
            for score in SCORES:
                if score in entry:
                    score_rows.append((rep, subset, size, score, _number(entry[score], f"{where}.{score}")))

        metric_rows = []
        for i, entry in enumerate(doc.get("metrics") or []):
            where = f"metrics[{i}]"
            metric = _text(_need(entry, "metric", where), f"{where}.metric")
            metric_rows.append(
                (
                    _text(_need(entry, "representation", where), f"{where}.representation"),
                    _text(_need(entry, "subset", where), f"{where}.subset"),
                    metric,
                    _text(entry.get("key", metric), f"{where}.key"),  # documents before the metrics issue
                    _number(_need(entry, "value", where), f"{where}.value"),
                )
            )

        upstream_rows = []
        upstream = doc.get("upstream_metrics") or {}
        if not isinstance(upstream, dict):
            raise DocumentError("upstream_metrics is not an object")
        for rep, by_metric in upstream.items():
            for metric, values in (by_metric or {}).items():
                for key, value in (values or {}).items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):  # skip uuids and the like
                        upstream_rows.append((rep, metric, key, float(value)))

        index = len(self)
        for name in MODEL_COLUMNS:
            self._models[name].append(row[name])
        _extend(self._latents, index, latent_rows)
        _extend(self._scores, index, score_rows)
        _extend(self._metrics, index, metric_rows)
        _extend(self._upstream, index, upstream_rows)
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
        models["real"] = models["real"].astype(bool)
        versions: dict[str, dict[str, int]] = {}
        for (library, version), count in sorted(self._versions.items()):
            versions.setdefault(library, {})[version] = count
        tables = Tables(
            models=models,
            latents=_rows_frame(models, self._latents, ("kind",), ("latent",)),
            scores=_rows_frame(models, self._scores, ("representation", "subset", "score"), ("num_latents",)),
            metrics=_rows_frame(models, self._metrics, ("representation", "subset", "metric", "key"), ()),
            upstream_metrics=_rows_frame(models, self._upstream, ("representation", "metric", "key"), ()),
            versions=versions,
        )
        self.__init__()
        return tables


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


def rule_label(rule: str, var_threshold: float, mean_tolerance: float) -> str:
    """A short, file-name-safe label of a rule and its thresholds, e.g. ``variance-v0.1-t0.1``."""
    label = f"{rule}-v{var_threshold:g}"
    return label if math.isnan(mean_tolerance) else f"{label}-t{mean_tolerance:g}"


def rules(models: pd.DataFrame) -> pd.DataFrame:
    """The distinct rules with their model counts, most used first."""
    counted = models.groupby(list(RULE_COLUMNS), dropna=False, observed=True).size().rename("models").reset_index()
    counted["label"] = [rule_label(*row) for row in counted[list(RULE_COLUMNS)].itertuples(index=False)]
    return counted.sort_values(["models", "label"], ascending=[False, True], ignore_index=True)


def by_rule(tables: Tables) -> list[tuple[str, Tables]]:
    """The tables split by rule (label, tables), most used rule first; one rule gives ``tables`` itself."""
    labels = [rule_label(*row) for row in tables.models[list(RULE_COLUMNS)].itertuples(index=False)]
    order = rules(tables.models)["label"].tolist()
    if len(order) == 1:
        return [(order[0], tables)]
    labelled = pd.Series(labels, index=tables.models.index)
    return [(label, select_keys(tables, tables.models.loc[labelled == label, "key"])) for label in order]


def summarize(tables: Tables) -> pd.DataFrame:
    """Mean, std (ddof 1) and count over seeds of every count, score and metric, per dataset x method x value x rule."""
    group = list(GROUP_COLUMNS)
    parts = []
    counts = tables.models[[*group, *KINDS]].melt(id_vars=group, var_name="quantity", value_name="result")
    counts = counts.assign(table="counts", key="", representation="", subset="")
    parts.append(counts)
    scores = tables.scores[[*group, "representation", "subset", "score", "result"]].rename(
        columns={"score": "quantity"}
    )
    parts.append(scores.assign(table="scores", key=""))
    metrics = tables.metrics[[*group, "representation", "subset", "metric", "key", "result"]]
    parts.append(metrics.rename(columns={"metric": "quantity"}).assign(table="metrics"))
    upstream = tables.upstream_metrics[[*group, "representation", "metric", "key", "result"]]
    parts.append(upstream.rename(columns={"metric": "quantity"}).assign(table="upstream_metrics", subset="full"))
    parts = [p.astype({c: "str" for c in SUMMARY_ITEM_COLUMNS}) for p in parts]
    long = pd.concat([p[[*group, *SUMMARY_ITEM_COLUMNS, "result"]] for p in parts], ignore_index=True)
    summary = (
        long.groupby([*group, *SUMMARY_ITEM_COLUMNS], dropna=False, observed=True, sort=True)["result"]
        .agg(["mean", "std", "count"])
        .reset_index()
    )
    return summary


def prevalence(models: pd.DataFrame) -> pd.DataFrame:
    """How many models have at least one passive latent, per method x dataset x value x rule."""
    keys = ["method", "dataset", "hyperparameter", "value", "level", *RULE_COLUMNS]
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


@dataclass(frozen=True)
class Finding:
    """One headline: a short title and a sentence with the numbers behind it."""

    title: str
    text: str


def _fmt(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def _per_model(scores: pd.DataFrame, score: str, subsets: tuple[str, ...]) -> pd.DataFrame:
    """One row per model, a column per (subset, representation) of ``score``."""
    rows = scores[(scores["score"] == score) & scores["subset"].isin(subsets)]
    wide = rows.pivot_table(
        index="key", columns=["subset", "representation"], values="result", aggfunc="first", observed=True
    )
    return wide


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
    )


_SCORE_NAMES = {TC: ("Gaussian total correlation", "TC"), MI: ("average discrete mutual information", "MI")}


def findings(tables: Tables) -> list[Finding]:
    """Headline findings for one rule's tables, computed from the data and worded without overclaiming."""
    models = tables.models
    n = len(models)
    has_passive = models["passive"] > 0
    per_method = (
        models.assign(has_passive=has_passive)
        .groupby("method", observed=True, sort=True)["has_passive"]
        .agg(["sum", "size"])
    )
    by_method = "; ".join(f"{m} {int(r['sum']):,}/{int(r['size']):,}" for m, r in per_method.iterrows())
    out = [
        Finding(
            "Models with passive latents",
            f"{int(has_passive.sum()):,} of {n:,} models ({has_passive.mean():.0%}) have at least one passive latent"
            + (f" (per method: {by_method})" if by_method else "")
            + f". On average a model has {models['active'].mean():.2f} active, {models['mixed'].mean():.2f} mixed "
            f"and {models['passive'].mean():.2f} passive latents out of {models['num_latents'].mean():.3g}.",
        )
    ]
    passive_keys = models.loc[has_passive, "key"].astype(str)
    for score, (name, short) in _SCORE_NAMES.items():
        wide = _per_model(tables.scores, score, ("full", "passive", "active+mixed"))
        pair = _columns(wide, [("passive", "mean"), ("passive", "sampled")])
        if len(pair):
            mean_rep, sampled_rep = pair.iloc[:, 0], pair.iloc[:, 1]
            out.append(
                Finding(
                    f"Passive latents: mean vs sampled {short}",
                    f"On the passive latents of the {len(pair):,} models with at least two of them, the {name} "
                    f"is {_fmt(mean_rep.mean())} on average (median {_fmt(mean_rep.median())}) for the mean "
                    f"representation and {_fmt(sampled_rep.mean())} (median {_fmt(sampled_rep.median())}) for the "
                    f"sampled one; the mean representation's is the higher in {int((mean_rep > sampled_rep).sum()):,} "
                    "of them.",
                )
            )
        else:
            out.append(
                Finding(
                    f"Passive latents: mean vs sampled {short}",
                    f"No model has two or more passive latents with a {short} score, so this cannot be compared.",
                )
            )
        both = _columns(
            wide[wide.index.isin(passive_keys)], [(s, r) for s in ("full", "active+mixed") for r in REPRESENTATIONS]
        )
        if len(both):
            full_gap = both.iloc[:, 0] - both.iloc[:, 1]
            kept_gap = both.iloc[:, 2] - both.iloc[:, 3]
            share = 100 * kept_gap.mean() / full_gap.mean() if full_gap.mean() else math.nan
            out.append(
                Finding(
                    f"Removing passive latents: {short} gap",
                    f"In the {len(both):,} models with passive latents (and at least two other latents), the "
                    f"mean-minus-sampled {short} gap averages {_fmt(full_gap.mean())} on the full code and "
                    f"{_fmt(kept_gap.mean())} on the active and mixed latents alone ({_fmt(share)}% of the full-code "
                    "gap). The subset has fewer latents, so part of any change may come from its size alone.",
                )
            )
    return out


def _columns(wide: pd.DataFrame, columns: list[tuple[str, str]]) -> pd.DataFrame:
    """``wide[columns]`` without rows that lack any of them (empty when a column is absent)."""
    if not all(c in wide.columns for c in columns):
        return pd.DataFrame()
    return wide[columns].dropna()
