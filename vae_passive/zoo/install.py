"""Installing a model from a zip or a folder: verified, extracted into staging, renamed into ``models/<id>/``.

Zips are strangers' data: member paths must stay inside the model folder, sizes and the compression ratio
are capped (``Limits``), and CRCs and sizes are checked while extracting. Any failure leaves ``models/`` as
it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from vae_passive import __version__, home
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.cache import cached_outcome, clean_staging, lock_if_free, model_lock, staging_dir, staging_of
from vae_passive.zoo.checks import (
    CHUNK,
    MANIFEST,
    check_free_space,
    check_model_folder,
    check_zip_members,
    inside,
    sha256_of,
)
from vae_passive.zoo.fileguard import chunks_of, make_staging, open_listed
from vae_passive.zoo.limits import MAX_DOWNLOAD_ENV, Limits
from vae_passive.zoo.mirror_index import content_digest
from vae_passive.zoo.progress import Outcome, format_bytes


@contextmanager
def _staging_folder(model_id: int) -> Iterator[Path]:
    """A fresh ``.staging/<id>.XXXX/<id>/`` folder, removed on the way out whatever happens."""
    staging = staging_dir()
    make_staging(staging)
    outer = Path(tempfile.mkdtemp(prefix=f"{model_id}.", dir=staging))
    try:
        target = outer / str(model_id)
        target.mkdir()
        yield target
    finally:
        shutil.rmtree(outer, ignore_errors=True)


def _place(target: Path, model_id: int, manifest: dict) -> None:
    """Write the manifest into the finished ``target`` and rename it to ``models/<id>/``."""
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1))
    final = home.model_dir(model_id)
    if final.exists() or final.is_symlink():  # an incomplete folder placed by hand: replace it
        old = target.parent / "replaced"
        os.replace(final, old)
    os.replace(target, final)


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> None:
    """Write one member to ``dest``, stopping at once if it inflates past its declared size (which may lie)."""
    written = 0
    with archive.open(info) as src, open(dest, "wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > info.file_size:
                raise VaePassiveError(
                    f"zip member {info.filename!r} inflates past the {info.file_size} bytes it declares; "
                    "refusing this zip"
                )
            out.write(chunk)


def _manifest(
    model_id: int, source: str, sha256: str | None, size: int, files: dict[str, dict], origin: Mapping | None = None
) -> dict:
    """The manifest; ``origin`` is what the mirror's index.json said (``zoo.origin``), when it had one."""
    manifest = {
        "id": model_id,
        "source": source,
        "sha256": sha256,
        "size": size,
        "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "vae_passive": __version__,
        "files": files,
    }
    if origin is not None:
        manifest["origin"] = dict(origin)
    return manifest


def _extract_members(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], model_id: int, target: Path
) -> dict[str, dict]:
    """Extract the checked members under ``<id>/`` into ``target``; the manifest's ``files``."""
    root, prefix = target.resolve(), f"{model_id}/"
    files = {}
    for info in infos:
        relative = info.filename[len(prefix) :].rstrip("/")
        if info.is_dir() or relative == MANIFEST:
            continue
        dest = inside(root, relative)
        dest.parent.mkdir(parents=True, exist_ok=True)
        _extract(archive, info, dest)
        files[relative] = {"size": info.file_size, "crc32": f"{info.CRC:08x}"}
    return files


def install_zip(
    zip_path: Path,
    model_id: int,
    source: str,
    sha256: str | None = None,
    limits: Limits | None = None,
    origin: Mapping | None = None,
    verify: Callable[[str], None] | None = None,
    max_bytes: int | None = None,
) -> int:
    """Verify ``zip_path`` and install its ``<id>/`` folder as ``models/<id>/``; return the zip's size.

    The caller holds the model's lock; ``sha256`` is the zip's, when the download already hashed it;
    ``origin`` goes into the manifest (what a mirror's index.json said of the model). The zip is opened once
    (no link followed, a regular file only): its size is checked against ``max_bytes`` first, then it is
    hashed and ``verify(sha256)`` may refuse it, then the same descriptor is extracted.
    Member paths, the declared size and the compression ratio are checked before anything is written
    (``Limits``); CRCs and sizes while extracting. Any failure leaves ``models/`` as it was.
    """
    try:
        with open_listed(zip_path) as (handle, found):
            size = found.st_size
            if max_bytes is not None and size > max_bytes:
                raise VaePassiveError(
                    f"{zip_path} has {format_bytes(size)}, over the limit of {format_bytes(max_bytes)}; "
                    f"raise {MAX_DOWNLOAD_ENV} (bytes) if it is genuine"
                )
            digest = sha256 or sha256_of(handle)
            if verify is not None:
                verify(digest)
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                infos = archive.infolist()
                check_zip_members(infos, model_id)
                declared = sum(info.file_size for info in infos)
                (limits or Limits.from_env()).check_inflation(model_id, size, declared)
                check_free_space(home.models_dir(), declared)
                with _staging_folder(model_id) as target:
                    files = _extract_members(archive, infos, model_id, target)
                    _place(target, model_id, _manifest(model_id, source, digest, size, files, origin))
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise VaePassiveError(f"corrupt zip {zip_path.name}: {error}") from None
    except NotImplementedError as error:
        raise VaePassiveError(f"cannot read zip {zip_path.name}: {error}") from None
    return size


def install_folder(folder: Path, model_id: int, source: str, origin: Mapping | None = None, content: str = "") -> int:
    """Verify an extracted model folder and copy it to ``models/<id>/``; return its size. The caller holds the lock.

    Each file is read once, through the descriptor its checks were made on (``fileguard.chunks_of``): a file
    swapped for a link or another file after the listing is refused, never copied. ``origin`` goes into the
    manifest (what a mirror's index.json said of the model); ``content``, the digest its index.json lists
    (``mirror_index.content_digest``), must match the files copied, else nothing is installed.
    """
    files = check_model_folder(folder, model_id)
    total = sum(info.st_size for info in files.values())
    check_free_space(home.models_dir(), total)
    with _staging_folder(model_id) as target:
        listed = {}
        for relative, info in files.items():
            dest = target / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            crc = 0
            with open(dest, "wb") as out:
                for chunk in chunks_of(folder / relative, info, CHUNK):
                    crc = zlib.crc32(chunk, crc)
                    out.write(chunk)
            listed[relative] = {"size": info.st_size, "crc32": f"{crc:08x}"}
        found = content_digest({name: (int(str(e["size"])), str(e["crc32"])) for name, e in listed.items()})
        if content and found != content:
            raise VaePassiveError(
                f"model folder {folder} differs from what the mirror's index.json lists (content digest {found}, "
                f"listed {content}): damaged or replaced; nothing installed"
            )
        _place(target, model_id, _manifest(model_id, source, None, total, listed, origin))
    return total


def install_once(model_id: int, work: Callable[[], Outcome], cancel: threading.Event | None = None) -> Outcome:
    """Run ``work`` under the model's lock unless the model is (or meanwhile becomes) cached."""
    cached = cached_outcome(model_id)
    if cached:
        if staging_of(model_id):
            with lock_if_free(model_id) as free:
                if free:
                    clean_staging(model_id, partial_too=True)
        return cached
    with model_lock(model_id, cancel):
        cached = cached_outcome(model_id)
        if cached:
            return cached
        clean_staging(model_id)
        return work()
