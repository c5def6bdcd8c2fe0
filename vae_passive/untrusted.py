"""Read files that may be damaged or hostile (documents, codes, images) with one-line errors, never a traceback.

Analysis documents and codes come from results folders that other people, other machines or a
copied archive may have written: a reader here accepts only regular files, caps their size, parses
JSON without risking a ``RecursionError`` and arrays without pickles, and turns every way a file can
be broken into ``UnreadableFile`` with a one-line reason.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
import zlib
from pathlib import Path

import numpy as np

from vae_passive.errors import VaePassiveError

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024  # an analysis document with metrics is tens of kB
MAX_REASON_CHARS = 300
# Array files break in these ways: not a zip, truncated, bad compression, bad header, pickles refused.
ARRAY_ERRORS = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError, MemoryError)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


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


def load_npz(path: str | Path, names: tuple[str, ...] | None = None, max_bytes: int | None = None) -> dict:
    """The arrays ``names`` (default: all) of an ``.npz`` file, without pickles; ``UnreadableFile`` if broken.

    ``max_bytes`` bounds the arrays' total uncompressed size as the archive declares it.
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
            if missing:
                raise UnreadableFile(f"{path} lacks {', '.join(missing)}")
            members = archive.zip
            assert members is not None  # np.load returns an NpzFile with its archive open
            size = sum(members.getinfo(f"{name}.npy").file_size for name in wanted)
            if max_bytes is not None and size > max_bytes:
                raise UnreadableFile(f"{path} holds {size:,} bytes of arrays, more than the {max_bytes:,} allowed")
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


def read_parquet(path: str | Path, max_bytes: int | None = None):
    """A Parquet table as a pandas DataFrame; ``UnreadableFile`` when not a regular file, larger than
    ``max_bytes`` (default ``MAX_TABLE_BYTES``) or broken."""
    import pandas as pd

    path = Path(path)
    max_bytes = MAX_TABLE_BYTES if max_bytes is None else max_bytes
    try:
        fd = _open_regular(path)
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise UnreadableFile(f"{path} has {size:,} bytes, more than the {max_bytes:,} allowed")
            return pd.read_parquet(handle)
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


# C0 and C1 controls (escape sequences start here), DEL, and the invisible marks that reorder or hide text.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` from a stranger (an HTTP reason, a server's error, a document's string) fit for a terminal or a
    one-line message: tabs and line breaks become spaces, every other control character, bidi override and lone
    surrogate becomes ``?``, so no escape sequence recolours or rewrites what the user sees."""
    return _UNPRINTABLE.sub("?", text.replace("\t", " ").replace("\n", " ").replace("\r", " "))
