"""Making a mirror: the cache (and models trained here) as a folder any static server can host.

``build_mirror`` writes ``<id>.zip`` in the upstream layout (one top folder ``<id>/``, the model's files
under their published names), ``SHA256SUMS`` and ``index.json`` (``mirror_index``). Zips are
reproducible: members sorted, stored (not deflated, so no zlib version changes a byte), fixed time stamps
and permissions; an unchanged model gives a byte-identical zip, and ``SHA256SUMS`` stays stable.
A build is incremental: a model whose files (names, sizes, CRC-32s) match its index entry and whose zip
is there is not zipped again. Each zip is written to a temporary file and renamed; the index and sums are
written last, also after Ctrl-C, listing only finished zips, so a rerun resumes. ``verify_mirror`` checks
a mirror folder as a fetch would.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import filelock

from vae_passive import home
from vae_passive.atomic import atomic_path, write_text
from vae_passive.errors import VaePassiveError
from vae_passive.zoo import catalogue
from vae_passive.zoo.cache import cache_entry, cached_ids, read_manifest
from vae_passive.zoo.checks import CHUNK, check_model_folder, check_zip_members, id_of, sha256_file, sha256_of
from vae_passive.zoo.download import Cancelled
from vae_passive.zoo.fileguard import chunks_of, open_listed, read_small
from vae_passive.zoo.limits import MAX_DOWNLOAD_ENV, Limits
from vae_passive.zoo.mirror_index import (
    INDEX_FILE,
    METADATA_MAX_BYTES,
    SUMS_FILE,
    BadIndex,
    IndexEntry,
    content_digest,
    parse_index,
    parse_sums,
    render_index,
    render_sums,
)
from vae_passive.zoo.origin import model_origin
from vae_passive.zoo.progress import Outcome, Progress, format_bytes

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time leaks into the bytes
ZIP_MODE = 0o100644  # a regular file, rw-r--r--
OLD_LOCK_NAME = ".vae-passive-mirror.lock"  # where earlier versions kept the build lock


@dataclass(frozen=True)
class BuildItem:
    """A model to put on the mirror: its id and the folder holding its files (``models/<id>/`` or elsewhere)."""

    model_id: int
    folder: Path


@dataclass
class BuildResult:
    """What a build did: one outcome per model (written, unchanged, failed) and the mirror it left."""

    outcomes: list[Outcome]
    entries: dict[int, IndexEntry] = field(default_factory=dict)

    @property
    def mirror_bytes(self) -> int:
        return sum(e.size for e in self.entries.values())


def _model_folders(folder: Path) -> list[tuple[int, Path]]:
    """``folder`` itself when it is a model folder ``<id>/``, else the ``<id>/`` model folders in it."""
    named = id_of(folder.name)
    if named is not None and (folder / "model").is_dir():
        return [(named, folder)]
    if not folder.is_dir():
        raise VaePassiveError(f"{folder} is not a folder; pass a folder of <id>/ model folders (e.g. train --out)")
    found = [(id_of(p.name), p) for p in sorted(folder.iterdir())]
    return [(i, p) for i, p in found if i is not None and (p / "model").is_dir()]


def build_items(ids: Sequence[int] | None = None, extra: Sequence[Path] = ()) -> list[BuildItem]:
    """The models a build takes: every complete cached model and every model folder in ``extra`` (e.g. the
    ``--out`` of ``vae-passive train``), restricted to ``ids`` when given. An id found twice is an error."""
    found: dict[int, Path] = {}
    for folder in extra:
        for model_id, path in _model_folders(Path(folder).expanduser()):
            if model_id in found:
                raise VaePassiveError(f"model {model_id} is in {found[model_id]} and in {path}; pass only one")
            catalogue.record(model_id)
            found[model_id] = path
    for model_id in cached_ids():
        entry = cache_entry(model_id)
        if entry.status in ("ok", "unmanaged") and model_id < catalogue.NUM_MODELS:
            if model_id in found:
                raise VaePassiveError(
                    f"model {model_id} is in the cache ({entry.path}) and in {found[model_id]}; "
                    "leave it out with the selection or remove one copy"
                )
            found[model_id] = entry.path
    wanted = None if ids is None else set(ids)
    return [BuildItem(i, found[i]) for i in sorted(found) if wanted is None or i in wanted]


def _file_crcs(folder: Path, files: dict[str, os.stat_result]) -> dict[str, tuple[int, str]]:
    """``{relative name: (size, CRC-32)}`` of the model's ``files`` (``check_model_folder``): from the cache
    manifest when it lists exactly these files with their sizes (no reading), else computed."""
    sizes = {name: info.st_size for name, info in files.items()}
    manifest = read_manifest(folder)
    listed = manifest["files"] if manifest else {}
    if listed and set(listed) == set(sizes) and all(listed[name].get("size") == sizes[name] for name in sizes):
        return {name: (sizes[name], str(listed[name].get("crc32"))) for name in sorted(sizes)}
    crcs = {}
    for name in sorted(sizes):
        crc = 0
        for chunk in chunks_of(folder / name, files[name], CHUNK):
            crc = zlib.crc32(chunk, crc)
        crcs[name] = (sizes[name], f"{crc:08x}")
    return crcs


def write_model_zip(
    item: BuildItem,
    crcs: dict[str, tuple[int, str]],
    files: dict[str, os.stat_result],
    dest: Path,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
) -> tuple[int, str]:
    """Write ``dest`` (``<id>.zip``, reproducible) atomically from the model's listed ``files``; return (size,
    sha256). Each file is read once, through a checked descriptor (``fileguard.chunks_of``), and the zip is
    hashed through the descriptor it was written with.

    A file whose CRC-32 differs from ``crcs`` (its cache manifest) stops the zip: the cache is damaged.
    """
    with atomic_path(dest) as temp, open(temp, "w+b") as raw:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
            for name, (size, expected) in sorted(crcs.items()):
                info = zipfile.ZipInfo(f"{item.model_id}/{name}", ZIP_TIME)
                info.create_system, info.external_attr, info.file_size = 3, ZIP_MODE << 16, size
                crc = 0
                with archive.open(info, "w") as out:
                    for chunk in chunks_of(item.folder / name, files[name], CHUNK):
                        if cancel is not None and cancel.is_set():
                            raise Cancelled
                        crc = zlib.crc32(chunk, crc)
                        out.write(chunk)
                        if progress is not None:
                            progress.add_bytes(len(chunk))
                if f"{crc:08x}" != expected:
                    raise VaePassiveError(
                        f"{item.folder / name} has changed since it was cached (CRC-32 {crc:08x}, the manifest "
                        f"says {expected}); check it with `vae-passive cache verify --ids {item.model_id}`"
                    )
        raw.seek(0)
        digest = sha256_of(raw)
        size = raw.tell()
    return size, digest


def _stamp(info: os.stat_result) -> list[int]:
    """What changes whenever a file is rewritten, renamed over or touched: ``ctime`` cannot be set back."""
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def _as_built(path: Path, entry: IndexEntry, record: dict | None) -> bool:
    """Whether ``path`` is still the zip an earlier build wrote for ``entry``: a regular file (never a link)
    of the entry's size whose sha256 is the one this tool recorded outside the folder (the index in the
    folder may have been edited to match a replaced zip). An unchanged stamp spares the hashing; without a
    record (a build by an older version, another home), the zip is kept only if it hashes to the entry."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_size != entry.size:
        return False
    if record is not None and record.get("sha256") != entry.sha256:
        return False
    if record is not None and record.get("stamp") == _stamp(info):
        return True
    try:
        return sha256_file(path) == entry.sha256
    except (VaePassiveError, OSError):
        return False


