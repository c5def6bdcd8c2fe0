"""Which data sets exist here, and which one an analysis uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from vae_passive.data.base import GroundTruthData
from vae_passive.data.procedural import ProceduralDSprites
from vae_passive.errors import VaePassiveError

_FACTORIES: dict[str, Callable[[int], GroundTruthData]] = {
    "procedural_dsprites": lambda channels: ProceduralDSprites(channels),
}
STAND_IN = "procedural_dsprites"


def available() -> tuple[str, ...]:
    """Names accepted by ``get_dataset``."""
    return tuple(_FACTORIES)


@cache
def get_dataset(name: str, channels: int = 1) -> GroundTruthData:
    """The data set ``name`` with images of ``channels`` channels (one shared instance each)."""
    if name not in _FACTORIES:
        raise VaePassiveError(f"unknown data set {name!r}; choose one of {', '.join(available())}")
    return _FACTORIES[name](channels)


def resolve_dataset(model_dataset: str | None, requested: str | None, channels: int) -> tuple[GroundTruthData, str]:
    """The data set to analyse a model with, and a note for the user (empty when none is due).

    ``requested`` (``--dataset``) wins; otherwise the model's own training set when a loader for
    it exists here; otherwise the procedural stand-in, with a note saying so.
    """
    if requested:
        return get_dataset(requested, channels), ""
    if model_dataset in _FACTORIES:
        return get_dataset(model_dataset, channels), ""
    note = (
        f"no loader for {model_dataset or 'this model'}'s data here yet: using the "
        f"{STAND_IN} stand-in (pass --dataset to choose)"
    )
    return get_dataset(STAND_IN, channels), note
