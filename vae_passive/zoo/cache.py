"""The model cache under ``models/`` (``vae_passive.home.models_dir``): what it holds, its locks, its staging
area, listing, checking and removing.

- ``<id>/``: one complete model, the content of a zip's ``<id>/`` folder, plus ``.vae-passive.json``
  (source, sha256 of the zip, size, time, and every extracted file with its size and CRC-32). A model
  folder appears only by renaming a finished staging folder (``install``), so a partial model is never visible.
- ``.locks/<id>.lock``: one writer per model, across threads and processes.
- ``.staging/``: downloads in progress (``<id>.zip.part``, resumed with HTTP Range by the next try)
  and extraction folders. Only the holder of a model's lock writes its staging files, and it removes
  the extraction leftovers of killed runs before it starts.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import filelock

from vae_passive import home
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.checks import CHUNK, MANIFEST, REQUIRED_FILES, id_of, path_problem
from vae_passive.zoo.download import Cancelled
from vae_passive.zoo.fileguard import make_staging, read_small
from vae_passive.zoo.progress import Outcome
from vae_passive.zoo.sources import redact_url

MANIFEST_MAX_BYTES = 16 << 20  # a manifest lists a model's few files: a few kB


def staging_dir() -> Path:
    """``models/.staging``: partial downloads and extraction folders."""
    return home.models_dir() / ".staging"


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a cached model folder, or ``None`` when absent or unreadable (also when it is a link,
    a FIFO or larger than ``MANIFEST_MAX_BYTES``: model folders given to ``mirror build --from`` are strangers')."""
    try:
        data = json.loads(read_small(folder / MANIFEST, MANIFEST_MAX_BYTES))
    except (OSError, ValueError, VaePassiveError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return data if isinstance(files, dict) and all(isinstance(f, dict) for f in files.values()) else None


def is_cached(model_id: int) -> bool:
    """Whether ``models/<id>/`` holds a model: installed by this tool, or a module placed there by hand."""
    folder = home.model_dir(model_id)
    return read_manifest(folder) is not None or (folder / REQUIRED_FILES[0]).is_file()


def cached_outcome(model_id: int) -> Outcome | None:
    """The outcome "cached" of a model in the cache (its source redacted), or ``None``."""
    if not is_cached(model_id):
        return None
    manifest = read_manifest(home.model_dir(model_id)) or {}
    return Outcome(model_id, "cached", redact_url(str(manifest.get("source", "placed by hand"))), manifest.get("size"))


@contextmanager
def model_lock(model_id: int, cancel: threading.Event | None = None) -> Iterator[None]:
    """Hold ``models/.locks/<id>.lock``: one writer per model across threads and processes."""
    locks = home.models_dir() / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(locks / f"{model_id}.lock", thread_local=False)
    while True:
        try:
            lock.acquire(timeout=0.5)
            break
        except filelock.Timeout:
            if cancel is not None and cancel.is_set():
                raise Cancelled from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def lock_if_free(model_id: int) -> Iterator[bool]:
    """Try the model's lock without waiting: ``True`` while held here, ``False`` when a run holds it."""
    locks = home.models_dir() / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(locks / f"{model_id}.lock", thread_local=False)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def staging_of(model_id: int) -> list[Path]:
    """Everything of ``model_id`` under ``.staging``: its partial download and its extraction folders."""
    staging = staging_dir()
    return sorted(staging.glob(f"{model_id}.*")) if staging.is_dir() else []


def _remove(paths: Iterable[Path]) -> int:
    """Delete files and folders; return the bytes freed."""
    freed = 0
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            freed += folder_size(path)
            shutil.rmtree(path, ignore_errors=True)
        else:
            freed += path.lstat().st_size if path.is_symlink() or path.exists() else 0  # never a link's target
            path.unlink(missing_ok=True)
    return freed


def clean_staging(model_id: int, partial_too: bool = False) -> None:
    """Remove extraction folders of ``model_id`` left by killed runs, and with ``partial_too`` its partial
    download (useless once the model is cached). The caller holds the model's lock."""
    _remove(p for p in staging_of(model_id) if partial_too or p.is_dir())


@dataclass(frozen=True)
class CacheEntry:
    """A cached model: ``status`` is ok, damaged, incomplete, or unmanaged (placed by hand, no manifest)."""

    model_id: int
    path: Path
    status: str
    size: int
    source: str = ""
    fetched_at: str = ""
    problem: str = ""


def cached_ids() -> list[int]:
    """Ids of the folders under ``models/``."""
    models = home.models_dir()
    if not models.is_dir():
        return []
    found = [(id_of(p.name), p) for p in models.iterdir()]
    return sorted(i for i, p in found if i is not None and p.is_dir())


def folder_size(folder: Path) -> int:
    """Bytes of the plain files under ``folder`` (symlinks not followed)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _manifest_problem(folder: Path, manifest: dict) -> str:
    """The first file that differs from the manifest (missing, resized or another CRC-32), or ``""``.

    A manifest is data on disk like any other: an entry that would lead outside ``folder`` is reported, not read.
    """
    root = folder.resolve()
    for relative, expected in sorted(manifest["files"].items()):
        problem = path_problem(relative)
        if problem or not (folder / relative).resolve().is_relative_to(root):
            return f"the manifest names {relative!r}, which {problem or 'lies outside the model folder'}"
        path = folder / relative
        if not path.is_file():
            return f"{relative} is missing"
        if path.stat().st_size != expected.get("size"):
            return f"{relative} has {path.stat().st_size} bytes, the manifest says {expected.get('size')}"
        crc = 0
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                crc = zlib.crc32(chunk, crc)
        if f"{crc:08x}" != expected.get("crc32"):
            return f"{relative} has changed (CRC-32 {crc:08x}, the manifest says {expected.get('crc32')})"
    return ""


def cache_entry(model_id: int, deep: bool = False) -> CacheEntry:
    """The state of ``models/<id>/``; ``deep`` re-checks every file's size and CRC-32 against the manifest."""
    folder = home.model_dir(model_id)
    manifest = read_manifest(folder)
    if manifest is None:
        status = "unmanaged" if (folder / REQUIRED_FILES[0]).is_file() else "incomplete"
        problem = "" if status == "unmanaged" else "no manifest and no model/tfhub/saved_model.pb"
        return CacheEntry(model_id, folder, status, folder_size(folder), problem=problem)
    size = sum(int(f.get("size", 0)) for f in manifest["files"].values())
    problem = _manifest_problem(folder, manifest) if deep else ""
    return CacheEntry(
        model_id,
        folder,
        "damaged" if problem else "ok",
        size,
        redact_url(str(manifest.get("source", ""))),
        str(manifest.get("fetched_at", "")),
        problem,
    )


@dataclass(frozen=True)
class StagingUsage:
    """What ``models/.staging`` holds: partial downloads (kept for resuming) and extraction folders.

    An extraction folder is ``stale`` when no run holds its model's lock (a killed fetch or import left it).
    """

    partial_files: int = 0
    partial_bytes: int = 0
    stale_folders: int = 0
    stale_bytes: int = 0
    busy_folders: int = 0


def staging_usage() -> StagingUsage:
    """Partial downloads and extraction folders under ``models/.staging``, the latter split by their lock."""
    staging = staging_dir()
    if not staging.is_dir():
        return StagingUsage()
    partials = [p for p in staging.glob("*.zip.part*") if p.is_file() and not p.is_symlink()]
    stale, busy = [], 0
    for folder in (p for p in staging.iterdir() if p.is_dir() and p.name.split(".")[0].isdigit()):
        with lock_if_free(int(folder.name.split(".")[0])) as free:
            if free:
                stale.append(folder)
            else:
                busy += 1
    return StagingUsage(
        sum(p.name.endswith(".part") for p in partials),
        sum(p.lstat().st_size for p in partials),
        len(stale),
        sum(folder_size(f) for f in stale),
        busy,
    )


def remove_staging() -> tuple[int, int]:
    """Delete the partial downloads and extraction folders of models no run holds; return (entries, bytes)."""
    staging = staging_dir()
    ids = {p.name.split(".")[0] for p in staging.iterdir()} if staging.is_dir() else set()
    count = freed = 0
    for model_id in sorted(int(i) for i in ids if i.isdigit()):
        with lock_if_free(model_id) as free:
            if free:
                paths = staging_of(model_id)
                count += sum(not p.name.endswith(".json") for p in paths)
                freed += _remove(paths)
    return count, freed


def remove_cached(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Delete ``models/<id>/`` (and its partial download and extraction leftovers) of each id;
    return (id, bytes freed) of those removed."""
    removed = []
    for model_id in ids:
        folder = home.model_dir(model_id)
        if not folder.exists() and not staging_of(model_id):
            continue
        with model_lock(model_id):
            size = _remove(staging_of(model_id))
            if folder.exists():
                size += folder_size(folder)
                staging = staging_dir()
                make_staging(staging)
                doomed = Path(tempfile.mkdtemp(prefix=f"{model_id}.", dir=staging))
                os.replace(folder, doomed / "removed")  # gone from models/ at once, then deleted
                shutil.rmtree(doomed, ignore_errors=True)
        removed.append((model_id, size))
    return removed
