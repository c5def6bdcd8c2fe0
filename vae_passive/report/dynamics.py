"""The training dynamics of logged models (``train --log-every``): how passive latents appear.

``read_logs`` reads ``logs/*.parquet`` of a model folder (the document's ``model.path``); the figure
functions take those tidy frames (with a ``key`` column per model) and an optional ``ax``/``fig``
and return the figure, as in ``figures``. ``dynamics_figures`` yields what ``render`` saves: per
method × value (mean ± sd over seeds) the counts of each kind and the total correlation of mean vs
sampled codes vs step, per model each latent's E[σ²] vs step, the mean code's correlation matrix
at three steps and the correlation of each passive pair vs step; a run outside the catalogue
(``TrainingMonitor``) gets its own kinds and TC figure. A model folder without logs gets a note, not a failure.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogFormatter

from vae_passive.analysis.codes import limits
from vae_passive.errors import VaePassiveError
from vae_passive.latents.representations import REPRESENTATIONS
from vae_passive.latents.variables import KINDS
from vae_passive.report.figures import CORRELATION_CMAP, new_figure, suptitle
from vae_passive.report.groups import TRAINED, group_labels, slug
from vae_passive.report.read import model_folder, outside_note
from vae_passive.report.style import KIND_COLOURS, REPRESENTATION_COLOURS
from vae_passive.untrusted import UnreadableFile, read_parquet, reason

LOG_TABLES = {
    "latents": ("step", "latent", "kind", "mean_of_variance"),
    "scores": ("step", "representation", "subset", "gaussian_total_correlation"),
    "correlations": ("step", "row", "column", "mean", "sampled"),
}
INDEX_COLUMNS = ("step", "latent", "row", "column")
TC_SUBSETS = {"full": "-", "passive": "--", "active+mixed": ":"}


@dataclass(frozen=True)
class Logs:
    """One or more models' logs: tidy frames with a ``key`` column."""

    latents: pd.DataFrame
    scores: pd.DataFrame
    correlations: pd.DataFrame


def read_logs(folder: Path, key: str) -> Logs | None:
    """The logs under ``folder/logs``, None without a ``logs/`` folder; a ``VaePassiveError`` naming what is
    missing, unreadable or out of range (``_check_log``), so that one model's bad logs cost only its figures."""
    if not (Path(folder) / "logs").is_dir():
        return None
    frames = {}
    for name, columns in LOG_TABLES.items():
        path = Path(folder) / "logs" / f"{name}.parquet"
        if not path.is_file():
            raise VaePassiveError(f"{folder} has no training logs ({path.name}); train it with --log-every K")
        try:  # someone else's file: a regular file, bounded in bytes and rows, only the columns used
            frame = read_parquet(path, list(columns))
        except UnreadableFile as error:
            raise VaePassiveError(f"{reason(error)}; was it written by train --log-every?") from None
        frames[name] = _check_log(path, frame).assign(key=key)
    return Logs(**frames)


def _has_logs(recorded: str) -> bool:
    """Whether a folder not followed has a ``logs/`` folder (only then is it worth a note)."""
    try:
        return (Path(recorded) / "logs").is_dir()
    except (OSError, ValueError):
        return False


