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

import threading
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import filelock

from vae_passive.atomic import atomic_path, write_text
from vae_passive.errors import VaePassiveError
from vae_passive.zoo import catalogue
from vae_passive.zoo.cache import cache_entry, cached_ids, read_manifest
from vae_passive.zoo.checks import CHUNK, check_model_folder, check_zip_members, sha256_file
from vae_passive.zoo.download import Cancelled
from vae_passive.zoo.limits import Limits
from vae_passive.zoo.mirror_index import (
    INDEX_FILE,
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
from vae_passive.zoo.progress import Outcome, Progress

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time leaks into the bytes
ZIP_MODE = 0o100644  # a regular file, rw-r--r--
LOCK_NAME = ".vae-passive-mirror.lock"


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
    if folder.name.isdigit() and (folder / "model").is_dir():
        return [(int(folder.name), folder)]
    if not folder.is_dir():
        raise VaePassiveError(f"{folder} is not a folder; pass a folder of <id>/ model folders (e.g. train --out)")
    return [(int(p.name), p) for p in sorted(folder.iterdir()) if p.name.isdigit() and (p / "model").is_dir()]


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


def _file_crcs(model_id: int, folder: Path) -> dict[str, tuple[int, str]]:
    """``{relative name: (size, CRC-32)}`` of the model's files: from the cache manifest when it lists exactly
    the files there with their sizes (no reading), else computed."""
    files = check_model_folder(folder, model_id)
    sizes = {p.relative_to(folder).as_posix(): p.stat().st_size for p in files}
    manifest = read_manifest(folder)
    listed = manifest["files"] if manifest else {}
    if listed and set(listed) == set(sizes) and all(listed[name].get("size") == sizes[name] for name in sizes):
        return {name: (sizes[name], str(listed[name].get("crc32"))) for name in sorted(sizes)}
    crcs = {}
    for name in sorted(sizes):
        crc = 0
        with open(folder / name, "rb") as handle:
            while chunk := handle.read(CHUNK):
                crc = zlib.crc32(chunk, crc)
        crcs[name] = (sizes[name], f"{crc:08x}")
    return crcs


def write_model_zip(
    item: BuildItem,
    crcs: dict[str, tuple[int, str]],
    dest: Path,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
) -> tuple[int, str]:
    """Write ``dest`` (``<id>.zip``, reproducible) atomically from the model's files; return (size, sha256).

    A file whose CRC-32 differs from ``crcs`` (its cache manifest) stops the zip: the cache is damaged.
    """
    with atomic_path(dest) as temp:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_STORED) as archive:
            for name, (size, expected) in sorted(crcs.items()):
                info = zipfile.ZipInfo(f"{item.model_id}/{name}", ZIP_TIME)
                info.create_system, info.external_attr, info.file_size = 3, ZIP_MODE << 16, size
                crc = 0
                with open(item.folder / name, "rb") as src, archive.open(info, "w") as out:
                    while chunk := src.read(CHUNK):
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
        size, digest = temp.stat().st_size, sha256_file(temp)
    return size, digest


def _build_one(
    item: BuildItem, out: Path, old: IndexEntry | None, cancel: threading.Event, progress: Progress
) -> tuple[IndexEntry, str]:
    """The index entry of one model and whether its zip was "written" or left "unchanged"."""
    crcs = _file_crcs(item.model_id, item.folder)
    content, origin = content_digest(crcs), model_origin(item.folder)
    dest = out / f"{item.model_id}.zip"
    if old is not None and old.content == content and dest.is_file() and dest.stat().st_size == old.size:
        return IndexEntry(item.model_id, old.size, old.sha256, origin, content), "unchanged"
    size, digest = write_model_zip(item, crcs, dest, cancel, progress)
    return IndexEntry(item.model_id, size, digest, origin, content), "written"


def _read_own_index(out: Path) -> dict[int, IndexEntry]:
    """The entries of an earlier build whose zips are still there; none when there is no usable index."""
    try:
        entries = parse_index((out / INDEX_FILE).read_bytes())
    except (OSError, BadIndex):
        return {}
    return {i: e for i, e in entries.items() if (out / e.file).is_file()}


