"""MPI3D toy, realistic and real: ``mpi3d_<kind>/mpi3d_<kind>.npz`` with ``images`` uint8 (N, 64, 64, 3).

Factors: object colour 4 (real: 6), object shape 4 (real: 6), object size 2, camera height 3,
background colour 3, first DOF 40, second DOF 40; N is their product (460,800; real 1,036,800),
grid order with the second DOF fastest. A stored (uncompressed) member is read in place, row by row.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from vae_passive.data.base import FixedImageData
from vae_passive.data.images import ImageSource, npz_images

GRIDS = {
    "mpi3d_toy": (4, 4, 2, 3, 3, 40, 40),
    "mpi3d_realistic": (4, 4, 2, 3, 3, 40, 40),
    "mpi3d_real": (6, 6, 2, 3, 3, 40, 40),
}


class MPI3D(FixedImageData):
    """One MPI3D variant from ``path``; ``grid`` is the stored grid (published unless a test says otherwise)."""

    real = True
    factor_names = ("object_color", "object_shape", "object_size", "camera_height", "background_color", "dof1", "dof2")
    latent_columns = (0, 1, 2, 3, 4, 5, 6)
    observation_shape = (64, 64, 3)

    def __init__(self, name: str, path: Path, grid: tuple[int, ...] | None = None):
        self.name = name
        self.path = Path(path)
        self.all_factor_sizes = self.factor_sizes = tuple(grid or GRIDS[name])

    @cached_property
    def images(self) -> ImageSource:
        return npz_images(self.path, "images", (self.num_images, 64, 64, 3))

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        return self.images.take(indices).astype(np.float32) / 255.0
