"""Shapes3D (3dshapes): floor hue 10, wall hue 10, object hue 10, scale 8, shape 4, orientation 15.

The public file is ``3dshapes/3dshapes.h5`` (``images`` uint8 (480,000, 64, 64, 3), ``labels``), in
grid order (orientation fastest); upstream's loader expects an npz nobody publishes
(``look-at-object-room_...-azi.npz``, ``images`` and ``labels``), also read here when present. The h5
data set is read in place when stored contiguously, else by index through h5py (never all at once).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from vae_passive.data.base import FixedImageData
from vae_passive.data.images import ArrayImages, FileRows, H5Images, ImageSource, check_shape, npz_header, npz_images
from vae_passive.errors import VaePassiveError

GRID = (10, 10, 10, 8, 4, 15)


def h5_images(path: Path, expected: tuple[int, ...]) -> ImageSource:
    """``images`` of an HDF5 file: read in place when contiguous and uncompressed, else through h5py."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise VaePassiveError(f"cannot read {path} as HDF5 ({error}); it may be truncated: fetch it again") from None
    if "images" not in handle:
        raise VaePassiveError(f"{path} has no data set 'images' (it holds {', '.join(sorted(handle)) or 'nothing'})")
    dataset = handle["images"]
    check_shape(path, "images", dataset.shape, dataset.dtype, expected)
    offset = dataset.id.get_offset()
    if dataset.chunks is None and offset is not None and not dataset.compression:
        needed = offset + dataset.size
        if path.stat().st_size < needed:
            raise VaePassiveError(f"{path} is truncated ({path.stat().st_size} of {needed} bytes); fetch it again")
        return FileRows(path, offset, dataset.shape, np.uint8)
    return H5Images(dataset)


def _flattened(images: FileRows | ArrayImages, shape: tuple[int, ...]) -> ImageSource:
    """Upstream's npz keeps the six factor axes: view it as (480,000, 64, 64, 3)."""
    if isinstance(images, FileRows):
        return FileRows(images.path, images.offset, shape, images.dtype)
    return ArrayImages(images.array.reshape(shape))


class Shapes3D(FixedImageData):
    """3dshapes from ``path`` (.h5 or upstream's .npz); ``grid``: the stored grid (published unless a test says)."""

    name = "shapes3d"
    real = True
    factor_names = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    latent_columns = (0, 1, 2, 3, 4, 5)
    observation_shape = (64, 64, 3)

    def __init__(self, path: Path, grid: tuple[int, ...] = GRID):
        self.path = Path(path)
        self.all_factor_sizes = self.factor_sizes = tuple(grid)

    @cached_property
    def images(self) -> ImageSource:
        expected = (self.num_images, 64, 64, 3)
        if self.path.suffix == ".h5":
            return h5_images(self.path, expected)
        shape, _ = npz_header(self.path, "images")
        if len(shape) == 9 and np.prod(shape[:6]) == self.num_images:  # upstream's (10, 10, 10, 8, 4, 15, 64, 64, 3)
            return _flattened(npz_images(self.path, "images", shape), expected)
        return npz_images(self.path, "images", expected)

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        return self.images.take(indices).astype(np.float32) / 255.0
