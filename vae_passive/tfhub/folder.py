"""What a model folder of the zoo's layout says besides its module: train.gin bindings and the
upstream evaluation results (``model/results/gin/train.gin``, ``metrics/*/*/results/json/``)."""

from __future__ import annotations

import re
from pathlib import Path

from vae_passive.errors import VaePassiveError
from vae_passive.untrusted import UnreadableFile, read_json

TRAINING_DATA_BINDING = "vae_passive.training_data"  # written into train.gin by models trained here


def read_gin_string(folder: Path, binding: str) -> str | None:
    """A string binding (e.g. ``dataset.name``) of ``model/results/gin/train.gin``, if present."""
    gin = folder / "model" / "results" / "gin" / "train.gin"
    if not gin.is_file():
        return None
    pattern = rf"""^\s*{re.escape(binding)}\s*=\s*['"]([^'"]+)['"]"""
    match = re.search(pattern, gin.read_text(errors="replace"), re.MULTILINE)
    return match.group(1) if match else None


def read_gin_dataset(folder: Path) -> str | None:
    """``dataset.name`` of the model folder's train.gin."""
    return read_gin_string(folder, "dataset.name")


def read_training_data(folder: Path) -> str | None:
    """The data set a model trained here was trained on (``vae_passive.training_data``), if any."""
    return read_gin_string(folder, TRAINING_DATA_BINDING)


def read_upstream_metrics(folder: Path) -> dict[str, dict]:
    """``metrics/{mean,sampled}/<metric>/results/json/evaluation_results.json``, as stored upstream."""
    found: dict[str, dict] = {}
    for path in sorted(folder.glob("metrics/*/*/results/json/evaluation_results.json")):
        representation, metric = path.parts[-5], path.parts[-4]
        try:
            found.setdefault(representation, {})[metric] = read_json(path)
        except UnreadableFile as error:
            raise VaePassiveError(f"cannot read upstream results: {error}") from None
    return found
