"""Where model zips come from: mirrors (``--mirror`` or ``VAE_PASSIVE_MIRROR``), then the upstream bucket.

A mirror is an ``http(s)://`` base URL, a folder (or ``file://`` URL) or ``gs://bucket/prefix`` holding
``<id>.zip`` files (folders: or ``<id>/`` model folders). The upstream bucket has answered 403 AccessDenied
since 2026. ``VAE_PASSIVE_OFFLINE=1`` keeps only folders. Credentials in a mirror's URL are used for the
request but never shown or stored (``redact_url``, ``redact_text``): neither are query values.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse, urlsplit, urlunsplit

from vae_passive import config
from vae_passive.errors import VaePassiveError
from vae_passive.untrusted import printable

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


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
# What libraries quote without a scheme: ``url: /zoo/SHA256SUMS?token=...`` (urllib3), ``user:pass@host``.
_BARE_QUERY = re.compile(r"(?<=[\w.~%/-])\?([^\s'\"<>()]+)")  # after a path: ``f?x=1``, not ``(5 MB)?``
_BARE_USERINFO = re.compile(r"[^\s'\"/@:()]+:[^\s'\"/@()]+@")
MIN_SECRET_CHARS = 6  # shorter values (``download=1``) are redacted where they stand in a URL, not everywhere
_SECRETS: set[str] = set()  # user names, passwords and query values of every URL redacted in this process


def _redact_query(query: str) -> str:
    """Every value of a query ``a=1&b`` becomes ``***`` (``a=***&***``): names stay, values never show."""
    pairs = [p.partition("=") for p in query.split("&")]
    return "&".join(f"{name}=***" if sep else ("***" if name else "") for name, sep, _ in pairs)


def _remember(values: Iterable[str | None]) -> None:
    """Keep secret values long enough to be told apart from ordinary words, in raw and %-decoded form."""
    for value in values:
        for form in {value or "", unquote(value or "")}:
            if len(form) >= MIN_SECRET_CHARS:
                _SECRETS.add(form)


def redact_url(url: str) -> str:
    """``url`` fit to show or store: ``user:pass@`` becomes ``***@``, every query value ``***``.

    The request itself uses the URL as given; only what is printed or written to disk is redacted. No list of
    secret parameter names can be complete (``api_key``, ``X-Amz-Credential``, ...), so no query value is shown.
    The secrets are also remembered, so that ``redact_text`` removes them wherever a library quotes them.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return _BARE_QUERY.sub(lambda m: "?" + _redact_query(m.group(1)), url)
    if "@" not in parts.netloc and not parts.query and not parts.fragment:
        return url
    _remember([parts.username, password, *(p.partition("=")[2] or p for p in parts.query.split("&"))])
    netloc = "***@" + parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    fragment = "***" if parts.fragment else ""
    return urlunsplit(parts._replace(netloc=netloc, query=_redact_query(parts.query), fragment=fragment))


def redact_text(text: str) -> str:
    """``text`` fit to show or store: printable (``untrusted.printable``), every URL in it redacted
    (``redact_url``), and so are a query or ``user:pass@`` quoted without a scheme (urllib3's ``url: /zoo/f?x=1``)
    and every secret value a redacted URL has held."""
    for secret in sorted(tuple(_SECRETS), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    text = _BARE_QUERY.sub(lambda match: "?" + _redact_query(match.group(1)), text)
    return printable(_BARE_USERINFO.sub("***@", text))


def _private(host: str) -> bool:
    """Whether ``host`` is (or resolves to) a loopback, private, link-local or otherwise non-public address."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return False  # it does not resolve: the request that follows fails on its own
        addresses = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in found]
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None)
        address = mapped or address
        if not address.is_global or address.is_multicast:
            return True
    return False


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def redirect_problem(mirror_url: str, current: str, target: str) -> str | None:
    """Why a redirect from ``current`` to ``target`` (met fetching ``mirror_url``) is not followed, or ``None``.

    The same scheme, host and port may redirect anywhere on it. Another host or port only over HTTPS (a zip's
    bytes and the next requests must not travel in clear text to a place the user never named), and never to a
    loopback or private address (``127.0.0.1``, ``10.x``, ``169.254.169.254``, a name resolving to one) unless the
    mirror itself is on one: a public mirror must not make the fetch probe the user's own network.
    """
    try:
        scheme, host, port = _origin(target)
    except ValueError:
        return f"{redact_url(current)} redirects to an unreadable address {printable(redact_url(target))!r}"
    if (scheme, host, port) == _origin(current):
        return None
    shown = f"{redact_url(current)} redirects to {printable(redact_url(target))}"
    if scheme != "https":
        return f"{shown}, another host or port over {scheme or 'no'}:// (only HTTPS is followed there)"
    if _private(host) and not _private(_origin(mirror_url)[1]):
        return f"{shown}, a loopback or private address, from a public mirror; not followed"
    return None


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
