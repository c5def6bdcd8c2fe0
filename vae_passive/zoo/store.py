"""The model cache: fetch model zips from mirrors or the upstream bucket, verify them, install them atomically.

Layout under ``models/`` (``vae_passive.home.models_dir``):

- ``<id>/``: one complete model, the content of a zip's ``<id>/`` folder, plus ``.vae-passive.json``
  (source, sha256 of the zip, size, time, and every extracted file with its size and CRC-32). A model
  folder appears only by renaming a finished staging folder, so a partial model is never visible.
- ``.locks/<id>.lock``: one writer per model, across threads and processes.
- ``.staging/``: downloads in progress (``<id>.zip.part``, resumed with HTTP Range by the next try)
  and extraction folders. Only the holder of a model's lock writes its staging files, and it removes
  the extraction leftovers of killed runs before it starts.

Zips and mirrors are strangers' data: member paths must stay inside the model folder, sizes and the
compression ratio are capped (``Limits``), a mirror's ``SHA256SUMS`` is checked when it has one, and
credentials in a mirror's URL are used for the request but never shown or stored (``redact_url``).

Sources are tried in order: mirrors (``--mirror`` or ``VAE_PASSIVE_MIRROR``), then the upstream
bucket, which has answered 403 AccessDenied since 2026.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import stat
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlparse, urlsplit, urlunsplit

import filelock
import requests

from vae_passive import __version__, config, home
from vae_passive.errors import VaePassiveError
from vae_passive.zoo import catalogue

UPSTREAM_URL = "https://storage.googleapis.com/disentanglement_lib/unsupervised_study_v1"
MIRROR_ENV = config.MIRROR
OFFLINE_ENV = config.OFFLINE
UPSTREAM_ENV = config.UPSTREAM
RETRY_BASE_ENV = config.RETRY_BASE
MAX_DOWNLOAD_ENV = config.MAX_DOWNLOAD_BYTES
MAX_MODEL_ENV = config.MAX_MODEL_BYTES
MAX_RATIO_ENV = config.MAX_COMPRESSION_RATIO
DEADLINE_ENV = config.DOWNLOAD_DEADLINE
SUMS_FILE = "SHA256SUMS"  # optional, at a mirror's root: lines ``<sha256>  <id>.zip``
SUMS_MAX_BYTES = 16 << 20
RATIO_FLOOR = 1 << 20  # zips that inflate to less than this are not held to the compression ratio
MANIFEST = ".vae-passive.json"
REQUIRED_FILES = ("model/tfhub/saved_model.pb", "model/tfhub/tfhub_module.pb")
REQUIRED_FOLDER = "model/tfhub/variables/"
CHUNK = 1 << 20  # file copies
NETWORK_CHUNK = 1 << 18  # reads from a socket: progress and Ctrl-C every 256 KiB
TIMEOUT = (10.0, 60.0)  # seconds to connect, seconds between two reads
FREE_SPACE_RESERVE = 64 << 20  # never fill a disk to the last byte
UPSTREAM_CLOSED = "the bucket is closed (403 AccessDenied since 2026)"
OFFLINE_MISSING = (
    f"not cached, and {OFFLINE_ENV}=1 allows no download; "
    f"import it with `vae-passive import PATH` or unset {OFFLINE_ENV}"
)
_CLOSED_UPSTREAMS: set[str] = set()  # upstream URLs that answered 403 in this process
CLOSED_BUCKET_HELP = (
    "The upstream bucket storage.googleapis.com/disentanglement_lib has answered 403 AccessDenied since 2026. "
    "Fetch from a copy instead: `vae-passive fetch --mirror URL_OR_FOLDER ...` (or set VAE_PASSIVE_MIRROR), "
    "or add zips or folders you already have with `vae-passive import PATH ...`."
)


# --- sources -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A place that may hold ``<id>.zip``: ``kind`` is "http", "folder" or "gcs"; ``location`` its base."""

    kind: str
    location: str
    upstream: bool = False

    @property
    def network(self) -> bool:
        """Whether reading from this source needs the network (forbidden offline)."""
        return self.kind != "folder"

    def describe(self) -> str:
        """The source as messages name it: credentials redacted."""
        return "upstream" if self.upstream else redact_url(self.location)

    def zip_location(self, model_id: int) -> str:
        """The URL or path of ``<id>.zip`` in this source."""
        if self.kind == "folder":
            return str(Path(self.location) / f"{model_id}.zip")
        return f"{self.location}/{model_id}.zip"


def offline() -> bool:
    """``VAE_PASSIVE_OFFLINE=1``: no network at all."""
    return config.flag(OFFLINE_ENV)


def upstream_url() -> str:
    """Base URL of the upstream zips (``VAE_PASSIVE_UPSTREAM`` replaces it, e.g. for a proxy of the bucket)."""
    return config.text(UPSTREAM_ENV).rstrip("/") or UPSTREAM_URL


def sources_from_env() -> list[str]:
    """The mirrors named in ``VAE_PASSIVE_MIRROR``, separated by whitespace."""
    return config.words(MIRROR_ENV)


def _gcsfs():
    """The optional gcsfs module, or an error that says how to install it."""
    try:
        import gcsfs
    except ImportError:
        raise VaePassiveError("gs:// mirrors need the gcsfs package: pip install 'vae-passive[gcs]'") from None
    return gcsfs


def parse_source(text: str) -> Source:
    """A mirror given as an ``http(s)://`` base URL, a ``file://`` URL, a folder, or ``gs://bucket/prefix``."""
    text = text.strip()
    parsed = urlparse(text)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        if not parsed.hostname:
            raise VaePassiveError(f"mirror {redact_url(text)!r} names no host; write e.g. https://example.org/zoo")
        return Source("http", text.rstrip("/"))
    if scheme == "gs":
        if not parsed.netloc:
            raise VaePassiveError(f"mirror {text!r} names no bucket; write gs://bucket/prefix")
        _gcsfs()
        return Source("gcs", text.rstrip("/"))
    if scheme == "file":
        path = Path(unquote(parsed.path))
    elif len(scheme) > 1:  # one letter is a Windows drive
        raise VaePassiveError(
            f"mirror {redact_url(text)!r} uses {scheme}://, which is not supported; "
            "use http(s)://, file://, gs:// or a folder"
        )
    else:
        path = Path(text).expanduser()
    if not path.is_dir():
        raise VaePassiveError(
            f"mirror folder {path} does not exist; pass a folder that holds <id>.zip files or <id>/ folders"
        )
    return Source("folder", str(path.resolve()))


