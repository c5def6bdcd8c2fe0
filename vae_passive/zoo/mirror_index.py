"""The two files at a mirror's root besides its zips: ``SHA256SUMS`` and ``index.json``.

``SHA256SUMS`` is ``sha256sum``'s output (``<sha256>  <id>.zip``), so anyone can check a mirror with
``sha256sum -c``. ``index.json`` (written by ``vae-passive mirror build``) lists which models the mirror
holds, with their catalogue fields, size, sha256 and origin, so a fetch asks only for zips that exist and
knows a retrained model as such. Both are read as strangers' data: capped in size, every field checked.

Both files are optional, and a host may answer 200 with something else (an HTML page for every unknown path, a
"soft 404"). One rule: a file that is not what its name claims (``NotMetadata``: HTML, junk, not JSON, another
format, too large) counts as absent; a file that is one but cannot be trusted (``BadIndex``: a bad entry, a
model listed twice, conflicting sha256 lines) makes the mirror unusable, since it may be right about any zip.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from vae_passive.untrusted import printable
from vae_passive.zoo import catalogue
from vae_passive.zoo.origin import Origin

SUMS_FILE = "SHA256SUMS"
INDEX_FILE = "index.json"
INDEX_FORMAT = "vae-passive/mirror/1"
METADATA_MAX_BYTES = 16 << 20  # either file; 12,600 entries take about 4 MB of index.json
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BadIndex(ValueError):
    """A ``SHA256SUMS`` or index.json that is one but cannot be used; the message says why."""


class NotMetadata(BadIndex):
    """Not a ``SHA256SUMS`` or index.json at all (an HTML page, junk, another format): treated as absent."""


def what_it_is(data: str | bytes, content_type: str = "") -> str:
    """A short name for what came instead of the file asked for: "an HTML page" for a soft 404, else its type."""
    head = (data[:512].encode(errors="replace") if isinstance(data, str) else data[:512]).lstrip().lower()
    if content_type.lower().startswith(("text/html", "application/xhtml")) or head.startswith(
        (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<script")
    ):
        return "an HTML page"
    return f"of type {content_type}" if content_type else "something else"


@dataclass(frozen=True)
class IndexEntry:
    """One model of a mirror: its zip's name, size and sha256, its origin and a digest of its files."""

    model_id: int
    size: int
    sha256: str
    origin: Origin
    content: str = ""  # sha256 of the (name, size, CRC-32) list of the model's files: what "unchanged" compares

    @property
    def file(self) -> str:
        return f"{self.model_id}.zip"

    def as_dict(self) -> dict[str, object]:
        """The entry as index.json stores it: id, catalogue fields, file, size, sha256, origin, content."""
        fields = catalogue.record(self.model_id).public_dict()
        del fields["id"], fields["channels"]
        return {
            "id": self.model_id,
            **fields,
            "file": self.file,
            "size": self.size,
            "sha256": self.sha256,
            "origin": self.origin.as_dict(),
            "content": self.content,
        }


def content_digest(crcs: dict[str, tuple[int, str]]) -> str:
    """sha256 of the sorted (name, size, CRC-32) list of a model's files: equal digests, equal zips (and folders)."""
    rows = [[name, size, crc] for name, (size, crc) in sorted(crcs.items())]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def parse_sums(text: str, content_type: str = "") -> dict[str, str]:
    """``{name: sha256}`` from ``sha256sum`` output (``<sha256>  <name>``, or ``*<name>`` in binary mode).

    ``NotMetadata`` unless every non-empty line is such a line (HTML, junk, tab-separated ``<sha256>\t<name>``);
    ``BadIndex`` when a name is listed twice with different sha256 (which one would be right?).
    """
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = re.match(r"^([0-9a-fA-F]{64}) [ *](?:\./)?([^\x00-\x1f\x7f]+)$", line.strip())
        if not match:
            raise NotMetadata(f"line {number} is not `<sha256>  <name>` ({what_it_is(text, content_type)})")
        name, sha256 = match.group(2), match.group(1).lower()
        if sums.setdefault(name, sha256) != sha256:
            raise BadIndex(f"it lists {name!r} twice with different sha256")
    return sums


def render_sums(entries: Iterable[IndexEntry]) -> str:
    """``SHA256SUMS`` for ``entries``, sorted by id (stable: the same entries give the same bytes)."""
    return "".join(f"{e.sha256}  {e.file}\n" for e in sorted(entries, key=lambda e: e.model_id))


def render_index(entries: Iterable[IndexEntry]) -> str:
    """``index.json`` for ``entries``, sorted by id; no time stamp, so an unchanged mirror keeps the same bytes."""
    models = [e.as_dict() for e in sorted(entries, key=lambda e: e.model_id)]
    return json.dumps({"format": INDEX_FORMAT, "count": len(models), "models": models}, indent=1) + "\n"


def _entry(item: object) -> IndexEntry:
    """One checked entry of index.json's ``models``."""
    if not isinstance(item, dict):
        raise BadIndex("an entry of models is not an object")
    model_id, size, sha256 = item.get("id"), item.get("size"), item.get("sha256")
    if not isinstance(model_id, int) or isinstance(model_id, bool) or not 0 <= model_id < catalogue.NUM_MODELS:
        raise BadIndex(f"an entry has the id {model_id!r}, not a model id 0-{catalogue.NUM_MODELS - 1}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BadIndex(f"model {model_id} has the size {size!r}")
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise BadIndex(f"model {model_id} has no sha256 of 64 lower-case hex digits")
    if item.get("file", f"{model_id}.zip") != f"{model_id}.zip":
        raise BadIndex(f"model {model_id} names the file {item.get('file')!r}, not {model_id}.zip")
    content = item.get("content", "")
    if not isinstance(content, str) or not (content == "" or _SHA256.match(content)):
        raise BadIndex(f"model {model_id} has a content digest that is not 64 lower-case hex digits")
    origin_value = item.get("origin")
    if isinstance(origin_value, dict) and not all(_clean_text(v) for v in origin_value.values() if isinstance(v, str)):
        raise BadIndex(f"model {model_id}'s origin holds a string that is not printable UTF-8 text")
    # No origin, or one this version does not know, is not taken for an original.
    origin = Origin.from_value(item.get("origin")) or Origin("trained")
    return IndexEntry(model_id, size, sha256, origin, content)


def _clean_text(value: str) -> bool:
    """Whether a string from index.json can be stored and shown as it is: UTF-8 (no lone surrogate), no control
    character (``untrusted.printable`` would change it)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return printable(value) == value


def parse_index(data: bytes, content_type: str = "") -> dict[int, IndexEntry]:
    """``{id: entry}`` of an index.json; ``NotMetadata`` for something else (not JSON, another format), ``BadIndex``
    for an index that cannot be trusted (a bad entry, an id twice)."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise NotMetadata(f"it is not JSON ({what_it_is(data, content_type)}: {printable(str(error))[:100]})") from None
    if not isinstance(document, dict) or document.get("format") != INDEX_FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        raise NotMetadata(f"its format is {printable(repr(found))[:100]}, not {INDEX_FORMAT!r}")
    models = document.get("models")
    if not isinstance(models, list):
        raise BadIndex("it has no list of models")
    entries: dict[int, IndexEntry] = {}
    for item in models:
        entry = _entry(item)
        if entry.model_id in entries:
            raise BadIndex(f"it lists model {entry.model_id} twice")
        entries[entry.model_id] = entry
    return entries
