"""The report's orchestration: read the results, write the tables, draw and save the figures, write the pages.

Everything written goes through ``vae_passive.atomic`` and ``files.inside``; nothing written depends
on the clock, so the same results give byte-identical files. Documents are untrusted: file names
are built from safe slugs (``files.FileNames``), their text is escaped in report.md, index.html
(``pages``) and the CSV tables (``files.csv_safe``), and a document or codes file that cannot be
read is listed, not fatal.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import os
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.text import Text

from vae_passive import home
from vae_passive.analysis.codes import float_codes, read_arrays
from vae_passive.analysis.document import CODES_NAME
from vae_passive.atomic import write_bytes, write_file, write_text
from vae_passive.errors import VaePassiveError
from vae_passive.latents.representations import variance_representation
from vae_passive.report import downstream, dynamics, figures, groups, pages, tables
from vae_passive.report.claims import counted
from vae_passive.report.files import FileNames, inside, write_strings_csv, write_table
from vae_passive.report.findings import findings, findings_table, prevalence_rows
from vae_passive.report.pages import FigureFile
from vae_passive.report.provenance import data_kind
from vae_passive.report.read import Problem, Progress, model_folder, outside_note, read_results, select_models
from vae_passive.untrusted import is_tensorflow_error, printable, reason
from vae_passive.zoo import catalogue

FORMATS = ("png", "pdf", "svg")
SAVE_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Date": None, "Creator": None},
}
MAX_WORKERS = 8
MIN_PARALLEL_GROUPS = 4  # below this, starting worker processes costs more than it saves
TRAVERSAL_VALUES = tuple(np.linspace(-2.0, 2.0, 7))
GROUP_FIGURES = ("passive", "scores", "kinds", "downstream")
#: Group label of a model whose document leaves a catalogue field out (``analyze --codes``, own models).
MISSING_LABELS = {"method": "any method", "dataset": "any dataset"}
CATALOGUE_FIELDS = ("method", "dataset", "hyperparameter", "value", "seed")


class _FigureWriter:
    """Saves figures in the requested formats (PNG always kept in memory for index.html)."""

    def __init__(self, out: Path, formats: Sequence[str], progress: Progress):
        self.out, self.formats, self.progress = out, tuple(formats), progress
        self.saved: list[FigureFile] = []

    def save(self, fig: Figure, name: str, section: str, caption: str) -> None:
        """Save ``fig`` as ``figures/<name>.<fmt>``; ``name`` is a ``FileNames`` stem. Its texts (titles, labels,
        legends: document strings) lose their control characters first (``untrusted.printable``), line by line:
        the line breaks that wrap a title stay."""
        for text in fig.findobj(Text):
            text.set_text("\n".join(printable(line) for line in text.get_text().split("\n")))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata=SAVE_METADATA["png"])
        png = buffer.getvalue()
        files = {}
        for fmt in self.formats:
            files[fmt] = f"figures/{name}.{fmt}"
            target = inside(self.out, files[fmt])
            if fmt == "png":
                write_bytes(target, png)
            else:
                write_file(target, partial(fig.savefig, format=fmt, metadata=SAVE_METADATA[fmt]))
        self.saved.append(FigureFile(section, caption, files, png))

    def draw_groups(self, jobs: list[_GroupJob]) -> None:
        """Draw the method x dataset figures, in worker processes when there are many (same files, same order)."""
        workers = min(os.cpu_count() or 1, MAX_WORKERS, len(jobs))
        results: Iterable[list[FigureFile]]
        if workers < 2 or len(jobs) < MIN_PARALLEL_GROUPS or "fork" not in mp.get_all_start_methods():
            results = map(_draw_group, jobs)
            pool = None
        else:
            # fork: workers inherit the imports, and never re-run the CLI's __main__ as spawn would.
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"))
            results = pool.map(_draw_group, jobs)
        try:
            for done, saved in enumerate(results, start=1):
                self.saved.extend(saved)
                if done % 10 == 0 or done == len(jobs):
                    self.progress(f"  figures for {done}/{len(jobs)} method x dataset groups")
        finally:
            if pool is not None:
                pool.shutdown()


@dataclass(frozen=True)
class _GroupJob:
    """The figures of one method x dataset (x rule): everything a worker process needs."""

    out: Path
    formats: tuple[str, ...]
    summary: pd.DataFrame
    downstream: pd.DataFrame  # the group's truncated downstream rows (``downstream.downstream_rows``)
    downstream_note: str  # which models the downstream figure averages (``downstream.study_models``)
    title: str
    names: dict[str, str]  # file stem per figure kind, claimed in the parent so that names are reproducible
    section: str


def _draw_group(job: _GroupJob) -> list[FigureFile]:
    writer = _FigureWriter(job.out, job.formats, lambda message: None)
    part, title, names, section = job.summary, job.title, job.names, job.section
    with matplotlib.rc_context(figures.STYLE):
        writer.save(figures.passive_figure(part, title), names["passive"], section, "passive latents vs TC and MI")
        writer.save(figures.subset_scores_figure(part, title), names["scores"], section, "scores per latent subset")
        writer.save(figures.kinds_figure(part, title), names["kinds"], section, "active, mixed and passive counts")
        drawn = metrics_part(part)
        for family in figures.metric_families(drawn):  # one figure per metric, its keys as panels
            family_part = drawn[(drawn["table"] != "metrics") | (drawn["quantity"] == family)]
            writer.save(figures.metrics_figure(family_part, title), names[f"metrics:{family}"], section, family)
        if len(job.downstream):
            models = counted(job.downstream["key"].nunique())
            caption = (
                f"the authors' downstream figure, logistic regression per subset ({models}; {job.downstream_note})"
            )
            figure = downstream.downstream_figure(job.downstream, title, job.downstream_note)
            writer.save(figure, names["downstream"], section, caption)
    return writer.saved


def metrics_part(summary: pd.DataFrame) -> pd.DataFrame:
    """``summary`` without the truncated downstream tasks' rows (they have a figure of their own)."""
    return summary[~((summary["table"] == "metrics") & summary["quantity"].isin(downstream.TRUNCATED))]


