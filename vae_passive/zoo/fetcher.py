"""Fetching models: each from the first source that delivers a valid zip, several at a time; dry-run probes;
a mirror's ``SHA256SUMS`` and ``index.json``; and ``ensure_model``, the one call the batch runner needs.

Sources are tried in order: mirrors, then the upstream bucket, which has answered 403 AccessDenied since
2026 (after its first 403, later models in the process skip it). A mirror's ``SHA256SUMS`` and
``index.json`` are read once per run when it has them: every zip is checked against the sha256 they list,
an id missing from the index is not asked for, and the index's origin goes into the cache manifest.
A mirror whose host does not resolve or refuses connections fails at once and is skipped for the run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests

from vae_passive import home
from vae_passive.errors import VaePassiveError
from vae_passive.zoo import catalogue
from vae_passive.zoo.cache import cache_entry, folder_size, is_cached, staging_dir
from vae_passive.zoo.checks import NoSpace
from vae_passive.zoo.connections import cut_at_deadline
from vae_passive.zoo.download import (
    TIMEOUT,
    Downloader,
    Small,
    SourceFailed,
    discard_partial,
    no_connection,
    short_error,
    status_text,
)
from vae_passive.zoo.fileguard import open_listed, read_small
from vae_passive.zoo.install import install_folder, install_once, install_zip
from vae_passive.zoo.limits import Limits, RetryPolicy
from vae_passive.zoo.mirror_index import (
    INDEX_FILE,
    METADATA_MAX_BYTES,
    SUMS_FILE,
    BadIndex,
    IndexEntry,
    NotMetadata,
    parse_index,
    parse_sums,
    what_it_is,
)
from vae_passive.zoo.progress import Outcome, Progress, format_bytes
from vae_passive.zoo.sources import (
    OFFLINE_MISSING,
    UPSTREAM_CLOSED,
    Source,
    redact_text,
    redact_url,
    resolve_sources,
)

_CLOSED_UPSTREAMS: set[str] = set()  # upstream URLs that answered 403 in this process
_L = TypeVar("_L")


def _text(small: Small) -> str:
    """A small file's bytes as UTF-8 text; ``NotMetadata`` when they are not."""
    try:
        return small.body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotMetadata(f"it is not UTF-8 text ({what_it_is(small.body, small.content_type)})") from None


@dataclass(frozen=True)
class MirrorFiles:
    """A mirror's ``SHA256SUMS`` (``{"<id>.zip": sha256}``) and ``index.json`` entries, each ``None`` when absent."""

    sums: dict[str, str] | None = None
    index: dict[int, IndexEntry] | None = None

    def entry(self, model_id: int) -> IndexEntry | None:
        """The index entry of ``model_id``; ``SourceFailed`` (404) when the mirror has an index without it."""
        if self.index is None:
            return None
        if model_id not in self.index:
            raise SourceFailed(f"not in its {INDEX_FILE}", 404)
        return self.index[model_id]

    def expected(self, model_id: int) -> list[tuple[str, str]]:
        """(file, sha256) of each of the mirror's files that lists ``<id>.zip``."""
        found = [(SUMS_FILE, (self.sums or {}).get(f"{model_id}.zip"))]
        found.append((INDEX_FILE, self.index[model_id].sha256 if self.index and model_id in self.index else None))
        return [(name, sha) for name, sha in found if sha is not None]


def _soft_404(model_id: int) -> str:
    return (
        f"{model_id}.zip is an HTML page, not a zip: the host answers 200 with a page for files it does not have "
        "(a soft 404), so it does not hold this model"
    )


def _check_not_a_page(part: Path, model_id: int) -> None:
    """Name a soft 404 as such, rather than as a corrupt zip."""
    with open_listed(part) as (handle, _):  # no link followed, a regular file only (zoo/fileguard.py)
        head = handle.read(512)
    if not head.startswith(b"PK") and what_it_is(head) == "an HTML page":
        raise SourceFailed(_soft_404(model_id), 404)


