"""Cars3D as disentanglement_lib samples it: 183 cars x 24 azimuths x 4 elevations, 64x64 RGB.

Each ``cars/*.mat`` holds ``im``, uint8 (H, W, 3, 24 azimuths, 4 elevations) with H = W (96 in the
published files); images are resized to 64x64 with Lanczos (upstream: ``thumbnail(..., ANTIALIAS)``).
The object factor is the file's position in the folder: upstream takes the directory listing order,
which the file system decides; here the files are sorted by name, so the object labels are stable.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from vae_passive.data.base import FixedImageData
from vae_passive.errors import VaePassiveError

NUM_OBJECTS = 183


def load_car(path: Path) -> np.ndarray:
    """One car's 96 views resized: uint8 (24 azimuths, 4 elevations, 64, 64, 3)."""
    import scipy.io
    from PIL import Image

    try:
        mesh = scipy.io.loadmat(path)["im"]
    except KeyError:
        raise VaePassiveError(f"{path} has no variable 'im'; is this a Cars3D .mat file?") from None
    except (OSError, ValueError, TypeError) as error:
        raise VaePassiveError(f"cannot read {path}: {error}; the file may be truncated, fetch it again") from None
    if mesh.ndim != 5 or mesh.shape[2:] != (3, 24, 4) or mesh.shape[0] != mesh.shape[1] or mesh.dtype != np.uint8:
        raise VaePassiveError(f"{path}: 'im' is {mesh.dtype} {mesh.shape}, expected uint8 (96, 96, 3, 24, 4)")
    views = np.moveaxis(mesh, (3, 4), (0, 1))  # (24, 4, H, W, 3)
    out = np.empty((24, 4, 64, 64, 3), np.uint8)
    for azimuth in range(24):
        for elevation in range(4):
            image = Image.fromarray(np.ascontiguousarray(views[azimuth, elevation]))
            out[azimuth, elevation] = np.asarray(image.resize((64, 64), Image.Resampling.LANCZOS))
    return out


class Cars3D(FixedImageData):
    """The 183 ``.mat`` files of ``folder``, loaded and resized on first use (uint8, about 216 MB)."""

    name = "cars3d"
    real = True
    factor_names = ("elevation", "azimuth", "object")
    factor_sizes = (4, 24, NUM_OBJECTS)
    all_factor_sizes = (4, 24, NUM_OBJECTS)
    latent_columns = (0, 1, 2)
    observation_shape = (64, 64, 3)

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @cached_property
    def _images(self) -> np.ndarray:
        """uint8 (4 elevations, 24 azimuths, 183 objects, 64, 64, 3): grid order."""
        files = sorted(self.folder.glob("*.mat"))
        if len(files) != NUM_OBJECTS:
            raise VaePassiveError(
                f"{self.folder} holds {len(files)} .mat files, Cars3D has {NUM_OBJECTS}; fetch it again"
            )
        grid = np.empty((4, 24, NUM_OBJECTS, 64, 64, 3), np.uint8)
        for number, path in enumerate(files):
            grid[:, :, number] = np.swapaxes(load_car(path), 0, 1)
        return grid.reshape(-1, 64, 64, 3)

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        return self._images[np.asarray(indices, np.int64)].astype(np.float32) / 255.0
