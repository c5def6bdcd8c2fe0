"""Downloading one file from a stranger: HTTP with Range resume, retries with backoff and jitter, a size cap
and a deadline (``Limits``), hashing on the way in; ``gs://`` through gcsfs. ``download`` is the public call
for a single file; the model ``Fetcher`` builds on ``Downloader``.

A partial download ``<name>.part`` keeps a sidecar ``<name>.part.json`` (the URL, redacted, and the server's
validator) so that the next try resumes it only when it is the same file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from vae_passive import __version__
from vae_passive.errors import VaePassiveError
from vae_passive.untrusted import printable
from vae_passive.zoo.checks import CHUNK, check_free_space
from vae_passive.zoo.connections import cut_at_deadline, new_session, watch_response
from vae_passive.zoo.fileguard import make_staging, open_staging, read_staging
from vae_passive.zoo.limits import DEADLINE_ENV, MAX_DOWNLOAD_ENV, Limits, RetryPolicy, retryable_status
from vae_passive.zoo.progress import Progress, format_bytes
from vae_passive.zoo.sources import OFFLINE_ENV, gcs_module, offline, redact_text, redact_url, redirect_problem

NETWORK_CHUNK = 1 << 18  # reads from a socket: progress and Ctrl-C every 256 KiB
TIMEOUT = (10.0, 60.0)  # seconds to connect, seconds between two reads
SIDECAR_MAX_BYTES = 64 << 10
MAX_REDIRECTS = 10
_T = TypeVar("_T")


class Cancelled(Exception):
    """The run was interrupted; workers stop at the next chunk."""


class SourceFailed(Exception):
    """One source could not deliver one file (a model's zip); ``status`` is the HTTP status when there was one.

    ``unreachable``: every try failed to get an answer at all, so the source is skipped for the rest of the run.
    """

    def __init__(self, reason: str, status: int | None = None, unreachable: bool = False):
        super().__init__(reason)
        self.status = status
        self.unreachable = unreachable


def _content_range(header: str | None) -> tuple[int, int | None] | None:
    """(start, total) of a ``Content-Range: bytes START-END/TOTAL`` header."""
    match = re.match(r"^\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*$", header or "")
    if not match:
        return None
    return int(match.group(1)), None if match.group(2) == "*" else int(match.group(2))


class _Restart(Exception):
    """The answer cannot be glued to the partial file: start again from byte 0, at once."""


@dataclass(frozen=True)
class Small:
    """A small file read into memory (``Downloader.read_small``): its bytes (at most the cap), its Content-Type,
    and whether it is larger than the cap (then ``body`` is only a prefix)."""

    body: bytes
    content_type: str
    oversized: bool


def no_connection(error: BaseException, url: str) -> SourceFailed | None:
    """A ``SourceFailed`` (unreachable) when ``error`` says the host does not resolve or refuses connections.

    Retrying those only makes a user wait (six tries took 20-40 s): the address is wrong or the server is
    down, and neither changes in a minute. Timeouts and dropped connections are not this; they are retried.
    """
    cause = error.args[0] if error.args else None
    reason = getattr(cause, "reason", cause)
    if not isinstance(reason, NewConnectionError):
        return None
    host = urlsplit(url).netloc.rpartition("@")[2] or url
    why = "does not resolve" if isinstance(reason, NameResolutionError) else "refuses connections"
    return SourceFailed(f"cannot connect: {host} {why} ({short_error(reason)})", unreachable=True)


def status_text(status: int, reason: str | None) -> str:
    """An HTTP error status as messages show it, with what 404 and 403 mean here."""
    text = f"HTTP {status} {printable(reason or '')}".strip()
    return f"{text} (no such zip)" if status == 404 else f"{text} (access denied)" if status == 403 else text


def short_error(error: BaseException) -> str:
    """The gist of an exception's message: urllib3 nests whole reprs, with the OS error deep inside. Redacted and
    printable (``redact_text``): urllib3 quotes the URL's path and query, and a server's words may hold escapes."""
    text = redact_text(str(error)).strip()
    os_error = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    if os_error:
        return os_error.group(0).strip()
    lines = text.splitlines()
    return (lines[-1] if lines else type(error).__name__)[:300]


def _sidecar(part: Path) -> Path:
    """``<part>.json``: the URL and validator that let a partial download resume."""
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
    """The validator of a partial download of ``url`` worth resuming (``""``: none known), or ``None``.

    The partial file and its sidecar are staging files: a link or another user's file is refused (``UnsafeFile``).
    """
    try:
        meta = json.loads(read_staging(_sidecar(part), SIDECAR_MAX_BYTES))
    except (FileNotFoundError, ValueError):
        meta = None
    if not isinstance(meta, dict) or meta.get("url") != url or _partial_size(part) is None:
        discard_partial(part)
        return None
    return str(meta.get("validator") or "")


def _partial_size(part: Path) -> int | None:
    """The size of the partial download ``part`` (a checked staging file), or ``None`` when there is none."""
    try:
        with open_staging(part, append=True) as handle:
            return os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        return None


def _write_sidecar(part: Path, url: str, validator: str) -> None:
    """Write the sidecar as a new staging file: never through a link planted in its place."""
    with open_staging(_sidecar(part), append=False) as handle:
        handle.write(json.dumps({"url": url, "validator": validator}).encode())


_D = TypeVar("_D", bound="Downloader")


@dataclass
class _Transfer:
    """One request across its tries: from where, until when, and what the tries so far left."""

    url: str
    shown: str  # the URL as messages show it: credentials redacted
    deadline: float  # ``time.monotonic()`` at which all tries end, metadata and redirects included
    failures: int = 0
    received: int = 0  # bytes received by the current try
    retry_after: str | None = None  # the current try's ``Retry-After`` header


@dataclass(kw_only=True)
class _Download(_Transfer):
    """A download to a partial file, which a later try (or run) resumes."""

    part: Path
    validator: str | None  # of the partial file worth resuming (``""``: none known); ``None``: start at byte 0


class Downloader:
    """Downloads for one run: a ``requests.Session`` per thread, retries by ``policy``, ``limits`` on every file,
    bytes reported to ``progress``; setting ``_cancel`` stops every download at its next chunk."""

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = TIMEOUT,
        progress: Progress | None = None,
        limits: Limits | None = None,
    ):
        self.policy = policy or RetryPolicy.from_env()
        self.timeout = timeout
        self.progress = progress or Progress()
        self.limits = limits or Limits.from_env()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._gcs = None

    def __enter__(self: _D) -> _D:
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
            # identity: a gzip-encoded zip would break byte ranges and sizes.
            session = new_session({"User-Agent": f"vae-passive/{__version__}", "Accept-Encoding": "identity"})
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _restart(self, failures: int, why: str) -> int:
        """Count a restart from byte 0; give up when they keep coming."""
        failures += 1
        if failures >= self.policy.attempts:
            raise SourceFailed(f"the server kept answering with {why} ({failures} times)")
        return failures

    def _gcs_fs(self):
        """One gcsfs file system per downloader (credentials from the environment, as gcsfs finds them)."""
        with self._lock:
            if self._gcs is None:
                self._gcs = gcs_module().GCSFileSystem()
            return self._gcs

    def _sleep(self, seconds: float) -> None:
        if self._cancel.wait(seconds):
            raise Cancelled

    def download_http(self, url: str, part: Path) -> str:
        """Download ``url`` to ``part``, resuming a partial file with Range and retrying transient failures.

        Returns the sha256 of the whole file, hashed on the way in. At most ``limits.download_bytes`` are
        taken (a larger file is discarded) and all tries together end at ``limits.deadline``.
        """
        make_staging(part.parent)
        shown = redact_url(url)
        deadline = time.monotonic() + self.limits.deadline
        job = _Download(url, shown, deadline, part=part, validator=_resume_validator(part, shown))
        return self._retrying(job, lambda: self._try_once(job))

    def read_small(self, url: str, max_bytes: int) -> Small | None:
        """A small file (a mirror's ``SHA256SUMS``, ``index.json``) read into memory, with a download's retries
        and deadline; ``None`` when the server says it has none (403, 404, 410)."""
        job = _Transfer(url, redact_url(url), time.monotonic() + self.limits.deadline)
        return self._retrying(job, lambda: self._read_once(job, max_bytes))

    def _retrying(self, job: _Transfer, attempt: Callable[[], _T]) -> _T:
        """``attempt`` until it returns, retrying transient failures with backoff; every try, its redirects and
        the waits between tries end at ``job.deadline`` (a timer cuts a read that a trickling server keeps
        alive, headers included)."""
        while True:
            self._check_deadline(job.deadline, job.shown)
            job.received, job.retry_after = 0, None
            try:
                with cut_at_deadline(job.deadline):
                    return attempt()
            except _Restart:
                continue  # restarting from byte 0 needs no wait
            except SourceFailed as error:
                if error.status is None or not retryable_status(error.status):
                    raise
                job.failures += 1
                if job.failures >= self.policy.attempts:
                    raise SourceFailed(f"{error} after {job.failures} tries", error.status) from None
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                refused = no_connection(error, job.url)
                if refused is not None:
                    raise refused from None
                self._check_deadline(job.deadline, job.shown)
                # a connection that delivered bytes is no failure
                job.failures = 0 if job.received else job.failures + 1
                if job.failures >= self.policy.attempts:
                    raise SourceFailed(
                        f"network error after {job.failures} tries: {short_error(error)}", unreachable=not job.received
                    ) from None
            except requests.RequestException as error:
                raise SourceFailed(f"cannot download {job.shown}: {short_error(error)}") from None
            if not job.received:
                delay = self.policy.delay(max(1, job.failures), job.retry_after)
                self._sleep(max(0.0, min(delay, job.deadline - time.monotonic())))

    def request(self, method: str, url: str, headers: dict[str, str] | None = None) -> requests.Response:
        """One streamed request whose redirects are followed here, each checked by ``redirect_problem`` (another
        host or port only over HTTPS, never to a private address from a public mirror), at most ``MAX_REDIRECTS``.
        Call it inside ``_retrying`` (or a ``cut_at_deadline`` block) so that the deadline covers it."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            session = self._session()
            response = session.request(
                method, current, headers=headers, stream=True, timeout=self.timeout, allow_redirects=False
            )
            target = session.get_redirect_target(response)
            if target is None:
                watch_response(response)
                return response
            response.close()
            target = urljoin(current, target)
            problem = redirect_problem(url, current, target)
            if problem is not None:
                raise SourceFailed(problem)
            current = target
        raise SourceFailed(f"{redact_url(url)} redirects more than {MAX_REDIRECTS} times")

    def _read_once(self, job: _Transfer, max_bytes: int) -> Small | None:
        """One GET of a small file: at most ``max_bytes`` + 1 bytes of it are read."""
        with self.request("GET", job.url) as response:
            status = response.status_code
            if status in (403, 404, 410):
                return None
            if retryable_status(status):
                job.retry_after = response.headers.get("Retry-After")
                raise SourceFailed(status_text(status, response.reason), status)
            if status != 200:
                raise SourceFailed(status_text(status, response.reason), status)
            content_type = printable(response.headers.get("Content-Type", ""))[:100]
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                return Small(b"", content_type, oversized=True)
            body = bytearray()
            for chunk in response.iter_content(NETWORK_CHUNK):
                job.received += len(chunk)
                body += chunk
                if len(body) > max_bytes:
                    return Small(bytes(body[:max_bytes]), content_type, oversized=True)
            self._check_deadline(job.deadline, job.shown)  # an answer cut at the deadline is no answer
            return Small(bytes(body), content_type, oversized=False)

    def _try_once(self, job: _Download) -> str:
        """One GET, from where the partial file ends: the sha256 of the whole file (``_Restart``: from byte 0)."""
        offset = (_partial_size(job.part) or 0) if job.validator is not None else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        if offset and job.validator:
            headers["If-Range"] = job.validator
        with self.request("GET", job.url, headers) as response:
            span = self._accept(response, job, offset)
            if span is None:
                raise _Restart
            offset, total = span
            job.validator = _strong_validator(response.headers) or ""
            _write_sidecar(job.part, job.shown, job.validator)
            if total is not None:
                self._check_size(total, job.part, job.shown)
                check_free_space(job.part.parent, total - offset)
            digest = self._receive(response, job, offset)
            self._check_deadline(job.deadline, job.shown)  # a cut connection without Content-Length ends quietly
            if total is not None and offset + job.received != total:
                raise requests.exceptions.ChunkedEncodingError(
                    f"got {offset + job.received} of {total} bytes before the connection ended"
                )
            return digest

    def _accept(self, response: requests.Response, job: _Download, offset: int) -> tuple[int, int | None] | None:
        """(offset the body starts at, total size if known) of an answer worth reading; ``None`` to restart at
        byte 0; ``SourceFailed`` for an error status (``job.retry_after`` set when the server asked)."""
        status = response.status_code
        if status == 416 and offset:  # our partial file does not fit the server's: start over
            job.validator, job.failures = None, self._restart(job.failures, "HTTP 416 on resume")
            return None
        if retryable_status(status):
            job.retry_after = response.headers.get("Retry-After")
            raise SourceFailed(status_text(status, response.reason), status)
        if status not in (200, 206):
            raise SourceFailed(status_text(status, response.reason), status)
        if status == 200:  # the server ignored Range (or the file changed): restart cleanly
            length = response.headers.get("Content-Length")
            return 0, int(length) if length and length.isdigit() else None
        span = _content_range(response.headers.get("Content-Range"))
        if span is None or span[0] != offset:  # not the range we asked for
            job.validator, job.failures = None, self._restart(job.failures, "a range that was not asked for")
            return None
        return span

    def _receive(self, response: requests.Response, job: _Download, offset: int) -> str:
        """Write the body to the partial file from ``offset`` on, counting ``job.received``; the whole file's sha256."""
        cap = self.limits.download_bytes
        digest = hashlib.sha256()
        with open_staging(job.part, append=bool(offset)) as out:
            if offset:  # hash what is there through the descriptor the new bytes go to
                while chunk := out.read(CHUNK):
                    digest.update(chunk)
                if out.tell() != offset:
                    raise requests.exceptions.ChunkedEncodingError(f"{job.part} changed size while resuming")
            for chunk in response.iter_content(NETWORK_CHUNK):
                if self._cancel.is_set():
                    raise Cancelled
                job.received += len(chunk)
                if offset + job.received > cap:  # no or a false Content-Length
                    self._check_size(offset + job.received, job.part, job.shown)
                out.write(chunk)
                digest.update(chunk)
                self.progress.add_bytes(len(chunk))
        return digest.hexdigest()

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

    def download_gcs(self, location: str, part: Path) -> str:
        """Download ``gs://...`` with gcsfs (its own retries and credentials) to ``part``; return its sha256."""
        path = location.removeprefix("gs://")
        make_staging(part.parent)
        digest = hashlib.sha256()
        try:
            size = int(self._gcs_fs().info(path)["size"])
            self._check_size(size, part, location)
            check_free_space(part.parent, size)
            received = 0
            with self._gcs_fs().open(path, "rb", block_size=8 * CHUNK) as src, open_staging(part, False) as out:
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
        except (VaePassiveError, Cancelled, SourceFailed):  # NoSpace, UnsafeFile
            raise
        except Exception as error:  # gcsfs raises its own HttpError types as well as OSError
            raise SourceFailed(f"cannot read {location}: {short_error(error)}") from None


def download(url: str, part: Path, progress: Progress | None = None, limits: Limits | None = None) -> str:
    """Download one file (not a model) to ``part``: Range resume of an earlier partial ``part``, retries with
    backoff, free-space check, ``limits`` (default: a model zip's). Returns its sha256; ``VaePassiveError`` on
    failure. The caller removes ``part`` (``discard_partial``) when done with it."""
    if offline():
        raise VaePassiveError(
            f"{OFFLINE_ENV}=1 allows no download of {redact_url(url)}; unset it or copy the file by hand"
        )
    with Downloader(progress=progress, limits=limits) as downloader:
        try:
            return downloader.download_http(url, part)
        except SourceFailed as error:
            raise VaePassiveError(f"cannot download {redact_url(url)}: {error}") from None
