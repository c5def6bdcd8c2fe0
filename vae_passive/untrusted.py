"""Read files that may be damaged or hostile (documents, codes, images) with one-line errors, never a traceback.

Analysis documents and codes come from results folders that other people, other machines or a
copied archive may have written: a reader here accepts only regular files, caps their size, parses
JSON without risking a ``RecursionError`` and arrays without pickles, and turns every way a file can
be broken into ``UnreadableFile`` with a one-line reason.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vae_passive.errors import VaePassiveError

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024  # an analysis document with metrics is tens of kB
MAX_REASON_CHARS = 300
# Array files break in these ways: not a zip, truncated, bad compression, bad header, pickles refused.
ARRAY_ERRORS = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError, MemoryError)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


# C0 controls (ESC starts ANSI sequences, CR overwrites a line), DEL, C1 controls (CSI), the invisible marks and
# bidirectional overrides that hide or reorder what a terminal or a page shows, and lone surrogates (which no
# encoder accepts); whitespace controls become one space.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_CONTROL_SPACE = re.compile("[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")


def printable(text: object) -> str:
    """``text`` on one line, each control character, invisible mark, bidi override or lone surrogate shown as ``?``:
    safe to print on a terminal or in a report, so a string from a document or a remote host (an HTTP reason, a
    server's error) cannot move the cursor, recolour, overwrite or reorder what is shown."""
    return _CONTROL.sub("?", _CONTROL_SPACE.sub(" ", str(text)))


class UnreadableFile(VaePassiveError):
    """A file that cannot be used: missing, not a regular file, too large, or not what it should be."""


def reason(error: BaseException | str) -> str:
    """The first line of an error's message (or of a text), bounded: a hostile value can make messages long."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def _open_regular(path: Path) -> int:
    """A read-only descriptor of ``path`` if it is a regular file (a FIFO or device would block or never end)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnreadableFile(f"{path} is not a regular file")
    return fd


def read_json(path: str | Path, max_bytes: int = MAX_DOCUMENT_BYTES) -> object:
    """The JSON value in ``path``; ``UnreadableFile`` when it is unreadable, too large, too deep or not UTF-8 JSON.

    Strings with lone surrogates (``"\\ud800"``) are refused too: they cannot be written back as UTF-8.
    """
    path = Path(path)
    try:
        fd = _open_regular(path)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise UnreadableFile(f"{path} does not exist") from None
    except OSError as error:
        raise UnreadableFile(f"cannot read {path}: {error.strerror or reason(error)}") from None
    if len(data) > max_bytes:
        raise UnreadableFile(f"{path} is larger than {max_bytes:,} bytes")
    try:
        value = json.loads(data)
        if _SURROGATE_ESCAPE.search(data):
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise UnreadableFile(f"{path} is nested too deeply to be a document") from None
    except UnicodeError as error:
        raise UnreadableFile(f"{path} is not UTF-8 text: {reason(error)}") from None
    except ValueError as error:
        raise UnreadableFile(f"{path} is not JSON: {reason(error)}") from None
    return value


#: An ``.npz`` member larger than ``NPZ_RATIO_FLOOR`` may inflate at most this many times its compressed size: real
#: codes (float noise) compress about 1.1-fold, integer factors tens of times; 100 MB of zeros fit in 100 kB.
MAX_NPZ_RATIO = 200.0
NPZ_RATIO_FLOOR = 1 << 20
#: What ``load_npz``'s ``check`` sees of each array before it is read: name, declared shape, dtype.
ArrayCheck = Callable[[str, tuple[int, ...], np.dtype], None]


def _npy_header(path: Path, members: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype]:
    """The declared shape and dtype of one ``.npy`` member, read from its header alone; refused when the member
    inflates more than ``MAX_NPZ_RATIO``-fold or declares more data than it holds (numpy would allocate it first)."""
    name = info.filename.removesuffix(".npy")
    ratio = info.file_size / max(1, info.compress_size)
    if info.file_size > NPZ_RATIO_FLOOR and ratio > MAX_NPZ_RATIO:
        raise UnreadableFile(
            f"{path}: {name} would inflate {ratio:.0f}-fold ({info.compress_size:,} to {info.file_size:,} bytes), "
            f"over the limit of {MAX_NPZ_RATIO:g}; save real codes, not a compressed filler"
        )
    with members.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise UnreadableFile(f"{path}: {name} is a .npy of version {version}; save it with numpy's np.savez")
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(stream)
        header = stream.tell()
    if not dtype.hasobject and math.prod(shape) * dtype.itemsize > info.file_size - header:
        raise UnreadableFile(f"{path}: {name} declares {shape} {dtype} values but holds fewer bytes; it is damaged")
    return shape, dtype


def load_npz(
    path: str | Path,
    names: tuple[str, ...] | None = None,
    max_bytes: int | None = None,
    check: ArrayCheck | None = None,
    required: bool = True,
) -> dict:
    """The arrays ``names`` (default: all) of an ``.npz`` file, without pickles; ``UnreadableFile`` if broken.

    ``max_bytes`` bounds the arrays' total uncompressed size as the archive declares it; every member is held to
    ``MAX_NPZ_RATIO`` and its header to its size, and ``check`` sees each array's shape and dtype, all before any
    array is read. ``required=False`` leaves out the ``names`` the archive lacks instead of refusing it.
    """
    path = Path(path)
    try:
        fd = _open_regular(path)
        with os.fdopen(fd, "rb") as handle:
            archive = np.load(handle, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise UnreadableFile(f"{path} is a single .npy array, not an .npz archive")
            wanted = archive.files if names is None else names
            missing = [name for name in wanted if name not in archive.files]
            if missing and required:
                raise UnreadableFile(f"{path} lacks {', '.join(missing)}")
            wanted = [name for name in wanted if name in archive.files]
            members = archive.zip
            assert members is not None  # np.load returns an NpzFile with its archive open
            infos = [members.getinfo(f"{name}.npy") for name in wanted]
            size = sum(info.file_size for info in infos)
            if max_bytes is not None and size > max_bytes:
                raise UnreadableFile(f"{path} holds {size:,} bytes of arrays, more than the {max_bytes:,} allowed")
            for name, info in zip(wanted, infos, strict=True):
                shape, dtype = _npy_header(path, members, info)
                if check is not None:
                    check(name, shape, dtype)
            return {name: archive[name] for name in wanted}
    except UnreadableFile:
        raise
    except FileNotFoundError:
        raise UnreadableFile(f"{path} does not exist") from None
    except ARRAY_ERRORS as error:
        raise UnreadableFile(f"cannot read {path} as .npz: {reason(error)}") from None


def load_npy(path: str | Path) -> np.ndarray:
    """A memory-mapped ``.npy`` array, without pickles; ``UnreadableFile`` if missing, empty or broken."""
    path = Path(path)
    try:
        os.close(_open_regular(path))
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except UnreadableFile:
        raise
    except FileNotFoundError:
        raise UnreadableFile(f"{path} does not exist") from None
    except ARRAY_ERRORS as error:
        raise UnreadableFile(f"cannot read {path} as a .npy array: {reason(error)}") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise UnreadableFile(f"{path} is an .npz archive; give a single .npy array")
    return array


MAX_TABLE_BYTES = 256 * 1024 * 1024  # training logs of a 300,000-step run logged every 1,000 steps are < 1 MB
#: Rows of one table: such a run's correlations table (10 latents) has 30,000; 30 M rows fit in a 504 kB file and
#: once took 3.75 GB. Checked from the file's metadata before reading, and again while reading.
MAX_TABLE_ROWS = 1_000_000
_BATCH_ROWS = 65_536


def read_parquet(
    path: str | Path, columns: list[str] | None = None, max_bytes: int | None = None, max_rows: int | None = None
):
    """The ``columns`` (default: all) of a Parquet table as a pandas DataFrame; ``UnreadableFile`` when not a
    regular file, larger than ``max_bytes`` (default ``MAX_TABLE_BYTES``) on disk or uncompressed, with more
    than ``max_rows`` (default ``MAX_TABLE_ROWS``) rows, without one of ``columns``, or broken. Sizes and rows
    are read from the metadata first, and rows are counted while reading, so a lying footer costs one batch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    max_bytes = MAX_TABLE_BYTES if max_bytes is None else max_bytes
    max_rows = MAX_TABLE_ROWS if max_rows is None else max_rows
    try:
        fd = _open_regular(path)
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise UnreadableFile(f"{path} has {size:,} bytes, more than the {max_bytes:,} allowed")
            table = pq.ParquetFile(handle)
            meta = table.metadata
            inflated = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            if meta.num_rows > max_rows or inflated > max_bytes:
                raise UnreadableFile(
                    f"{path} holds {meta.num_rows:,} rows ({inflated:,} bytes uncompressed), more than the "
                    f"{max_rows:,} rows or {max_bytes:,} bytes allowed"
                )
            missing = [name for name in columns or () if name not in table.schema_arrow.names]
            if missing:
                raise UnreadableFile(f"{path} lacks the column(s) {', '.join(missing)}")
            batches, rows = [], 0
            for batch in table.iter_batches(batch_size=_BATCH_ROWS, columns=columns):
                rows += batch.num_rows
                if rows > max_rows:
                    raise UnreadableFile(f"{path} holds more rows than its metadata says; it is damaged")
                batches.append(batch)
            if not batches:
                empty = table.schema_arrow.empty_table()
                return (empty.select(columns) if columns else empty).to_pandas()
            return pa.Table.from_batches(batches).to_pandas()
    except UnreadableFile:
        raise
    except FileNotFoundError:
        raise UnreadableFile(f"{path} does not exist") from None
    except Exception as error:  # pyarrow raises many types for a damaged file
        raise UnreadableFile(f"cannot read {path} as Parquet: {reason(error)}") from None


def is_tensorflow_error(error: BaseException) -> bool:
    """True for TensorFlow's own errors (``tf.errors.OpError`` and kin), e.g. a damaged or hostile module's graph
    failing; told by the class's module, so that callers need not import TensorFlow."""
    return any(cls.__module__.split(".")[0] == "tensorflow" for cls in type(error).__mro__)
