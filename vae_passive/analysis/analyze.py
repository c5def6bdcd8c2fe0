"""The paper's analysis of one model: classify latents, score mean vs sampled codes, one document.

``analysis_document`` and ``score_representations`` are pure; ``analyze_model`` is the edge that
loads the module, draws the data and encodes; ``write_results`` stores it through ``analysis.document``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

import numpy as np

from vae_passive import home
from vae_passive.analysis.codes import Codes
from vae_passive.analysis.document import (
    CODES_LIBRARIES,
    SCHEMA,
    AnalysisDocument,
    DataFields,
    LatentRow,
    MetricRow,
    ModelFields,
    OriginFields,
    RuleFields,
    ScoreRow,
    library_versions,
    versions,
    write_document,
)
from vae_passive.analysis.noise import SpreadRow, sampling_spread
from vae_passive.data import GroundTruthData, draw_batches, resolve_dataset
from vae_passive.errors import VaePassiveError
from vae_passive.latents.representations import noise_seed, sampled_representation
from vae_passive.latents.scores import (
    SCORE_NAMES,
    finite_or_none,
    score_subsets,
)
from vae_passive.latents.variables import (
    KINDS,
    Rule,
    classify,
    latent_statistics,
    reasons,
    sanity_warnings,
    study_subsets,
)
from vae_passive.tfhub.folder import read_gin_dataset, read_training_data, read_upstream_metrics
from vae_passive.zoo import catalogue
from vae_passive.zoo.origin import model_origin

DEFAULT_NUM_SAMPLES = 10_000
DEFAULT_SEED = 2051556033  # unsupervised_study_v1's seed of the sampled/unsupervised evaluation
DATA_BATCH_SIZE = 16  # upstream's generate_batch_factor_code batch, which fixes the draw order
ENCODE_BATCH_SIZE = 1024
SAMPLED_NOISE = "numpy.random.default_rng(noise_seed(seed, model key)).standard_normal"  # recorded in hashes
#: ``model.source`` and ``data.source`` of an analysis of given codes.
CODES_SOURCE = "codes"


@dataclass(frozen=True)
class Settings:
    """What an analysis depends on besides the model; hashed into ``settings_hash``."""

    num_samples: int = DEFAULT_NUM_SAMPLES
    seed: int = DEFAULT_SEED
    rule: Rule = field(default_factory=Rule)
    dataset: str | None = None  # None: the model's own data set, or the stand-in
    metrics: tuple[str, ...] = ()  # disentanglement metrics to add (vae_passive.metrics.registry names)
    preset: str = "full"  # the metrics' settings: "full" (unsupervised_study_v1), "fast" or "study"
    #: the linear classifiers' defaults: "2019" (scikit-learn 0.21.3's) or "current" (metrics.classifiers)
    classifier_defaults: str = "2019"

    def __post_init__(self) -> None:
        if self.num_samples < 2:
            raise VaePassiveError(f"--num-samples must be at least 2 (got {self.num_samples}); the study uses 10000")
        if not self.metrics and self.preset == "full" and self.classifier_defaults == "2019":
            return  # nothing to check in the registry, whose import (scikit-learn) takes most of a second
        from vae_passive.metrics.classifiers import check_classifier_defaults
        from vae_passive.metrics.registry import PRESETS, REGISTRY

        try:
            check_classifier_defaults(self.classifier_defaults)
        except ValueError as error:
            raise VaePassiveError(str(error)) from None

        unknown = [name for name in self.metrics if name not in REGISTRY]
        if unknown:
            raise VaePassiveError(f"unknown metric {', '.join(unknown)}; choose from {', '.join(REGISTRY)}")
        if self.preset not in PRESETS:
            raise VaePassiveError(f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}")


@dataclass(frozen=True)
class ModelSource:
    """Where a model lives and what is known about it before loading."""

    key: str
    path: Path
    id: int | None
    dataset: str | None  # from model/results/gin/train.gin, else the catalogue
    trained_on: str | None = None  # ``vae_passive.training_data`` of models this tool trained


def data_for(source: ModelSource, settings: Settings, channels: int | None) -> tuple[GroundTruthData, str]:
    """The data set (and a note) for analysing ``source``: ``--dataset``, else what the model was
    trained on here, else its own data set (``resolve_dataset``)."""
    return resolve_dataset(source.dataset, settings.dataset or source.trained_on, channels)


def _preset_settings(settings: Settings) -> dict:
    """The metric settings a hash covers: what each row records (a changed preset's version too, so that a
    document of its earlier settings is analysed again rather than kept)."""
    from vae_passive.metrics.suite import row_settings

    return row_settings(settings.preset, settings.classifier_defaults)


def settings_hash(settings: Settings, data_source: str) -> str:
    """A hash of everything that changes the result for one model."""
    payload = {
        "schema": SCHEMA,
        "data": {"source": data_source, "num_samples": settings.num_samples, "seed": settings.seed},
        "rule": settings.rule.as_dict(),
        "sampled_noise": SAMPLED_NOISE,
    }
    if settings.metrics:  # only then, so that hashes of analyses without metrics stay valid
        payload["metrics"] = {"names": list(settings.metrics), **_preset_settings(settings)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def score_representations(codes: dict[str, np.ndarray], kinds: np.ndarray) -> list[ScoreRow]:
    """Scores of each representation (N, latents) on the study's subsets with >= 2 latents."""
    rows: list[ScoreRow] = []
    subsets = study_subsets(kinds, min_latents=2)
    for representation, code in codes.items():
        for subset, scores in score_subsets(code, subsets).items():
            row = {"representation": representation, "subset": subset, "num_latents": len(subsets[subset])}
            row.update({name: scores[name] for name in SCORE_NAMES})
            rows.append(cast(ScoreRow, row))
    return rows


