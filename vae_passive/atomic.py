"""Atomic writes: a temporary file beside the target, flushed to disk and renamed into place only when complete.

Files get the permissions a plain ``open`` would give (0666 less the umask), not ``mkstemp``'s 0600,
so a shared results or report folder stays readable to colleagues. A file that exists is complete
even after a crash: its data is fsynced before the rename, and the folder after it where supported.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vae_passive.errors import VaePassiveError


class WriteError(VaePassiveError):
    """A file could not be written; the message names the target and the reason (e.g. a full disk)."""


@functools.cache
def umask() -> int:
    """The process umask, read once: from /proc where it can be read without changing it, else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _reason(error: OSError) -> str:
    return error.strerror or str(error).splitlines()[0] or type(error).__name__


def _write_error(target: Path, error: OSError) -> WriteError:
    """``cannot write <target>: <reason>``, naming a file that stands where a folder should be."""
    for parent in (target.parent, *target.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                return WriteError(f"cannot write {target}: {parent} is a file, not a folder")
            break
    return WriteError(f"cannot write {target}: {_reason(error)}")


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``target``, on error it is removed.

    The file system's own steps (folder, temporary file, permissions, fsync, rename) raise
    ``WriteError``; an exception raised inside the ``with`` block passes through unchanged.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        os.close(fd)
    except OSError as error:
        raise _write_error(target, error) from None
    temp = Path(name)
    try:
        yield temp
        try:
            os.chmod(temp, 0o666 & ~umask())
            _fsync(temp)
            os.replace(temp, target)
        except OSError as error:
            raise _write_error(target, error) from None
        with contextlib.suppress(OSError):  # folders cannot be fsynced everywhere (e.g. Windows)
            _fsync(target.parent, directory=True)
    finally:
        temp.unlink(missing_ok=True)


def write_file(target: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temp)`` and rename the result to ``target``; any ``OSError`` becomes a ``WriteError``."""
    target = Path(target)
    with atomic_path(target) as temp:
        try:
            write(temp)
        except OSError as error:
            raise _write_error(target, error) from None


def write_text(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    write_file(target, lambda temp: temp.write_text(text, encoding="utf-8"))


def write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    write_file(target, lambda temp: temp.write_bytes(data))


def save_npz(target: str | Path, **arrays) -> None:
    """``np.savez_compressed`` to ``target`` atomically."""
    import numpy as np

    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            np.savez_compressed(handle, **arrays)

    write_file(target, write)