def _build_one(
    item: BuildItem,
    out: Path,
    old: IndexEntry | None,
    record: dict | None,
    cancel: threading.Event,
    progress: Progress,
) -> tuple[IndexEntry, str]:
    """The index entry of one model and whether its zip was "written" or left "unchanged"."""
    files = check_model_folder(item.folder, item.model_id)
    crcs = _file_crcs(item.folder, files)
    content, origin = content_digest(crcs), model_origin(item.folder)
    dest = out / f"{item.model_id}.zip"
    if old is not None and old.content == content and record is not None and _as_built(dest, old, record):
        return IndexEntry(item.model_id, old.size, old.sha256, origin, content), "unchanged"
    size, digest = write_model_zip(item, crcs, files, dest, cancel, progress)
    return IndexEntry(item.model_id, size, digest, origin, content), "written"


def _read_own_index(out: Path) -> dict[int, IndexEntry]:
    """The entries of an earlier build whose zips are still there; none when there is no usable index."""
    try:
        entries = parse_index(read_small(out / INDEX_FILE, METADATA_MAX_BYTES))
    except (OSError, VaePassiveError):
        return {}
    return {i: e for i, e in entries.items() if (out / e.file).is_file()}


def _builds_dir(out: Path) -> Path:
    """``<home>/mirror-builds/<key>``: this folder's build lock and record, kept outside what is published."""
    key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:20]
    return home.home() / "mirror-builds" / key