@contextmanager
def _build_lock(out: Path) -> Iterator[None]:
    """One build per mirror folder at a time; stale temporary zips of killed builds are removed under it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise VaePassiveError(f"cannot make the mirror folder {out}: {error.strerror or error}") from None
    lock = filelock.FileLock(out / LOCK_NAME, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise VaePassiveError(f"another `mirror build` is writing {out}; wait for it or stop it") from None
    try:
        for stale in out.glob(".*.zip.*.part"):
            stale.unlink(missing_ok=True)
        yield
    finally:
        lock.release()


def write_metadata(out: Path, entries: dict[int, IndexEntry]) -> None:
    """Write ``SHA256SUMS`` and ``index.json`` for ``entries`` (each atomically; sums first)."""
    write_text(out / SUMS_FILE, render_sums(entries.values()))
    write_text(out / INDEX_FILE, render_index(entries.values()))


def build_mirror(out: Path, items: Sequence[BuildItem], jobs: int = 4, progress: Progress | None = None) -> BuildResult:
    """Zip ``items`` into ``out`` (only new or changed ones), ``jobs`` at a time; then write the index and sums.

    Entries of earlier builds stay listed while their zips are there. Ctrl-C stops the workers at their next
    chunk; the finished zips are listed before the interrupt goes on.
    """
    progress = progress or Progress()
    with _build_lock(out):
        entries = _read_own_index(out)
        lock, cancel = threading.Lock(), threading.Event()

        def one(item: BuildItem) -> Outcome:
            try:
                entry, status = _build_one(item, out, entries.get(item.model_id), cancel, progress)
                with lock:
                    entries[item.model_id] = entry
                outcome = Outcome(item.model_id, status, str(item.folder), entry.size)
            except (VaePassiveError, OSError) as error:
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
    return BuildResult(outcomes, dict(entries))


@dataclass
class VerifyResult:
    """Zips checked and the problems found, one line each naming the file."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)


def _check_zip(path: Path, model_id: int, limits: Limits) -> str | None:
    """What a fetch would refuse in this zip (members, limits, CRCs), or ``None``."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            check_zip_members(infos, model_id)
            limits.check_inflation(model_id, path.stat().st_size, sum(i.file_size for i in infos))
            bad = archive.testzip()
    except VaePassiveError as error:
        return str(error)
    except (zipfile.BadZipFile, OSError, NotImplementedError) as error:
        return f"is not a readable zip ({error})"
    return f"member {bad!r} fails its CRC-32 check" if bad else None


def _listings(out: Path) -> tuple[dict[str, str] | None, dict[int, IndexEntry] | None, list[str]]:
    """The mirror's ``SHA256SUMS`` and ``index.json`` (``None`` when absent) and problems reading them."""
    problems, sums, index = [], None, None
    if (out / SUMS_FILE).is_file():
        try:
            sums = parse_sums((out / SUMS_FILE).read_text(errors="replace"))
        except BadIndex as error:  # fetch ignores a file that is not a SHA256SUMS, and refuses a conflicting one
            problems.append(f"{SUMS_FILE} cannot be used: {error}")
    else:
        problems.append(f"{SUMS_FILE} is missing; fetch cannot check the zips' hashes (`vae-passive mirror build`)")
    if (out / INDEX_FILE).is_file():
        try:
            index = parse_index((out / INDEX_FILE).read_bytes())
        except BadIndex as error:
            problems.append(f"{INDEX_FILE} cannot be used: {error}")
    return sums, index, problems


def verify_mirror(out: Path, limits: Limits | None = None, progress: Progress | None = None) -> VerifyResult:
    """Check every ``<id>.zip`` in ``out`` against ``SHA256SUMS`` and ``index.json`` and as a fetch would."""
    if not out.is_dir():
        raise VaePassiveError(f"mirror folder {out} does not exist; pass the folder `mirror build --out` wrote")
    limits, progress = limits or Limits.from_env(), progress or Progress()
    sums, index, problems = _listings(out)
    result = VerifyResult(problems=problems)
    zips = sorted((int(p.stem), p) for p in out.glob("*.zip") if p.stem.isdigit())
    names = {p.name for _, p in zips}
    listed = set(sums or {}) | {e.file for e in (index or {}).values()}
    result.problems += [f"{name} is listed but missing" for name in sorted(listed - names)]
    for model_id, path in zips:
        digest, found = sha256_file(path), []
        expected = {SUMS_FILE: (sums or {}).get(path.name)}
        if index is not None:
            entry = index.get(model_id)
            expected[INDEX_FILE] = entry.sha256 if entry else None
        for name, sha in expected.items():
            if sha is None:
                found.append(f"is not listed in {name}")
            elif sha != digest:
                found.append(f"has sha256 {digest}, but {name} says {sha}: damaged or replaced")
        problem = _check_zip(path, model_id, limits)
        found += [problem] if problem else []
        result.problems += [f"{path.name} {p}" for p in found]
        result.checked += 1
        progress.model_done(Outcome(model_id, "failed" if found else "verified", str(path), path.stat().st_size))
    return result
