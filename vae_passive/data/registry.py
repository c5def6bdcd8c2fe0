"""Which data sets exist here, and which one an analysis uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from vae_passive.data import files
from vae_passive.data.base import GroundTruthData
from vae_passive.data.procedural import ProceduralDSprites
from vae_passive.errors import VaePassiveError

STAND_IN = "procedural_dsprites"


def _dsprites(paths: list[Path]):
    from vae_passive.data.dsprites import DSprites

    return DSprites(paths[0])


def _variant(kind: str) -> Callable[[list[Path]], GroundTruthData]:
    def make(paths: list[Path]) -> GroundTruthData:
        from vae_passive.data import dsprites

        sprites = _open("dsprites_full", (paths[0],))  # the variants share one copy of the sprites
        assert isinstance(sprites, dsprites.DSprites)
        if kind == "scream":
            return dsprites.ScreamDSprites(sprites, paths[1])
        return dsprites.ColorDSprites(sprites) if kind == "color" else dsprites.NoisyDSprites(sprites)

    return make


def _smallnorb(paths: list[Path]) -> GroundTruthData:
    from vae_passive.data.smallnorb import SmallNORB

    return SmallNORB(paths)


def _cars3d(paths: list[Path]) -> GroundTruthData:
    from vae_passive.data.cars3d import Cars3D

    return Cars3D(paths[0])


def _shapes3d(paths: list[Path]) -> GroundTruthData:
    from vae_passive.data.shapes3d import Shapes3D

    return Shapes3D(paths[0])


def _mpi3d(name: str) -> Callable[[list[Path]], GroundTruthData]:
    def make(paths: list[Path]) -> GroundTruthData:
        from vae_passive.data.mpi3d import MPI3D

        return MPI3D(name, paths[0])

    return make


#: Loaders of the published data sets, by disentanglement_lib's name; each takes ``files.locate(name)``.
LOADERS: dict[str, Callable[[list[Path]], GroundTruthData]] = {
    "dsprites_full": _dsprites,
    "color_dsprites": _variant("color"),
    "noisy_dsprites": _variant("noisy"),
    "scream_dsprites": _variant("scream"),
    "smallnorb": _smallnorb,
    "cars3d": _cars3d,
    "shapes3d": _shapes3d,
    "mpi3d_toy": _mpi3d("mpi3d_toy"),
    "mpi3d_realistic": _mpi3d("mpi3d_realistic"),
    "mpi3d_real": _mpi3d("mpi3d_real"),
}


def available() -> tuple[str, ...]:
    """Names accepted by ``get_dataset``: the published data sets, then the stand-in."""
    return (*LOADERS, STAND_IN)


@cache
def _open(name: str, paths: tuple[Path, ...]) -> GroundTruthData:
    """One shared (lazily loaded) instance per data set and set of files."""
    return LOADERS[name](list(paths))


@cache
def _procedural(channels: int) -> GroundTruthData:
    return ProceduralDSprites(channels)


def get_dataset(name: str, channels: int | None = None) -> GroundTruthData:
    """The data set ``name``; ``channels`` (when given) must match its images (the stand-in renders 1 or 3).

    Published data sets raise ``files.MissingData`` when their files are not found; nothing is read
    until the first sample.
    """
    if name == STAND_IN:
        return _procedural(channels or 1)
    if name not in LOADERS:
        raise VaePassiveError(f"unknown data set {name!r}; choose one of {', '.join(available())}")
    data = _open(name, tuple(files.locate(name)))
    if channels is not None and channels != data.observation_shape[2]:
        raise VaePassiveError(
            f"{name} has {data.observation_shape[2]}-channel images but the model takes {channels}; "
            f"pass --data with a data set of {channels} channel(s)"
        )
    return data


def resolve_dataset(
    model_dataset: str | None, requested: str | None, channels: int | None, purpose: str = "analyse with"
) -> tuple[GroundTruthData, str]:
    """The data set to analyse (or, ``purpose`` "train on", train) a model with, and a note for the user
    (empty when none is due).

    ``requested`` (``--data``, or what a model trained here was trained on) wins; otherwise the
    model's own data set, whose files must be present (the error says how to fetch them, and names the
    stand-in). A model of unknown data set gets the stand-in, with a note. ``channels`` None skips
    the channel check (to look for missing files before a module is loaded).
    """
    name = requested or model_dataset
    if name is None:
        note = f"the model's data set is unknown: using the {STAND_IN} stand-in (pass --data to choose)"
        return get_dataset(STAND_IN, channels), note
    try:
        data = get_dataset(name, channels)
    except files.MissingData as error:
        raise files.MissingData(
            f"{error}; or pass --data {STAND_IN} to {purpose} the procedural stand-in (not the published data)"
        ) from None
    note = ""
    if not data.real and model_dataset and model_dataset != name:
        note = f"using {name}, a stand-in for {model_dataset} (not the published data)"
    return data, note
