"""Analyse many models: skip finished ones, record failures, run on local processes or Dask.

Workers compute and return results; the client alone writes them (atomically), whichever
executor ran the task. So a Dask cluster needs no file system shared with the client, a killed
run never leaves a half-written document, and the documents are identical across executors.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from vae_passive import config
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
from vae_passive.metrics.suite import Progress
from vae_passive.zoo import catalogue
from vae_passive.zoo.sources import redact_text

ERROR_SCHEMA = "vae-passive/error/1"
SCHEDULER_ENV = config.SCHEDULER


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
    by_key: dict[str, str] = {}
    for path in paths:
        try:
            codes = read_codes(path)
        except VaePassiveError:
            codes = None  # fails as a task, under its file name
        key = key_of(codes, path)
        if key in by_key:
            raise VaePassiveError(f"{by_key[key]} and {path} both have the key {key!r}; give each model its own key")
        by_key[key] = str(path)
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


def _init_worker(threads: int, modules: bool = True) -> None:
    """Worker start-up: share the cores fairly between workers, ignore Ctrl-C (the client handles it).

    Workers of codes files (``modules`` false) never load TensorFlow."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not modules:
        return
    from vae_passive.tfhub.runtime import tensorflow

    tf = tensorflow()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


# ---- executors ------------------------------------------------------------------------------


def _local_outcomes(tasks: list[Task], settings: Settings, sources, jobs: int) -> Iterator[TaskOutcome]:
    import multiprocessing

    modules = any(task.codes_path is None for task in tasks)
    if not modules and jobs == 1:  # codes files: no TensorFlow to isolate, no process to start
        yield from (_run_codes_task(task, settings) for task in tasks)
        return
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    initargs = (threads, modules)
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=initargs) as pool:
        pending: set[Future] = set()
        queue = iter(tasks)
        try:
            for task in queue:  # keep a bounded window of work in flight
                pending.add(pool.submit(run_task, task, settings, sources))
                if len(pending) >= 2 * jobs:
                    break
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending.add(pool.submit(run_task, nxt, settings, sources))
        except BaseException:
            for future in pending:
                future.cancel()
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            raise


def _dask_client(scheduler: str):
    """A Dask client of ``scheduler``; a ``tls://`` address gets Dask's TLS settings (``distributed.comm.tls.*``
    from its config files or ``DASK_DISTRIBUTED__COMM__TLS__...`` variables), without which it cannot connect."""
    from distributed import Client

    options = {}
    if scheduler.startswith("tls://"):
        from distributed.security import Security

        security = Security()  # loads distributed.comm.tls.* from Dask's configuration
        if not getattr(security, "tls_ca_file", None):
            raise VaePassiveError(
                f"the Dask scheduler {scheduler} needs TLS settings: set DASK_DISTRIBUTED__COMM__TLS__CA_FILE, "
                "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY "
                "(or distributed.comm.tls.* in Dask's config); see docs/running.md"
            )
        options["security"] = security
    try:
        return Client(scheduler, timeout="20s", **options)
    except (OSError, TimeoutError) as error:
        raise VaePassiveError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None


def _dask_outcomes(tasks: list[Task], settings: Settings, sources, scheduler: str) -> Iterator[TaskOutcome]:
    try:
        from distributed import as_completed
    except ImportError:
        raise VaePassiveError(
            "--executor dask needs the distributed package: pip install 'vae-passive[dask]'"
        ) from None
    client = _dask_client(scheduler)
    try:
        futures = [
            client.submit(run_task, task, settings, sources, key=f"vae-passive-{task.key}-{i}", pure=False)
            for i, task in enumerate(tasks)
        ]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        client.close()


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


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so that a batch job stopped by its scheduler stops cleanly."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    if executor == "dask":
        address = scheduler or config.text(SCHEDULER_ENV) or None
        if not address:
            raise VaePassiveError(f"--executor dask needs --scheduler ADDRESS or {SCHEDULER_ENV}")
        outcomes = _dask_outcomes(todo, settings, sources, address)
    elif executor == "local":
        if jobs < 1:
            raise VaePassiveError(f"--jobs must be at least 1, not {jobs}")
        outcomes = _local_outcomes(todo, settings, sources, jobs) if todo else iter(())
    else:
        raise VaePassiveError(f"unknown executor {executor!r}; choose local or dask")
    by_key = {task.key: task for task in todo}
    if progress is not None:
        progress(0, len(todo), "")
    with sigterm_as_interrupt():
        try:
            for outcome in outcomes:
                task = by_key[outcome.key]
                if outcome.result is not None:
                    write_results(results_dir, outcome.result, save_codes)
                    (results_dir / task.key / "error.json").unlink(missing_ok=True)
                    summary.done.append(task.key)
                else:
                    error = outcome.error or "unknown error"
                    write_error(results_dir, task.key, task.model_id, error, expected_hash(task, settings))
                    summary.failed[task.key] = redact_text(error)
                if progress is not None:
                    progress(len(summary.done) + len(summary.failed), len(todo), f"failed={len(summary.failed)}")
                if on_result:
                    on_result(outcome)
        finally:
            summary.elapsed_s = time.perf_counter() - started
    return summary
