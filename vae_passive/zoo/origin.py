"""Where a model comes from: an original of the published zoo, or trained here by ``vae-passive train``.

A retrained model must never pass for an original. Three things can say "trained", and any one of them
wins: the folder's own markers (``train.gin`` binds ``vae_passive.training_data``;
``model/results/json/train_results.json`` has ``training_data`` or ``spec_steps``, which only
``vae-passive train`` writes), the cache manifest's ``origin`` (recorded from a mirror's ``index.json``
at fetch time), and a mirror's ``index.json`` entry. "original" therefore means "no sign of training
here", the most any copy of the zoo can show: no checksums were ever published for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vae_passive import home
from vae_passive.errors import VaePassiveError
from vae_passive.untrusted import UnreadableFile, printable, read_json
from vae_passive.zoo.cache import read_manifest
from vae_passive.zoo.fileguard import read_small

ORIGINAL = "original"
TRAINED = "trained"
ORIGINS = (ORIGINAL, TRAINED)
#: The binding ``vae-passive train`` writes into train.gin (``tfhub.folder.TRAINING_DATA_BINDING``, which the zoo
#: layer may not import; a test keeps the two equal).
TRAINING_DATA_BINDING = "vae_passive.training_data"
TRAIN_GIN = "model/results/gin/train.gin"
TRAIN_RESULTS = "model/results/json/train_results.json"
GIN_MAX_BYTES = 1 << 20  # a train.gin is a few kB
#: The published zoo was trained by disentanglement_lib (TensorFlow 1) in float32; its folders record no precision.
PUBLISHED_PRECISION = "fp32"
#: What ``train --precision`` offers: the published fp32, or bfloat16 compute with fp32 weights (docs/training.md).
PRECISIONS = (PUBLISHED_PRECISION, "bf16")


@dataclass(frozen=True)
class Origin:
    """``kind`` is "original" or "trained"; a trained model's ``steps``, ``data`` and ``precision`` (fp32, bf16)
    when known, so that a bf16 model never passes for an fp32 one."""

    kind: str = ORIGINAL
    steps: int | None = None
    data: str | None = None
    precision: str | None = None

    @property
    def trained(self) -> bool:
        return self.kind == TRAINED

    def as_dict(self) -> dict[str, object]:
        """``{"kind": ...}`` plus ``steps`` and ``data`` for a trained model, and ``precision`` when recorded (as
        index.json and manifests store it)."""
        if not self.trained:
            return {"kind": self.kind}
        known = {"precision": self.precision} if self.precision else {}
        return {"kind": self.kind, "steps": self.steps, "data": self.data, **known}

    def facts(self) -> dict[str, object]:
        """``origin`` (original, trained), ``steps`` and ``precision`` as ``cache ls --json`` and ``list --json`` print
        them: an original's precision is fp32 as published, a trained model's as recorded (``None`` when not)."""
        if not self.trained:
            return {"origin": self.kind, "steps": None, "precision": PUBLISHED_PRECISION}
        return {"origin": self.kind, "steps": self.steps, "precision": self.precision}

    def words(self) -> str:
        """``zoo`` or ``trained here, 3,000 steps, bf16`` (the steps and precision as far as recorded)."""
        if not self.trained:
            return "zoo"
        length = f"{self.steps:,} steps" if self.steps is not None else "steps not recorded"
        return f"trained here, {length}, {self.precision or 'precision not recorded'}"

    @classmethod
    def from_value(cls, value: object) -> Origin | None:
        """An origin stored by this tool (index.json, a manifest), checked as strangers' data; ``None`` if unusable.

        Any value that is not exactly "original" but mentions training counts as trained: never an original by
        mistake. A ``data`` that is not printable text (a control character, a lone surrogate) is dropped: it
        would break the analysis document that records it.
        """
        if not isinstance(value, dict):
            return None
        kind = value.get("kind")
        if kind not in ORIGINS:
            return cls(TRAINED) if kind is not None else None
        steps, data, precision = value.get("steps"), value.get("data"), value.get("precision")
        return cls(
            str(kind),
            steps if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 0 else None,
            data if isinstance(data, str) and len(data) <= 200 and printable(data) == data else None,
            precision
            if isinstance(precision, str) and len(precision) <= 20 and printable(precision) == precision
            else None,
        )

    def merged(self, other: Origin | None) -> Origin:
        """Trained if either is; steps and data from whichever knows them (this one first)."""
        if other is None or not (self.trained or other.trained):
            return self
        steps = self.steps if self.steps is not None else other.steps
        return Origin(TRAINED, steps, self.data or other.data, self.precision or other.precision)


def folder_origin(folder: Path) -> Origin:
    """What the model folder itself says: trained (with steps and data) when it carries ``vae-passive train``'s
    markers, else original."""
    steps: int | None = None
    data: str | None = None
    precision: str | None = None
    trained = False
    results_path = folder / TRAIN_RESULTS
    if results_path.is_file():
        try:
            results = read_json(results_path)
        except UnreadableFile:
            results = None
        if isinstance(results, dict) and ("training_data" in results or "spec_steps" in results):
            trained = True
            found = Origin.from_value(
                {
                    "kind": TRAINED,
                    "steps": results.get("steps"),
                    "data": results.get("training_data"),
                    "precision": results.get("precision"),
                }
            )
            steps, data, precision = (found.steps, found.data, found.precision) if found else (None, None, None)
    gin = folder / TRAIN_GIN
    if gin.is_file():
        pattern = rf"""^\s*{re.escape(TRAINING_DATA_BINDING)}\s*=\s*['"]([^'"]+)['"]"""
        try:  # a stranger's folder: no link, FIFO or huge file
            text = read_small(gin, GIN_MAX_BYTES).decode(errors="replace")
        except (OSError, VaePassiveError):
            text = ""
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            trained, data = True, data or printable(match.group(1)[:200])
    return Origin(TRAINED, steps, data, precision) if trained else Origin()


def manifest_origin(folder: Path) -> Origin | None:
    """The ``origin`` the cache manifest of ``folder`` recorded (from a mirror's index.json), if any."""
    manifest = read_manifest(folder)
    return Origin.from_value(manifest.get("origin")) if manifest else None


def model_origin(folder: Path) -> Origin:
    """The origin of a model folder: its own markers, merged with what its cache manifest recorded."""
    return folder_origin(folder).merged(manifest_origin(folder))


def cached_origin(model_id: int) -> Origin | None:
    """The origin of the cached ``models/<id>/`` (its markers, its manifest's ``origin``); ``None`` if not cached."""
    folder = home.model_dir(model_id)
    return model_origin(folder) if folder.is_dir() else None
