"""Importing zips and model folders a user already has (``vae-passive import``), with a download's checks."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from vae_passive.errors import VaePassiveError
from vae_passive.zoo import catalogue
from vae_passive.zoo.checks import id_of
from vae_passive.zoo.fileguard import open_listed
from vae_passive.zoo.install import install_folder, install_once, install_zip
from vae_passive.zoo.limits import Limits
from vae_passive.zoo.progress import Outcome, Progress


def _zip_id(path: Path) -> int:
    """The model id of a zip: from its name ``<id>.zip``, else from its one top folder."""
    named = id_of(path.stem) if path.suffix.lower() == ".zip" else None
    if named is not None:
        model_id = named
    else:
        try:
            with open_listed(path) as (handle, _), zipfile.ZipFile(handle) as archive:
                tops = {name.split("/")[0] for name in archive.namelist()}
        except (zipfile.BadZipFile, OSError):
            raise VaePassiveError(f"{path} is not a zip; pass <id>.zip files or <id>/ model folders") from None
        top = id_of(tops.pop()) if len(tops) == 1 else None
        if top is None:
            raise VaePassiveError(f"cannot tell the model id of {path}; rename it <id>.zip")
        model_id = top
    catalogue.record(model_id)
    return model_id


def _child_id(child: Path) -> int | None:
    """The id of an ``<id>.zip`` or ``<id>/`` found in a folder given to ``import``, else ``None``."""
    if child.suffix.lower() == ".zip" and not child.is_dir():
        return id_of(child.stem)
    return id_of(child.name) if child.is_dir() else None


def plan_import(paths: Iterable[str | Path]) -> list[tuple[int, Path]]:
    """(id, path) of each zip or model folder named by ``paths`` (zips, ``<id>/`` folders, or folders of them)."""
    items: list[tuple[int, Path]] = []
    for given in paths:
        path = Path(given).expanduser()
        path = path.resolve() if path.is_symlink() else path  # the user's own argument: followed; links inside are not
        if not path.exists():
            raise VaePassiveError(f"{path} does not exist; pass <id>.zip files, <id>/ model folders or folders of them")
        if path.is_file() or path.is_symlink():  # a link is refused when the zip is opened
            items.append((_zip_id(path), path))
        elif id_of(path.name) is not None and (path / "model").is_dir():
            model_id = int(path.name)
            catalogue.record(model_id)
            items.append((model_id, path))
        else:
            found = [(i, child) for child in sorted(path.iterdir()) if (i := _child_id(child)) is not None]
            if not found:
                raise VaePassiveError(f"{path} holds no <id>.zip files and no <id>/ model folders; nothing to import")
            for model_id, _ in found:
                catalogue.record(model_id)
            items.extend(found)
    seen: dict[int, Path] = {}
    for model_id, path in items:
        if model_id in seen:
            raise VaePassiveError(f"model {model_id} is given twice ({seen[model_id]} and {path}); pass only one")
        seen[model_id] = path
    return sorted(items)


def import_models(items: Sequence[tuple[int, Path]], progress: Progress | None = None) -> list[Outcome]:
    """Install each (id, zip or folder) of ``plan_import`` with the same checks as a download."""
    progress = progress or Progress()
    limits = Limits.from_env()
    outcomes = []
    for model_id, path in items:

        def work(model_id: int = model_id, path: Path = path) -> Outcome:
            source = str(path.resolve())
            if path.is_file():
                return Outcome(model_id, "imported", str(path), install_zip(path, model_id, source, limits=limits))
            return Outcome(model_id, "imported", str(path), install_folder(path, model_id, source))

        try:
            outcome = install_once(model_id, work)
        except VaePassiveError as error:
            outcome = Outcome(model_id, "failed", str(path), reason=str(error))
        except OSError as error:
            outcome = Outcome(model_id, "failed", str(path), reason=f"cannot copy {path}: {error}")
        progress.model_done(outcome)
        outcomes.append(outcome)
    return outcomes