class Fetcher(Downloader):
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
        super().__init__(policy=policy, timeout=timeout, progress=progress, limits=limits)
        self.sources = list(sources)
        self.workers = workers
        self._unreachable: dict[str, str] = {}  # sources that never answered in this run: their failure
        self._meta: dict[str, MirrorFiles | SourceFailed] = {}  # SHA256SUMS and index.json per mirror, read once
        self._meta_lock = threading.Lock()
        self._meta_locks: dict[str, threading.Lock] = {}

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
            outcome = install_once(
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

        The upstream bucket's 403 means it is closed, so later models in this process skip it, and the outcome is
        marked so that the summary says how to use a mirror or ``import``. A source that never answered is given
        up for the run; later models repeat its first reason, so the summary shows one cause as one group.
        """
        failures, closed = [], False
        for source in self.sources:
            if source.upstream and source.location in _CLOSED_UPSTREAMS:
                failures.append(f"upstream: {UPSTREAM_CLOSED}")
                closed = True
                continue
            if source.location in self._unreachable:  # the same words as the model that found it: one group
                failures.append(self._unreachable[source.location])
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
                    self._unreachable.setdefault(source.location, failures[-1])
        return Outcome(model_id, not_found, reason="; ".join(failures) or OFFLINE_MISSING, upstream_closed=closed)

    def _from_source(self, source: Source, model_id: int) -> tuple[str, int]:
        """Install ``model_id`` from ``source``; return where it came from and the size read."""
        listed = self._mirror_files(source).entry(model_id)  # unreadable metadata fails before any download
        origin = listed.origin.as_dict() if listed else None
        if source.kind == "folder":
            zip_path = Path(source.zip_location(model_id))
            if os.path.lexists(zip_path):  # a link or FIFO is refused by install_zip, not skipped
                size = install_zip(
                    zip_path,
                    model_id,
                    str(zip_path),
                    None,
                    self.limits,
                    origin,
                    verify=lambda digest: self._check_sum(source, model_id, digest),
                    max_bytes=self.limits.download_bytes,  # before hashing a folder's huge file
                )
                return str(zip_path), size
            folder = Path(source.location) / str(model_id)
            if folder.is_dir():  # the index's origin and content digest hold for a folder as for a zip
                content = listed.content if listed else ""
                return str(folder), install_folder(folder, model_id, str(folder), origin, content)
            raise SourceFailed(f"neither {model_id}.zip nor {model_id}/ is there", 404)
        location = source.zip_location(model_id)
        part = staging_dir() / f"{model_id}.zip.part"
        download = self.download_gcs if source.kind == "gcs" else self.download_http
        try:
            digest = download(location, part)
            _check_not_a_page(part, model_id)
            self._check_sum(source, model_id, digest)
            return location, install_zip(part, model_id, redact_url(location), digest, self.limits, origin)
        finally:
            discard_partial(part)

    def _check_sum(self, source: Source, model_id: int, digest: str) -> None:
        """Refuse a zip whose sha256 differs from the one the mirror's ``SHA256SUMS`` or ``index.json`` lists."""
        for name, expected in self._mirror_files(source).expected(model_id):
            if expected != digest:
                raise SourceFailed(
                    f"{model_id}.zip has sha256 {digest}, but the mirror's {name} says {expected}; "
                    f"the zip is damaged or was replaced (or {name} is stale)"
                )

    def _mirror_files(self, source: Source) -> MirrorFiles:
        """The mirror's ``SHA256SUMS`` and ``index.json``, each read once per run (none for upstream and gs://).

        One lock per mirror: a slow mirror holds up only the models that wait for its files."""
        if source.upstream or source.kind == "gcs":
            return MirrorFiles()
        with self._meta_lock:
            lock = self._meta_locks.setdefault(source.location, threading.Lock())
        with lock:
            if source.location not in self._meta:
                try:
                    self._meta[source.location] = self._read_mirror_files(source)
                except SourceFailed as error:
                    self._meta[source.location] = error
            files = self._meta[source.location]
        if isinstance(files, SourceFailed):
            raise files
        return files

    def _read_mirror_files(self, source: Source) -> MirrorFiles:
        """Read ``SHA256SUMS`` and ``index.json`` from the mirror; ``SourceFailed`` when one cannot be trusted."""
        return MirrorFiles(
            self._listing(source, SUMS_FILE, lambda small: parse_sums(_text(small), small.content_type)),
            self._listing(source, INDEX_FILE, lambda small: parse_index(small.body, small.content_type)),
        )

    def _listing(self, source: Source, name: str, parse: Callable[[Small], _L]) -> _L | None:
        """The mirror's file ``name`` parsed, by ``mirror_index``'s rule: ``None`` when absent or not what it claims
        (an HTML page for a missing file, junk, too large: one warning names it), ``SourceFailed`` when it is one
        but cannot be trusted."""
        small = self._fetch_small(source, name)
        if small is None:
            return None
        try:
            if small.oversized:
                raise NotMetadata(f"it is larger than {format_bytes(METADATA_MAX_BYTES)}")
            return parse(small)
        except NotMetadata as error:
            self.progress.warn(f"mirror {source.describe()}: its {name} is not one, so it is not used: {error}")
            return None
        except BadIndex as error:
            raise SourceFailed(f"its {name} cannot be used: {error}") from None

    def _fetch_small(self, source: Source, name: str) -> Small | None:
        """``<mirror>/<name>``, at most ``METADATA_MAX_BYTES`` of it; ``None`` when absent (404, 403, 410).

        Over HTTP with a download's retries, deadline and redirect rules (``Downloader.read_small``)."""
        if source.kind == "folder":
            path = Path(source.file_location(name))
            if not os.path.lexists(path):
                return None
            try:  # no link, FIFO or device; at most METADATA_MAX_BYTES
                return Small(read_small(path, METADATA_MAX_BYTES), "", oversized=False)
            except VaePassiveError as error:
                raise SourceFailed(str(error)) from None
        try:
            return self.read_small(source.file_location(name), METADATA_MAX_BYTES)
        except SourceFailed as error:
            raise SourceFailed(f"{error} (reading its {name})", error.status, error.unreachable) from None

    def listed_ids(self) -> list[int]:
        """The ids the mirrors' index.json files list (``fetch --all-listed``); ``VaePassiveError`` when there is no
        mirror, or one has no usable index.json (then what it holds is unknown)."""
        mirrors = [source for source in self.sources if not source.upstream]
        if not mirrors:
            raise VaePassiveError("--all-listed needs a mirror: give --mirror URL_OR_FOLDER or set VAE_PASSIVE_MIRROR")
        listed: set[int] = set()
        for source in mirrors:
            try:
                index = None if source.kind == "gcs" else self._mirror_files(source).index
            except SourceFailed as error:
                raise VaePassiveError(f"mirror {source.describe()}: {redact_text(str(error))}") from None
            if index is None:
                raise VaePassiveError(
                    f"mirror {source.describe()} has no usable {INDEX_FILE}, so --all-listed cannot know what it "
                    "holds; choose models with --ids or a filter (a mirror gets one from `vae-passive mirror build`)"
                )
            listed.update(index)
        return sorted(listed)

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
        listed = self._mirror_files(source).entry(model_id)
        if listed is not None:  # the index says it is there and how big: no request
            return location, listed.size
        if source.kind == "folder":
            if Path(location).is_file():
                return location, Path(location).stat().st_size
            folder = Path(source.location) / str(model_id)
            if folder.is_dir():
                return str(folder), folder_size(folder)
            raise SourceFailed(f"neither {model_id}.zip nor {model_id}/ is there", 404)
        if source.kind == "gcs":
            try:
                return location, int(self._gcs_fs().info(location.removeprefix("gs://"))["size"])
            except FileNotFoundError:
                raise SourceFailed("not found", 404) from None
            except Exception as error:  # gcsfs raises its own HttpError types as well as OSError
                raise SourceFailed(f"cannot read {location}: {short_error(error)}") from None
        try:
            with cut_at_deadline(time.monotonic() + self.limits.deadline):
                with self.request("HEAD", location) as response:
                    pass
                if response.status_code in (405, 501):  # no HEAD here: read the headers of a GET
                    with self.request("GET", location) as response:
                        pass
        except requests.RequestException as error:
            refused = no_connection(error, location)
            raise refused or SourceFailed(f"cannot connect: {short_error(error)}") from None
        if response.status_code == 200 and response.headers.get("Content-Type", "").lower().startswith("text/html"):
            raise SourceFailed(_soft_404(model_id), 404)
        if response.status_code != 200:
            raise SourceFailed(status_text(response.status_code, response.reason), response.status_code)
        length = response.headers.get("Content-Length")
        return location, int(length) if length and length.isdigit() else None


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
