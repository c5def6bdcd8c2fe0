"""Reading stored images without holding them as float: stored npz members read in place, compressed
ones streamed, 0/1 images packed 8 pixels to a byte, HDF5 data sets read by index.

Every reader returns uint8 arrays; only the images a caller asks for are converted to float.
"""

from __future__ import annotations

import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import DTypeLike

from vae_passive.errors import VaePassiveError

STREAM_ROWS = 4096  # images per chunk when streaming a compressed npz member
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip local file header, 30 bytes


class ImageSource(Protocol):
    """Stored uint8 images, read by index."""

    def __len__(self) -> int: ...

    def take(self, indices: np.ndarray) -> np.ndarray:
        """uint8 images at ``indices``, in that order."""
        ...


class ArrayImages:
    """Images in a numpy array or memory map."""

    def __init__(self, array: np.ndarray):
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def take(self, indices: np.ndarray) -> np.ndarray:
        return np.asarray(self.array[np.asarray(indices, np.int64)])


class FileRows:
    """Rows of a C-ordered array stored uncompressed at ``offset`` of ``path``, read on demand.

    Not a memory map: on current kernels a fault maps a whole page-cache folio, so sampling 10,000
    dSprites images from a map of the 3 GB file grew RSS by nearly the whole file. Reading each row
    keeps memory to the rows asked for.
    """

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...], dtype: DTypeLike):
        self.path, self.offset, self.shape, self.dtype = Path(path), offset, tuple(shape), np.dtype(dtype)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.shape[0]

    def take(self, indices: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(np.asarray(indices, np.int64), return_inverse=True)
        if len(unique) and (unique[0] < 0 or unique[-1] >= len(self)):
            raise IndexError(f"image index out of range for {len(self)} images")
        rows = np.empty((len(unique), *self.shape[1:]), self.dtype)
        size = rows[0].nbytes if len(rows) else 0
        with self._lock, open(self.path, "rb", buffering=0) as handle:
            for row, index in zip(rows, unique, strict=True):
                handle.seek(self.offset + int(index) * size)
                if handle.readinto(memoryview(row).cast("B")) != size:
                    raise VaePassiveError(f"{self.path} ends early; the file is truncated, fetch it again")
        return rows[inverse]


class PackedBinaryImages:
    """0/1 images of shape ``image_shape`` kept as packed bits (1/8 of the uint8 size)."""

    def __init__(self, packed: np.ndarray, image_shape: tuple[int, ...]):
        self.packed = packed
        self.image_shape = image_shape

    def __len__(self) -> int:
        return len(self.packed)

    def take(self, indices: np.ndarray) -> np.ndarray:
        rows = self.packed[np.asarray(indices, np.int64)]
        count = int(np.prod(self.image_shape))
        return np.unpackbits(rows, axis=1, count=count).reshape(len(rows), *self.image_shape)


class H5Images:
    """An HDF5 data set of images, read by sorted unique index (what h5py's fancy indexing needs)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def take(self, indices: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(np.asarray(indices, np.int64), return_inverse=True)
        return np.asarray(self.dataset[unique])[inverse]


# ---- npz members -------------------------------------------------------------------------------


def _unreadable(path: Path, error: BaseException) -> VaePassiveError:
    return VaePassiveError(f"cannot read {path} as an npz file ({error}); it may be truncated: fetch it again")


def _member(archive: zipfile.ZipFile, path: Path, key: str) -> zipfile.ZipInfo:
    name = f"{key}.npy"
    try:
        return archive.getinfo(name)
    except KeyError:
        keys = sorted(n.removesuffix(".npy") for n in archive.namelist())
        raise VaePassiveError(f"{path} has no array {key!r} (it holds {', '.join(keys) or 'nothing'})") from None


def _npy_header(handle, path: Path, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the .npy header at the handle's position (C order only)."""
    try:
        version = np.lib.format.read_magic(handle)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise ValueError(f".npy format version {version} is not supported")
        shape, fortran, dtype = readers[version](handle)
    except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise VaePassiveError(f"{path}: array {key!r} is not a readable .npy member ({error})") from None
    if fortran or dtype.hasobject:
        raise VaePassiveError(f"{path}: array {key!r} must be a plain C-ordered array")
    return tuple(shape), dtype


def npz_header(path: Path, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of ``key`` in the npz ``path``, reading only its header."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(_member(archive, path, key)) as handle:
            return _npy_header(handle, path, key)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise _unreadable(path, error) from None


def npz_stored(path: Path, key: str) -> FileRows | None:
    """``key`` of the npz ``path`` read in place when the member is stored uncompressed, else ``None``."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = _member(archive, path, key)
            if info.compress_type != zipfile.ZIP_STORED:
                return None
            with open(path, "rb") as raw:
                raw.seek(info.header_offset)
                fields = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
                if fields[0] != b"PK\x03\x04":
                    raise VaePassiveError(f"{path}: the zip entry of {key!r} is damaged")
                raw.seek(info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10])
                shape, dtype = _npy_header(raw, path, key)
                offset = raw.tell()
    except (zipfile.BadZipFile, OSError, struct.error) as error:
        raise _unreadable(path, error) from None
    needed = offset + int(np.prod(shape)) * dtype.itemsize
    if path.stat().st_size < needed:
        raise VaePassiveError(f"{path} is truncated ({path.stat().st_size} of at least {needed} bytes); fetch it again")
    return FileRows(path, offset, shape, dtype)


def npz_chunks(path: Path, key: str, rows: int = STREAM_ROWS) -> Iterator[np.ndarray]:
    """``key`` of the npz ``path``, ``rows`` leading-axis slices at a time, decompressed as it streams."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(_member(archive, path, key)) as handle:
            shape, dtype = _npy_header(handle, path, key)
            row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
            for start in range(0, shape[0], rows):
                count = min(rows, shape[0] - start)
                data = handle.read(count * row_bytes)
                if len(data) != count * row_bytes:
                    raise VaePassiveError(f"{path}: array {key!r} ends early; the file is truncated, fetch it again")
                yield np.frombuffer(data, dtype).reshape(count, *shape[1:])
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
        raise _unreadable(path, error) from None


def check_shape(path: Path, key: str, shape: tuple[int, ...], dtype: np.dtype, expected: tuple[int, ...]) -> None:
    """Raise unless ``key`` of ``path`` is uint8 with shape ``expected``."""
    if tuple(shape) != tuple(expected) or dtype != np.uint8:
        raise VaePassiveError(
            f"{path}: {key!r} is {dtype} {tuple(shape)}, expected uint8 {tuple(expected)}; is this the right file?"
        )


def npz_images(path: Path, key: str, expected: tuple[int, ...]) -> FileRows | ArrayImages:
    """uint8 images of an npz member: memory-mapped when stored, else loaded (uint8, never float)."""
    shape, dtype = npz_header(path, key)
    check_shape(path, key, shape, dtype, expected)
    stored = npz_stored(path, key)
    if stored is not None:
        return stored
    array = np.empty(shape, np.uint8)
    start = 0
    for chunk in npz_chunks(path, key):
        array[start : start + len(chunk)] = chunk
        start += len(chunk)
    return ArrayImages(array)


def npz_binary_images(path: Path, key: str, expected: tuple[int, ...]) -> ImageSource:
    """0/1 images of an npz member: memory-mapped when stored, else streamed into packed bits."""
    shape, dtype = npz_header(path, key)
    check_shape(path, key, shape, dtype, expected)
    stored = npz_stored(path, key)
    if stored is not None:
        return stored
    pixels = int(np.prod(shape[1:]))
    packed = np.empty((shape[0], (pixels + 7) // 8), np.uint8)
    start = 0
    for chunk in npz_chunks(path, key):
        if chunk.max(initial=0) > 1:
            raise VaePassiveError(f"{path}: {key!r} holds values other than 0 and 1; is this the dSprites file?")
        packed[start : start + len(chunk)] = np.packbits(chunk.reshape(len(chunk), pixels), axis=1)
        start += len(chunk)
    return PackedBinaryImages(packed, tuple(shape[1:]))