def resolve_sources(mirrors: Iterable[str] | None = None) -> list[Source]:
    """Mirrors (``None``: those of ``VAE_PASSIVE_MIRROR``), then upstream; offline, only folders."""
    texts = sources_from_env() if mirrors is None else list(mirrors)
    sources = [parse_source(text) for text in texts]
    sources.append(Source("http", upstream_url(), upstream=True))
    return [s for s in sources if not s.network] if offline() else sources


# --- retries (pure) -----------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (seconds or an HTTP date); ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """How often to retry a transient failure, and how long to wait: exponential backoff with jitter."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 60.0
    retry_after_cap: float = 120.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """The default policy, with the base delay from ``VAE_PASSIVE_RETRY_BASE`` (seconds) when set."""
        base = config.non_negative(RETRY_BASE_ENV, cls.base)
        if base > 600:
            raise VaePassiveError(f"{RETRY_BASE_ENV}={base:g} is not a delay in seconds; set e.g. 1 or 0.01")
        return cls(base=base)

    def delay(self, failures: int, retry_after: str | None = None, now: float | None = None) -> float:
        """Seconds to wait after the ``failures``-th failure in a row; a server's ``Retry-After`` wins, capped."""
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            return min(asked, self.retry_after_cap)
        return min(self.cap, self.base * 2 ** max(0, failures - 1)) * random.uniform(0.5, 1.0)


def retryable_status(status: int) -> bool:
    """Statuses worth another try: timeouts, throttling and server errors (never 403 or 404)."""
    return status in (408, 429) or 500 <= status < 600


# --- credentials and limits (pure) ------------------------------------------------------------------

_SECRET_QUERY_KEYS = frozenset(
    {"token", "access_token", "sig", "signature", "key", "password", "x-amz-signature", "x-goog-signature"}
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """``url`` fit to show or store: ``user:pass@`` becomes ``***@``, a secret query value ``***``.

    The request itself uses the URL as given; only what is printed or written to disk is redacted.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    pairs = parts.query.split("&") if parts.query else []
    secret = [p.partition("=")[0].lower() in _SECRET_QUERY_KEYS for p in pairs]
    if "@" not in parts.netloc and not any(secret):
        return url
    netloc = "***@" + parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    query = "&".join(p.partition("=")[0] + "=***" if s else p for p, s in zip(pairs, secret, strict=True))
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (``redact_url``): for messages that may quote one."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


@dataclass(frozen=True)
class Limits:
    """What one download or zip from a stranger may cost; each can be raised with its environment variable.

    ``download_bytes``: bytes one download may send; ``deadline``: seconds one download may take, all tries
    together; ``model_bytes``: bytes a zip may inflate to; ``ratio``: how many times its own size.
    """

    download_bytes: int = 2 << 30
    deadline: float = 3600.0
    model_bytes: int = 4 << 30
    ratio: float = 200.0

    @classmethod
    def from_env(cls) -> Limits:
        """The limits, each replaced by its environment variable when set."""
        return cls(
            download_bytes=int(config.positive(MAX_DOWNLOAD_ENV, cls.download_bytes)),
            deadline=config.positive(DEADLINE_ENV, cls.deadline),
            model_bytes=int(config.positive(MAX_MODEL_ENV, cls.model_bytes)),
            ratio=config.positive(MAX_RATIO_ENV, cls.ratio),
        )

    def check_inflation(self, model_id: int, zip_size: int, declared: int) -> None:
        """Raise when a zip of ``zip_size`` bytes declares more content than allowed: a likely zip bomb."""
        if declared > self.model_bytes:
            raise VaePassiveError(
                f"zip of model {model_id} would inflate to {format_bytes(declared)}, over the limit of "
                f"{format_bytes(self.model_bytes)}; raise {MAX_MODEL_ENV} (bytes) if the zip is genuine"
            )
        ratio = declared / max(1, zip_size)
        if declared > RATIO_FLOOR and ratio > self.ratio:
            raise VaePassiveError(
                f"zip of model {model_id} would inflate {ratio:.0f}-fold ({format_bytes(zip_size)} to "
                f"{format_bytes(declared)}), over the limit of {self.ratio:g}; raise {MAX_RATIO_ENV} if it is genuine"
            )


# --- zip checks (pure) ------------------------------------------------------------------------------


def path_problem(name: str) -> str | None:
    """Why the relative path ``name`` (a zip member, a manifest entry) could land outside its folder, or ``None``.

    ``a//b`` is refused too: joined to a folder, the empty step turns ``/b`` into an absolute path.
    """
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "has an absolute path"
    parts = name.removesuffix("/").split("/")  # a directory entry ends with one slash
    if ".." in parts:
        return "climbs out of its folder with '..'"
    if "" in parts or "." in parts:
        return "has an empty or '.' path step"
    return None


def member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member must not be extracted (zip-slip or a symlink), or ``None``."""
    problem = path_problem(info.filename)
    if problem is None and stat.S_ISLNK(info.external_attr >> 16):
        return "is a symlink"
    return problem


def inside(root: Path, relative: str) -> Path:
    """``root / relative`` after checking that it resolves inside ``root`` (which must be resolved already)."""
    path = root / relative
    if not path.resolve().is_relative_to(root):
        raise VaePassiveError(f"{relative!r} would land outside {root}; refusing it")
    return path


def check_zip_members(infos: Sequence[zipfile.ZipInfo], model_id: int) -> None:
    """Raise unless the members are safe, unique, under one top folder ``<id>/``, and hold a TF1 Hub module."""
    seen: set[str] = set()
    for info in infos:
        problem = member_problem(info)
        if problem:
            raise VaePassiveError(f"zip member {info.filename!r} {problem}; refusing to extract this zip")
        name = info.filename.replace("\\", "/").removesuffix("/")
        if name in seen:
            raise VaePassiveError(f"zip member {info.filename!r} appears twice; refusing to extract this zip")
        seen.add(name)
    prefix = f"{model_id}/"
    tops = sorted({info.filename.split("/")[0] + "/" for info in infos if not info.filename.startswith(prefix)})
    if tops or not infos:
        found = ", ".join(tops[:3]) or "nothing"
        raise VaePassiveError(f"zip of model {model_id} must have one top folder {prefix}, but it holds {found}")
    names = {info.filename for info in infos}
    missing = [prefix + f for f in REQUIRED_FILES if prefix + f not in names]
    if not any(name.startswith(prefix + REQUIRED_FOLDER) for name in names):
        missing.append(prefix + REQUIRED_FOLDER)
    if missing:
        raise VaePassiveError(
            f"zip of model {model_id} lacks {', '.join(missing)}; it is not a disentanglement_lib model zip"
        )


def check_model_folder(folder: Path, model_id: int) -> list[Path]:
    """The files of an extracted model folder, after checking it holds a module and no symlinks."""
    files = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            raise VaePassiveError(f"{path} is a symlink; copy the real file into the model folder {folder}")
        if path.is_file() and path.name != MANIFEST:
            files.append(path)
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if not (folder / REQUIRED_FOLDER).is_dir():
        missing.append(REQUIRED_FOLDER)
    if missing:
        raise VaePassiveError(
            f"folder {folder} lacks {', '.join(missing)}; it is not the model folder {model_id}/ of a zip"
        )
    return files


# --- formatting (pure) ------------------------------------------------------------------------------


def format_bytes(size: int | None) -> str:
    """``15.2 MB``; ``-`` when unknown."""
    if size is None:
        return "-"
    value, unit = float(size), "B"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            break
        value /= 1000
    return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"


def format_ids(ids: Iterable[int]) -> str:
    """Ids as ranges, the syntax ``--ids`` reads: ``0-2,5``."""
    parts: list[str] = []
    run: list[int] = []
    for i in sorted(set(ids)):
        if run and i != run[-1] + 1:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
            run = []
        run.append(i)
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)


