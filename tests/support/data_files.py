"""Small data files in each published format, written by the tests (numpy, scipy, h5py, Pillow only).

Every image says where it came from, so a test can check that factors and images correspond:
dSprites images carry their own index in bits of row 0; the others are constant per region or channel.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from pathlib import Path

import numpy as np

#: A small dSprites grid (colour, shape, scale, orientation, posX, posY): 96 images.
DSPRITES_GRID = (1, 3, 2, 4, 2, 2)
SHAPES3D_GRID = (2, 2, 2, 2, 2, 3)
MPI3D_GRID = (2, 2, 1, 1, 2, 2, 3)
NORB_TRAIN_INSTANCES, NORB_TEST_INSTANCES = (4, 6, 7, 8, 9), (0, 1, 2, 3, 5)


def grid_rows(sizes) -> np.ndarray:
    """Every factor tuple of ``sizes`` in C order (last fastest)."""
    return np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=1).astype(np.int64)


def index_bits(count: int) -> np.ndarray:
    """uint8 0/1 images (count, 64, 64): image i has the bits of i in row 0 and a dot at (63, 63)."""
    images = np.zeros((count, 64, 64), np.uint8)
    bits = (np.arange(count)[:, None] >> np.arange(20)[None, :]) & 1
    images[:, 0, :20] = bits
    images[:, 63, 63] = 1
    return images


def decode_bits(images: np.ndarray) -> np.ndarray:
    """The index carried by each image of ``index_bits`` (float or uint8, trailing channel allowed)."""
    row = np.asarray(images)[:, 0, :20]
    row = row[..., 0] if row.ndim == 3 else row
    return (np.rint(row).astype(np.int64) << np.arange(20)).sum(axis=1)


def write_dsprites(path: Path, grid=DSPRITES_GRID, compressed: bool = False, key: str = "imgs") -> Path:
    """A dSprites npz with upstream's keys (``imgs``, ``latents_classes``, ``latents_values``, ``metadata``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    classes = grid_rows(grid)
    metadata = np.array({"latents_sizes": np.array(grid), "latents_names": ("color", "shape", "scale")}, dtype=object)
    save = np.savez_compressed if compressed else np.savez
    save(
        path,
        **{key: index_bits(len(classes))},
        latents_classes=classes,
        latents_values=classes.astype(np.float64),
        metadata=metadata,
    )
    return path


def write_scream(path: Path, size=(400, 300)) -> Path:
    """A random RGB JPEG standing in for The Scream."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(5).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=95)
    return path


def norb_matrix(array: np.ndarray) -> bytes:
    """NORB's binary matrix format: magic, ndim, max(3, ndim) dims, data (little-endian)."""
    magic = {np.dtype(np.uint8): 0x1E3D4C55, np.dtype(np.int32): 0x1E3D4C54}[array.dtype]
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    return (
        struct.pack(f"<ii{len(dims)}i", magic, array.ndim, *dims)
        + array.astype(array.dtype.newbyteorder("<")).tobytes()
    )


def norb_views() -> tuple[np.ndarray, np.ndarray]:
    """All 48,600 (category, instance, elevation, azimuth, lighting) rows, and 8x8 stereo pairs whose left
    image's quadrants hold 10 * category + lighting, elevation, azimuth and instance."""
    rows = grid_rows((5, 10, 9, 18, 6))
    images = np.zeros((len(rows), 2, 8, 8), np.uint8)
    images[:, 0, :4, :4] = (10 * rows[:, 0] + rows[:, 4])[:, None, None]
    images[:, 0, :4, 4:] = rows[:, 2][:, None, None]
    images[:, 0, 4:, :4] = rows[:, 3][:, None, None]
    images[:, 0, 4:, 4:] = rows[:, 1][:, None, None]
    images[:, 1] = 255
    return rows, images


