"""``vae-passive data fetch``: download the published data files to upstream's relative paths.

Downloads go through ``zoo.download.download`` (the model fetcher's resumable, retrying machinery) into
``<data>/.staging/``, are checked against the published size and sha256 where one is known (``KNOWN``:
smallNORB and Shapes3D; the others are trusted on first use), are unpacked there when needed (smallNORB's
.gz, Cars3D's tar), and are renamed into place only when complete. Each file's source URL, sha256, size and
time are recorded in ``<data>/<folder>/.vae-passive.json``. A mirror (``--url`` or
``VAE_PASSIVE_DATA_MIRROR``) is a base URL holding the files under their published names.

Data files are larger than model zips (MPI3D-real is about 12 GB), so they have limits of their own:
``VAE_PASSIVE_MAX_DATA_BYTES`` per file downloaded or unpacked, ``VAE_PASSIVE_DATA_DEADLINE`` seconds
per download. URLs are recorded and shown with credentials redacted.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, cast
from urllib.parse import urlparse

import filelock
import numpy as np

from vae_passive import __version__, config
from vae_passive.atomic import atomic_path, write_text
from vae_passive.data import files
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.checks import CHUNK
from vae_passive.zoo.download import discard_partial, download
from vae_passive.zoo.limits import Limits
from vae_passive.zoo.progress import format_bytes
from vae_passive.zoo.sources import redact_url

MIRROR_ENV = config.DATA_MIRROR
MAX_DATA_ENV = config.MAX_DATA_BYTES
DATA_DEADLINE_ENV = config.DATA_DEADLINE
MANIFEST = ".vae-passive.json"
_MPI3D = "https://storage.googleapis.com/disentanglement_dataset/data_npz"
_NORB = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small"
# (size, sha256) of published files as downloaded (before unpacking), by file name: TensorFlow Datasets'
# checksums.tsv of smallnorb and shapes3d, whose URLs are ours byte for byte. Other files have none published.
KNOWN: dict[str, tuple[int, str]] = {
    "smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat.gz": (
        131_896_188,
        "5ffd6272a07d32695ee1082a26a41a93a37aab8c28da047f8c34ed348d214873",
    ),
    "smallnorb-5x46789x9x18x6x2x96x96-training-cat.mat.gz": (
        348,
        "2784e542c1922060691090952b6cd6278879a216c90f81476f0f00256d42cdaa",
    ),
    "smallnorb-5x46789x9x18x6x2x96x96-training-info.mat.gz": (
        71_052,
        "de7eb932ebe7a4ee16217fead60660d0eb3d23632c2f4d1c51f88c501c17bf32",
    ),
    "smallnorb-5x01235x9x18x6x2x96x96-testing-dat.mat.gz": (
        130_799_817,
        "cf7104eed3e51174d2f65b66d1e5878b9da233b886f161b0d88f4510ba2c7474",
    ),
    "smallnorb-5x01235x9x18x6x2x96x96-testing-cat.mat.gz": (
        347,
        "ecaf6d5bb8c3bc5eab9cf0258f6d2198dd474e016e374836fc097f2e5ff509ff",
    ),
    "smallnorb-5x01235x9x18x6x2x96x96-testing-info.mat.gz": (
        10_428,
        "16adf314226327ee006d1a44db8cfef52773c06c829951d5653a9f6f310248a2",
    ),
    "3dshapes.h5": (267_573_662, "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785"),
}


@dataclass(frozen=True)
class Remote:
    """One published file: its URL, the path it becomes under the data folder, how to unpack it."""

    url: str
    target: str
    unpack: str = ""  # "", "gunzip", or "tar:<folder in the archive>"

    @property
    def file_name(self) -> str:
        return Path(urlparse(self.url).path).name


DSPRITES = Remote(
    "https://github.com/deepmind/dsprites-dataset/raw/master/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
    files.DSPRITES,
)
SCREAM = Remote("https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg", files.SCREAM)
PUBLISHED: dict[str, tuple[Remote, ...]] = {
    "dsprites_full": (DSPRITES,),
    "color_dsprites": (DSPRITES,),
    "noisy_dsprites": (DSPRITES,),
    "scream_dsprites": (DSPRITES, SCREAM),
    "smallnorb": tuple(Remote(f"{_NORB}/{Path(p).name}.gz", p, "gunzip") for p in files.SMALLNORB),
    "cars3d": (Remote("http://www.scottreed.info/files/nips2015-analogy-data.tar.gz", files.CARS, "tar:data/cars"),),
    "shapes3d": (Remote("https://storage.googleapis.com/3d-shapes/3dshapes.h5", files.SHAPES3D[0]),),
    "mpi3d_toy": (Remote(f"{_MPI3D}/sim_toy_64x_ordered_without_heldout_factors.npz", "mpi3d_toy/mpi3d_toy.npz"),),
    "mpi3d_realistic": (
        Remote(
            f"{_MPI3D}/sim_realistic_64x_ordered_without_heldout_factors.npz", "mpi3d_realistic/mpi3d_realistic.npz"
        ),
    ),
    "mpi3d_real": (Remote(f"{_MPI3D}/real3d_complicated_shapes_ordered.npz", "mpi3d_real/mpi3d_real.npz"),),
}


@dataclass(frozen=True)
class Fetched:
    """What happened to one published file: ``status`` is fetched or present."""

    target: Path
    status: str
    url: str = ""
    size: int = 0


def data_limits() -> Limits:
    """The download limits of a data file: 64 GiB and a day by default, raised with their variables."""
    return Limits(
        download_bytes=int(config.positive(MAX_DATA_ENV, 64 << 30)),
        deadline=config.positive(DATA_DEADLINE_ENV, 86_400.0),
    )


def _too_big(name: str, limit: int) -> VaePassiveError:
    return VaePassiveError(
        f"{name} unpacks to more than {format_bytes(limit)}; raise {MAX_DATA_ENV} (bytes) if it is genuine"
    )


def source_url(remote: Remote, mirror: str | None) -> str:
    """The URL to read ``remote`` from: the mirror's ``<base>/<file name>``, else the published URL."""
    base = (mirror or config.text(MIRROR_ENV)).strip().rstrip("/")
    return f"{base}/{remote.file_name}" if base else remote.url