@dataclass(frozen=True)
class Outcome:
    """What happened to one model: ``status`` is fetched, imported, cached or failed (dry run: available, missing)."""

    model_id: int
    status: str
    source: str = ""
    size: int | None = None
    reason: str = ""
    upstream_closed: bool = False


def summarize(outcomes: Sequence[Outcome]) -> tuple[list[str], list[str]]:
    """The closing summary: counts (for stdout) and failures grouped by reason (for stderr)."""
    counts = []
    for status in ("fetched", "imported"):
        done = [o for o in outcomes if o.status == status]
        if done:
            counts.append(f"{status} {len(done)} ({format_bytes(sum(o.size or 0 for o in done))})")
    counts.append(f"already cached {sum(o.status == 'cached' for o in outcomes)}")
    failed = [o for o in outcomes if o.status == "failed"]
    counts.append(f"failed {len(failed)}")
    problems = []
    by_reason: dict[str, list[int]] = {}
    for outcome in failed:
        by_reason.setdefault(outcome.reason, []).append(outcome.model_id)
    for reason, ids in by_reason.items():
        problems.append(f"failed {format_ids(ids)}: {reason}")
    if any(o.upstream_closed for o in failed):
        problems.append(CLOSED_BUCKET_HELP)
    return [", ".join(counts)], problems


# --- the cache --------------------------------------------------------------------------------------


def _staging_dir() -> Path:
    return home.models_dir() / ".staging"


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a cached model folder, or ``None`` when absent or unreadable."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return data if isinstance(files, dict) and all(isinstance(f, dict) for f in files.values()) else None


def is_cached(model_id: int) -> bool:
    """Whether ``models/<id>/`` holds a model: installed by this tool, or a module placed there by hand."""
    folder = home.model_dir(model_id)
    return read_manifest(folder) is not None or (folder / REQUIRED_FILES[0]).is_file()


def _cached_outcome(model_id: int) -> Outcome | None:
    if not is_cached(model_id):
        return None
    manifest = read_manifest(home.model_dir(model_id)) or {}
    return Outcome(model_id, "cached", redact_url(str(manifest.get("source", "placed by hand"))), manifest.get("size"))


def check_free_space(folder: Path, needed: int) -> None:
    """Raise when the disk of ``folder`` has less than ``needed`` bytes free (plus a small reserve)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < needed + FREE_SPACE_RESERVE:
        raise NoSpace(
            f"not enough free disk space under {folder}: {format_bytes(needed)} needed, {format_bytes(free)} free; "
            f"free some space or point {config.HOME} to a larger disk"
        )


class NoSpace(VaePassiveError):
    """The disk is too full; trying another source would not help."""


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
def _lock_if_free(model_id: int) -> Iterator[bool]:
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


def _staging_of(model_id: int) -> list[Path]:
    """Everything of ``model_id`` under ``.staging``: its partial download and its extraction folders."""
    staging = _staging_dir()
    return sorted(staging.glob(f"{model_id}.*")) if staging.is_dir() else []


def _remove(paths: Iterable[Path]) -> int:
    """Delete files and folders; return the bytes freed."""
    freed = 0
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            freed += _folder_size(path)
            shutil.rmtree(path, ignore_errors=True)
        else:
            freed += path.stat().st_size if path.exists() else 0
            path.unlink(missing_ok=True)
    return freed


def _clean_staging(model_id: int, partial_too: bool = False) -> None:
    """Remove extraction folders of ``model_id`` left by killed runs, and with ``partial_too`` its partial
    download (useless once the model is cached). The caller holds the model's lock."""
    _remove(p for p in _staging_of(model_id) if partial_too or p.is_dir())