def smallnorb_files(gzipped: bool = False) -> dict[str, bytes]:
    """The six smallNORB files by name (shuffled rows, azimuth stored as 0, 2, ..., 34)."""
    rows, images = norb_views()
    out = {}
    for chunk, instances in (
        ("smallnorb-5x46789x9x18x6x2x96x96-training", NORB_TRAIN_INSTANCES),
        ("smallnorb-5x01235x9x18x6x2x96x96-testing", NORB_TEST_INSTANCES),
    ):
        chosen = np.flatnonzero(np.isin(rows[:, 1], instances))
        chosen = np.random.default_rng(len(chunk)).permutation(chosen)
        info = rows[chosen][:, 1:].copy()
        info[:, 2] *= 2
        parts = {
            "dat": norb_matrix(images[chosen]),
            "cat": norb_matrix(rows[chosen, 0].astype(np.int32)),
            "info": norb_matrix(info.astype(np.int32)),
        }
        for part, data in parts.items():
            name = f"{chunk}-{part}.mat"
            out[name + ".gz" if gzipped else name] = gzip.compress(data, 1) if gzipped else data
    return out


def write_smallnorb(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in smallnorb_files().items():
        (folder / name).write_bytes(data)
    return folder


def car_mesh(number: int, size: int = 8) -> np.ndarray:
    """im (size, size, 3, 24 azimuths, 4 elevations): channel 0 = 4 * azimuth + elevation, 1 = car, 2 = 7."""
    mesh = np.zeros((size, size, 3, 24, 4), np.uint8)
    mesh[:, :, 0] = (4 * np.arange(24)[:, None] + np.arange(4)[None, :])[None, None]
    mesh[:, :, 1] = number
    mesh[:, :, 2] = 7
    return mesh


def cars_files(count: int = 183) -> dict[str, bytes]:
    """``car_NNN.mat`` files (scipy's MATLAB v5 format, variable ``im``)."""
    import scipy.io

    out = {}
    for number in range(count):
        buffer = io.BytesIO()
        scipy.io.savemat(buffer, {"im": car_mesh(number)}, do_compression=True)
        out[f"car_{number:03d}.mat"] = buffer.getvalue()
    return out


def write_cars(folder: Path, count: int = 183) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in cars_files(count).items():
        (folder / name).write_bytes(data)
    return folder


def cars_tar(count: int = 183) -> bytes:
    """nips2015-analogy-data.tar.gz's layout: data/cars/*.mat (and something else beside it)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in {**{f"cars/{k}": v for k, v in cars_files(count).items()}, "sprites/x.txt": b"x"}.items():
            info = tarfile.TarInfo(f"data/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def coded_rgb(count: int) -> np.ndarray:
    """uint8 (count, 64, 64, 3): channel 0 = index % 256, channel 1 = index // 256, channel 2 = 255."""
    images = np.empty((count, 64, 64, 3), np.uint8)
    index = np.arange(count)
    images[..., 0] = (index % 256)[:, None, None]
    images[..., 1] = (index // 256)[:, None, None]
    images[..., 2] = 255
    return images


def decode_rgb(images: np.ndarray) -> np.ndarray:
    """The index carried by float images of ``coded_rgb``."""
    pixels = np.rint(np.asarray(images)[:, 10, 10] * 255).astype(np.int64)
    return pixels[:, 0] + 256 * pixels[:, 1]


def write_shapes3d_h5(path: Path, grid=SHAPES3D_GRID, chunked: bool = False) -> Path:
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    count = int(np.prod(grid))
    with h5py.File(path, "w") as handle:
        options = {"chunks": (4, 64, 64, 3), "compression": "gzip"} if chunked else {}
        handle.create_dataset("images", data=coded_rgb(count), **options)
        handle.create_dataset("labels", data=grid_rows(grid).astype(np.float64))
    return path


def write_mpi3d(path: Path, grid=MPI3D_GRID, compressed: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (np.savez_compressed if compressed else np.savez)(path, images=coded_rgb(int(np.prod(grid))))
    return path
