"""Analyse many models: skip finished ones, record failures, run on local processes or Dask.

Workers compute and return results; the client alone writes them (atomically), whichever
executor ran the task. So a Dask cluster needs no file system shared with the client, a killed
run never leaves a half-written document, and the documents are identical across executors.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from vae_passive.analysis.analyze import (
    AnalysisResult,
    ModelSource,
    Settings,
    analyze_codes,
    analyze_model,
    codes_settings_hash,
    data_for,
    locate_model,
    settings_hash,
    write_results,
)
from vae_passive.analysis.codes import key_of, read_codes
from vae_passive.analysis.document import DOCUMENT_NAME, settings_hash_of
from vae_passive.atomic import write_text
from vae_passive.errors import VaePassiveError
from vae_passive.executor import Call, execute, sigterm_as_interrupt
from vae_passive.metrics.suite import Progress
from vae_passive.zoo import catalogue
from vae_passive.zoo.sources import redact_text

ERROR_SCHEMA = "vae-passive/error/1"


@dataclass(frozen=True)
class Task:
    """One model to analyse: a zoo id (cached or fetched on demand), a model folder, or a codes file."""

    key: str
    model_id: int | None = None
    model_dir: str | None = None
    codes_path: str | None = None


@dataclass
class TaskOutcome:
    """What a worker sends back: a finished analysis or an error message."""

    key: str
    result: AnalysisResult | None = None
    error: str | None = None


def tasks_for_ids(ids: Iterable[int]) -> list[Task]:
    return [Task(str(i), model_id=i) for i in ids]


def tasks_for_codes(paths: Iterable[str | Path]) -> list[Task]:
    """One task per codes file, keyed by its ``key`` array or file name; two files with one key are an error.

    A file that cannot be read keeps its file name as key and fails as a task (``error.json``); a key that may not
    name a results folder (``analysis.codes.key_of``) stops the batch before anything is written.
    """
    tasks: list[Task] = []
    by_key: dict[str, tuple[str, str]] = {}  # casefolded key -> (file, key)
    for path in paths:
        try:
            codes = read_codes(path)
        except VaePassiveError:
            codes = None  # fails as a task, under its file name
        key = key_of(codes, path)
        folded = key.casefold()  # macOS and Windows file systems: "VAE" and "vae" name one results folder
        if folded in by_key:
            first, first_key = by_key[folded]
            same = (
                f"the key {key!r}"
                if key == first_key
                else f"the keys {first_key!r} and {key!r} (one folder where case is ignored)"
            )
            raise VaePassiveError(f"{first} and {path} both have {same}; give each model its own key")
        by_key[folded] = (str(path), key)
        tasks.append(Task(key, codes_path=str(Path(path).resolve())))
    return tasks


def expected_hash(task: Task, settings: Settings) -> str | None:
    """The settings hash the task's document will have, or None when it cannot be known yet."""
    if task.codes_path is not None:
        try:
            return codes_settings_hash(settings, read_codes(task.codes_path), task.key)
        except VaePassiveError:
            return None
    try:
        source = _source(task, fetch=False)
    except VaePassiveError:
        if task.model_id is None:
            return None
        record = catalogue.record(task.model_id)
        source = ModelSource(task.key, Path(), task.model_id, record.dataset)
    channels = catalogue.record(source.id).channels if source.id is not None else 1
    try:
        data, _ = data_for(source, settings, channels)
    except VaePassiveError:
        return None
    return settings_hash(settings, data.name)


def is_done(results_dir: Path, task: Task, settings: Settings) -> bool:
    """True when ``<results>/<key>/analysis.json`` exists with the settings hash of this run."""
    path = results_dir / task.key / DOCUMENT_NAME
    if not path.is_file():
        return False
    # a damaged, hostile or foreign document has no hash: the model is analysed again, replacing it
    stored = settings_hash_of(path)
    return stored is not None and stored == expected_hash(task, settings)


def _source(task: Task, fetch: bool, sources: list[str] | None = None) -> ModelSource:
    if task.model_dir is not None:
        return locate_model(model_dir=task.model_dir)
    if fetch and task.model_id is not None:
        from vae_passive.zoo.fetcher import ensure_model

        ensure_model(task.model_id, sources)
    return locate_model(model_id=task.model_id)


# ---- the per-model task, run in a worker process --------------------------------------------

_POOL = None


def _run_codes_task(task: Task, settings: Settings) -> TaskOutcome:
    """Analyse one codes file (no TensorFlow); never raises for a bad file."""
    assert task.codes_path is not None
    try:
        result = analyze_codes(read_codes(task.codes_path), settings, task.key, task.codes_path)
    except VaePassiveError as error:
        return TaskOutcome(task.key, error=str(error))
    return TaskOutcome(task.key, result=result)