def analysis_document(
    *,
    model: ModelFields,
    data: DataFields,
    rule: Rule,
    mean: np.ndarray,
    logvar: np.ndarray,
    sampled: np.ndarray,
    upstream_metrics: dict,
) -> AnalysisDocument:
    """The result document (without provenance) for codes (N, latents) of one model."""
    stats = latent_statistics(mean, logvar)
    kinds, why = classify(stats, rule), reasons(stats, rule)
    latents: list[LatentRow] = [
        {
            "index": j,
            "kind": str(kinds[j]),
            "reason": str(why[j]),
            "mean_of_variance": float(stats.mean_of_variance[j]),
            "variance_of_variance": float(stats.variance_of_variance[j]),
            "variance_of_mean": float(stats.variance_of_mean[j]),
        }
        for j in range(len(kinds))
    ]
    document: AnalysisDocument = {
        "schema": SCHEMA,
        "model": model,
        "data": data,
        "rule": cast(RuleFields, rule.as_dict()),
        "latents": latents,
        "counts": {kind: int(np.sum(kinds == kind)) for kind in KINDS},
        "scores": score_representations({"mean": mean, "sampled": sampled}, kinds),
        "upstream_metrics": upstream_metrics,
    }
    warnings = sanity_warnings(logvar, stats, kinds)  # kinds that contradict the codes: say so, in the document
    if warnings:
        document["warnings"] = warnings
    return document


def _spread(mean: np.ndarray, logvar: np.ndarray, document: AnalysisDocument, noise: int) -> list[SpreadRow]:
    """``analysis.noise.sampling_spread`` of the document's kinds, from a stream of its own beside the
    model's noise (``[noise, 1]``), so that the sampled code stays what it was."""
    kinds = np.array([latent["kind"] for latent in document["latents"]])
    return sampling_spread(mean, logvar, kinds, np.random.default_rng([noise, 1]))


# ---- the I/O edge -------------------------------------------------------------------------


