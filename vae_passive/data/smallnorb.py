"""smallNORB as disentanglement_lib samples it: the left image of each stereo pair, resized to 64x64.

Files: ``small_norb/smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and the
``-5x01235x...-testing-`` ones, in NORB's binary matrix format: int32 magic (0x1E3D4C55 uint8,
0x1E3D4C54 int32), int32 ndim, max(3, ndim) int32 dims, then the data (little-endian).
Factors of the stored grid: category 5, instance 10, elevation 9, azimuth 18 (stored as 0, 2, ..., 34),
lighting 6. Instance is a nuisance: upstream draws it with ``randint(10)`` after the latent factors.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from vae_passive.data.base import FixedImageData, mixed_radix_index
from vae_passive.errors import VaePassiveError

MAGIC: dict[int, np.dtype] = {0x1E3D4C55: np.dtype("<u1"), 0x1E3D4C54: np.dtype("<i4")}
GRID = (5, 10, 9, 18, 6)


def read_norb_matrix(path: Path) -> np.ndarray:
    """A NORB binary matrix, memory-mapped; one-line errors for a wrong magic, bad dims or a short file."""
    try:
        header = np.fromfile(path, "<i4", count=5)
    except OSError as error:
        raise VaePassiveError(f"cannot read {path}: {error}") from None
    if len(header) < 5:
        raise VaePassiveError(f"{path} is too short for a NORB matrix header; fetch it again")
    magic, ndim = int(header[0]), int(header[1])
    if magic not in MAGIC:
        raise VaePassiveError(f"{path} is not a NORB uint8/int32 matrix (magic {magic:#x}); is this the right file?")
    if not 1 <= ndim <= 8:
        raise VaePassiveError(f"{path} has an invalid NORB header (ndim {ndim})")
    dims_count = max(3, ndim)
    dims = tuple(int(d) for d in np.fromfile(path, "<i4", count=dims_count, offset=8)[:ndim])
    offset = 8 + 4 * dims_count
    needed = offset + int(np.prod(dims)) * MAGIC[magic].itemsize
    if any(d <= 0 for d in dims) or path.stat().st_size != needed:
        raise VaePassiveError(
            f"{path} has {path.stat().st_size} bytes but its header {dims} needs {needed}; "
            "the file is truncated or damaged, fetch it again"
        )
    return np.memmap(path, MAGIC[magic], mode="r", offset=offset, shape=dims)


def resize_to_64(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) -> uint8 (N, 64, 64) with Pillow's Lanczos filter (upstream's ANTIALIAS)."""
    from PIL import Image

    out = np.empty((len(images), 64, 64), np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(
            Image.fromarray(np.ascontiguousarray(image), "L").resize((64, 64), Image.Resampling.LANCZOS)
        )
    return out


class SmallNORB(FixedImageData):
    """The six smallNORB files (dat, cat, info of training then testing), in ``files.SMALLNORB`` order."""

    name = "smallnorb"
    real = True
    factor_names = ("category", "elevation", "azimuth", "lighting")
    factor_sizes = (5, 9, 18, 6)
    all_factor_sizes = GRID
    latent_columns = (0, 2, 3, 4)
    observation_shape = (64, 64, 1)

    def __init__(self, paths: list[Path]):
        if len(paths) != 6:
            raise ValueError("smallNORB needs six files: dat, cat, info of training and testing")
        self.paths = [Path(p) for p in paths]

    @cached_property
    def _stored(self) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 images (48,600, 64, 64), lookup from grid index to stored row), loaded on first use."""
        images, features = [], []
        for dat_path, cat_path, info_path in (self.paths[:3], self.paths[3:]):
            dat, cat, info = (read_norb_matrix(p) for p in (dat_path, cat_path, info_path))
            if dat.ndim != 4 or dat.shape[1] != 2 or dat.dtype != np.uint8:
                raise VaePassiveError(f"{dat_path} holds {dat.dtype} {dat.shape}, expected uint8 (N, 2, H, W)")
            if cat.shape != (len(dat),) or info.shape != (len(dat), 4):
                raise VaePassiveError(
                    f"{cat_path} {cat.shape} and {info_path} {info.shape} do not fit the {len(dat)} images of "
                    f"{dat_path}; fetch smallnorb again"
                )
            images.append(resize_to_64(dat[:, 0]))
            rows = np.column_stack([cat, info]).astype(np.int64)
            rows[:, 3] //= 2  # azimuth is stored as 0, 2, ..., 34
            features.append(rows)
        all_features = np.concatenate(features)
        try:
            grid_index = mixed_radix_index(all_features, GRID)
        except ValueError:
            raise VaePassiveError(f"{self.paths[1]}/{self.paths[2]}: factor labels outside smallNORB's grid") from None
        if len(grid_index) != self.num_images or len(np.unique(grid_index)) != self.num_images:
            raise VaePassiveError(
                f"the smallNORB files under {self.paths[0].parent} do not cover each of the {self.num_images} "
                "factor combinations exactly once"
            )
        lookup = np.empty(self.num_images, np.int64)
        lookup[grid_index] = np.arange(self.num_images)
        return np.concatenate(images), lookup

    def index_of(self, all_factors: np.ndarray) -> np.ndarray:
        """The stored row of each factor tuple (the files are not in grid order)."""
        return self._stored[1][mixed_radix_index(all_factors, GRID)]

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        return (self._stored[0][np.asarray(indices, np.int64)].astype(np.float32) / 255.0)[..., None]