def _read_records(out: Path) -> dict[str, dict]:
    """``{zip name: {"sha256", "stamp"}}`` of what the last build wrote into ``out`` (empty when unknown)."""
    try:
        records = json.loads(read_small(_builds_dir(out).with_suffix(".json"), METADATA_MAX_BYTES))
    except (OSError, ValueError, VaePassiveError):
        return {}
    if not isinstance(records, dict) or records.get("folder") != str(out.resolve()):
        return {}
    zips = records.get("zips")
    return {k: v for k, v in zips.items() if isinstance(v, dict)} if isinstance(zips, dict) else {}


def _write_records(out: Path, entries: dict[int, IndexEntry]) -> None:
    """Record the sha256 and stamp of every zip listed, outside the folder, for the next build to trust."""
    zips = {}
    for entry in entries.values():
        try:
            zips[entry.file] = {"sha256": entry.sha256, "stamp": _stamp(os.lstat(out / entry.file))}
        except OSError:
            continue
    write_text(_builds_dir(out).with_suffix(".json"), json.dumps({"folder": str(out.resolve()), "zips": zips}))


@contextmanager
def _build_lock(out: Path) -> Iterator[None]:
    """One build per mirror folder at a time (the lock lives in the home, not in the folder people publish);
    stale temporary zips of killed builds, and the lock file older versions left in the folder, are removed."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        _builds_dir(out).parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise VaePassiveError(f"cannot make the mirror folder {out}: {error.strerror or error}") from None
    lock = filelock.FileLock(_builds_dir(out).with_suffix(".lock"), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise VaePassiveError(f"another `mirror build` is writing {out}; wait for it or stop it") from None
    try:
        for stale in [*out.glob(".*.zip.*.part"), out / OLD_LOCK_NAME]:
            stale.unlink(missing_ok=True)
        yield
    finally:
        lock.release()


def write_metadata(out: Path, entries: dict[int, IndexEntry]) -> None:
    """Write ``SHA256SUMS`` and ``index.json`` for ``entries`` (each atomically; sums first), and this build's
    record of the zips (outside the folder)."""
    write_text(out / SUMS_FILE, render_sums(entries.values()))
    write_text(out / INDEX_FILE, render_index(entries.values()))
    _write_records(out, entries)


def _keep_earlier(out: Path, entries: dict[int, IndexEntry], records: dict[str, dict], ids: set[int]) -> list[Outcome]:
    """Drop the entries of earlier builds (not rebuilt now) whose zip is no longer the one that was written;
    one "failed" outcome for each."""
    dropped = []
    for model_id, entry in sorted(entries.items()):
        if model_id not in ids and not _as_built(out / entry.file, entry, records.get(entry.file)):
            del entries[model_id]
            reason = (
                f"{entry.file} is not the zip an earlier build wrote (replaced, edited or a link); "
                "left out of the index: rebuild it from the cache or remove it"
            )
            dropped.append(Outcome(model_id, "failed", str(out / entry.file), reason=reason))
    return dropped


def build_mirror(out: Path, items: Sequence[BuildItem], jobs: int = 4, progress: Progress | None = None) -> BuildResult:
    """Zip ``items`` into ``out`` (only new or changed ones), ``jobs`` at a time; then write the index and sums.

    Entries of earlier builds stay listed while their zips are still the ones written (``_as_built``).
    Ctrl-C stops the workers at their next chunk; the finished zips are listed before the interrupt goes on.
    """
    progress = progress or Progress()
    with _build_lock(out):
        entries, records = _read_own_index(out), _read_records(out)
        dropped = _keep_earlier(out, entries, records, {item.model_id for item in items})
        lock, cancel = threading.Lock(), threading.Event()

        def one(item: BuildItem) -> Outcome:
            try:
                old = entries.get(item.model_id)
                record = records.get(old.file) if old else None
                entry, status = _build_one(item, out, old, record, cancel, progress)
                with lock:
                    entries[item.model_id] = entry
                outcome = Outcome(item.model_id, status, str(item.folder), entry.size)
            except (VaePassiveError, OSError) as error:
                with lock:  # its old zip is not vouched for any more
                    entries.pop(item.model_id, None)
                reason = str(error) if isinstance(error, VaePassiveError) else f"cannot read {item.folder}: {error}"
                outcome = Outcome(item.model_id, "failed", str(item.folder), reason=reason)
            progress.model_done(outcome)
            return outcome

        pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="mirror")
        try:
            outcomes = [future.result() for future in [pool.submit(one, item) for item in items]]
        except BaseException:
            cancel.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            with lock:
                write_metadata(out, entries)
    return BuildResult(outcomes + dropped, dict(entries))


@dataclass
class VerifyResult:
    """Zips checked and the problems found, one line each naming the file."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)