def run_task(task: Task, settings: Settings, sources: list[str] | None = None) -> TaskOutcome:
    """Analyse one model in this process, reusing its loaded modules; never raises for a bad model."""
    global _POOL
    if task.codes_path is not None:
        return _run_codes_task(task, settings)
    from vae_passive.tfhub.module import ModulePool

    if _POOL is None:
        _POOL = ModulePool()
    try:
        source = _source(task, fetch=True, sources=sources)
        module = _POOL.get(source.path)
        result = analyze_model(source, settings, module=module)
    except VaePassiveError as error:
        return TaskOutcome(task.key, error=str(error))
    except Exception as error:  # a bug or an unexpected TensorFlow error: keep going, say what it was
        return TaskOutcome(task.key, error=f"{type(error).__name__}: {error}")
    return TaskOutcome(task.key, result=result)


def _outcomes(
    todo: list[Task], settings: Settings, sources, executor: str, jobs: int, scheduler: str | None
) -> Iterator[TaskOutcome]:
    """The tasks' outcomes through the execution layer (``vae_passive.executor``), as they finish.

    Workers of codes files never load TensorFlow (and one job of them runs in this process); model
    workers share the cores through TensorFlow's thread pools."""
    from vae_passive.tfhub.runtime import limit_threads

    modules = any(task.codes_path is None for task in todo)
    calls = [Call(task.key, run_task, (task, settings, sources)) for task in todo]
    finished = execute(
        calls,
        executor=executor,
        jobs=jobs,
        scheduler=scheduler,
        initializer=limit_threads if modules else None,
        inline=not modules,
    )
    return (item.value if item.error is None else TaskOutcome(item.key, error=item.error) for item in finished)


# ---- the client -----------------------------------------------------------------------------


@dataclass
class RunSummary:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0


def write_error(results_dir: Path, key: str, model_id: int | None, message: str, settings_hash_: str | None) -> None:
    """Record a failed model as ``<results>/<key>/error.json`` (the report ignores these).

    URLs in the message are redacted: a mirror's credentials must not land in a results folder that is shared.
    """
    record = {
        "schema": ERROR_SCHEMA,
        "key": key,
        "model_id": model_id,
        "error": redact_text(message),
        "settings_hash": settings_hash_,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_text(results_dir / key / "error.json", json.dumps(record, indent=1) + "\n")


def record_outcome(
    results_dir: Path, task: Task, settings: Settings, outcome: TaskOutcome, save_codes: bool = False
) -> str | None:
    """Write one finished task: its document (removing an old ``error.json``) or its ``error.json``.

    Returns the (redacted) error, or None when the document was written. ``run`` calls it in the client;
    ``train --analyze`` in the worker that trained the model (training already shares the file system)."""
    if outcome.result is not None:
        write_results(results_dir, outcome.result, save_codes)
        (results_dir / task.key / "error.json").unlink(missing_ok=True)
        return None
    error = outcome.error or "unknown error"
    write_error(results_dir, task.key, task.model_id, error, expected_hash(task, settings))
    return redact_text(error)


def run(
    tasks: list[Task],
    settings: Settings,
    results_dir: Path,
    *,
    jobs: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    sources: list[str] | None = None,
    force: bool = False,
    save_codes: bool = False,
    progress: Progress | None = None,
    on_result: Callable[[TaskOutcome], None] | None = None,
) -> RunSummary:
    """Analyse ``tasks``, skipping those already done with these settings unless ``force``.

    ``progress`` is told ``(finished, to do, "failed=N")`` before the first model and after each one.
    """
    started = time.perf_counter()
    summary = RunSummary()
    todo = []
    for task in tasks:
        if not force and is_done(results_dir, task, settings):
            summary.skipped.append(task.key)
        else:
            todo.append(task)
    outcomes = _outcomes(todo, settings, sources, executor, jobs, scheduler)
    by_key = {task.key: task for task in todo}
    if progress is not None:
        progress(0, len(todo), "")
    with sigterm_as_interrupt():
        try:
            for outcome in outcomes:
                task = by_key[outcome.key]
                error = record_outcome(results_dir, task, settings, outcome, save_codes)
                if error is None:
                    summary.done.append(task.key)
                else:
                    summary.failed[task.key] = error
                if progress is not None:
                    progress(len(summary.done) + len(summary.failed), len(todo), f"failed={len(summary.failed)}")
                if on_result:
                    on_result(outcome)
        finally:
            summary.elapsed_s = time.perf_counter() - started
    return summary
