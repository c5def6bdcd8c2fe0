"""Where the files of each published data set live: upstream's relative paths, looked up under
``$DISENTANGLEMENT_LIB_DATA`` first (an existing upstream data folder just works), then under the
home folder's ``data/``.
"""

from __future__ import annotations

from pathlib import Path

from vae_passive import config, home
from vae_passive.errors import VaePassiveError

ENV = config.DATA

DSPRITES = "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
SCREAM = "scream/scream.jpg"
SMALLNORB_CHUNKS = ("smallnorb-5x46789x9x18x6x2x96x96-training", "smallnorb-5x01235x9x18x6x2x96x96-testing")
SMALLNORB = tuple(f"small_norb/{chunk}-{part}.mat" for chunk in SMALLNORB_CHUNKS for part in ("dat", "cat", "info"))
CARS = "cars"  # a folder of 183 .mat files
SHAPES3D = (
    "3dshapes/3dshapes.h5",
    "3dshapes/look-at-object-room_floor-hueXwall-hueXobj-hueXobj-sizeXobj-shapeXview-azi.npz",
)

#: For each data set, the files it needs; each requirement lists alternative relative paths (first: preferred).
REQUIREMENTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "dsprites_full": ((DSPRITES,),),
    "color_dsprites": ((DSPRITES,),),
    "noisy_dsprites": ((DSPRITES,),),
    "scream_dsprites": ((DSPRITES,), (SCREAM,)),
    "smallnorb": tuple((path,) for path in SMALLNORB),
    "cars3d": ((CARS,),),
    "shapes3d": (SHAPES3D,),
    "mpi3d_toy": (("mpi3d_toy/mpi3d_toy.npz",),),
    "mpi3d_realistic": (("mpi3d_realistic/mpi3d_realistic.npz",),),
    "mpi3d_real": (("mpi3d_real/mpi3d_real.npz",),),
}


class MissingData(VaePassiveError):
    """A data set's file is not in any data folder; the message says how to get it."""


def roots() -> list[Path]:
    """The data folders searched, in order: ``$DISENTANGLEMENT_LIB_DATA`` (when set), then home ``data/``."""
    configured = config.text(ENV)
    found = [Path(configured).expanduser()] if configured else []
    return [*found, home.data_dir()]


def write_root() -> Path:
    """Where ``data fetch`` writes: the first data folder."""
    return roots()[0]


def _present(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and any(path.glob("*.mat")))


def find(alternatives: tuple[str, ...]) -> Path | None:
    """The first existing file (or folder of .mat files) among ``alternatives`` under the data folders."""
    for root in roots():
        for relative in alternatives:
            if _present(root / relative):
                return root / relative
    return None


def locate(name: str) -> list[Path]:
    """The files of data set ``name``, one per requirement; raises ``MissingData`` naming the first missing one."""
    paths = []
    for alternatives in REQUIREMENTS[name]:
        path = find(alternatives)
        if path is None:
            expected = write_root() / alternatives[0]
            raise MissingData(
                f"{name} needs {expected}, which is missing; fetch it with `vae-passive data fetch {name}` "
                f"(or set {ENV} to a folder that holds upstream's data)"
            )
        paths.append(path)
    return paths