def _check_log(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its values in the ranges the figures need: at least one row; steps, latent, row and column
    indices finite integers >= 0 (indices below the latents cap, ``analysis.codes.limits``: a correlation
    matrix is drawn at the largest one); kinds among ``KINDS``; the values numeric (infinities become NaN)."""
    if frame.empty:
        raise VaePassiveError(f"{path} has no rows")
    latents_cap = limits()[1]
    for column in frame.columns:
        values = frame[column]
        if column == "kind":
            unknown = sorted(set(values.astype(str)) - set(KINDS))[:3]
            if unknown:
                raise VaePassiveError(f"{path}: kind {', '.join(map(repr, unknown))} is not one of {', '.join(KINDS)}")
            continue
        if column in ("representation", "subset"):
            frame[column] = values.astype(str)
            continue
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise VaePassiveError(f"{path}: column {column} is not numeric ({values.dtype})")
        numbers = values.to_numpy(np.float64)
        if column in INDEX_COLUMNS:
            upper = np.inf if column == "step" else latents_cap
            if not (np.all(np.isfinite(numbers)) and np.all(numbers >= 0) and np.all(numbers < upper)):
                raise VaePassiveError(f"{path}: {column} holds a value that is not an integer in [0, {upper:g})")
            if np.any(numbers != np.floor(numbers)) or np.any(numbers >= 2**53):
                raise VaePassiveError(f"{path}: {column} holds a value that is not an integer")
            frame[column] = numbers.astype(np.int64)
        else:
            frame[column] = np.where(np.isfinite(numbers), numbers, np.nan)
    return frame


def combine(logs: list[Logs]) -> Logs:
    """Several models' logs as one."""
    return Logs(*(pd.concat([getattr(part, name) for part in logs], ignore_index=True) for name in LOG_TABLES))


def _band(ax: Axes, table: pd.DataFrame, label: str, steps: list[int] | None = None, **style) -> None:
    """Mean ± sd over models (``key``) of ``value`` per step; a gap at ``steps`` without a value. Where fewer
    runs than the rest stand behind a point (a missing value), that point is labelled with its count."""
    per_step = table.groupby("step")["value"].agg(["mean", "std", "count"]).fillna({"std": 0.0})
    if steps is not None:
        per_step = per_step.reindex(steps)
    ax.plot(per_step.index, per_step["mean"], label=label, **style)
    counts = per_step["count"].fillna(0)
    if counts.nunique() > 1:
        for step, row in per_step[counts < counts.max()].dropna(subset=["mean"]).iterrows():
            ax.annotate(f"n={int(row['count'])}", (step, row["mean"]), fontsize="x-small", color=style.get("color"))
    if table["key"].nunique() > 1:
        colour = style.get("color")
        ax.fill_between(
            per_step.index,
            per_step["mean"] - per_step["std"],
            per_step["mean"] + per_step["std"],
            color=colour,
            alpha=0.2,
        )


def _axes(ax: Axes | None) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new single-panel figure."""
    if ax is None:
        fig = new_figure(None, 5.0, 3.4)
        return fig, fig.add_subplot()
    root = ax.get_figure(root=True)
    assert isinstance(root, Figure)
    return root, ax


def counts_figure(latents: pd.DataFrame, title: str, ax: Axes | None = None) -> Figure:
    """Active, mixed and passive counts vs step (mean ± sd over models)."""
    fig, ax = _axes(ax)
    counts = latents.groupby(["key", "step"])["kind"].value_counts().unstack(fill_value=0)
    for kind in KINDS:
        column = counts[kind] if kind in counts else pd.Series(0, index=counts.index)
        _band(ax, column.rename("value").reset_index(), kind, color=KIND_COLOURS[kind])
    ax.set(xlabel="training step", ylabel="latents", title=title)
    ax.legend(fontsize="small")
    return fig


class _PlainLogFormatter(LogFormatter):
    """Matplotlib's choice of which minor ticks of a log axis to label (those of a range under about a decade),
    written as plain numbers: its default writes mathtext, which the report's style shows raw (``$\\mathdefault``)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def total_correlation_figure(scores: pd.DataFrame, title: str, ax: Axes | None = None) -> Figure:
    """Total correlation of mean vs sampled codes vs step for full, passive and active+mixed (log scale)."""
    fig, ax = _axes(ax)
    for subset, linestyle in TC_SUBSETS.items():
        for representation in REPRESENTATIONS:
            rows = scores[(scores["subset"] == subset) & (scores["representation"] == representation)]
            rows = rows.rename(columns={"gaussian_total_correlation": "value"})
            if len(rows):
                style = {"color": REPRESENTATION_COLOURS[representation], "linestyle": linestyle}
                _band(ax, rows, f"{subset}, {representation}", sorted(scores["step"].unique()), **style)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # no mathtext in the report's style
    ax.yaxis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
    ax.set(xlabel="training step", ylabel="Gaussian total correlation (nats)", title=title)
    ax.legend(fontsize="x-small", ncols=2)
    return fig


def variance_figure(latents: pd.DataFrame, title: str, ax: Axes | None = None) -> Figure:
    """Each latent's E[σ²] vs step, coloured by its kind at the last logged step."""
    fig, ax = _axes(ax)
    last = latents[latents["step"] == latents["step"].max()].set_index("latent")["kind"]
    for latent, rows in latents.groupby("latent"):
        kind = str(last.get(latent, "mixed"))
        ax.plot(rows["step"], rows["mean_of_variance"], color=KIND_COLOURS[kind], lw=1.2)
    ax.axhspan(0.9, 1.1, color="0.9", zorder=0, label="passive band")
    for kind in KINDS:
        ax.plot([], [], color=KIND_COLOURS[kind], label=f"{kind} at the end")
    ax.set(xlabel="training step", ylabel="E[σ²] over the probe sample", title=title)
    ax.legend(fontsize="x-small")
    return fig


def correlation_steps_figure(
    correlations: pd.DataFrame, steps: list[int], title: str, fig: Figure | None = None
) -> Figure:
    """The mean code's correlation matrix at ``steps``, one heatmap each."""
    fig = new_figure(fig, 3.0 * len(steps) + 0.8, 3.2)
    axes = fig.subplots(1, len(steps), squeeze=False)[0]
    image = None
    for ax, step in zip(axes, steps, strict=True):
        rows = correlations[correlations["step"] == step]
        size = int(rows["row"].max()) + 1 if len(rows) else 0
        matrix = np.full((size, size), np.nan)
        matrix[rows["row"].to_numpy(int), rows["column"].to_numpy(int)] = rows["mean"].to_numpy(float)
        image = ax.imshow(np.ma.masked_invalid(matrix), cmap=CORRELATION_CMAP, vmin=-1, vmax=1)
        ax.set(title=f"step {step}", xlabel="latent", ylabel="latent")
    if image is not None:
        fig.colorbar(image, ax=list(axes), label="correlation of mean codes", shrink=0.8)
    suptitle(fig, title)
    return fig


def three_steps(steps: pd.Series) -> list[int]:
    """The first, a middle and the last logged step."""
    unique = sorted(set(steps.astype(int)))
    return sorted({unique[0], unique[len(unique) // 2], unique[-1]})


@dataclass(frozen=True)
class DynamicsFigure:
    """A figure to save: its file stem (containing ``dynamics``), report section and caption."""

    stem: str
    section: str
    caption: str
    figure: Figure


def schedule(logs: Logs) -> tuple[int, ...]:
    """The steps at which a run was logged: runs are averaged only when these are identical."""
    return tuple(sorted(set(logs.scores["step"].astype(int)) | set(logs.latents["step"].astype(int))))


def schedule_words(steps: tuple[int, ...]) -> str:
    """``steps 0-3,000, every 500`` (or ``steps 0, 100, 300`` when the spacing varies)."""
    gaps = {b - a for a, b in itertools.pairwise(steps)}
    if len(steps) > 2 and len(gaps) == 1:
        return f"steps {steps[0]:,}-{steps[-1]:,}, every {gaps.pop():,}"
    return "steps " + ", ".join(f"{s:,}" for s in steps)


def _runs(models: pd.DataFrame, roots: Sequence[Path]) -> tuple[dict[str, Logs], list[str]]:
    """The logs of each model folder that has them, and notes on the folders whose logs cannot be read.
    A model folder is followed only inside ``roots`` (``read.model_folder``); one outside with logs gets a note.

    Only models trained here can have logs: zoo models and codes computed elsewhere get no note."""
    found: dict[str, Logs] = {}
    notes: list[str] = []
    for row in models.itertuples():
        folder = model_folder(row.path, roots)
        if folder is None:
            if row.path and _has_logs(str(row.path)):
                notes.append(outside_note(str(row.key), row.path, "training dynamics"))
            continue
        try:
            logs = read_logs(folder, str(row.key))
        except VaePassiveError as error:
            notes.append(f"model {row.key}: no training dynamics ({error})")
            continue
        if logs is not None:
            found[str(row.key)] = logs
    with_folders = int((models["origin"].astype(str) == TRAINED).sum()) if "origin" in models else len(models)
    without = with_folders - len(found) - len(notes)
    if without and found:
        notes.append(f"{without} model folder(s) have no training logs (train --log-every K), so no dynamics")
    return found, notes


def _averaged(found: dict[str, Logs], group: pd.DataFrame) -> list[tuple[tuple[int, ...], list[str]]]:
    """The group's runs split by schedule (identical logged steps), most runs first."""
    by_schedule: dict[tuple[int, ...], list[str]] = {}
    for key in group["key"].astype(str):
        by_schedule.setdefault(schedule(found[key]), []).append(key)
    return sorted(by_schedule.items(), key=lambda item: (-len(item[1]), item[0][-1]))


def dynamics_figures(models: pd.DataFrame, roots: Sequence[Path]) -> tuple[list[DynamicsFigure], list[str]]:
    """Figures for the models (the report's ``models`` table) whose folders have logs, and notes on the rest.

    Runs are averaged (mean ± sd) only within one comparability group (``groups``: origin, run length, data...)
    and one method x value, and only when they were logged at the same steps; a run with another schedule gets
    a figure of its own. Each title says how many runs stand behind every point."""
    found, notes = _runs(models, roots)
    out: list[DynamicsFigure] = []
    if not found:
        return out, notes
    chosen = models[models["key"].astype(str).isin(found)]
    out += [run_figure(str(key), found[str(key)]) for key in chosen.loc[chosen["method"].isna(), "key"]]
    chosen = chosen[chosen["method"].notna()]  # runs outside the catalogue (TrainingMonitor) are never averaged
    chosen = chosen.assign(_group=group_labels(chosen) if "origin" in chosen else "")
    for (group_label, method, value), group in chosen.groupby(["_group", "method", "value"], dropna=False, sort=True):
        for steps, keys in _averaged(found, group):
            logs = combine([found[k] for k in keys])
            label = f"{method}, value {value:g}" if pd.notna(value) else str(method)
            about = f"{group_label}; " if group_label else ""
            runs = f"mean ± sd over {len(keys)} runs at every point" if len(keys) > 1 else "1 run"
            title = f"{label} ({about}{schedule_words(steps)}; {runs})"
            fig = new_figure(None, 10.0, 3.6)
            left, right = fig.subplots(1, 2)
            counts_figure(logs.latents, "latent kinds", left)
            total_correlation_figure(logs.scores, "total correlation", right)
            suptitle(fig, title)
            parts = (f"dynamics__{method}_{value}", slug(group_label), f"{steps[-1]}-every-{_every(steps)}")
            stem = "__".join(part for part in parts if part)
            out.append(DynamicsFigure(stem, "training dynamics", f"{title}: kinds and TC", fig))
    for key, logs in found.items():
        out += _model_dynamics(key, logs)
    pair_figures, pair_notes = passive_pairs_figures(found)
    return out + pair_figures, notes + pair_notes


def _every(steps: tuple[int, ...]) -> int:
    return steps[1] - steps[0] if len(steps) > 1 else 0


def _model_dynamics(key: str, logs: Logs) -> list[DynamicsFigure]:
    """One model's E[σ²] per latent and its mean code's correlations at three steps."""
    variance = variance_figure(logs.latents, f"model {key}: E[σ²] per latent")
    steps = three_steps(logs.correlations["step"])
    heatmaps = correlation_steps_figure(logs.correlations, steps, f"model {key}: mean code correlations")
    return [
        DynamicsFigure(f"model_{key}__dynamics_variance", "training dynamics", f"model {key}: E[σ²] vs step", variance),
        DynamicsFigure(
            f"model_{key}__dynamics_correlation",
            "training dynamics",
            f"model {key}: correlations at steps {steps}",
            heatmaps,
        ),
    ]


# ---- the correlations of passive pairs, and runs outside the catalogue (TrainingMonitor) ----------------


def passive_pairs(latents: pd.DataFrame) -> list[tuple[int, int]]:
    """The pairs (i < j) of latents that are passive at the last logged step."""
    last = latents[latents["step"] == latents["step"].max()]
    passive = sorted(int(j) for j in last.loc[last["kind"] == "passive", "latent"])
    return [(i, j) for n, i in enumerate(passive) for j in passive[n + 1 :]]


def passive_pairs_figure(
    correlations: pd.DataFrame, latents: pd.DataFrame, title: str, ax: Axes | None = None
) -> Figure:
    """One model's correlation of each pair of latents passive at the last logged step vs step: the mean
    code's and the sampled code's, one line per pair."""
    fig, ax = _axes(ax)
    pairs = passive_pairs(latents)
    table = correlations.set_index(["row", "column"]).sort_values("step")
    for representation in REPRESENTATIONS:
        colour = REPRESENTATION_COLOURS[representation]
        for number, (i, j) in enumerate(pairs):
            rows = table.loc[(i, j)] if (i, j) in table.index else table.iloc[:0]
            label = f"{representation} code" if number == 0 else None
            ax.plot(rows["step"], rows[representation], color=colour, lw=1.0, alpha=0.8, label=label)
    ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
    ax.set_ylim(-1.05, 1.05)
    ax.set(xlabel="training step", ylabel="correlation of the pair", title=title)
    if pairs:
        ax.legend(fontsize="x-small")
    return fig


def passive_pairs_figures(found: dict[str, Logs]) -> tuple[list[DynamicsFigure], list[str]]:
    """Per model with logs, the passive pairs' correlations vs step; a note for a model with < 2 passive latents."""
    out, notes = [], []
    for key, logs in found.items():
        pairs = passive_pairs(logs.latents)
        if not pairs:
            notes.append(f"model {key}: fewer than 2 latents are passive at the last logged step, so no pairs to draw")
            continue
        passive = sorted({latent for pair in pairs for latent in pair})
        title = f"model {key}: {len(pairs)} pair(s) of passive latents {', '.join(map(str, passive))}"
        figure = passive_pairs_figure(logs.correlations, logs.latents, title)
        caption = f"{title} (passive at the last logged step): correlation vs step, mean and sampled codes"
        out.append(DynamicsFigure(f"model_{key}__dynamics_passive_pairs", "training dynamics", caption, figure))
    return out, notes


def run_figure(key: str, logs: Logs) -> DynamicsFigure:
    """Kinds and TC vs step of one run outside the catalogue (no method or value: never averaged with others)."""
    fig = new_figure(None, 10.0, 3.6)
    left, right = fig.subplots(1, 2)
    counts_figure(logs.latents, "latent kinds", left)
    total_correlation_figure(logs.scores, "total correlation", right)
    title = f"model {key} (1 run, given codes)"
    suptitle(fig, title)
    return DynamicsFigure(f"model_{key}__dynamics", "training dynamics", f"{title}: kinds and TC", fig)