def _source_label(models: pd.DataFrame) -> str:
    parts = []
    for source, real in sorted(set(zip(models["source"].astype(str), models["real"], strict=True)), key=str):
        kind = data_kind(real)
        parts.append(f"{source} ({'procedural stand-in' if kind == 'procedural' else kind})")
    return "data: " + ", ".join(parts)


def _group_jobs(
    writer: _FigureWriter,
    names: FileNames,
    summary: pd.DataFrame,
    models: pd.DataFrame,
    metrics: pd.DataFrame,
    rule_suffix: str,
    rule_text: str,
) -> list[_GroupJob]:
    """One job per method x dataset of one rule, in catalogue order; models whose documents leave the
    method or dataset out are grouped under ``MISSING_LABELS``, and the title says which fields were left out."""
    order = {name: i for i, name in enumerate(catalogue.DATASETS)}
    methods = {name: i for i, name in enumerate(catalogue.METHOD_NAMES)}
    model_groups = _labels(models)
    summary_groups, metric_groups = _labels(summary), _labels(metrics)
    pairs = {tuple(label.split(_SEPARATOR)) for label in model_groups.unique()}
    groups = sorted(pairs, key=lambda md: (methods.get(md[0], 99), md[0], order.get(md[1], 99), md[1]))
    jobs = []
    for method, dataset in groups:
        label = f"{method}{_SEPARATOR}{dataset}"
        group_models = models[model_groups == label]
        missing = [c for c in CATALOGUE_FIELDS if group_models[c].isna().all()]
        left_out = f" · not recorded: {', '.join(missing)}" if missing else ""
        rows = metrics[metric_groups == label]
        families = sorted(set(rows["metric"].astype(str)) - set(downstream.TRUNCATED))
        stems = {kind: f"{kind}__{method}__{dataset}{rule_suffix}" for kind in GROUP_FIGURES}
        stems |= {f"metrics:{f}": f"metrics__{method}__{dataset}__{f}{rule_suffix}" for f in families}
        jobs.append(
            _GroupJob(
                out=writer.out,
                formats=writer.formats,
                summary=summary[summary_groups == label],
                downstream=downstream.downstream_rows(rows),
                downstream_note=downstream.study_models(rows)[1],
                title=f"{method} × {dataset} · {_source_label(group_models)} · {counted(len(group_models))}"
                f"{rule_text}{left_out}",
                names={kind: names.claim(stem) for kind, stem in stems.items()},
                section=f"{method} × {dataset}{rule_text}{left_out}",
            )
        )
    return jobs


