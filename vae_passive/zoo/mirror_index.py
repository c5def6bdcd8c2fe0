"""The two files at a mirror's root besides its zips: ``SHA256SUMS`` and ``index.json``.

``SHA256SUMS`` is ``sha256sum``'s output (``<sha256>  <id>.zip``), so anyone can check a mirror with
``sha256sum -c``. ``index.json`` (written by ``vae-passive mirror build``) lists which models the mirror
holds, with their catalogue fields, size, sha256 and origin, so a fetch asks only for zips that exist and
knows a retrained model as such. Both are read as strangers' data: capped in size, every field checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from vae_passive.zoo import catalogue
from vae_passive.zoo.origin import Origin

SUMS_FILE = "SHA256SUMS"
INDEX_FILE = "index.json"
INDEX_FORMAT = "vae-passive/mirror/1"
METADATA_MAX_BYTES = 16 << 20  # either file; 12,600 entries take about 4 MB of index.json
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BadIndex(ValueError):
    """An index.json that cannot be used; the message says why."""


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


def parse_sums(text: str) -> dict[str, str]:
    """``{name: sha256}`` from ``sha256sum`` output (``<sha256>  <name>``, or ``*<name>`` in binary mode)."""
    sums = {}
    for line in text.splitlines():
        match = re.match(r"^([0-9a-fA-F]{64}) [ *](?:\./)?(.+)$", line.strip())
        if match:
            sums[match.group(2)] = match.group(1).lower()
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
    content = item.get("content")
    # No origin, or one this version does not know, is not taken for an original.
    origin = Origin.from_value(item.get("origin")) or Origin("trained")
    return IndexEntry(model_id, size, sha256, origin, content if isinstance(content, str) else "")


def parse_index(data: bytes) -> dict[int, IndexEntry]:
    """``{id: entry}`` of an index.json; ``BadIndex`` for anything else (another format, a bad entry, an id twice)."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadIndex(f"it is not JSON ({str(error)[:100]})") from None
    if not isinstance(document, dict) or document.get("format") != INDEX_FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        raise BadIndex(f"its format is {found!r}, not {INDEX_FORMAT!r}")
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
