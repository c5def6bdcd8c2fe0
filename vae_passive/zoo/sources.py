"""Where model zips come from: mirrors (``--mirror`` or ``VAE_PASSIVE_MIRROR``), then the upstream bucket.

A mirror is an ``http(s)://`` base URL, a folder (or ``file://`` URL) or ``gs://bucket/prefix`` holding
``<id>.zip`` files (folders: or ``<id>/`` model folders). The upstream bucket has answered 403 AccessDenied
since 2026. ``VAE_PASSIVE_OFFLINE=1`` keeps only folders. Credentials in a mirror's URL are used for the
request but never shown or stored (``redact_url``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse, urlsplit, urlunsplit

from vae_passive import config
from vae_passive.errors import VaePassiveError

UPSTREAM_URL = "https://storage.googleapis.com/disentanglement_lib/unsupervised_study_v1"
MIRROR_ENV = config.MIRROR
OFFLINE_ENV = config.OFFLINE
UPSTREAM_ENV = config.UPSTREAM
UPSTREAM_CLOSED = "the bucket is closed (403 AccessDenied since 2026)"
OFFLINE_MISSING = (
    f"not cached, and {OFFLINE_ENV}=1 allows no download; "
    f"import it with `vae-passive import PATH` or unset {OFFLINE_ENV}"
)
CLOSED_BUCKET_HELP = (
    "The upstream bucket storage.googleapis.com/disentanglement_lib has answered 403 AccessDenied since 2026. "
    "Fetch from a copy instead: `vae-passive fetch --mirror URL_OR_FOLDER ...` (or set VAE_PASSIVE_MIRROR), "
    "or add zips or folders you already have with `vae-passive import PATH ...`."
)


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

    def file_location(self, name: str) -> str:
        """The URL or path of the file ``name`` (``<id>.zip``, ``SHA256SUMS``, ``index.json``) in this source.

        A query on an HTTP base stays after the file name (``.../files?download=1`` gives
        ``.../files/0.zip?download=1``, Zenodo's shape; a signed ``?token=`` works the same way).
        """
        if self.kind == "folder":
            return str(Path(self.location) / name)
        parts = urlsplit(self.location)
        return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + quote(name)))

    def zip_location(self, model_id: int) -> str:
        """The URL or path of ``<id>.zip`` in this source."""
        return self.file_location(f"{model_id}.zip")


def offline() -> bool:
    """``VAE_PASSIVE_OFFLINE=1``: no network at all."""
    return config.flag(OFFLINE_ENV)


def upstream_url() -> str:
    """Base URL of the upstream zips (``VAE_PASSIVE_UPSTREAM`` replaces it, e.g. for a proxy of the bucket)."""
    return config.text(UPSTREAM_ENV).rstrip("/") or UPSTREAM_URL


def sources_from_env() -> list[str]:
    """The mirrors named in ``VAE_PASSIVE_MIRROR``, separated by whitespace."""
    return config.words(MIRROR_ENV)


def gcs_module():
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
        parts = urlsplit(text)
        return Source("http", urlunsplit(parts._replace(path=parts.path.rstrip("/"), fragment="")))
    if scheme == "gs":
        if not parsed.netloc:
            raise VaePassiveError(f"mirror {text!r} names no bucket; write gs://bucket/prefix")
        gcs_module()
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