def _member_problems(handle: BinaryIO, model_id: int, limits: Limits, size: int) -> list[str]:
    """What a fetch would refuse in the members of the open zip ``handle`` (paths, limits, CRCs)."""
    try:
        with zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
            check_zip_members(infos, model_id)
            limits.check_inflation(model_id, size, sum(i.file_size for i in infos))
            bad = archive.testzip()
    except VaePassiveError as error:
        return [str(error)]
    except (zipfile.BadZipFile, OSError, NotImplementedError, zlib.error, EOFError) as error:
        return [f"is not a readable zip ({error})"]
    return [f"member {bad!r} fails its CRC-32 check"] if bad else []


def _check_zip(path: Path, model_id: int, limits: Limits, expected: dict[str, str | None]) -> tuple[list[str], int]:
    """What a fetch would refuse in this zip (size, hashes, members), and its size. The zip is opened once,
    never through a link, never a FIFO or device, and its size is checked before it is hashed."""
    try:
        with open_listed(path) as (handle, found):
            size = found.st_size
            if size > limits.download_bytes:
                return [f"has {format_bytes(size)}, more than a fetch takes ({MAX_DOWNLOAD_ENV})"], size
            digest = sha256_of(handle)
            problems = [
                f"is not listed in {name}"
                if sha is None
                else f"has sha256 {digest}, but {name} says {sha}: damaged or replaced"
                for name, sha in expected.items()
                if sha != digest
            ]
            handle.seek(0)
            return problems + _member_problems(handle, model_id, limits, size), size
    except (VaePassiveError, OSError) as error:  # a link, FIFO or device
        return [f"cannot be read safely: {error}"], 0


def _listings(out: Path) -> tuple[dict[str, str] | None, dict[int, IndexEntry] | None, list[str]]:
    """The mirror's ``SHA256SUMS`` and ``index.json`` (``None`` when absent) and problems reading them: each
    read only as a regular file of at most ``METADATA_MAX_BYTES``."""
    problems: list[str] = []
    sums, index = None, None
    if os.path.lexists(out / SUMS_FILE):
        try:
            sums = parse_sums(read_small(out / SUMS_FILE, METADATA_MAX_BYTES).decode(errors="replace"))
        except (BadIndex, VaePassiveError) as error:  # fetch ignores a file that is not one, refuses a conflicting one
            problems.append(f"{SUMS_FILE} cannot be used: {error}")
    else:
        problems.append(f"{SUMS_FILE} is missing; fetch cannot check the zips' hashes (`vae-passive mirror build`)")
    if os.path.lexists(out / INDEX_FILE):
        try:
            index = parse_index(read_small(out / INDEX_FILE, METADATA_MAX_BYTES))
        except (BadIndex, VaePassiveError) as error:
            problems.append(f"{INDEX_FILE} cannot be used: {error}")
    return sums, index, problems


def mirror_zips(out: Path) -> list[tuple[int, Path]]:
    """``(id, path)`` of the ``<id>.zip`` names in the folder ``out`` (ASCII digits only), by id."""
    found = [(id_of(p.stem), p) for p in out.glob("*.zip")]
    return sorted((i, p) for i, p in found if i is not None)


def verify_mirror(out: Path, limits: Limits | None = None, progress: Progress | None = None) -> VerifyResult:
    """Check every ``<id>.zip`` in ``out`` against ``SHA256SUMS`` and ``index.json`` and as a fetch would."""
    if not out.is_dir():
        raise VaePassiveError(f"mirror folder {out} does not exist; pass the folder `mirror build --out` wrote")
    limits, progress = limits or Limits.from_env(), progress or Progress()
    sums, index, problems = _listings(out)
    result = VerifyResult(problems=problems)
    zips = mirror_zips(out)
    names = {p.name for _, p in zips}
    listed = set(sums or {}) | {e.file for e in (index or {}).values()}
    result.problems += [f"{name} is listed but missing" for name in sorted(listed - names)]
    for model_id, path in zips:
        expected = {SUMS_FILE: (sums or {}).get(path.name)}
        if index is not None:
            entry = index.get(model_id)
            expected[INDEX_FILE] = entry.sha256 if entry else None
        found, size = _check_zip(path, model_id, limits, expected)
        result.problems += [f"{path.name} {p}" for p in found]
        result.checked += 1
        progress.model_done(Outcome(model_id, "failed" if found else "verified", str(path), size))
    return result