_SEPARATOR = "\x1f"  # between method and dataset in a group label (no name from a document holds it)


def _labels(frame: pd.DataFrame) -> pd.Series:
    """``method<_SEPARATOR>dataset`` of each row, ``MISSING_LABELS`` where the document left one out."""
    method, dataset = (
        frame[c].astype(object).where(frame[c].notna(), MISSING_LABELS[c]).astype(str) for c in ("method", "dataset")
    )
    return method + _SEPARATOR + dataset


def _draw_groups(
    writer: _FigureWriter,
    names: FileNames,
    report_tables: tables.Tables,
    group_table: pd.DataFrame,
    summary: pd.DataFrame,
) -> tuple[list[tuple], int]:
    """The overview and method x dataset figures of each comparability group (``groups``), largest first:
    models that differ in origin, run length, data, N, rule or preset are never drawn or counted together.

    Returns (group row, findings, prevalence rows) per group and how many models have no method or dataset.
    """
    group_findings = []
    unplaced = 0
    split = tables.by_group(report_tables, group_table)
    for part, group in zip(split, group_table.itertuples(), strict=True):
        suffix, text = (f"__{group.slug}", f" · {group.label}") if len(split) > 1 else ("", "")
        part_summary = tables.summarize(part) if len(split) > 1 else summary
        placed = part_summary[part_summary["method"].notna() & part_summary["dataset"].notna()]
        placed_models = part.models[part.models["method"].notna() & part.models["dataset"].notna()]
        if len(placed):
            overview_title = f"all methods · {_source_label(placed_models)} · {counted(len(placed_models))}{text}"
            fig = figures.overview_figure(tables.with_strength(placed), overview_title)
            writer.save(fig, names.claim(f"overview{suffix}"), f"overview{text}", "overview across methods")
        writer.draw_groups(_group_jobs(writer, names, part_summary, part.models, part.metrics, suffix, text))
        unplaced += int((part.models["method"].isna() | part.models["dataset"].isna()).sum())
        group_findings.append((group, findings(part), prevalence_rows(tables.prevalence(part.models))))
    return group_findings, unplaced


def _load_codes(key: str, folder: Path, num_latents: int) -> tuple[dict[str, np.ndarray] | None, list[str]]:
    """The model's saved codes (mean, logvar, sampled) as float64, or None and a note saying why not."""
    codes_path = folder / CODES_NAME
    if not codes_path.is_file():
        command = (
            f"`vae-passive analyze --ids {key} --save-codes`"
            if key.isdigit()
            else "`vae-passive analyze` with --save-codes"
        )
        return None, [
            f"model {key}: no codes.npz, so no histograms or correlation heatmaps; run {command} "
            "to keep the codes. Traversals start from the zero code."
        ]
    try:
        arrays = read_arrays(codes_path, ("mean", "logvar", "sampled"))
        if len(arrays) < 3 or any(a.ndim != 2 or a.shape[1] != num_latents or not len(a) for a in arrays.values()):
            raise ValueError(f"codes are not mean, logvar and sampled of shape (N, {num_latents}) with N > 0")
        codes = {name: float_codes(name, array).astype(np.float64) for name, array in arrays.items()}
    except (VaePassiveError, ValueError, TypeError) as error:
        return None, [f"model {key}: cannot use {codes_path.name} ({reason(error)}); no histograms or heatmaps"]
    return codes, []