def locate_model(model_id: int | None = None, model_dir: str | Path | None = None) -> ModelSource:
    """The model to analyse, from the cache (``--model-id``) or a folder (``--model-dir``)."""
    if (model_id is None) == (model_dir is None):
        raise VaePassiveError("give exactly one of --model-id or --model-dir")
    if model_id is not None:
        record = catalogue.record(model_id)
        folder = home.model_dir(model_id)
        if not folder.is_dir():
            if not record.released:
                raise VaePassiveError(
                    f"model {model_id} ({record.dataset}) was never released; train it (vae-passive train "
                    f"--model-id {model_id}) or pass --model-dir"
                )
            raise VaePassiveError(
                f"model {model_id} is not in the cache ({folder}); fetch it with `vae-passive fetch --ids {model_id}` "
                "or import a copy with `vae-passive import PATH`"
            )
        return ModelSource(
            str(model_id),
            folder,
            model_id,
            read_gin_dataset(folder) or record.dataset,
            read_training_data(folder),
        )
    assert model_dir is not None  # exactly one of the two was given
    folder = Path(model_dir).expanduser().resolve()
    if not folder.is_dir():
        raise VaePassiveError(f"model folder {model_dir} does not exist")
    dataset = read_gin_dataset(folder)
    known_id = int(folder.name) if folder.name.isdigit() and int(folder.name) < catalogue.NUM_MODELS else None
    if known_id is not None and dataset not in (None, catalogue.record(known_id).dataset):
        known_id = None  # a folder named like an id that holds another data set's model
    return ModelSource(folder.name, folder, known_id, dataset, read_training_data(folder))


def model_fields(source: ModelSource, num_latents: int) -> ModelFields:
    """The document's ``model`` block: catalogue fields when the id is known, and the model's origin (an
    original of the zoo, or trained here: a retrained model never passes for an original)."""
    record = catalogue.record(source.id) if source.id is not None else None
    return {
        "id": source.id,
        "key": source.key,
        "path": str(source.path),
        "dataset": source.dataset,
        "method": record.method if record else None,
        "hyperparameter": record.hyperparameter if record else None,
        "value": record.value if record else None,
        "seed": record.seed if record else None,
        "num_latents": num_latents,
        "origin": cast(OriginFields, model_origin(source.path).as_dict()),
    }


@dataclass
class AnalysisResult:
    """A finished analysis: the document, the codes it was computed from, and notes for the user."""

    document: AnalysisDocument
    codes: dict[str, np.ndarray]
    notes: list[str]


def _draw_and_encode(source: ModelSource, settings: Settings, module, timings: dict[str, float]):
    """The analysis sample: data set, factors and codes (mean, logvar, sampled with the model's noise)."""
    tick = time.perf_counter()
    data, note = data_for(source, settings, module.channels)
    factors, images = draw_batches(data, settings.num_samples, np.random.RandomState(settings.seed), DATA_BATCH_SIZE)
    timings["data"] = time.perf_counter() - tick
    tick = time.perf_counter()
    encoded = module.encode(images, batch_size=ENCODE_BATCH_SIZE)
    del images
    noise = noise_seed(settings.seed, source.key)
    sampled = sampled_representation(encoded.mean, encoded.logvar, np.random.default_rng(noise))
    timings["encode"] = time.perf_counter() - tick
    codes = {"mean": encoded.mean, "logvar": encoded.logvar, "sampled": sampled, "factors": factors}
    return data, note, noise, codes


