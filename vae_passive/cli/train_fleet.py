"""``train`` over a selection: its options (``--jobs``, ``--executor``, ``--scheduler``, ``--gpu``,
``--precision``, ``--analyze`` with ``analyze``'s options), its progress line and its summary; the work is
``training.fleet.train_selection``."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vae_passive.cli.analyze import ANALYSIS_SETTINGS, analysis_options, analysis_settings, option_given
from vae_passive.cli.options import Selection
from vae_passive.cli.progress import StepBar, on_terminal
from vae_passive.errors import VaePassiveError

if TYPE_CHECKING:
    from vae_passive.training.fleet import AnalysisPlan, FleetSettings, FleetStatus, FleetSummary

F = TypeVar("F", bound=Callable[..., Any])
#: Seconds between progress lines when stderr is not a terminal (a batch job's log).
LOG_LINE_EVERY_S = 60.0


@dataclass(frozen=True)
class FleetOptions:
    jobs: int | None
    executor: str
    scheduler: str | None
    gpu: bool
    precision: str


def fleet_options(func: F) -> F:
    """``--jobs``, ``--executor``, ``--scheduler``, ``--gpu``, ``--precision``; the command gets ``fleet``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **params: Any) -> Any:
        names = ("jobs", "executor", "scheduler", "gpu", "precision")
        return func(*args, fleet=FleetOptions(**{name: params.pop(name) for name in names}), **params)

    options = [
        click.option(
            "--jobs",
            type=int,
            metavar="N",
            help="Models trained at once in local processes, the cores split between them "
            "[default: one per core, the fastest split measured; docs/training.md].",
        ),
        click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True),
        click.option("--scheduler", help="Dask scheduler address [$VAE_PASSIVE_SCHEDULER]."),
        click.option("--gpu", is_flag=True, help="Dask: each model needs one GPU (workers declaring a GPU resource)."),
        click.option(
            "--precision",
            default="fp32",
            show_default=True,
            metavar="fp32|bf16",
            help="fp32 (the spec) or bf16 compute with fp32 weights and optimizer state; recorded with the model.",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


#: ``analyze``'s options that ``train --analyze`` takes, by parameter name (their flags for messages).
ANALYSIS_FLAGS = {
    **{name: "--" + name.removesuffix("_spec").replace("_", "-") for name in ANALYSIS_SETTINGS},
    "results_dir": "--results",
    "save_codes": "--save-codes",
}


@dataclass(frozen=True)
class AnalysisChoice:
    """``--analyze`` and the analysis options as given to ``train``."""

    analyze: bool
    options: dict[str, Any]

    def plan(self, data_name: str | None) -> AnalysisPlan | None:
        """The analysis each trained model gets (None without --analyze); analysis options without --analyze,
        or bad ones, are one-line errors before anything is trained."""
        from vae_passive import home
        from vae_passive.training.fleet import AnalysisPlan

        if not self.analyze:
            given = [flag for name, flag in ANALYSIS_FLAGS.items() if option_given(name)]
            if given:
                raise VaePassiveError(
                    f"{', '.join(given)} set the analysis of each trained model; add --analyze "
                    "(or analyze the models later with vae-passive analyze)"
                )
            return None
        options = dict(self.options)
        results, save_codes = options.pop("results_dir"), options.pop("save_codes")
        settings = analysis_settings(data_name, **options)
        # absolute: Dask workers write there from their own working folders
        return AnalysisPlan(settings, str(Path(results or home.results_dir()).resolve()), save_codes)


def analyze_options(func: F) -> F:
    """``--analyze`` and ``analyze``'s options (``cli.analyze.analysis_options``); the command gets ``analysis``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **params: Any) -> Any:
        options = {name: params.pop(name) for name in ANALYSIS_FLAGS}
        return func(*args, analysis=AnalysisChoice(params.pop("analyze"), options), **params)

    wrapped = analysis_options(wrapper)
    flag = click.option(
        "--analyze",
        is_flag=True,
        help="Analyse each model as soon as it is trained (in its task), with analyze's options below.",
    )
    return flag(wrapped)  # type: ignore[return-value]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h" if days else f"{hours}h{minutes:02d}m"


def status_line(status: FleetStatus) -> str:
    """``done 3/10 (skipped 1) · running 2 · failed 0 · 45.1 steps/s · ETA 2h03m``."""
    rate = f"{status.steps_per_s:.1f} steps/s" if status.steps_per_s else "? steps/s"
    finished = status.trained + status.skipped
    return (
        f"done {finished}/{status.models} (skipped {status.skipped}) · running {status.running} · "
        f"failed {status.failed} · {rate} · ETA {_duration(status.eta_s)}"
    )


class FleetProgress:
    """A bar of global steps with the status line on a terminal; otherwise a status line every minute."""

    def __init__(self, quiet: bool):
        self.bar = StepBar("train", "step", enabled=on_terminal(quiet))
        self.lines = not quiet and not sys.stderr.isatty()
        self.printed = 0.0

    def __call__(self, status: FleetStatus) -> None:
        self.bar(status.steps_done, max(status.steps_total, 1), status_line(status))
        if self.lines and time.monotonic() - self.printed >= LOG_LINE_EVERY_S:
            click.echo(status_line(status), err=True)
            self.printed = time.monotonic()


def wants_fleet(model_id: int | None, selection: Selection, fleet: FleetOptions, analyze: bool = False) -> bool:
    """Whether ``train`` goes through the executor: a selection, or one model with --jobs/--executor/--gpu or
    --analyze."""
    if model_id is not None and selection.given:
        raise VaePassiveError("give either --model-id or a selection (--ids, --study, ...), not both")
    if model_id is None and not selection.given:
        raise VaePassiveError("give --model-id N or a selection (--ids, --study, --method, ...) of models to train")
    return model_id is None or fleet.executor != "local" or fleet.jobs is not None or fleet.gpu or analyze


def train_many(
    model_id: int | None, selection: Selection, settings: FleetSettings, fleet: FleetOptions, quiet: bool, as_json: bool
) -> None:
    """The executor path of ``train``: plan, train, summarise; exit 1 if any model failed."""
    from vae_passive.training.fleet import default_jobs, train_selection

    ids = [model_id] if model_id is not None else selection.ids() or []
    progress = FleetProgress(quiet)
    with progress.bar:
        try:
            summary = train_selection(
                ids,
                settings,
                executor=fleet.executor,
                jobs=default_jobs() if fleet.jobs is None else fleet.jobs,
                scheduler=fleet.scheduler,
                gpu=fleet.gpu,
                progress=progress,
            )
        except KeyboardInterrupt:
            click.echo("interrupted; checkpoints kept, rerun the same command to resume", err=True)
            sys.exit(130)
    _print_summary(summary, settings, as_json)
    if summary.failed or summary.analysis_failed:
        sys.exit(1)


def _print_summary(summary: FleetSummary, settings: FleetSettings, as_json: bool) -> None:
    """The end of a run: what was trained (and analysed), on stdout; each failure on stderr."""
    rate = round(summary.steps_per_s, 2) if summary.steps_per_s else None
    plan = settings.analysis
    if as_json:
        facts = {"trained": summary.trained, "already_done": summary.skipped, "failed": summary.failed}
        resumed = {str(k): v for k, v in summary.resumed.items()}
        extra = {"resumed_from": resumed, "elapsed_s": round(summary.elapsed_s, 3), "steps_per_s": rate}
        if plan is not None:
            analysed = {"analysed": summary.analysed, "already_done": summary.already_analysed}
            extra["analysis"] = {**analysed, "failed": summary.analysis_failed, "results": plan.results_dir}
        click.echo(json.dumps({**facts, **extra}, indent=1))
    else:
        click.echo(
            f"trained {len(summary.trained)}, already done {len(summary.skipped)}, failed {len(summary.failed)} "
            f"in {summary.elapsed_s:.1f} s" + (f" ({rate} steps/s)" if rate else "")
        )
        if plan is not None:
            click.echo(
                f"analysed {len(summary.analysed)}, already done {len(summary.already_analysed)}, "
                f"failed {len(summary.analysis_failed)}; results in {plan.results_dir}"
            )
    for key, error in sorted(summary.failed.items()):
        click.echo(f"  failed {key}: {error}", err=True)
    for key, error in sorted(summary.analysis_failed.items()):
        click.echo(f"  analysis failed {key}: {error} (the model is kept; rerun to analyse it)", err=True)