def _traversals(module_path: str, base: np.ndarray) -> tuple[str, np.ndarray]:
    """Decode ``base`` with one latent at a time set to each ``TRAVERSAL_VALUES``: (module folder, images)."""
    from vae_passive.tfhub.module import Module

    module = Module(module_path)
    num = len(base)
    grid = np.repeat(base[None, None, :], num * len(TRAVERSAL_VALUES), axis=0).reshape(num, len(TRAVERSAL_VALUES), num)
    for i in range(num):
        grid[i, :, i] = TRAVERSAL_VALUES
    logits = module.decode(grid.reshape(-1, num))
    images = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    return str(module.path), images.reshape(num, len(TRAVERSAL_VALUES), *images.shape[1:])


def _model_figures(
    writer: _FigureWriter,
    names: FileNames,
    key: str,
    folder: Path,
    report_tables: tables.Tables,
    progress: Progress,
    roots: Sequence[Path],
) -> list[str]:
    """Histograms, correlation heatmaps and traversals of one model; returns notes on what was skipped.

    The module for the traversals is the one the document names (``model.path``) if it lies inside ``roots``
    (``read.model_folder``), loaded through ``vae_passive.tfhub.module``; the figure's caption says which folder.
    """
    model = report_tables.models[report_tables.models["key"].astype(str) == key].iloc[0]
    latents = report_tables.latents[report_tables.latents["key"].astype(str) == key].sort_values("latent")
    kinds = [str(k) for k in latents["kind"]]
    about = [f"{model['method']} × {model['dataset']}"] if pd.notna(model["method"]) else []
    about += [f"seed {model['seed']}"] if pd.notna(model["seed"]) else []
    title = f"model {key}" + (f" ({', '.join(about)})" if about else "") + f" · {_source_label(model.to_frame().T)}"
    section = f"model {key}"
    codes, notes = _load_codes(key, folder, len(kinds))
    if codes is not None:
        variance = variance_representation(codes["logvar"])
        fig = figures.histograms_figure(codes["mean"], codes["sampled"], variance, kinds, title)
        name = names.claim(f"model_{key}__histograms")
        writer.save(fig, name, section, "histograms of mean, sampled and variance codes")
        fig = figures.correlation_figure(codes["mean"], codes["sampled"], kinds, title)
        writer.save(fig, names.claim(f"model_{key}__correlation"), section, "correlation of mean vs sampled codes")
    module_path = str(model["path"] or "")
    if str(model["origin"]) == groups.CODES:  # codes computed elsewhere: no decoder to traverse, nothing missing
        return notes
    if not module_path or not Path(module_path).is_dir():
        notes.append(f"model {key}: module folder {module_path or '(not recorded)'} is missing, so no traversals")
        return notes
    followed = model_folder(module_path, roots)
    if followed is None:
        notes.append(outside_note(key, module_path, "traversals"))
        return notes
    module_path = str(followed)
    progress(f"decoding traversals of model {key}")
    try:
        base = codes["mean"][0] if codes is not None else np.zeros(len(kinds))
        module_folder, images = _traversals(module_path, base)
    except Exception as error:  # a damaged module fails in TensorFlow; anything else is a bug and is raised
        if not isinstance(error, (VaePassiveError, ValueError)) and not is_tensorflow_error(error):
            raise
        notes.append(f"model {key}: no traversals ({reason(error)})")
        return notes
    fig = figures.traversal_figure(images, TRAVERSAL_VALUES, kinds, title)
    caption = f"latent traversals through the decoder of the module in {module_folder}"
    writer.save(fig, names.claim(f"model_{key}__traversals"), section, caption)
    return notes


def _check_options(formats: Sequence[str], out: Path) -> None:
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise VaePassiveError(f"unknown figure format {', '.join(bad) or '(none)'}; choose from {', '.join(FORMATS)}")
    if out.exists() and not out.is_dir():
        raise VaePassiveError(f"--out {out} is a file; pass a folder")


