"""The analysis document (``vae-passive/analysis/1``): its schema, and the one place that writes and reads it.

One model's analysis is one JSON document, ``<results>/<key>/analysis.json``. The shapes below
are what ``analyze`` writes; the runner (is a result current?), the CLI summary and the report read
documents only through ``read_document``, which also checks the schema version.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import platform
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypedDict, cast

import numpy as np

from vae_passive import __version__
from vae_passive.analysis.codes import Codes, save_codes
from vae_passive.analysis.noise import SpreadRow
from vae_passive.atomic import write_text
from vae_passive.errors import VaePassiveError
from vae_passive.untrusted import UnreadableFile, read_json

if sys.version_info >= (3, 11):
    from typing import NotRequired
else:  # pragma: no cover - Python 3.10
    from typing_extensions import NotRequired

SCHEMA_PREFIX = "vae-passive/analysis/"
SCHEMA_VERSION = 1
SCHEMA = f"{SCHEMA_PREFIX}{SCHEMA_VERSION}"
DOCUMENT_NAME = "analysis.json"
CODES_NAME = "codes.npz"


class ModelFields(TypedDict):
    """Which model: catalogue fields are null for a model outside the zoo."""

    id: int | None
    key: str
    path: str
    dataset: str | None
    method: str | None
    hyperparameter: str | None
    value: float | None
    seed: int | None
    num_latents: int
    source: NotRequired[str]  # "codes" for codes computed elsewhere (``analyze --codes``); absent for a module
    origin: NotRequired[OriginFields]  # of a model folder; absent for codes and in documents before origins


class OriginFields(TypedDict):
    """An original of the zoo or trained here (``zoo.origin``); a trained model's steps, data and precision
    (fp32, bf16; null when unknown, as in models trained before it was recorded) when known."""

    kind: str
    steps: NotRequired[int | None]
    data: NotRequired[str | None]
    precision: NotRequired[str | None]


class DataFields(TypedDict):
    """The inputs drawn: data set, whether it is the published one (null: unknown, given codes), N, and the seeds."""

    source: str
    real: bool | None
    num_samples: int
    seed: int
    noise_seed: NotRequired[int]  # absent in documents written before per-model noise


class RuleFields(TypedDict):
    name: str
    var_threshold: float
    mean_tolerance: float | None


class LatentRow(TypedDict):
    index: int
    kind: str
    reason: NotRequired[str]  # absent in documents written before reasons
    mean_of_variance: float
    variance_of_variance: float
    variance_of_mean: float


class ScoreRow(TypedDict):
    """One (representation, subset): the scores of ``latents.scores.SCORE_NAMES``, null when degenerate."""

    representation: str
    subset: str
    num_latents: int
    gaussian_total_correlation: float | None
    gaussian_wasserstein_correlation: float | None
    gaussian_wasserstein_correlation_norm: float | None
    mutual_info_score: float | None
    subset_effective_rank: float | None  # ``effective_rank`` in documents written before it was renamed


class MetricRow(TypedDict):
    representation: str
    subset: str
    metric: str
    key: str | None
    value: float | None
    error: NotRequired[str]
    preset: NotRequired[str]  # absent in documents before it was recorded (the settings hash had it)
    classifier_defaults: NotRequired[str]  # "2019" or "current"; absent before: those used today's ("current")


class Provenance(TypedDict):
    versions: dict[str, str]
    created: str
    elapsed_s: float
    timings_s: dict[str, float]
    settings_hash: str


class AnalysisDocument(TypedDict):
    schema: str
    model: ModelFields
    data: DataFields
    rule: RuleFields
    latents: list[LatentRow]
    counts: dict[str, int]
    scores: list[ScoreRow]
    upstream_metrics: dict[str, dict[str, Any]]
    metrics: NotRequired[list[MetricRow]]
    #: the sampled code's TC over fresh draws of its noise, per subset (``analysis.noise``); absent before
    sampling_spread: NotRequired[list[SpreadRow]]
    provenance: NotRequired[Provenance]
    warnings: NotRequired[list[str]]  # kinds that contradict the codes (``latents.variables.sanity_warnings``)


class NewerSchemaError(VaePassiveError):
    """A document written by a newer vae-passive."""


def check_schema(document: object) -> None:
    """Raise ``NewerSchemaError`` for a newer schema, ``UnreadableFile`` for anything not an analysis document."""
    schema = document.get("schema") if isinstance(document, dict) else None
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_PREFIX):
        raise UnreadableFile(f"schema {schema!r} is not a vae-passive analysis document")
    version = schema[len(SCHEMA_PREFIX) :]
    if not version.isdigit():
        raise UnreadableFile(f"schema {schema!r} has no version number")
    if int(version) > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"schema {schema} is newer than this vae-passive reads ({SCHEMA}); "
            "upgrade vae-passive (pip install -U vae-passive)"
        )


def read_document(path: Path) -> AnalysisDocument:
    """The document at ``path``, read as an untrusted file and its schema checked (fields are not)."""
    document = read_json(path)
    check_schema(document)
    return cast(AnalysisDocument, document)


def settings_hash_of(path: Path) -> str | None:
    """The ``provenance.settings_hash`` of a stored document; None when missing, damaged or foreign."""
    try:
        value = read_document(path)["provenance"]["settings_hash"]
    except (VaePassiveError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def result_folder(results_dir: Path, key: object) -> Path:
    """``<results>/<key>``; the key must be one plain folder name, so nothing lands outside ``results_dir``."""
    if not isinstance(key, str) or key in ("", ".", "..") or "/" in key or "\\" in key or "\0" in key:
        raise VaePassiveError(f"model key {key!r} is not a plain folder name; rename the model folder")
    return Path(results_dir) / key


def write_document(results_dir: Path, document: AnalysisDocument, codes: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``<results>/<key>/analysis.json`` (and ``codes.npz`` in the codes layout, ``analysis.codes``, when
    given) atomically; return the path."""
    key = document["model"]["key"]
    folder = result_folder(results_dir, key)
    if codes is not None:
        save_codes(
            folder / CODES_NAME,
            Codes(codes["mean"], codes["logvar"], codes.get("sampled"), codes.get("factors"), key),
        )
    path = folder / DOCUMENT_NAME
    write_text(path, json.dumps(document, indent=1) + "\n")
    return path