def _metric_rows(
    data, module, document: AnalysisDocument, source: ModelSource, settings: Settings, jobs: int, progress
):
    """The disentanglement metrics of ``settings.metrics`` on the model's codes (``metrics.suite``)."""
    from vae_passive.metrics.suite import metric_rows

    kinds = np.array([latent["kind"] for latent in document["latents"]])

    def encode(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        codes = module.encode(batch, batch_size=ENCODE_BATCH_SIZE)
        return codes.mean, codes.logvar

    return metric_rows(
        data, encode, kinds, settings.metrics, settings.preset, jobs, progress, source.key, settings.classifier_defaults
    )


def analyze_model(
    source: ModelSource,
    settings: Settings,
    module=None,
    jobs: int = 1,
    metrics_progress: Callable[[int, int, str], None] | None = None,
) -> AnalysisResult:
    """Load (or reuse) the module, draw data, encode, classify and score one model; with
    ``settings.metrics``, also the disentanglement metrics (``jobs`` processes for the model fits;
    ``metrics_progress`` is told of each step, see ``metrics.suite.Progress``)."""
    from vae_passive.tfhub.module import Module

    started = time.perf_counter()
    timings: dict[str, float] = {}
    if module is None:
        data_for(source, settings, None)  # missing data: fail before paying for TensorFlow
    module = module or Module(source.path)
    timings["load"] = time.perf_counter() - started
    data, note, noise, codes = _draw_and_encode(source, settings, module, timings)

    tick = time.perf_counter()
    document = analysis_document(
        model=model_fields(source, module.num_latents),
        data={
            "source": data.name,
            "real": data.real,
            "num_samples": settings.num_samples,
            "seed": settings.seed,
            "noise_seed": noise,
        },
        rule=settings.rule,
        mean=codes["mean"],
        logvar=codes["logvar"],
        sampled=codes["sampled"],
        upstream_metrics=read_upstream_metrics(source.path),
    )
    document["sampling_spread"] = _spread(codes["mean"], codes["logvar"], document, noise)
    timings["classify_and_score"] = time.perf_counter() - tick
    if settings.metrics:
        tick = time.perf_counter()
        document["metrics"] = _metric_rows(data, module, document, source, settings, jobs, metrics_progress)
        timings["metrics"] = time.perf_counter() - tick
    document["provenance"] = {
        "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(time.perf_counter() - started, 4),
        "timings_s": {name: round(value, 4) for name, value in timings.items()},
        "settings_hash": settings_hash(settings, data.name),
    }
    return AnalysisResult(document, codes, [note] if note else [])


def write_results(results_dir: Path, result: AnalysisResult, save_codes: bool = False) -> Path:
    """Write ``<results>/<key>/analysis.json`` (and ``codes.npz``) atomically; return the document path."""
    return write_document(results_dir, result.document, result.codes if save_codes else None)


# ---- codes computed elsewhere (any framework) -----------------------------------------------


def codes_settings_hash(settings: Settings, codes: Codes, key: str) -> str:
    """A hash of everything that changes the result of given codes: their arrays, key, seed, rule and metrics."""
    digest = hashlib.sha256()
    for array in (codes.mean, codes.logvar, codes.factors):
        if array is not None:
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    payload: dict = {
        "schema": SCHEMA,
        "codes": {"sha256": digest.hexdigest(), "key": key, "seed": settings.seed},
        "rule": settings.rule.as_dict(),
        "sampled_noise": SAMPLED_NOISE,
    }
    if settings.metrics:
        payload["metrics"] = {"names": list(settings.metrics), "sample": "given codes", **_preset_settings(settings)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _check_codes_metrics(settings: Settings, codes: Codes) -> None:
    """Only the fixed-sample metrics can score given codes, and they need the factors."""
    if not settings.metrics:
        return
    from vae_passive.metrics.registry import REGISTRY

    drawn = [name for name in settings.metrics if not REGISTRY[name].fixed_sample]
    if drawn:
        fixed = ", ".join(name for name, spec in REGISTRY.items() if spec.fixed_sample)
        raise VaePassiveError(
            f"{', '.join(drawn)} draw new inputs from a model and a data set; on given codes only the "
            f"fixed-sample metrics run: {fixed}"
        )
    if codes.factors is None:
        raise VaePassiveError(
            "metrics on given codes need factors (N x factors, integer classes) beside mean and logvar"
        )


def _codes_metric_rows(
    representations: dict[str, np.ndarray],
    factors: np.ndarray,
    kinds: np.ndarray,
    settings: Settings,
    jobs: int,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[MetricRow]:
    """The fixed-sample metrics on each representation and subset of ``metrics.suite.metric_steps``
    (``metrics.scoring``: the last third of the rows is the test sample of metrics that need one; the
    fast preset scores at most its sizes)."""
    from vae_passive.metrics.scoring import check_sample, score_codes
    from vae_passive.metrics.suite import metric_steps, row_settings

    subsets = study_subsets(kinds)
    rows: list[MetricRow] = []
    recorded = row_settings(settings.preset, settings.classifier_defaults)
    steps = list(metric_steps(kinds, settings.metrics))
    for done, (representation, subset, name) in enumerate(steps):
        if progress is not None:
            progress(done, len(steps), f"{representation}/{subset}/{name}")
        base = {"representation": representation, "subset": subset, "metric": name, **recorded}
        try:
            sample = check_sample(representations[representation][:, subsets[subset]], factors)
            result = score_codes(sample, (name,), jobs, settings.preset, settings.classifier_defaults)[name]
        except (ValueError, VaePassiveError) as error:
            rows.append(cast(MetricRow, {**base, "key": None, "value": None, "error": str(error).splitlines()[0]}))
            continue
        rows.extend(cast(MetricRow, {**base, "key": k, "value": finite_or_none(v)}) for k, v in result.items())
    if progress is not None:
        progress(len(steps), len(steps), "done")
    return rows


def analyze_codes(
    codes: Codes,
    settings: Settings,
    key: str,
    path: str = "",
    jobs: int = 1,
    metrics_progress: Callable[[int, int, str], None] | None = None,
) -> AnalysisResult:
    """``analyze_model`` for codes computed elsewhere: the same classification, sampled code (noise from
    ``noise_seed(settings.seed, key)``) and scores; with ``settings.metrics``, the fixed-sample metrics
    on ``codes.factors``. ``path`` (the codes file, if any) is recorded as ``model.path``."""
    started = time.perf_counter()
    _check_codes_metrics(settings, codes)
    noise = noise_seed(settings.seed, key)
    sampled = sampled_representation(codes.mean, codes.logvar, np.random.default_rng(noise))
    model: ModelFields = {
        "id": None,
        "key": key,
        "path": path,
        "dataset": None,
        "method": None,
        "hyperparameter": None,
        "value": None,
        "seed": None,
        "num_latents": codes.mean.shape[1],
        "source": CODES_SOURCE,
    }
    data: DataFields = {
        "source": CODES_SOURCE,
        "real": None,
        "num_samples": len(codes.mean),
        "seed": settings.seed,
        "noise_seed": noise,
    }
    document = analysis_document(
        model=model,
        data=data,
        rule=settings.rule,
        mean=codes.mean,
        logvar=codes.logvar,
        sampled=sampled,
        upstream_metrics={},
    )
    document["sampling_spread"] = _spread(codes.mean, codes.logvar, document, noise)
    timings = {"classify_and_score": time.perf_counter() - started}
    if settings.metrics:
        assert codes.factors is not None  # _check_codes_metrics
        tick = time.perf_counter()
        kinds = np.array([latent["kind"] for latent in document["latents"]])
        representations = {"mean": codes.mean, "sampled": sampled}
        document["metrics"] = _codes_metric_rows(
            representations, codes.factors, kinds, settings, jobs, metrics_progress
        )
        timings["metrics"] = time.perf_counter() - tick
    document["provenance"] = {
        "versions": library_versions(CODES_LIBRARIES),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(time.perf_counter() - started, 4),
        "timings_s": {name: round(value, 4) for name, value in timings.items()},
        "settings_hash": codes_settings_hash(settings, codes, key),
    }
    arrays = {"mean": codes.mean, "logvar": codes.logvar, "sampled": sampled}
    if codes.factors is not None:
        arrays["factors"] = codes.factors
    return AnalysisResult(document, arrays, [])