def _write_tables(
    out: Path, report_tables: tables.Tables, summary: pd.DataFrame, problems: list[Problem]
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, str]]]:
    """Every table as Parquet and CSV, and problems.csv when documents were left out: (frames, their files)."""
    frames = {
        "models": report_tables.models,
        "latents": report_tables.latents,
        "scores": report_tables.scores,
        "metrics": report_tables.metrics,
        "upstream_metrics": report_tables.upstream_metrics,
        "summary": summary,
        "prevalence": tables.prevalence(report_tables.models),
    }
    table_files = {name: write_table(frame, out, name) for name, frame in frames.items()}
    if problems:
        rows = [[getattr(p, c) for c in Problem.COLUMNS] for p in problems]
        write_strings_csv(out, "problems.csv", Problem.COLUMNS, rows)
    return frames, table_files


def build_report(
    results: Path,
    out: Path,
    formats: Sequence[str] = ("png",),
    model_ids: Sequence[str] = (),
    progress: Progress = lambda message: None,
    note: str | None = None,
    ids: Collection[int] | None = None,
    model_roots: Sequence[Path] = (),
) -> Path:
    """Write tables, figures, report.md and index.html for the documents under ``results`` (only those of
    the zoo models ``ids`` when given); return report.md. A document's ``model.path`` (training logs, the
    traversals' module) is followed only inside ``results``, the home and ``model_roots``."""
    _check_options(formats, out)
    roots = (results, home.home(), *model_roots)
    names = FileNames()
    report_tables, problems, folders = read_results(results, progress, ids)
    models = report_tables.models
    model_keys = select_models(models, model_ids, results)
    rule_table = groups.rules(models)
    if len(rule_table) > 1:
        listing = "; ".join(f"{r.label}: {r.models:,} models" for r in rule_table.itertuples())
        progress(f"warning: the documents use {len(rule_table)} different rules ({listing}); tables keep them apart")
    group_table = groups.group_table(models)
    if len(group_table) > 1:
        listing = "; ".join(
            f"{label}: {counted(int(n))}" for label, n in zip(group_table["label"], group_table["models"], strict=True)
        )
        progress(f"note: {len(group_table)} groups that are not comparable ({listing}); drawn and summarised apart")
    progress(f"summarising {len(models):,} models")
    summary = tables.summarize(report_tables)
    progress("writing tables")
    frames, table_files = _write_tables(out, report_tables, summary, problems)

    progress("drawing figures")
    writer = _FigureWriter(out, formats, progress)
    model_notes: list[str] = []
    with matplotlib.rc_context(figures.STYLE):
        group_findings, unplaced = _draw_groups(writer, names, report_tables, group_table, summary)
        for key in model_keys:
            model_notes += _model_figures(writer, names, key, folders[key], report_tables, progress, roots)
        drawn, dynamics_notes = dynamics.dynamics_figures(models, roots)  # models trained with --log-every
        for item in drawn:
            writer.save(item.figure, names.claim(item.stem), item.section, item.caption)
        model_notes += dynamics_notes
    frames["findings"] = findings_table(group_findings)
    table_files["findings"] = write_table(frames["findings"], out, "findings")
    for model_note in model_notes:  # not ``note``: that is the user's --note
        progress(f"note: {model_note}")

    progress("writing report.md and index.html")
    contents = pages.Contents(
        results=results,
        models=models,
        rule_table=rule_table,
        group_findings=group_findings,
        problems=problems,
        table_files=table_files,
        frames=frames,
        figures=writer.saved,
        unplaced=unplaced,
        model_notes=model_notes,
        versions=report_tables.versions,
        note=note,
    )
    page = pages.sections(contents)
    write_text(inside(out, "report.md"), pages.markdown(page))
    write_text(inside(out, "index.html"), pages.html_page(page))
    progress(f"wrote {out / 'report.md'} and {out / 'index.html'} ({len(writer.saved)} figures)")
    return out / "report.md"
