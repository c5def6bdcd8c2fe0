"""Train a selection of models on local processes or a Dask cluster (``vae_passive.executor``), resumably.

Per model: a finished folder with the same settings is skipped; a run resumes from its last checkpoint
(``home/training/<id>/``) wherever it is picked up again; a per-model lock (``home/training/<id>.lock``)
keeps two processes from training one model at once; a failure writes ``home/training/<id>/error.json``
and the others go on. Unlike the analysis, workers write the model folders and checkpoints themselves
(they are large, and a resumed run needs the checkpoint), so the home folder and ``--out`` must be on a
file system the client and every worker share, as on Slurm clusters; a worker that does not see the
client's home says so instead of training.

With ``analysis`` (``train --analyze``), the worker analyses each model right after training it, in the
same task (``analysis.runner.run_task``), and writes ``<results>/<id>/analysis.json`` or, when the
analysis fails, ``<results>/<id>/error.json`` (``analysis.runner.record_outcome``), keeping the model.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vae_passive import home
from vae_passive.analysis.analyze import Settings
from vae_passive.analysis.runner import Task, is_done, record_outcome, run_task, write_error
from vae_passive.atomic import write_text
from vae_passive.errors import VaePassiveError
from vae_passive.executor import Call, check_choice, execute, sigterm_as_interrupt
from vae_passive.training.logs import LogSettings
from vae_passive.training.objectives import final_global_step
from vae_passive.training.train import TrainConfig, checkpoint_dir
from vae_passive.untrusted import UnreadableFile, read_json
from vae_passive.zoo import catalogue

#: Seconds between a worker's writes of its model's ``progress.json``.
PROGRESS_EVERY_S = 5.0
#: Cores per local training process that gave the most models x steps per second (docs/training.md).
THREADS_PER_JOB = 1


def default_jobs() -> int:
    """``--jobs`` when not given: this machine's cores split into processes of ``THREADS_PER_JOB`` cores."""
    return max(1, (os.cpu_count() or 1) // THREADS_PER_JOB)


@dataclass(frozen=True)
class AnalysisPlan:
    """``train --analyze``: analyse each model with ``settings`` as soon as it is trained, into ``results_dir``."""

    settings: Settings
    results_dir: str
    save_codes: bool = False


@dataclass(frozen=True)
class FleetSettings:
    """What every model of the selection is trained with (``train``'s options)."""

    steps: int
    batch_size: int
    data: str | None = None  # --data; None: each model's own data set
    precision: str = "fp32"
    out_root: str = ""  # default: home/models
    checkpoint_every: int = 1000
    zip_dir: str | None = None
    restart: bool = False
    force: bool = False
    log: LogSettings | None = None
    analysis: AnalysisPlan | None = None


@dataclass(frozen=True)
class FleetJob:
    """One model to train, with what a worker needs to check that it sees the client's files."""

    model_id: int
    settings: FleetSettings
    home: str
    marker: str | None = None  # a file the client made in the home folder (Dask only)


@dataclass
class ModelOutcome:
    """What a worker sends back for one model."""

    model_id: int
    status: str  # trained, skipped, failed, busy
    folder: str | None = None
    started_at: int | None = None  # the global step the run started from: 0, or its checkpoint's
    final_step: int | None = None
    seconds: float = 0.0
    error: str | None = None
    worker: str = ""
    analysis: str | None = None  # with --analyze: analysed, already, failed (None: the model was not trained)
    analysis_error: str | None = None


def planned_config(model_id: int, settings: FleetSettings) -> TrainConfig:
    """The ``TrainConfig`` model ``model_id`` gets (before its data is opened)."""
    record = catalogue.record(model_id)
    data = settings.data or record.dataset
    return TrainConfig.for_model(model_id, data, settings.steps, settings.batch_size, precision=settings.precision)


def trained_config(folder: Path) -> dict | None:
    """The training config recorded in a model folder written by ``train`` (None: none, or unreadable)."""
    try:
        recorded = read_json(folder / "model" / "results" / "json" / "train_config.json")
        value = json.loads(recorded["vae_passive.training_config"]) if isinstance(recorded, dict) else None
    except (UnreadableFile, KeyError, TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def out_root_of(settings: FleetSettings) -> Path:
    return Path(settings.out_root) if settings.out_root else home.models_dir()


# ---- the per-model task, run in a worker ------------------------------------------------------


def train_model(job: FleetJob) -> ModelOutcome:
    """Train (or resume, or skip) one model under its lock; never raises for a bad model."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    outcome = ModelOutcome(job.model_id, "failed", worker=worker)
    try:
        _check_shared(job)
        import filelock

        lock_path = home.home() / "training" / f"{job.model_id}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(lock_path, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            outcome.status = "busy"
            outcome.error = f"model {job.model_id} is being trained by another process (it holds {lock_path})"
            return outcome
        try:
            with sigterm_as_interrupt():
                outcome = _train_locked(job, outcome)
                if job.settings.analysis is not None:
                    _analyze_trained(job.model_id, outcome, job.settings.analysis)
                return outcome
        finally:
            lock.release()
    except VaePassiveError as error:
        outcome.error = str(error)
    except Exception as error:  # a bug or an unexpected TensorFlow error: keep going, say what it was
        outcome.error = f"{type(error).__name__}: {error}"
    return outcome


def _check_shared(job: FleetJob) -> None:
    """Stop with a clear error when this worker does not see the client's home folder and ``--out``."""
    here = home.home().resolve()
    fix = (
        "training on Dask needs the home folder and --out on a file system shared by the client and every "
        f"worker (as on Slurm clusters); start the workers with VAE_PASSIVE_HOME={job.home}"
    )
    host = socket.gethostname()
    if here != Path(job.home).resolve():
        raise VaePassiveError(f"the worker on {host} uses the home folder {here}, the client {job.home}; {fix}")
    if job.marker is not None and not Path(job.marker).is_file():
        raise VaePassiveError(f"the worker on {host} does not see {job.marker}, made by the client; {fix}")
    out = out_root_of(job.settings)
    if not out.is_dir():
        raise VaePassiveError(f"the worker on {host} does not see the output folder {out}; {fix}")
    analysis = job.settings.analysis
    if analysis is not None and not Path(analysis.results_dir).is_dir():
        raise VaePassiveError(f"the worker on {host} does not see the results folder {analysis.results_dir}; {fix}")


def _train_locked(job: FleetJob, outcome: ModelOutcome) -> ModelOutcome:
    from vae_passive.data import resolve_dataset
    from vae_passive.training.train import train

    settings, model_id = job.settings, job.model_id
    out = out_root_of(settings)
    final = out / str(model_id)
    if final.exists() and not settings.force:
        if trained_config(final) == asdict(planned_config(model_id, settings)):
            outcome.status, outcome.folder = "skipped", str(final)
            return outcome
        raise VaePassiveError(f"{final} exists, not trained with these settings; pass --force to replace it")
    record = catalogue.record(model_id)
    data, _ = resolve_dataset(record.dataset, settings.data, record.channels, purpose="train on")
    config = TrainConfig.for_model(model_id, data, settings.steps, settings.batch_size, precision=settings.precision)
    reporter = ProgressFile(checkpoint_dir(model_id))
    started = time.perf_counter()
    folder = train(
        config,
        data,
        out,
        checkpoint_every=settings.checkpoint_every,
        zip_dir=Path(settings.zip_dir) if settings.zip_dir else None,
        restart=settings.restart,
        force=settings.force,
        progress=reporter,
        log=settings.log,
    )
    outcome.status, outcome.folder = "trained", str(folder)
    outcome.started_at, outcome.final_step = reporter.start, reporter.step
    outcome.seconds = time.perf_counter() - started
    return outcome


def analysis_task(model_id: int, folder: str | Path) -> Task:
    """The analysis of a model trained here: its folder, under the model id's key (``<results>/<id>/``)."""
    return Task(str(model_id), model_id=model_id, model_dir=str(folder))


def _analyze_trained(model_id: int, outcome: ModelOutcome, plan: AnalysisPlan) -> None:
    """Analyse the model just trained (or found trained), unless already analysed with these settings; a failed
    analysis writes ``<results>/<id>/error.json`` and leaves the model as trained."""
    if outcome.status not in ("trained", "skipped") or outcome.folder is None:
        return
    results = Path(plan.results_dir)
    task = analysis_task(model_id, outcome.folder)
    if outcome.status == "skipped" and is_done(results, task, plan.settings):
        outcome.analysis = "already"
        return
    error = record_outcome(results, task, plan.settings, run_task(task, plan.settings), plan.save_codes)
    outcome.analysis, outcome.analysis_error = ("failed", error) if error else ("analysed", None)


class ProgressFile:
    """The training progress callback of a worker: ``<checkpoints>/progress.json``, at most every few seconds.

    The client reads these files to show steps/s and an ETA for the whole selection, whichever machine
    trains each model."""

    def __init__(self, folder: Path):
        self.path = folder / "progress.json"
        self.start: int | None = None
        self.step = 0
        self.written = 0.0

    def __call__(self, step: int, total: int, losses) -> None:
        if self.start is None:
            self.start = step
        self.step = step
        now = time.time()
        if now - self.written >= PROGRESS_EVERY_S or step >= total:
            record = {"start": self.start, "step": step, "total": total, "updated": now}
            write_text(self.path, json.dumps(record) + "\n")
            self.written = now


# ---- the client -------------------------------------------------------------------------------


@dataclass
class FleetStatus:
    """Where a run stands: models done/running/failed, global steps per second, an ETA for the selection."""

    models: int
    trained: int = 0
    skipped: int = 0
    failed: int = 0
    running: int = 0
    steps_done: int = 0  # global steps of the selection done (any run)
    steps_total: int = 0
    steps_per_s: float | None = None
    eta_s: float | None = None


@dataclass
class FleetSummary:
    trained: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    resumed: dict[int, int] = field(default_factory=dict)  # model -> the global step it resumed from
    elapsed_s: float = 0.0
    steps_per_s: float | None = None
    # with --analyze: models analysed in this run, already analysed with these settings, failed analyses
    analysed: list[int] = field(default_factory=list)
    already_analysed: list[int] = field(default_factory=list)
    analysis_failed: dict[int, str] = field(default_factory=dict)


def plan(ids: Sequence[int], settings: FleetSettings) -> tuple[list[int], list[int]]:
    """(to train, already done) of ``ids``; other settings in a folder or a checkpoint are one-line errors."""
    todo, done = [], []
    for model_id in ids:
        wanted = asdict(planned_config(model_id, settings))
        final = out_root_of(settings) / str(model_id)
        if final.exists() and not settings.force:
            if trained_config(final) != wanted:
                raise VaePassiveError(f"{final} exists, not trained with these settings; pass --force to replace it")
            done.append(model_id)
            continue
        saved = checkpoint_dir(model_id) / "config.json"
        if not settings.restart and saved.is_file() and _read_config(saved) != wanted:
            raise VaePassiveError(
                f"a checkpoint of model {model_id} with other settings exists in {saved.parent}; "
                "pass --restart to discard it"
            )
        todo.append(model_id)
    return todo, done


def _read_config(path: Path) -> object:
    try:
        return read_json(path)
    except UnreadableFile:
        return None


@contextmanager
def _shared_marker(needed: bool) -> Iterator[str | None]:
    """A file in the home folder that remote workers must see (the shared-file-system check)."""
    if not needed:
        yield None
        return
    marker = home.home() / "training" / f".client-{secrets.token_hex(8)}"
    write_text(marker, f"made by {socket.gethostname()}:{os.getpid()} for its workers to find\n")
    try:
        yield str(marker)
    finally:
        marker.unlink(missing_ok=True)


class _Tracker:
    """Follows the models in flight through their ``progress.json`` files and the finished ones."""

    def __init__(self, todo: Sequence[int], settings: FleetSettings, status: FleetStatus):
        self.status, self.begun, self.begun_at = status, time.perf_counter(), time.time()
        self.totals = {i: final_global_step(catalogue.record(i).method, settings.steps) for i in todo}
        self.seen: dict[int, tuple[int, int]] = {}  # model -> (start, step) of this run
        self.finished: set[int] = set()
        status.steps_total = sum(self.totals.values())

    def poll(self) -> FleetStatus:
        running = 0
        for model_id in set(self.totals) - self.finished:
            record = _read_config(checkpoint_dir(model_id) / "progress.json")
            if not isinstance(record, dict) or not all(isinstance(record.get(k), int) for k in ("start", "step")):
                continue
            updated = record.get("updated")
            if not isinstance(updated, float) or updated < self.begun_at:
                continue  # left by an earlier, killed run: not this run's steps
            if time.time() - updated < 600:
                running += 1
            self.seen[model_id] = (record["start"], record["step"])
        self.status.running = running
        return self._rates()

    def finish(self, outcome: ModelOutcome) -> FleetStatus:
        self.finished.add(outcome.model_id)
        if outcome.status == "trained" and outcome.final_step is not None:
            self.seen[outcome.model_id] = (outcome.started_at or 0, outcome.final_step)
        elif outcome.status == "skipped":
            self.seen[outcome.model_id] = (self.totals[outcome.model_id],) * 2
        return self._rates()

    def _rates(self) -> FleetStatus:
        status = self.status
        status.steps_done = sum(step for _, step in self.seen.values())
        this_run = sum(step - start for start, step in self.seen.values())
        elapsed = time.perf_counter() - self.begun
        status.steps_per_s = this_run / elapsed if this_run > 0 and elapsed > 0 else None
        left = [i for i in self.totals if i not in self.finished]
        remaining = sum(self.totals[i] - self.seen.get(i, (0, 0))[1] for i in left)
        status.eta_s = remaining / status.steps_per_s if status.steps_per_s else None
        return status


def train_selection(
    ids: Sequence[int],
    settings: FleetSettings,
    *,
    executor: str = "local",
    jobs: int = 1,
    scheduler: str | None = None,
    gpu: bool = False,
    progress: Callable[[FleetStatus], None] | None = None,
) -> FleetSummary:
    """Train ``ids`` (skipping those done with these settings); ``progress`` is told where the run stands
    before the first model, every few seconds and after each one."""
    from vae_passive.tfhub.runtime import limit_threads

    check_choice(executor, jobs, scheduler)
    if not ids:
        raise VaePassiveError("no model matches this selection")
    todo, done = plan(ids, settings)
    summary = FleetSummary(skipped=list(done))
    status = FleetStatus(models=len(ids), skipped=len(done))
    analyse_only = _unanalysed(done, settings, summary)
    out_root_of(settings).mkdir(parents=True, exist_ok=True)
    tracker = _Tracker(todo, settings, status)
    tell = progress or (lambda status: None)
    with _shared_marker(executor == "dask") as marker:
        jobs_ = [FleetJob(i, settings, str(home.home().resolve()), marker) for i in todo + analyse_only]
        resources = {"GPU": 1.0} if gpu else {}
        calls = [Call(str(job.model_id), train_model, (job,), resources) for job in jobs_]
        finished = execute(
            calls,
            executor=executor,
            jobs=jobs,
            scheduler=scheduler,
            initializer=limit_threads,
            tick=lambda: tell(tracker.poll()),
        )
        tell(status)
        with sigterm_as_interrupt():
            try:
                for item in finished:
                    outcome = item.value or ModelOutcome(int(item.key), "failed", error=item.error)
                    if outcome.model_id in tracker.totals:  # not a model trained before, only analysed now
                        _record(outcome, summary, status)
                        tell(tracker.finish(outcome))
                    _record_analysis(outcome, summary, settings)
            finally:
                summary.elapsed_s = time.perf_counter() - tracker.begun
                summary.steps_per_s = status.steps_per_s
    return summary


def _unanalysed(done: list[int], settings: FleetSettings, summary: FleetSummary) -> list[int]:
    """With --analyze: the trained models of ``done`` not yet analysed with these settings (their results
    folder made, for the workers to see); those analysed already go to the summary."""
    plan = settings.analysis
    if plan is None:
        return []
    Path(plan.results_dir).mkdir(parents=True, exist_ok=True)
    results = Path(plan.results_dir)
    missing = [i for i in done if not is_done(results, analysis_task(i, out_root_of(settings) / str(i)), plan.settings)]
    summary.already_analysed.extend(i for i in done if i not in missing)
    return missing


def _record_analysis(outcome: ModelOutcome, summary: FleetSummary, settings: FleetSettings) -> None:
    """Count one model's analysis. A model trained before this run whose task failed (a lost worker, a lock)
    counts as a failed analysis; a model that failed to train counts as a training failure only."""
    if settings.analysis is None:
        return
    model_id = outcome.model_id
    if outcome.analysis == "analysed":
        summary.analysed.append(model_id)
    elif outcome.analysis == "already":
        summary.already_analysed.append(model_id)
    elif outcome.analysis == "failed":
        summary.analysis_failed[model_id] = outcome.analysis_error or "unknown error"
    elif model_id in summary.skipped:
        summary.analysis_failed[model_id] = outcome.error or "unknown error"


def _record(outcome: ModelOutcome, summary: FleetSummary, status: FleetStatus) -> None:
    """Count one model's outcome; a failure (not a model busy elsewhere) leaves ``error.json``."""
    model_id = outcome.model_id
    if outcome.status == "trained":
        summary.trained.append(model_id)
        status.trained += 1
        if outcome.started_at:
            summary.resumed[model_id] = outcome.started_at
    elif outcome.status == "skipped":
        summary.skipped.append(model_id)
        status.skipped += 1
    else:
        error = outcome.error or "unknown error"
        summary.failed[model_id] = error
        status.failed += 1
        if outcome.status == "failed":
            write_error(home.home() / "training", str(model_id), model_id, error, None)
