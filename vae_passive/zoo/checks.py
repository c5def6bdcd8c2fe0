"""Checks of strangers' zips and folders before anything lands: member paths stay inside the model
folder (no zip-slip, no symlinks), a TF1 Hub module is there, the disk has room; and file hashing."""

from __future__ import annotations

import hashlib
import re
import shutil
import stat
import zipfile
from collections.abc import Sequence
from pathlib import Path

from vae_passive import config
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.progress import format_bytes

MANIFEST = ".vae-passive.json"
REQUIRED_FILES = ("model/tfhub/saved_model.pb", "model/tfhub/tfhub_module.pb")
REQUIRED_FOLDER = "model/tfhub/variables/"
CHUNK = 1 << 20  # file copies
FREE_SPACE_RESERVE = 64 << 20  # never fill a disk to the last byte


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


def feed(digest, path: Path) -> None:
    """Feed the bytes of ``path`` to the hash object ``digest``."""
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)


def sha256_file(path: Path) -> str:
    """The sha256 of the file ``path``, hex."""
    digest = hashlib.sha256()
    feed(digest, path)
    return digest.hexdigest()