@contextmanager
def _staging_folder(model_id: int) -> Iterator[Path]:
    """A fresh ``.staging/<id>.XXXX/<id>/`` folder, removed on the way out whatever happens."""
    staging = _staging_dir()
    staging.mkdir(parents=True, exist_ok=True)
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


def _manifest(model_id: int, source: str, sha256: str | None, size: int, files: dict[str, dict]) -> dict:
    return {
        "id": model_id,
        "source": source,
        "sha256": sha256,
        "size": size,
        "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "vae_passive": __version__,
        "files": files,
    }


def _feed(digest, path: Path) -> None:
    """Feed the bytes of ``path`` to the hash object ``digest``."""
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    _feed(digest, path)
    return digest.hexdigest()


def install_zip(
    zip_path: Path, model_id: int, source: str, sha256: str | None = None, limits: Limits | None = None
) -> int:
    """Verify ``zip_path`` and install its ``<id>/`` folder as ``models/<id>/``; return the zip's size.

    The caller holds the model's lock; ``sha256`` is the zip's, when the download already hashed it.
    Member paths, the declared size and the compression ratio are checked before anything is written
    (``Limits``); CRCs and sizes while extracting. Any failure leaves ``models/`` as it was.
    """
    size = zip_path.stat().st_size
    digest = sha256 or sha256_file(zip_path)
    prefix = f"{model_id}/"
    try:
        with zipfile.ZipFile(zip_path) as archive:
            infos = archive.infolist()
            check_zip_members(infos, model_id)
            declared = sum(info.file_size for info in infos)
            (limits or Limits.from_env()).check_inflation(model_id, size, declared)
            check_free_space(home.models_dir(), declared)
            with _staging_folder(model_id) as target:
                root = target.resolve()
                files = {}
                for info in infos:
                    relative = info.filename[len(prefix) :].rstrip("/")
                    if info.is_dir() or relative == MANIFEST:
                        continue
                    dest = inside(root, relative)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    _extract(archive, info, dest)
                    files[relative] = {"size": info.file_size, "crc32": f"{info.CRC:08x}"}
                _place(target, model_id, _manifest(model_id, source, digest, size, files))
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise VaePassiveError(f"corrupt zip {zip_path.name}: {error}") from None
    except NotImplementedError as error:
        raise VaePassiveError(f"cannot read zip {zip_path.name}: {error}") from None
    return size


def _copy_with_crc(src: Path, dest: Path) -> int:
    crc = 0
    with open(src, "rb") as inp, open(dest, "wb") as out:
        while chunk := inp.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
            out.write(chunk)
    return crc


def install_folder(folder: Path, model_id: int, source: str) -> int:
    """Verify an extracted model folder and copy it to ``models/<id>/``; return its size. The caller holds the lock."""
    files = check_model_folder(folder, model_id)
    sizes = {path: path.stat().st_size for path in files}
    check_free_space(home.models_dir(), sum(sizes.values()))
    with _staging_folder(model_id) as target:
        listed = {}
        for path in files:
            relative = path.relative_to(folder).as_posix()
            dest = target / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            crc = _copy_with_crc(path, dest)
            listed[relative] = {"size": sizes[path], "crc32": f"{crc:08x}"}
        total = sum(sizes.values())
        _place(target, model_id, _manifest(model_id, source, None, total, listed))
    return total


def _install_once(model_id: int, work: Callable[[], Outcome], cancel: threading.Event | None = None) -> Outcome:
    """Run ``work`` under the model's lock unless the model is (or meanwhile becomes) cached."""
    cached = _cached_outcome(model_id)
    if cached:
        if _staging_of(model_id):
            with _lock_if_free(model_id) as free:
                if free:
                    _clean_staging(model_id, partial_too=True)
        return cached
    with model_lock(model_id, cancel):
        cached = _cached_outcome(model_id)
        if cached:
            return cached
        _clean_staging(model_id)
        return work()


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
    return sorted(int(p.name) for p in models.iterdir() if p.name.isdigit() and p.is_dir())


def _folder_size(folder: Path) -> int:
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
        return CacheEntry(model_id, folder, status, _folder_size(folder), problem=problem)
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
    staging = _staging_dir()
    if not staging.is_dir():
        return StagingUsage()
    partials = [p for p in staging.glob("*.zip.part*") if p.is_file()]
    stale, busy = [], 0
    for folder in (p for p in staging.iterdir() if p.is_dir() and p.name.split(".")[0].isdigit()):
        with _lock_if_free(int(folder.name.split(".")[0])) as free:
            if free:
                stale.append(folder)
            else:
                busy += 1
    return StagingUsage(
        sum(p.name.endswith(".part") for p in partials),
        sum(p.stat().st_size for p in partials),
        len(stale),
        sum(_folder_size(f) for f in stale),
        busy,
    )


def remove_staging() -> tuple[int, int]:
    """Delete the partial downloads and extraction folders of models no run holds; return (entries, bytes)."""
    staging = _staging_dir()
    ids = {p.name.split(".")[0] for p in staging.iterdir()} if staging.is_dir() else set()
    count = freed = 0
    for model_id in sorted(int(i) for i in ids if i.isdigit()):
        with _lock_if_free(model_id) as free:
            if free:
                paths = _staging_of(model_id)
                count += sum(not p.name.endswith(".json") for p in paths)
                freed += _remove(paths)
    return count, freed


