"""Opening files in folders other people may write to: a shared ``VAE_PASSIVE_HOME``, a colleague's model
folder, a folder mirror. No symlink is followed, no FIFO or device is opened, and a file is opened once:
what is checked (``fstat`` of the open descriptor) is what is read, copied and hashed.

- ``open_listed``: a stranger's file, opened for reading without following a link or blocking, and only
  if it is still the regular file that was listed (same device and inode).
- ``chunks_of``: a listed file's bytes, for copying and hashing from that one descriptor.
- ``read_small``: a small file (a manifest, ``SHA256SUMS``, a sidecar) read the same way, with a size cap.
- ``make_staging`` / ``open_staging``: the staging folder (checked: see ``check_staging_folder``) and the
  partial files in it, opened with ``O_NOFOLLOW`` (new ones with ``O_EXCL``) and used only when they are
  regular files of the current user with one link, so a planted link never redirects a download.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from vae_passive.errors import VaePassiveError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)
SECURITY_DOC = "see docs/security.md, 'The shared-cache model'"


class UnsafeFile(VaePassiveError):
    """A file or folder that is a link, not a regular file, replaced since it was listed, or open to others."""


def _open_error(path: Path, error: OSError) -> VaePassiveError:
    """One line for a failed ``os.open`` of ``path`` with ``O_NOFOLLOW``."""
    if error.errno == errno.ELOOP:
        return UnsafeFile(f"{path} is a symlink; only real files are read or written here, replace it with the file")
    return VaePassiveError(f"cannot open {path}: {error.strerror or error}")


def _check_regular(fd: int, path: Path, listed: os.stat_result | None) -> os.stat_result:
    """The ``fstat`` of ``fd`` if it is a regular file (and the file ``listed``); else close it and refuse."""
    found = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(found.st_mode):
        problem = f"{path} is not a regular file (a FIFO, device or folder); refusing to read it"
    elif listed is not None and (found.st_dev, found.st_ino) != (listed.st_dev, listed.st_ino):
        problem = f"{path} was replaced after it was listed; refusing it (is something else writing this folder?)"
    if problem:
        os.close(fd)
        raise UnsafeFile(problem)
    return found


@contextmanager
def open_listed(path: Path, listed: os.stat_result | None = None) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """``(file, fstat)`` of ``path`` opened for reading: not through a link, never a FIFO or device, and, when
    ``listed`` (its ``lstat`` when the folder was listed) is given, the very same file."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise _open_error(path, error) from None
    found = _check_regular(fd, path, listed)
    with os.fdopen(fd, "rb") as handle:
        yield handle, found


def chunks_of(path: Path, listed: os.stat_result, size: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of the listed file ``path`` in chunks, read through one descriptor (``open_listed``); refused
    when it no longer has the size it was listed with (rewritten meanwhile)."""
    read = 0
    with open_listed(path, listed) as (handle, _):
        while chunk := handle.read(size):
            read += len(chunk)
            yield chunk
    if read != listed.st_size:
        raise UnsafeFile(f"{path} changed while it was read ({read} bytes, listed with {listed.st_size}); try again")


def read_small(path: Path, max_bytes: int) -> bytes:
    """The bytes of the small regular file ``path`` (no link followed); ``UnsafeFile`` past ``max_bytes``."""
    with open_listed(path) as (handle, found):
        if found.st_size > max_bytes:
            raise UnsafeFile(f"{path} is larger than {max_bytes:,} bytes; refusing to read it")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeFile(f"{path} is larger than {max_bytes:,} bytes; refusing to read it")
    return data


def check_staging_folder(folder: Path) -> None:
    """Refuse a staging folder in which another user could plant or swap files.

    The rule: a real folder (not a link), owned by you or root, and writable by no one else, unless it has
    the sticky bit (as ``/tmp``: then nobody but an entry's owner may rename or delete it).
    """
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeFile(f"staging folder {folder} is a symlink or not a folder; remove it and run again")
    if info.st_uid not in (os.geteuid(), 0):
        raise UnsafeFile(
            f"staging folder {folder} belongs to user id {info.st_uid}, not to you; "
            f"remove it or have root make it sticky (chmod 1777) for a shared home ({SECURITY_DOC})"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
        raise UnsafeFile(
            f"staging folder {folder} is writable by other users; run `chmod go-w {folder}`, "
            f"or `chmod +t {folder}` for a shared home ({SECURITY_DOC})"
        )


def make_staging(folder: Path) -> None:
    """Create the staging folder (and its parents) if missing, then check it (``check_staging_folder``) and
    that its parent (``models/``) is not writable by every user without the sticky bit."""
    folder.mkdir(parents=True, exist_ok=True)
    check_staging_folder(folder)
    parent = os.lstat(folder.parent)
    if parent.st_mode & stat.S_IWOTH and not parent.st_mode & stat.S_ISVTX:
        raise UnsafeFile(
            f"{folder.parent} is writable by every user; run `chmod o-w {folder.parent}` "
            f"(a shared home gives write access to a group: {SECURITY_DOC})"
        )


def _check_own(fd: int, path: Path) -> None:
    """Refuse (closing ``fd``) a staging file that is not a regular file of the current user with one link:
    a hard link could make an append land in another of the user's files."""
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file"
    elif info.st_uid != os.geteuid():
        problem = f"belongs to user id {info.st_uid}, not to you"
    elif info.st_nlink != 1:
        problem = f"has {info.st_nlink} hard links"
    if problem:
        os.close(fd)
        raise UnsafeFile(f"partial file {path} {problem}; remove it (`vae-passive cache rm --partial`) and run again")


def open_staging(path: Path, append: bool) -> BinaryIO:
    """A staging file for reading and writing: with ``append`` the existing partial file (checked by
    ``_check_own``; writes go to its end), else a new empty file (an old one is removed, never truncated
    through a link). ``FileNotFoundError`` when appending to a file that is not there."""
    flags = os.O_RDWR | NOFOLLOW | NONBLOCK
    try:
        if append:
            fd = os.open(path, flags | os.O_APPEND)
            _check_own(fd, path)
        else:
            path.unlink(missing_ok=True)  # unlinks a link itself, never its target
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o666)
    except FileNotFoundError:
        raise
    except PermissionError as error:
        raise UnsafeFile(f"cannot replace {path} ({error.strerror}); another user's file is in the way") from None
    except OSError as error:
        raise _open_error(path, error) from None
    return os.fdopen(fd, "r+b")


def read_staging(path: Path, max_bytes: int) -> bytes:
    """A small staging file (a resume sidecar), read only if it is a regular file of the current user."""
    handle = open_staging(path, append=True)
    with handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeFile(f"{path} is larger than {max_bytes:,} bytes; remove it and run again")
    return data
