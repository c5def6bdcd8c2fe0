"""Synthetic analysis documents (schema ``vae-passive/analysis/1``) for the report's tests and benchmark.

The numbers are made up but shaped like the study's: stronger regularisation gives more passive
latents; on passive latents the mean TC is high and the sampled TC near zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from vae_passive.latents.scores import SCORE_NAMES
from vae_passive.latents.variables import SUBSETS as VARIABLE_SUBSETS
from vae_passive.zoo import catalogue

SCORES = SCORE_NAMES
SUBSETS = tuple(VARIABLE_SUBSETS)
METRICS = (("mig", "discrete_mig"), ("dci", "disentanglement"), ("dci", "completeness"))
RULES = {
    "variance": {"name": "variance", "var_threshold": 0.1, "mean_tolerance": 0.1},
    "mean-variance": {"name": "mean-variance", "var_threshold": 0.1, "mean_tolerance": None},
}


def default_kinds(model_id: int | None, num_latents: int, rng: np.random.Generator) -> list[str]:
    """More passive latents at stronger regularisation (annealed_vae: smaller c_max), a mixed latent now and then."""
    level = 2
    if model_id is not None:
        rec = catalogue.record(model_id)
        level = 5 - rec.hyperparameter_index if rec.method == "annealed_vae" else rec.hyperparameter_index
    passive = min(num_latents - 1, max(0, level + int(rng.integers(-1, 2))))
    mixed = int(rng.random() < 0.3) if num_latents - passive > 1 else 0
    return ["active"] * (num_latents - passive - mixed) + ["mixed"] * mixed + ["passive"] * passive


def _score_entry(representation: str, members: list[str], rng: np.random.Generator) -> dict:
    passive = members.count("passive")
    active = len(members) - passive
    if representation == "mean":
        tc = 0.05 * active + 0.8 * passive + 0.02 * rng.random()
    else:
        tc = 0.05 * active + 0.001 * passive + 0.02 * rng.random()
    return {
        "gaussian_total_correlation": tc,
        "gaussian_wasserstein_correlation": 2.0 * tc,
        "gaussian_wasserstein_correlation_norm": tc / max(len(members), 1),
        "mutual_info_score": 0.3 * tc + 0.01 * rng.random(),
        "effective_rank": len(members) - 0.5 * rng.random(),
    }


def make_document(
    model_id: int | None = 0,
    *,
    key: str | None = None,
    kinds: Sequence[str] | None = None,
    num_latents: int = 10,
    rule: str = "variance",
    source: str = "procedural_dsprites",
    real: bool = False,
    metrics: bool = True,
    metric_keys: bool = True,
    upstream: bool = True,
    catalogue_fields: dict | None = None,
    path: str = "/nonexistent/model",
    schema: str = "vae-passive/analysis/1",
    legacy: bool = False,
    downstream: bool = False,
    origin: dict | None = None,
) -> dict:
    """One analysis document; ``catalogue_fields`` fills ``model`` when ``model_id`` is None.

    ``legacy`` writes it as documents before the study's subsets were: no ``reason`` per latent, and
    pair rows (``active+passive``...) even when one of the pair's kinds has no latent.
    ``downstream`` adds the truncated downstream tasks' rows (every subset and ``random``).
    ``origin`` is ``model.origin`` (default: an original of the zoo for a model id, none otherwise); pass
    ``{"kind": "trained", "steps": 200, "data": "procedural_dsprites"}`` for a model trained here."""
    rng = np.random.default_rng(model_id if model_id is not None else 12345)
    kinds = list(kinds) if kinds is not None else default_kinds(model_id, num_latents, rng)
    latents = []
    for index, kind in enumerate(kinds):
        mean_var = {"active": 0.01, "passive": 1.0, "mixed": 0.5}[kind] + 0.005 * rng.random()
        reason = {"active": "narrow", "passive": "prior"}.get(kind) or str(
            rng.choice(["varies", "between_bands", "above_prior"])
        )
        latents.append(
            {
                "index": index,
                "kind": kind,
                **({} if legacy else {"reason": reason}),
                "mean_of_variance": mean_var,
                "variance_of_variance": 0.001 * rng.random() if kind != "mixed" else 0.3,
                "variance_of_mean": 1.0 if kind == "active" else 0.001 * rng.random(),
            }
        )
    scores = []
    for subset in SUBSETS:
        wanted = set(subset.split("+")) if subset != "full" else {"active", "passive", "mixed"}
        members = [k for k in kinds if k in wanted]
        if len(members) < 2 or (subset != "full" and not legacy and not all(part in kinds for part in wanted)):
            continue
        for representation in ("mean", "sampled"):
            entry = {"representation": representation, "subset": subset, "num_latents": len(members)}
            entry.update(_score_entry(representation, members, rng))
            scores.append(entry)
    metric_rows = []
    if metrics:
        for representation in ("mean", "sampled"):
            for subset in ("full", "active", "active+mixed"):
                parts = subset.split("+")
                if subset != "full" and not (any if legacy else all)(p in kinds for p in parts):
                    continue
                for metric, metric_key in METRICS:
                    row = {"representation": representation, "subset": subset, "metric": metric}
                    if metric_keys:
                        row["key"] = metric_key
                    row["value"] = float(0.1 + 0.3 * rng.random() + (0.05 if representation == "mean" else 0.0))
                    metric_rows.append(row)
    if downstream:
        metric_rows += _downstream_rows(kinds, rng)
    upstream_metrics = {}
    if upstream:
        upstream_metrics = {
            rep: {"mig": {"discrete_mig": float(rng.random())}, "factor_vae_metric": {"eval_accuracy": 0.7}}
            for rep in ("mean", "sampled")
        }
    if model_id is not None:
        rec = catalogue.record(model_id)
        model = {
            "id": model_id,
            "dataset": rec.dataset,
            "method": rec.method,
            "hyperparameter": rec.hyperparameter,
            "value": rec.value,
            "seed": rec.seed,
        }
    else:
        model = {"id": None, "dataset": None, "method": None, "hyperparameter": None, "value": None, "seed": None}
        model.update(catalogue_fields or {})
    model.update({"key": key if key is not None else str(model_id), "path": path, "num_latents": len(kinds)})
    if origin is not None or model_id is not None:
        model["origin"] = dict(origin) if origin is not None else {"kind": "original"}
    return {
        "schema": schema,
        "model": model,
        "data": {"source": source, "real": real, "num_samples": 10000, "seed": 2051556033},
        "rule": dict(RULES[rule]),
        "latents": latents,
        "counts": {kind: kinds.count(kind) for kind in ("active", "passive", "mixed")},
        "scores": scores,
        "upstream_metrics": upstream_metrics,
        "metrics": metric_rows,
        "provenance": {
            "versions": {"vae_passive": "0.1.0", "tensorflow": "2.21.0", "numpy": "2.4.6", "python": "3.12.0"},
            "created": "2026-11-29T00:00:00+00:00",
            "elapsed_s": 1.2,
            "settings_hash": "abc123",
        },
    }


def _downstream_rows(kinds: Sequence[str], rng: np.random.Generator) -> list[dict]:
    """Truncated downstream rows: accuracy grows with the share of non-passive latents kept, mean above sampled."""
    rows = []
    for metric in ("truncated_downstream_task_logistic_regression", "truncated_downstream_task_boosted_trees"):
        for representation in ("mean", "sampled"):
            for subset in ("full", "random", *SUBSETS[1:]):
                wanted = set(subset.split("+"))
                if subset not in ("full", "random") and not all(part in kinds for part in wanted):
                    continue
                members = kinds if subset == "full" else [k for k in kinds if k in wanted]
                useful = 0 if subset == "random" else sum(k != "passive" for k in members)
                informative = useful / max(1, sum(k != "passive" for k in kinds))
                accuracy = 0.2 + 0.6 * informative + 0.05 * rng.random() - 0.03 * (representation == "sampled")
                for key in ("mean_test_accuracy", "mean_train_accuracy"):
                    row = {"representation": representation, "subset": subset, "metric": metric, "key": key}
                    rows.append({**row, "value": float(accuracy)})
    return rows


def write_documents(root: Path, documents: Iterable[dict]) -> Path:
    """Write each document to ``<root>/<model.key>/analysis.json``; return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for doc in documents:
        folder = root / doc["model"]["key"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "analysis.json").write_text(json.dumps(doc))
    return root


def make_codes(kinds: Sequence[str], n: int = 500, seed: int = 0) -> dict[str, np.ndarray]:
    """codes.npz arrays for ``kinds``: passive latents have mean ~ 0 (but correlated) and logvar ~ 0."""
    rng = np.random.default_rng(seed)
    mean = np.empty((n, len(kinds)), np.float32)
    logvar = np.empty((n, len(kinds)), np.float32)
    shared = rng.normal(0, 0.01, n)  # passive means move together: correlated in the mean code only
    for j, kind in enumerate(kinds):
        if kind == "passive":
            mean[:, j] = shared * rng.choice([-1.0, 1.0]) + rng.normal(0, 0.004, n)
        else:
            mean[:, j] = rng.normal(0, {"active": 1.0, "mixed": 0.5}[kind], n)
        logvar[:, j] = {"active": -5.0, "passive": 0.0, "mixed": -1.0}[kind] + 0.1 * rng.standard_normal(n)
    sampled = (mean + np.exp(logvar / 2) * rng.standard_normal(mean.shape)).astype(np.float32)
    factors = rng.integers(0, 3, (n, 5))
    return {"mean": mean, "logvar": logvar, "sampled": sampled, "factors": factors}