def remove_cached(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Delete ``models/<id>/`` (and its partial download and extraction leftovers) of each id;
    return (id, bytes freed) of those removed."""
    removed = []
    for model_id in ids:
        folder = home.model_dir(model_id)
        if not folder.exists() and not _staging_of(model_id):
            continue
        with model_lock(model_id):
            size = _remove(_staging_of(model_id))
            if folder.exists():
                size += _folder_size(folder)
                staging = _staging_dir()
                staging.mkdir(parents=True, exist_ok=True)
                doomed = Path(tempfile.mkdtemp(prefix=f"{model_id}.", dir=staging))
                os.replace(folder, doomed / "removed")  # gone from models/ at once, then deleted
                shutil.rmtree(doomed, ignore_errors=True)
        removed.append((model_id, size))
    return removed


# --- fetching -------------------------------------------------------------------------------------------


class Cancelled(Exception):
    """The run was interrupted; workers stop at the next chunk."""


class SourceFailed(Exception):
    """One source could not deliver one model; ``status`` is the HTTP status when there was one.

    ``unreachable``: every try failed to get an answer at all, so the source is skipped for the rest of the run.
    """

    def __init__(self, reason: str, status: int | None = None, unreachable: bool = False):
        super().__init__(reason)
        self.status = status
        self.unreachable = unreachable


class Progress:
    """Receives progress events from a ``Fetcher``; this one ignores them (the CLI shows tqdm bars)."""

    def add_bytes(self, count: int) -> None:
        """``count`` more bytes received."""

    def model_done(self, outcome: Outcome) -> None:
        """One more model finished, whatever its outcome."""


def _content_range(header: str | None) -> tuple[int, int | None] | None:
    """(start, total) of a ``Content-Range: bytes START-END/TOTAL`` header."""
    match = re.match(r"^\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*$", header or "")
    if not match:
        return None
    return int(match.group(1)), None if match.group(2) == "*" else int(match.group(2))


@contextmanager
def _cut_at(response: requests.Response, deadline: float) -> Iterator[None]:
    """Shut the response's socket down at ``deadline`` (``time.monotonic``), waking a read that a server
    trickling a byte now and then would keep blocked past any per-read timeout."""

    def cut() -> None:
        try:
            response.raw.shutdown()  # urllib3 >= 2.3; else closing is the best there is
        except (AttributeError, OSError, RuntimeError, ValueError):
            response.close()

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def parse_sums(text: str) -> dict[str, str]:
    """``{name: sha256}`` from ``sha256sum`` output (``<sha256>  <name>``, or ``*<name>`` in binary mode)."""
    sums = {}
    for line in text.splitlines():
        match = re.match(r"^([0-9a-fA-F]{64}) [ *](?:\./)?(.+)$", line.strip())
        if match:
            sums[match.group(2)] = match.group(1).lower()
    return sums


class Fetcher:
    """Fetch models from ``sources`` in order, ``workers`` at a time, one ``requests.Session`` per worker."""

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        workers: int = 8,
        policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = TIMEOUT,
        progress: Progress | None = None,
        limits: Limits | None = None,
    ):
        self.sources = list(sources)
        self.workers = workers
        self.policy = policy or RetryPolicy.from_env()
        self.timeout = timeout
        self.progress = progress or Progress()
        self.limits = limits or Limits.from_env()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._unreachable: set[str] = set()  # sources that never answered in this run
        self._gcs = None
        self._sums: dict[str, dict[str, str] | SourceFailed | None] = {}  # SHA256SUMS per mirror, read once
        self._sums_lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # identity: a gzip-encoded zip would break byte ranges and sizes.
            session.headers.update({"User-Agent": f"vae-passive/{__version__}", "Accept-Encoding": "identity"})
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _parallel(self, func: Callable[[int], Outcome], ids: Sequence[int]) -> list[Outcome]:
        """``func`` over ``ids`` on the worker threads; Ctrl-C stops the workers at their next chunk."""
        pool = ThreadPoolExecutor(max_workers=max(1, self.workers), thread_name_prefix="fetch")
        try:
            futures = [pool.submit(func, model_id) for model_id in ids]
            return [future.result() for future in futures]
        except BaseException:
            self._cancel.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def fetch(self, ids: Sequence[int]) -> list[Outcome]:
        """Fetch every id not cached yet; one outcome per id, in order. Finished models are kept on failure."""
        return self._parallel(self.fetch_one, ids)

    def fetch_one(self, model_id: int) -> Outcome:
        """Fetch one model (if not cached) from the first source that delivers a valid zip."""
        try:
            outcome = _install_once(
                model_id, lambda: self._try_sources(model_id, self._from_source, "fetched", "failed"), self._cancel
            )
        except VaePassiveError as error:  # NoSpace, or a lock folder that cannot be made
            outcome = Outcome(model_id, "failed", reason=str(error))
        except OSError as error:
            outcome = Outcome(model_id, "failed", reason=f"cannot write under {home.models_dir()}: {error}")
        self.progress.model_done(outcome)
        return outcome

    def _try_sources(
        self, model_id: int, attempt: Callable[[Source, int], tuple[str, int | None]], found: str, not_found: str
    ) -> Outcome:
        """``attempt`` each source in turn; the first success wins, else every source's reason is kept.

        The upstream bucket's 403 means it is closed, so later models in this process skip it.
        """
        failures, closed = [], False
        for source in self.sources:
            if source.upstream and source.location in _CLOSED_UPSTREAMS:
                failures.append(f"upstream: {UPSTREAM_CLOSED}")
                closed = True
                continue
            if source.location in self._unreachable:
                failures.append(f"{source.describe()}: unreachable, given up earlier in this run")
                continue
            try:
                location, size = attempt(source, model_id)
                return Outcome(model_id, found, redact_url(location), size)
            except NoSpace:
                raise
            except (SourceFailed, VaePassiveError) as error:
                if source.upstream and getattr(error, "status", None) == 403:
                    _CLOSED_UPSTREAMS.add(source.location)
                    failures.append(f"upstream: {UPSTREAM_CLOSED}")
                    closed = True
                else:
                    failures.append(f"{source.describe()}: {redact_text(str(error))}")
                if getattr(error, "unreachable", False):
                    self._unreachable.add(source.location)
        return Outcome(model_id, not_found, reason="; ".join(failures) or OFFLINE_MISSING, upstream_closed=closed)

    def _from_source(self, source: Source, model_id: int) -> tuple[str, int]:
        """Install ``model_id`` from ``source``; return where it came from and the size read."""
        if source.kind == "folder":
            zip_path = Path(source.zip_location(model_id))
            if zip_path.is_file():
                digest = sha256_file(zip_path)
                self._check_sum(source, model_id, digest)
                return str(zip_path), install_zip(zip_path, model_id, str(zip_path), digest, self.limits)
            folder = Path(source.location) / str(model_id)
            if folder.is_dir():
                return str(folder), install_folder(folder, model_id, str(folder))
            raise SourceFailed(f"neither {model_id}.zip nor {model_id}/ is there", 404)
        location = source.zip_location(model_id)
        self._published_sums(source)  # a mirror whose SHA256SUMS cannot be read fails before any download
        part = _staging_dir() / f"{model_id}.zip.part"
        download = self._download_gcs if source.kind == "gcs" else self._download_http
        try:
            digest = download(location, part)
            self._check_sum(source, model_id, digest)
            return location, install_zip(part, model_id, redact_url(location), digest, self.limits)
        finally:
            discard_partial(part)

    def _check_sum(self, source: Source, model_id: int, digest: str) -> None:
        """Refuse a zip whose sha256 differs from the one the mirror's ``SHA256SUMS`` lists for it."""
        expected = (self._published_sums(source) or {}).get(f"{model_id}.zip")
        if expected is not None and expected != digest:
            raise SourceFailed(
                f"{model_id}.zip has sha256 {digest}, but the mirror's {SUMS_FILE} says {expected}; "
                "the zip is damaged or was replaced (or SHA256SUMS is stale)"
            )

    def _published_sums(self, source: Source) -> dict[str, str] | None:
        """The mirror's ``SHA256SUMS`` as ``{"<id>.zip": sha256}``, read once per run; ``None`` when it has none."""
        if source.upstream or source.kind == "gcs":
            return None
        with self._sums_lock:
            if source.location not in self._sums:
                try:
                    self._sums[source.location] = self._read_sums(source)
                except SourceFailed as error:
                    self._sums[source.location] = error
            sums = self._sums[source.location]
        if isinstance(sums, SourceFailed):
            raise sums
        return sums

    def _read_sums(self, source: Source) -> dict[str, str] | None:
        """Read ``<mirror>/SHA256SUMS`` (at most ``SUMS_MAX_BYTES``); ``None`` when absent (404, 403, 410)."""
        too_big = SourceFailed(f"its {SUMS_FILE} is larger than {format_bytes(SUMS_MAX_BYTES)}; refusing it")
        if source.kind == "folder":
            path = Path(source.location) / SUMS_FILE
            if not path.is_file():
                return None
            if path.stat().st_size > SUMS_MAX_BYTES:
                raise too_big
            return parse_sums(path.read_text(errors="replace"))
        url = f"{source.location}/{SUMS_FILE}"
        failures = 0
        while True:
            retry_after = None
            try:
                with self._session().get(url, stream=True, timeout=self.timeout) as response:
                    if response.status_code in (403, 404, 410):
                        return None
                    if response.status_code == 200:
                        body = b""
                        for chunk in response.iter_content(NETWORK_CHUNK):
                            body += chunk
                            if len(body) > SUMS_MAX_BYTES:
                                raise too_big
                        return parse_sums(body.decode(errors="replace"))
                    if not retryable_status(response.status_code):
                        raise SourceFailed(f"cannot read its {SUMS_FILE}: {_status_text(response.status_code, None)}")
                    retry_after = response.headers.get("Retry-After")
                    why, answered = f"HTTP {response.status_code}", True
            except requests.RequestException as error:
                why, answered = _short(error), False
            failures += 1
            if failures >= self.policy.attempts:
                if answered:
                    raise SourceFailed(f"{why} after {failures} tries (reading its {SUMS_FILE})")
                raise SourceFailed(
                    f"network error after {failures} tries: {why} (reading its {SUMS_FILE})", unreachable=True
                )
            self._sleep(self.policy.delay(failures, retry_after))

    def _restart(self, failures: int, why: str) -> int:
        """Count a restart from byte 0; give up when they keep coming."""
        failures += 1
        if failures >= self.policy.attempts:
            raise SourceFailed(f"the server kept answering with {why} ({failures} times)")
        return failures

    def _gcs_fs(self):
        """One gcsfs file system per fetcher (credentials from the environment, as gcsfs finds them)."""
        with self._lock:
            if self._gcs is None:
                self._gcs = _gcsfs().GCSFileSystem()
            return self._gcs

    def _sleep(self, seconds: float) -> None:
        if self._cancel.wait(seconds):
            raise Cancelled

    def _download_http(self, url: str, part: Path) -> str:
        """Download ``url`` to ``part``, resuming a partial file with Range and retrying transient failures.

        Returns the sha256 of the whole file, hashed on the way in. At most ``limits.download_bytes`` are
        taken (a larger file is discarded) and all tries together end at ``limits.deadline``: a timer cuts
        a read that a trickling server keeps alive.
        """
        part.parent.mkdir(parents=True, exist_ok=True)
        shown = redact_url(url)
        validator = _resume_validator(part, shown)
        deadline = time.monotonic() + self.limits.deadline
        failures = 0
        while True:
            self._check_deadline(deadline, shown)
            offset = part.stat().st_size if validator is not None and part.exists() else 0
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            if offset and validator:
                headers["If-Range"] = validator
            received = 0
            retry_after = None
            try:
                with (
                    self._session().get(url, headers=headers, stream=True, timeout=self.timeout) as response,
                    _cut_at(response, deadline),
                ):
                    status = response.status_code
                    if status == 416 and offset:  # our partial file does not fit the server's: start over
                        validator, failures = None, self._restart(failures, "HTTP 416 on resume")
                        continue
                    if retryable_status(status):
                        retry_after = response.headers.get("Retry-After")
                        raise SourceFailed(f"HTTP {status} {response.reason}", status)
                    if status not in (200, 206):
                        raise SourceFailed(_status_text(status, response.reason), status)
                    span = _content_range(response.headers.get("Content-Range")) if status == 206 else None
                    if status == 206 and (span is None or span[0] != offset):  # not the range we asked for
                        validator, failures = None, self._restart(failures, "a range that was not asked for")
                        continue
                    if status == 200:
                        offset = 0  # the server ignored Range (or the file changed): restart cleanly
                        length = response.headers.get("Content-Length")
                        total = int(length) if length and length.isdigit() else None
                    else:
                        total = span[1] if span else None
                    validator = _strong_validator(response.headers) or ""
                    _sidecar(part).write_text(json.dumps({"url": shown, "validator": validator}))
                    cap = self.limits.download_bytes
                    if total is not None:
                        self._check_size(total, part, shown)
                        check_free_space(part.parent, total - offset)
                    digest = hashlib.sha256()
                    if offset:
                        _feed(digest, part)
                    with open(part, "ab" if offset else "wb") as out:
                        for chunk in response.iter_content(NETWORK_CHUNK):
                            if self._cancel.is_set():
                                raise Cancelled
                            received += len(chunk)
                            if offset + received > cap:  # no or a false Content-Length
                                self._check_size(offset + received, part, shown)
                            out.write(chunk)
                            digest.update(chunk)
                            self.progress.add_bytes(len(chunk))
                    self._check_deadline(deadline, shown)  # a cut connection without Content-Length ends quietly
                    if total is not None and offset + received != total:
                        raise requests.exceptions.ChunkedEncodingError(
                            f"got {offset + received} of {total} bytes before the connection ended"
                        )
                    return digest.hexdigest()
            except SourceFailed as error:
                if error.status is None or not retryable_status(error.status):
                    raise
                failures += 1
                if failures >= self.policy.attempts:
                    raise SourceFailed(f"{error} after {failures} tries", error.status) from None
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                self._check_deadline(deadline, shown)
                failures = 0 if received else failures + 1  # a connection that delivered bytes is no failure
                if failures >= self.policy.attempts:
                    raise SourceFailed(
                        f"network error after {failures} tries: {_short(error)}", unreachable=not received
                    ) from None
            except requests.RequestException as error:
                raise SourceFailed(f"cannot download {shown}: {_short(error)}") from None
            if not received:
                delay = self.policy.delay(max(1, failures), retry_after)
                self._sleep(max(0.0, min(delay, deadline - time.monotonic())))

    def _check_deadline(self, deadline: float, shown: str) -> None:
        if time.monotonic() >= deadline:
            raise SourceFailed(
                f"downloading {shown} took longer than {self.limits.deadline:g} s; "
                f"raise {DEADLINE_ENV} (seconds) for a slow connection"
            )

    def _check_size(self, size: int, part: Path, shown: str) -> None:
        """Refuse (and discard) a download of more than ``limits.download_bytes``."""
        if size > self.limits.download_bytes:
            discard_partial(part)
            raise SourceFailed(
                f"{shown} sends more than {format_bytes(self.limits.download_bytes)}; "
                f"raise {MAX_DOWNLOAD_ENV} (bytes) if the file is genuine"
            )

    def _download_gcs(self, location: str, part: Path) -> str:
        """Download ``gs://...`` with gcsfs (its own retries and credentials) to ``part``; return its sha256."""
        path = location.removeprefix("gs://")
        part.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        try:
            size = int(self._gcs_fs().info(path)["size"])
            self._check_size(size, part, location)
            check_free_space(part.parent, size)
            received = 0
            with self._gcs_fs().open(path, "rb", block_size=8 * CHUNK) as src, open(part, "wb") as out:
                while chunk := src.read(CHUNK):
                    if self._cancel.is_set():
                        raise Cancelled
                    received += len(chunk)
                    self._check_size(received, part, location)
                    out.write(chunk)
                    digest.update(chunk)
                    self.progress.add_bytes(len(chunk))
            return digest.hexdigest()
        except FileNotFoundError:
            raise SourceFailed("not found", 404) from None
        except (NoSpace, Cancelled, SourceFailed):
            raise
        except Exception as error:  # gcsfs raises its own HttpError types as well as OSError
            raise SourceFailed(f"cannot read {location}: {_short(error)}") from None

    def probe(self, ids: Sequence[int]) -> list[Outcome]:
        """Dry run: where each model would come from and its size, touching nothing on disk."""
        return self._parallel(self.probe_one, ids)

    def probe_one(self, model_id: int) -> Outcome:
        """Dry run of one model: cached, available (from where, how big), or missing (why)."""
        if is_cached(model_id):
            entry = cache_entry(model_id)
            return Outcome(model_id, "cached", str(entry.path), entry.size)
        return self._try_sources(model_id, self._probe_source, "available", "missing")

    def _probe_source(self, source: Source, model_id: int) -> tuple[str, int | None]:
        location = source.zip_location(model_id)
        if source.kind == "folder":
            if Path(location).is_file():
                return location, Path(location).stat().st_size
            folder = Path(source.location) / str(model_id)
            if folder.is_dir():
                return str(folder), _folder_size(folder)
            raise SourceFailed(f"neither {model_id}.zip nor {model_id}/ is there", 404)
        if source.kind == "gcs":
            try:
                return location, int(self._gcs_fs().info(location.removeprefix("gs://"))["size"])
            except FileNotFoundError:
                raise SourceFailed("not found", 404) from None
            except Exception as error:  # gcsfs raises its own HttpError types as well as OSError
                raise SourceFailed(f"cannot read {location}: {_short(error)}") from None
        try:
            session = self._session()
            response = session.head(location, timeout=self.timeout, allow_redirects=True)
            if response.status_code in (405, 501):  # no HEAD here: read the headers of a GET
                with session.get(location, stream=True, timeout=self.timeout) as response:
                    pass
        except requests.RequestException as error:
            raise SourceFailed(f"cannot connect: {_short(error)}") from None
        if response.status_code != 200:
            raise SourceFailed(_status_text(response.status_code, response.reason), response.status_code)
        length = response.headers.get("Content-Length")
        return location, int(length) if length and length.isdigit() else None


def _status_text(status: int, reason: str | None) -> str:
    text = f"HTTP {status} {reason or ''}".strip()
    return f"{text} (no such zip)" if status == 404 else f"{text} (access denied)" if status == 403 else text


def _short(error: BaseException) -> str:
    """The gist of an exception's message: urllib3 nests whole reprs, with the OS error deep inside."""
    text = str(error).strip()
    os_error = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    if os_error:
        return os_error.group(0).strip()
    lines = text.splitlines()
    return (lines[-1] if lines else type(error).__name__)[:300]


def _sidecar(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def discard_partial(part: Path) -> None:
    """Remove a partial download and the sidecar that would let it resume."""
    part.unlink(missing_ok=True)
    _sidecar(part).unlink(missing_ok=True)


def _strong_validator(headers) -> str | None:
    """A validator for ``If-Range``: a strong ETag, else Last-Modified (weak ETags are not allowed there)."""
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


def _resume_validator(part: Path, url: str) -> str | None:
    """The validator of a partial download of ``url`` worth resuming (``""``: none known), or ``None``."""
    try:
        meta = json.loads(_sidecar(part).read_text())
    except (OSError, ValueError):
        meta = None
    if not part.exists() or not isinstance(meta, dict) or meta.get("url") != url:
        discard_partial(part)
        return None
    return str(meta.get("validator") or "")


# --- import ---------------------------------------------------------------------------------------------


def _zip_id(path: Path) -> int:
    """The model id of a zip: from its name ``<id>.zip``, else from its one top folder."""
    if path.suffix.lower() == ".zip" and path.stem.isdigit():
        model_id = int(path.stem)
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                tops = {name.split("/")[0] for name in archive.namelist()}
        except (zipfile.BadZipFile, OSError):
            raise VaePassiveError(f"{path} is not a zip; pass <id>.zip files or <id>/ model folders") from None
        if len(tops) != 1 or not next(iter(tops)).isdigit():
            raise VaePassiveError(f"cannot tell the model id of {path}; rename it <id>.zip")
        model_id = int(tops.pop())
    catalogue.record(model_id)
    return model_id


def plan_import(paths: Iterable[str | Path]) -> list[tuple[int, Path]]:
    """(id, path) of each zip or model folder named by ``paths`` (zips, ``<id>/`` folders, or folders of them)."""
    items: list[tuple[int, Path]] = []
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise VaePassiveError(f"{path} does not exist; pass <id>.zip files, <id>/ model folders or folders of them")
        if path.is_file():
            items.append((_zip_id(path), path))
        elif path.name.isdigit() and (path / "model").is_dir():
            model_id = int(path.name)
            catalogue.record(model_id)
            items.append((model_id, path))
        else:
            found = [
                (int(child.stem if child.is_file() else child.name), child)
                for child in sorted(path.iterdir())
                if (child.is_file() and child.suffix.lower() == ".zip" and child.stem.isdigit())
                or (child.is_dir() and child.name.isdigit())
            ]
            if not found:
                raise VaePassiveError(f"{path} holds no <id>.zip files and no <id>/ model folders; nothing to import")
            for model_id, _ in found:
                catalogue.record(model_id)
            items.extend(found)
    seen: dict[int, Path] = {}
    for model_id, path in items:
        if model_id in seen:
            raise VaePassiveError(f"model {model_id} is given twice ({seen[model_id]} and {path}); pass only one")
        seen[model_id] = path
    return sorted(items)


def import_models(items: Sequence[tuple[int, Path]], progress: Progress | None = None) -> list[Outcome]:
    """Install each (id, zip or folder) of ``plan_import`` with the same checks as a download."""
    progress = progress or Progress()
    limits = Limits.from_env()
    outcomes = []
    for model_id, path in items:

        def work(model_id: int = model_id, path: Path = path) -> Outcome:
            source = str(path.resolve())
            if path.is_file():
                return Outcome(model_id, "imported", str(path), install_zip(path, model_id, source, limits=limits))
            return Outcome(model_id, "imported", str(path), install_folder(path, model_id, source))

        try:
            outcome = _install_once(model_id, work)
        except VaePassiveError as error:
            outcome = Outcome(model_id, "failed", str(path), reason=str(error))
        except OSError as error:
            outcome = Outcome(model_id, "failed", str(path), reason=f"cannot copy {path}: {error}")
        progress.model_done(outcome)
        outcomes.append(outcome)
    return outcomes


# --- the one call the batch runner needs ----------------------------------------------------------------


def ensure_model(model_id: int, sources: list[str] | None = None) -> Path:
    """The cached folder ``models/<id>/``, fetched first when missing (mirrors: ``sources`` or the environment)."""
    catalogue.record(model_id)
    if is_cached(model_id):
        return home.model_dir(model_id)
    with Fetcher(resolve_sources(sources), workers=1) as fetcher:
        outcome = fetcher.fetch_one(model_id)
    if outcome.status == "failed":
        if not fetcher.sources:
            raise VaePassiveError(f"model {model_id} {outcome.reason}")
        hint = (
            "the upstream bucket is closed: set VAE_PASSIVE_MIRROR to a copy or run `vae-passive import PATH`"
            if outcome.upstream_closed
            else "check the mirrors, or run `vae-passive import PATH` with a copy of the zip"
        )
        raise VaePassiveError(f"cannot fetch model {model_id} ({outcome.reason}); {hint}")
    return home.model_dir(model_id)


def download_file(url: str, part: Path, progress: Progress | None = None, limits: Limits | None = None) -> str:
    """Download one file (not a model) to ``part`` with the fetcher's machinery: Range resume of an earlier
    partial ``part``, retries with backoff, free-space check, ``limits`` (default: a model zip's).
    Returns its sha256; ``VaePassiveError`` on failure."""
    if offline():
        raise VaePassiveError(
            f"{OFFLINE_ENV}=1 allows no download of {redact_url(url)}; unset it or copy the file by hand"
        )
    with Fetcher([], workers=1, progress=progress, limits=limits) as fetcher:
        try:
            return fetcher._download_http(url, part)
        except SourceFailed as error:
            raise VaePassiveError(f"cannot download {redact_url(url)}: {error}") from None