def _gunzip(source: Path, target: Path, limit: int) -> None:
    """Decompress ``source`` to ``target``, refusing more than ``limit`` bytes (a gzip bomb)."""
    try:
        with gzip.open(source, "rb") as packed, atomic_path(target) as temp, open(temp, "wb") as out:
            written = 0
            while chunk := packed.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise _too_big(source.name, limit)
                out.write(chunk)
    except (OSError, EOFError) as error:
        raise VaePassiveError(f"cannot decompress {source.name}: {error}") from None


def _untar_folder(source: Path, folder: str, target: Path, staging: Path, limit: int) -> None:
    """Extract ``folder/*`` of the tar ``source`` (plain files only, ``limit`` bytes in all) and rename it to
    ``target``."""
    prefix = folder.rstrip("/") + "/"
    outer = Path(tempfile.mkdtemp(prefix="untar.", dir=staging))
    try:
        extracted = outer / "folder"
        extracted.mkdir()
        count = written = 0
        with tarfile.open(source, "r:*") as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                if not name.startswith(prefix) or not member.isfile():
                    continue
                relative = name[len(prefix) :]
                if not relative or "/" in relative or relative.startswith(".") or relative == MANIFEST:
                    continue
                written += member.size
                if written > limit:
                    raise _too_big(source.name, limit)
                src = cast(IO[bytes], archive.extractfile(member))  # a regular file: never None
                with src, open(extracted / relative, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                count += 1
        if not count:
            raise VaePassiveError(f"{source.name} holds no files under {prefix}; is it the right archive?")
        manifest = target / MANIFEST
        if manifest.is_file():
            shutil.copy2(manifest, extracted / MANIFEST)
        if target.exists():
            os.replace(target, outer / "replaced")
        os.replace(extracted, target)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise VaePassiveError(f"cannot extract {source.name}: {error}") from None
    finally:
        shutil.rmtree(outer, ignore_errors=True)


def _record(root: Path, remote: Remote, url: str, sha256: str, size: int) -> None:
    """Add the file to the manifest of its top folder (``<data>/<folder>/.vae-passive.json``)."""
    manifest = root / Path(remote.target).parts[0] / MANIFEST
    try:
        entries = json.loads(manifest.read_text())
    except (OSError, ValueError):
        entries = {}
    if not isinstance(entries, dict) or not isinstance(entries.get("files"), dict):
        entries = {"files": {}}
    entries["files"][remote.target] = {
        "url": redact_url(url),
        "sha256": sha256,
        "size": size,
        "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "vae_passive": __version__,
    }
    write_text(manifest, json.dumps(entries, indent=1) + "\n")


def check_known(remote: Remote, url: str, sha256: str, size: int) -> None:
    """Refuse a download of a file with a published size and sha256 (``KNOWN``) that has others."""
    known = KNOWN.get(remote.file_name)
    if known is not None and known != (size, sha256):
        raise VaePassiveError(
            f"{remote.file_name} from {redact_url(url)} has sha256 {sha256} ({size} bytes), but the published file "
            f"has {known[1]} ({known[0]} bytes); the download is damaged or the source serves another file"
        )


def fetch_remote(remote: Remote, root: Path, mirror: str | None, force: bool, progress=None) -> Fetched:
    """Download and install one published file under ``root`` unless it is there already."""
    target = root / remote.target
    (root / ".locks").mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(root / ".locks" / f"{remote.file_name}.lock"):
        present = files.find((remote.target,))
        if present is not None and not force:
            return Fetched(present, "present")
        url = source_url(remote, mirror)
        staging = root / ".staging"
        part = staging / f"{remote.file_name}.part"
        limits = data_limits()
        sha256 = download(url, part, progress, limits)
        size = part.stat().st_size
        try:
            check_known(remote, url, sha256, size)
            target.parent.mkdir(parents=True, exist_ok=True)
            if remote.unpack == "gunzip":
                _gunzip(part, target, limits.download_bytes)
            elif remote.unpack.startswith("tar:"):
                _untar_folder(part, remote.unpack.removeprefix("tar:"), target, staging, limits.download_bytes)
            else:
                os.replace(part, target)
        finally:
            discard_partial(part)
        _record(root, remote, url, sha256, size)
        return Fetched(target, "fetched", redact_url(url), size)


def fetch(name: str, mirror: str | None = None, force: bool = False, progress=None) -> list[Fetched]:
    """Fetch every file of data set ``name`` into the first data folder, then check it opens."""
    if name not in PUBLISHED:
        raise VaePassiveError(f"no published files for {name!r}; choose one of {', '.join(PUBLISHED)}")
    root = files.write_root()
    done = [fetch_remote(remote, root, mirror, force, progress) for remote in PUBLISHED[name]]
    problem = check(name)
    if problem:
        raise VaePassiveError(f"{name} was downloaded but does not check out: {problem}")
    return done


# ---- cheap checks of files on disk ------------------------------------------------------------------


def _check_npz(key: str, expected: tuple[int, ...]) -> Callable[[list[Path]], None]:
    def check_file(paths: list[Path]) -> None:
        from vae_passive.data.images import check_shape, npz_header, npz_stored

        shape, dtype = npz_header(paths[0], key)
        check_shape(paths[0], key, shape, dtype, expected)
        npz_stored(paths[0], key)  # stored members: checks the file is long enough

    return check_file


def _check_scream(paths: list[Path]) -> None:
    from vae_passive.data.dsprites import load_scream

    _check_npz("imgs", (737_280, 64, 64))(paths)
    load_scream(paths[1])


def _check_smallnorb(paths: list[Path]) -> None:
    from vae_passive.data.smallnorb import read_norb_matrix

    for path in paths:
        read_norb_matrix(path)


def _check_cars(paths: list[Path]) -> None:
    from vae_passive.data.cars3d import NUM_OBJECTS, load_car

    mats = sorted(paths[0].glob("*.mat"))
    if len(mats) != NUM_OBJECTS:
        raise VaePassiveError(f"{paths[0]} holds {len(mats)} .mat files, Cars3D has {NUM_OBJECTS}")
    load_car(mats[0])


def _check_shapes3d(paths: list[Path]) -> None:
    from vae_passive.data.shapes3d import Shapes3D

    Shapes3D(paths[0]).images  # noqa: B018  (opening checks keys, shape and length)


def _mpi3d_check(name: str) -> Callable[[list[Path]], None]:
    from vae_passive.data.mpi3d import GRIDS

    return _check_npz("images", (int(np.prod(GRIDS[name])), 64, 64, 3))


CHECKS: dict[str, Callable[[list[Path]], None]] = {
    "dsprites_full": _check_npz("imgs", (737_280, 64, 64)),
    "color_dsprites": _check_npz("imgs", (737_280, 64, 64)),
    "noisy_dsprites": _check_npz("imgs", (737_280, 64, 64)),
    "scream_dsprites": _check_scream,
    "smallnorb": _check_smallnorb,
    "cars3d": _check_cars,
    "shapes3d": _check_shapes3d,
    **{name: _mpi3d_check(name) for name in ("mpi3d_toy", "mpi3d_realistic", "mpi3d_real")},
}


def check(name: str) -> str:
    """Why data set ``name``'s files would not load (missing, truncated, wrong keys or shapes), or ``""``.

    Reads headers only (Cars3D: one file), so it is quick even for the multi-GB files."""
    try:
        CHECKS[name](files.locate(name))
    except VaePassiveError as error:
        return str(error)
    return ""
