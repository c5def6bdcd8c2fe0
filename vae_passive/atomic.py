"""Atomic writes: a temporary file beside the target, renamed into place only when complete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``target``, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def write_text(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically."""
    with atomic_path(target) as temp:
        temp.write_text(text)


def save_npz(target: str | Path, **arrays) -> None:
    """``np.savez_compressed`` to ``target`` atomically."""
    import numpy as np

    with atomic_path(target) as temp, open(temp, "wb") as handle:
        np.savez_compressed(handle, **arrays)
