"""Reading a results folder: ``<results>/*/analysis.json`` into tables, unusable documents listed as problems.

Documents are read through ``vae_passive.analysis.document.read_document`` (untrusted JSON, schema
version checked); a document that cannot be used becomes a ``Problem`` for report.md and
problems.csv, never a failure of the whole report. A run logged by ``TrainingMonitor``
(``<results>/<run>/logs/`` beside its document) is read from there for its dynamics.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from vae_passive.analysis.document import DOCUMENT_NAME, NewerSchemaError, read_document
from vae_passive.errors import VaePassiveError
from vae_passive.report.tables import TableBuilder, Tables
from vae_passive.untrusted import UnreadableFile, reason

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Problem:
    """A document left out of the report, and why."""

    path: str
    kind: str  # "newer schema", "unreadable" or "duplicate"
    reason: str

    COLUMNS = ("path", "kind", "reason")  # of problems.csv


def _key_order(path: Path) -> tuple:
    name = path.parent.name
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def document_paths(results: Path) -> list[Path]:
    """``<results>/*/analysis.json``, numeric folder names first in numeric order; a user error when none."""
    if not results.is_dir():
        raise VaePassiveError(
            f"results folder {results} does not exist; run `vae-passive analyze` first or pass --results DIR"
        )
    paths = sorted(results.glob(f"*/{DOCUMENT_NAME}"), key=_key_order)
    if not paths:
        raise VaePassiveError(
            f"no analysis documents in {results} (expected {results}/<model>/{DOCUMENT_NAME}); "
            "run `vae-passive analyze` first or pass --results DIR"
        )
    return paths


def read_results(
    results: Path, progress: Progress, ids: Collection[int] | None = None
) -> tuple[Tables, list[Problem], dict[str, Path]]:
    """Read ``<results>/*/analysis.json`` into tables; unusable documents become ``Problem``s.

    ``ids`` (a catalogue selection) keeps only the documents of those zoo models; a folder named by
    another id is not even read. Also returns the folder of each model key (where its codes.npz would be).
    """
    paths = document_paths(results)
    if ids is not None:
        ids = set(ids)
        paths = [p for p in paths if not p.parent.name.isdigit() or int(p.parent.name) in ids]
        if not paths:
            raise VaePassiveError(f"no analysis document in {results} is of a model in this selection")
    progress(f"reading {len(paths):,} analysis documents from {results}")
    builder = TableBuilder()
    problems: list[Problem] = []
    folders: dict[str, Path] = {}
    for path in paths:
        # a folder name that is not UTF-8 (surrogate-escaped here) must not stop report.md from being written
        shown = str(path.relative_to(results)).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        try:
            doc = read_document(path)
            model: Mapping[str, Any] = doc["model"] if isinstance(doc.get("model"), dict) else {}
            if ids is not None and model.get("id") not in ids:
                continue
            key = model.get("key")
            if key in folders:
                where = folders[key].relative_to(results) / path.name
                problems.append(Problem(shown, "duplicate", reason(f"model key {key!r} also in {where}")))
                continue
            builder.add(doc)
            folders[str(key)] = path.parent  # add checked that the key is a string
        except NewerSchemaError as error:
            problems.append(Problem(shown, "newer schema", reason(error)))
        except (UnreadableFile, ValueError, TypeError, AttributeError, ArithmeticError, LookupError) as error:
            problems.append(Problem(shown, "unreadable", reason(error)))  # one bad document never stops the report
    if not len(builder) and not problems:
        raise VaePassiveError(f"no analysis document in {results} is of a model in this selection")
    if not len(builder):
        first = problems[0]
        raise VaePassiveError(
            f"none of the {len(paths):,} analysis documents in {results} could be used "
            f"({sum(p.kind == 'newer schema' for p in problems)} of a newer schema); "
            f"first: {first.path}: {first.reason}"
        )
    if problems:
        progress(f"warning: left out {len(problems):,} documents (listed in report.md and problems.csv)")
    return _with_monitored_runs(builder.build(), folders), problems, folders


def _with_monitored_runs(built: Tables, folders: Mapping[str, Path]) -> Tables:
    """A run logged by ``TrainingMonitor`` keeps its ``logs/`` beside its document (``<results>/<run>/``, no
    module): its models-table ``path`` becomes that folder, where the report's dynamics read the logs, so
    the results folder can be moved or copied."""
    monitored = {key: str(folder) for key, folder in folders.items() if (folder / "logs").is_dir()}
    if monitored:
        models = built.models
        paths = models["key"].astype(str).map(monitored).fillna(models["path"].astype(str))
        models["path"] = paths.astype("category")
    return built


def model_folder(recorded: object, roots: Sequence[Path]) -> Path | None:
    """The folder a document's ``model.path`` names, resolved (symlinks followed), if it lies inside one of ``roots``
    (the results folder, the home, the report's ``--model-root`` folders); else None: a document must not make the
    report read, decode or plot files of any folder it likes."""
    if not recorded:
        return None
    try:
        path = Path(str(recorded)).resolve()
        return path if any(path.is_relative_to(root.resolve()) for root in roots) else None
    except (OSError, RuntimeError, ValueError):  # a NUL byte, a symlink loop
        return None


def outside_note(key: str, recorded: object, what: str) -> str:
    """The note for a ``model.path`` that ``model_folder`` does not follow."""
    return (
        f"model {key}: model.path {recorded} is outside the results folder, the home and the --model-root "
        f"folders, so no {what}; pass --model-root with a folder holding it to follow it"
    )


def select_models(models: pd.DataFrame, wanted: Sequence[str], results: Path) -> list[str]:
    """The result keys named by ``--model-id`` values (an id or a results folder name)."""
    keys = []
    for item in wanted:
        match = models[models["key"].astype(str) == item]
        if match.empty and item.isdigit():
            match = models[models["id"] == int(item)]
        if match.empty:
            hint = f"`vae-passive analyze --ids {item}`" if item.isdigit() else "`vae-passive analyze` on it"
            raise VaePassiveError(f"--model-id {item}: no analysis document for it in {results}; run {hint}")
        keys.append(str(match["key"].iloc[0]))
    return list(dict.fromkeys(keys))