#: How to find the version of each library a result or a report records, by the name it is recorded under.
_VERSION_OF: dict[str, Callable[[], str]] = {
    "vae_passive": lambda: __version__,
    "python": platform.python_version,
    "numpy": lambda: np.__version__,
    "tensorflow": lambda: _module("vae_passive.tfhub.runtime").tensorflow().__version__,
    "scipy": lambda: _installed("scipy", "scipy"),
    "scikit_learn": lambda: _installed("sklearn", "scikit-learn"),
    "pandas": lambda: _installed("pandas", "pandas"),
    "pyarrow": lambda: _installed("pyarrow", "pyarrow"),
    "matplotlib": lambda: _installed("matplotlib", "matplotlib"),
}
#: What an analysis records: the libraries whose numbers enter the document.
ANALYSIS_LIBRARIES = ("vae_passive", "tensorflow", "numpy", "scipy", "scikit_learn", "python")
#: What an analysis of given codes records: no TensorFlow, which it neither uses nor needs installed.
CODES_LIBRARIES = tuple(name for name in ANALYSIS_LIBRARIES if name != "tensorflow")


def _module(name: str):
    return importlib.import_module(name)


def _installed(module: str, distribution: str) -> str:
    """The version of ``module``: its ``__version__`` when loaded, else its installed distribution's, so that
    recording versions never imports a library (scikit-learn alone takes half a second)."""
    loaded = sys.modules.get(module)
    if loaded is not None:
        return str(loaded.__version__)
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return str(_module(module).__version__)


def library_versions(names: Iterable[str]) -> dict[str, str]:
    """The versions of ``names`` (keys of ``_VERSION_OF``), in that order: the one list of how to ask."""
    return {name: _VERSION_OF[name]() for name in names}


def versions() -> dict[str, str]:
    """Versions recorded with every result (``ANALYSIS_LIBRARIES``)."""
    return library_versions(ANALYSIS_LIBRARIES)
