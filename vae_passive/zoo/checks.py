"""Checks of strangers' zips and folders before anything lands: member paths stay inside the model
folder (no zip-slip, no symlinks, no two names that differ only in case), a TF1 Hub module is there, the
disk has room; and file hashing."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from vae_passive import config
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.fileguard import open_listed
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


def id_of(name: str) -> int | None:
    """The model id a file or folder name stands for (``"17"``), or ``None``: ASCII digits only, so a name
    such as ``"²"`` (which ``str.isdigit`` accepts and ``int`` refuses) is no id."""
    return int(name) if re.fullmatch(r"[0-9]{1,9}", name) else None


def case_clash(names: dict[str, str], name: str) -> str | None:
    """The name already in ``names`` (keyed by their case-folded form) that ``name`` equals but for case, or
    ``None``; ``name`` is added. On a case-insensitive file system (macOS, Windows) the two would be one file."""
    key = name.casefold()
    if key in names and names[key] != name:
        return names[key]
    names.setdefault(key, name)
    return None


def check_zip_members(infos: Sequence[zipfile.ZipInfo], model_id: int) -> None:
    """Raise unless the members are safe, unique (also without case), under one top folder ``<id>/``, and hold
    a TF1 Hub module."""
    seen: set[str] = set()
    folded: dict[str, str] = {}
    for info in infos:
        problem = member_problem(info)
        if problem:
            raise VaePassiveError(f"zip member {info.filename!r} {problem}; refusing to extract this zip")
        name = info.filename.replace("\\", "/").removesuffix("/")
        if name in seen:
            raise VaePassiveError(f"zip member {info.filename!r} appears twice; refusing to extract this zip")
        seen.add(name)
        clash = case_clash(folded, name)
        if clash:
            raise VaePassiveError(
                f"zip members {clash!r} and {name!r} differ only in case (one file on macOS or Windows); "
                "refusing to extract this zip"
            )
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


def check_model_folder(folder: Path, model_id: int) -> dict[str, os.stat_result]:
    """``{relative name: lstat}`` of the files of an extracted model folder, after checking it holds a module
    and only folders and regular files (no symlink, FIFO or device), no two names differing only in case.

    Read each file once through ``fileguard.open_listed`` with its ``lstat`` from here: a file swapped after
    this listing is refused, not followed.
    """
    files: dict[str, os.stat_result] = {}
    folded: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        relative = path.relative_to(folder).as_posix()
        if stat.S_ISLNK(info.st_mode):
            raise VaePassiveError(f"{path} is a symlink; copy the real file into the model folder {folder}")
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            raise VaePassiveError(f"{path} is not a regular file (a FIFO, device or socket); remove it from {folder}")
        clash = case_clash(folded, relative)
        if clash:
            raise VaePassiveError(
                f"{folder} holds {clash!r} and {relative!r}, which differ only in case; keep one of them"
            )
        if stat.S_ISREG(info.st_mode) and path.name != MANIFEST:
            files[relative] = info
    missing = [f for f in REQUIRED_FILES if f not in files]
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


def sha256_of(handle: BinaryIO) -> str:
    """The sha256 of what is left to read in the open file ``handle``, hex."""
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """The sha256 of the regular file ``path`` (no link followed, never a FIFO or device), hex."""
    with open_listed(path) as (handle, _):
        return sha256_of(handle)
