"""The report's I/O edge: read analysis documents, write tables, figures, ``report.md`` and ``index.html``.

Everything written goes through ``vae_passive.atomic``; nothing written depends on the clock, so
the same results give byte-identical files. Documents are untrusted: file names are built from
safe slugs and checked to stay inside ``--out``, their text is escaped in report.md, index.html and
the CSV tables, and a document or codes file that cannot be read is listed, not fatal.
"""

from __future__ import annotations

import base64
import html
import io
import multiprocessing as mp
import os
import platform
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pyarrow
from matplotlib.figure import Figure
from pyarrow import compute as pa_compute
from pyarrow import csv as pa_csv
from pyarrow import parquet as pa_parquet

from vae_passive import __version__
from vae_passive.atomic import write_bytes, write_file, write_text
from vae_passive.errors import VaePassiveError
from vae_passive.report import figures, tables
from vae_passive.untrusted import UnreadableFile, is_tensorflow_error, load_npz, read_json, reason
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
MAX_STEM = 120  # characters of a figure's file name before its extension
MAX_CODES_BYTES = 2 * 1024**3  # codes.npz arrays, uncompressed: 100,000 inputs x 250 latents x 4 float64 codes
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_FORMULA_START = r"^([=+\-@\t\r])"  # spreadsheet formula triggers (OWASP CSV injection)
TABLE_DESCRIPTIONS = {
    "models": "one row per model: catalogue fields, rule, latent counts per kind, data source",
    "latents": "one row per model x latent: kind and the statistics the rule used",
    "scores": "one row per model x representation x subset x score",
    "metrics": "one row per model x representation x subset x metric x key",
    "upstream_metrics": "one row per model x representation x metric x key, as disentanglement_lib computed them",
    "summary": "mean, std (ddof 1) and count over seeds per dataset x method x value x rule of every count, score "
    "and metric (representation, subset, key empty where they do not apply)",
    "prevalence": "per method x dataset x value x rule: models, models with passive latents, mean passive count",
}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Problem:
    """A document left out of the report, and why."""

    path: str
    kind: str  # "newer schema", "unreadable" or "duplicate"
    reason: str

    COLUMNS = ("path", "kind", "reason")  # of problems.csv


@dataclass
class FigureFile:
    """One saved figure: its files by format and the PNG bytes that index.html embeds."""

    section: str
    caption: str
    files: dict[str, str]
    png: bytes = field(repr=False)


def _key_order(path: Path) -> tuple:
    name = path.parent.name
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def read_results(results: Path, progress: Progress) -> tuple[tables.Tables, list[Problem], dict[str, Path]]:
    """Read ``<results>/*/analysis.json`` into tables; unusable documents become ``Problem``s.

    Also returns the folder of each model key (where its codes.npz would be).
    """
    if not results.is_dir():
        raise VaePassiveError(
            f"results folder {results} does not exist; run `vae-passive analyze` first or pass --results DIR"
        )
    paths = sorted(results.glob("*/analysis.json"), key=_key_order)
    if not paths:
        raise VaePassiveError(
            f"no analysis documents in {results} (expected {results}/<model>/analysis.json); "
            "run `vae-passive analyze` first or pass --results DIR"
        )
    progress(f"reading {len(paths):,} analysis documents from {results}")
    builder = tables.TableBuilder()
    problems: list[Problem] = []
    folders: dict[str, Path] = {}
    for path in paths:
        # a folder name that is not UTF-8 (surrogate-escaped here) must not stop report.md from being written
        shown = str(path.relative_to(results)).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        try:
            doc = read_json(path)
            tables.check_schema(doc)
            key = doc.get("model", {}).get("key") if isinstance(doc.get("model"), dict) else None
            if key in folders:
                where = folders[key].relative_to(results) / path.name
                problems.append(Problem(shown, "duplicate", reason(f"model key {key!r} also in {where}")))
                continue
            builder.add(doc)
            folders[key] = path.parent
        except tables.NewerSchemaError as error:
            problems.append(Problem(shown, "newer schema", reason(error)))
        except (UnreadableFile, ValueError, TypeError, AttributeError) as error:
            problems.append(Problem(shown, "unreadable", reason(error)))
    if not len(builder):
        first = problems[0]
        raise VaePassiveError(
            f"none of the {len(paths):,} analysis documents in {results} could be used "
            f"({sum(p.kind == 'newer schema' for p in problems)} of a newer schema); "
            f"first: {first.path}: {first.reason}"
        )
    if problems:
        progress(f"warning: left out {len(problems):,} documents (listed in report.md and problems.csv)")
    return builder.build(), problems, folders


def _select_models(models: pd.DataFrame, wanted: Sequence[str], results: Path) -> list[str]:
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


def inside(out: Path, relative: str) -> Path:
    """``out / relative``, refused unless it resolves inside ``out`` (a symlinked subfolder could lead elsewhere)."""
    target = out / relative
    if not target.resolve().is_relative_to(out.resolve()):
        raise VaePassiveError(f"refusing to write {target}: it resolves outside --out {out}")
    return target


class FileNames:
    """Safe, distinct file stems for names that come from documents (method, dataset, model key, rule).

    A stem keeps ``[A-Za-z0-9._-]`` (anything else becomes ``_``), never starts with a dot or a dash,
    and has at most ``MAX_STEM`` characters; a stem already given out (ignoring case, for case-blind
    file systems) gets ``-2``, ``-3``, ... Claims happen in a fixed order, so names are reproducible.
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, wanted: str) -> str:
        stem = _UNSAFE_NAME.sub("_", wanted).lstrip(".-")[:MAX_STEM] or "_"
        candidate, n = stem, 1
        while candidate.casefold() in self._taken:
            n += 1
            candidate = f"{stem[: MAX_STEM - len(str(n)) - 1]}-{n}"
        self._taken.add(candidate.casefold())
        return candidate


def csv_safe(table: pyarrow.Table) -> pyarrow.Table:
    """``table`` with string cells that a spreadsheet would run as a formula (``= + - @``, tab, CR first)
    prefixed with ``'``, as OWASP recommends; numbers, even negative ones, stay numbers."""
    columns = []
    for column in table.columns:
        if pyarrow.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pyarrow.types.is_string(column.type) or pyarrow.types.is_large_string(column.type):
            column = pa_compute.replace_substring_regex(column, pattern=_FORMULA_START, replacement="'\\1")
        columns.append(column)
    return pyarrow.Table.from_arrays(columns, names=table.column_names)


def _write_table(frame: pd.DataFrame, out: Path, name: str) -> dict[str, str]:
    table = pyarrow.Table.from_pandas(frame, preserve_index=False)
    files = {"parquet": f"tables/{name}.parquet", "csv": f"tables/{name}.csv"}
    write_file(inside(out, files["parquet"]), lambda temp: pa_parquet.write_table(table, temp))
    # pyarrow's writer: several times faster than pandas'
    write_file(inside(out, files["csv"]), lambda temp: pa_csv.write_csv(csv_safe(table), temp))
    return files


class _FigureWriter:
    """Saves figures in the requested formats (PNG always kept in memory for index.html)."""

    def __init__(self, out: Path, formats: Sequence[str], progress: Progress):
        self.out, self.formats, self.progress = out, tuple(formats), progress
        self.saved: list[FigureFile] = []

    def save(self, fig: Figure, name: str, section: str, caption: str) -> None:
        """Save ``fig`` as ``figures/<name>.<fmt>``; ``name`` is a ``FileNames`` stem."""
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
                write_file(target, lambda temp, fmt=fmt: fig.savefig(temp, format=fmt, metadata=SAVE_METADATA[fmt]))
        self.saved.append(FigureFile(section, caption, files, png))

    def draw_groups(self, jobs: list[_GroupJob]) -> None:
        """Draw the method x dataset figures, in worker processes when there are many (same files, same order)."""
        workers = min(os.cpu_count() or 1, MAX_WORKERS, len(jobs))
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
    title: str
    names: dict[str, str]  # file stem per figure kind, claimed in the parent so that names are reproducible
    section: str


GROUP_FIGURES = ("passive", "scores", "kinds", "metrics")


def _draw_group(job: _GroupJob) -> list[FigureFile]:
    writer = _FigureWriter(job.out, job.formats, lambda message: None)
    part, title, names, section = job.summary, job.title, job.names, job.section
    with matplotlib.rc_context(figures.STYLE):
        writer.save(figures.passive_figure(part, title), names["passive"], section, "passive latents vs TC and MI")
        writer.save(figures.subset_scores_figure(part, title), names["scores"], section, "scores per latent subset")
        writer.save(figures.kinds_figure(part, title), names["kinds"], section, "active, mixed and passive counts")
        if (part["table"] == "metrics").any():
            writer.save(figures.metrics_figure(part, title), names["metrics"], section, "disentanglement metrics")
    return writer.saved


def _source_label(models: pd.DataFrame) -> str:
    parts = []
    for source, real in sorted(set(zip(models["source"].astype(str), models["real"], strict=True))):
        parts.append(f"{source} ({'real' if real else 'procedural stand-in'})")
    return "data: " + ", ".join(parts)


def _group_jobs(
    writer: _FigureWriter,
    names: FileNames,
    summary: pd.DataFrame,
    models: pd.DataFrame,
    rule_suffix: str,
    rule_text: str,
) -> list[_GroupJob]:
    """One job per method x dataset of one rule, in catalogue order (models without either are left out)."""
    placed = models["method"].notna() & models["dataset"].notna()
    order = {name: i for i, name in enumerate(catalogue.DATASETS)}
    methods = {name: i for i, name in enumerate(catalogue.METHOD_NAMES)}
    groups = models[placed].groupby(["method", "dataset"], observed=True).size().index
    ranked = sorted(groups, key=lambda md: (methods.get(md[0], 99), md[0], order.get(md[1], 99), md[1]))
    jobs = []
    for method, dataset in ranked:
        group_models = models[(models["method"] == method) & (models["dataset"] == dataset)]
        jobs.append(
            _GroupJob(
                out=writer.out,
                formats=writer.formats,
                summary=summary[(summary["method"] == method) & (summary["dataset"] == dataset)],
                title=f"{method} × {dataset} · {_source_label(group_models)} · {len(group_models):,} models{rule_text}",
                names={kind: names.claim(f"{kind}__{method}__{dataset}{rule_suffix}") for kind in GROUP_FIGURES},
                section=f"{method} × {dataset}{rule_text}",
            )
        )
    return jobs


def _model_figures(
    writer: _FigureWriter,
    names: FileNames,
    key: str,
    folder: Path,
    report_tables: tables.Tables,
    progress: Progress,
) -> list[str]:
    """Histograms, correlation heatmaps and traversals of one model; returns notes on what was skipped.

    The module for the traversals is the one the document names (``model.path``), loaded through
    ``vae_passive.tfhub.module``; the figure's caption says which folder that was.
    """
    notes = []
    model = report_tables.models[report_tables.models["key"].astype(str) == key].iloc[0]
    latents = report_tables.latents[report_tables.latents["key"].astype(str) == key].sort_values("latent")
    kinds = [str(k) for k in latents["kind"]]
    about = [f"{model['method']} × {model['dataset']}"] if pd.notna(model["method"]) else []
    about += [f"seed {model['seed']}"] if pd.notna(model["seed"]) else []
    title = f"model {key}" + (f" ({', '.join(about)})" if about else "") + f" · {_source_label(model.to_frame().T)}"
    section = f"model {key}"
    codes_path = folder / "codes.npz"
    codes = None
    if not codes_path.is_file():
        command = (
            f"`vae-passive analyze --ids {key} --save-codes`"
            if key.isdigit()
            else "`vae-passive analyze` with --save-codes"
        )
        notes.append(
            f"model {key}: no codes.npz, so no histograms or correlation heatmaps; run {command} "
            "to keep the codes. Traversals start from the zero code."
        )
    else:
        try:
            arrays = load_npz(codes_path, ("mean", "logvar", "sampled"), MAX_CODES_BYTES)
            codes = {n: np.asarray(a, np.float64) for n, a in arrays.items()}
            if any(c.ndim != 2 or c.shape[1] != len(kinds) or not len(c) for c in codes.values()):
                raise ValueError(f"codes are not (N, {len(kinds)}) with N > 0")
        except (UnreadableFile, ValueError, TypeError) as error:
            notes.append(f"model {key}: cannot use {codes_path.name} ({reason(error)}); no histograms or heatmaps")
            codes = None
    if codes is not None:
        variance = np.exp(codes["logvar"])
        fig = figures.histograms_figure(codes["mean"], codes["sampled"], variance, kinds, title)
        name = names.claim(f"model_{key}__histograms")
        writer.save(fig, name, section, "histograms of mean, sampled and variance codes")
        fig = figures.correlation_figure(codes["mean"], codes["sampled"], kinds, title)
        writer.save(fig, names.claim(f"model_{key}__correlation"), section, "correlation of mean vs sampled codes")
    module_path = str(model["path"] or "")
    if not module_path or not Path(module_path).is_dir():
        notes.append(f"model {key}: module folder {module_path or '(not recorded)'} is missing, so no traversals")
        return notes
    progress(f"decoding traversals of model {key}")
    from vae_passive.tfhub.module import Module

    try:
        module = Module(module_path)
        base = codes["mean"][0] if codes is not None else np.zeros(len(kinds))
        grid = np.repeat(base[None, None, :], len(kinds) * len(TRAVERSAL_VALUES), axis=0).reshape(
            len(kinds), len(TRAVERSAL_VALUES), len(kinds)
        )
        for i in range(len(kinds)):
            grid[i, :, i] = TRAVERSAL_VALUES
        logits = module.decode(grid.reshape(-1, len(kinds)))
        images = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        images = images.reshape(len(kinds), len(TRAVERSAL_VALUES), *images.shape[1:])
    except Exception as error:  # a damaged module fails in TensorFlow; anything else is a bug and is raised
        if not isinstance(error, (VaePassiveError, ValueError)) and not is_tensorflow_error(error):
            raise
        notes.append(f"model {key}: no traversals ({reason(error)})")
        return notes
    fig = figures.traversal_figure(images, TRAVERSAL_VALUES, kinds, title)
    caption = f"latent traversals through the decoder of the module in {module.path}"
    writer.save(fig, names.claim(f"model_{key}__traversals"), section, caption)
    return notes


def build_report(
    results: Path,
    out: Path,
    formats: Sequence[str] = ("png",),
    model_ids: Sequence[str] = (),
    progress: Progress = lambda message: None,
    note: str | None = None,
) -> Path:
    """Write tables, figures, report.md and index.html for the documents under ``results``; return report.md."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise VaePassiveError(f"unknown figure format {', '.join(bad) or '(none)'}; choose from {', '.join(FORMATS)}")
    if out.exists() and not out.is_dir():
        raise VaePassiveError(f"--out {out} is a file; pass a folder")
    names = FileNames()
    report_tables, problems, folders = read_results(results, progress)
    models = report_tables.models
    model_keys = _select_models(models, model_ids, results)
    rule_table = tables.rules(models)
    if len(rule_table) > 1:
        listing = "; ".join(f"{r.label}: {r.models:,} models" for r in rule_table.itertuples())
        progress(f"warning: the documents use {len(rule_table)} different rules ({listing}); tables keep them apart")
    progress(f"summarising {len(models):,} models")
    summary = tables.summarize(report_tables)
    prevalence = tables.prevalence(models)

    progress("writing tables")
    table_files = {}
    frames = {
        "models": models,
        "latents": report_tables.latents,
        "scores": report_tables.scores,
        "metrics": report_tables.metrics,
        "upstream_metrics": report_tables.upstream_metrics,
        "summary": summary,
        "prevalence": prevalence,
    }
    for name, frame in frames.items():
        table_files[name] = _write_table(frame, out, name)
    if problems:
        columns = {
            c: pyarrow.array([getattr(p, c) for p in problems], pyarrow.string()) for c in ("path", "kind", "reason")
        }
        problem_table = csv_safe(pyarrow.table(columns))
        write_file(inside(out, "problems.csv"), lambda temp: pa_csv.write_csv(problem_table, temp))

    progress("drawing figures")
    writer = _FigureWriter(out, formats, progress)
    unplaced = 0
    rule_findings = []
    model_notes: list[str] = []
    with matplotlib.rc_context(figures.STYLE):
        split = tables.by_rule(report_tables)
        for (label, part), rule in zip(split, rule_table.itertuples(), strict=True):
            suffix, text = (f"__{label}", f" · rule {label}") if len(split) > 1 else ("", "")
            part_summary = tables.summarize(part) if len(split) > 1 else summary
            placed = part_summary[part_summary["method"].notna() & part_summary["dataset"].notna()]
            if len(placed):
                overview_title = f"all methods · {_source_label(part.models)} · {len(part.models):,} models{text}"
                fig = figures.overview_figure(tables.with_strength(placed), overview_title)
                writer.save(fig, names.claim(f"overview{suffix}"), f"overview{text}", "overview across methods")
            writer.draw_groups(_group_jobs(writer, names, part_summary, part.models, suffix, text))
            unplaced += int((part.models["method"].isna() | part.models["dataset"].isna()).sum())
            rule_findings.append((rule, tables.findings(part), _prevalence_rows(tables.prevalence(part.models))))
        for key in model_keys:
            model_notes += _model_figures(writer, names, key, folders[key], report_tables, progress)
    for model_note in model_notes:  # not ``note``: that is the user's --note
        progress(f"note: {model_note}")

    progress("writing report.md and index.html")
    context = _Context(
        results=results,
        models=models,
        rule_table=rule_table,
        rule_findings=rule_findings,
        problems=problems,
        table_files=table_files,
        frames=frames,
        figures=writer.saved,
        unplaced=unplaced,
        model_notes=model_notes,
        versions=report_tables.versions,
        note=note,
    )
    write_text(inside(out, "report.md"), _markdown(context))
    write_text(inside(out, "index.html"), _html(context))
    progress(f"wrote {out / 'report.md'} and {out / 'index.html'} ({len(writer.saved)} figures)")
    return out / "report.md"


@dataclass
class _Context:
    results: Path
    models: pd.DataFrame
    rule_table: pd.DataFrame
    rule_findings: list[tuple]  # (rule row, findings, prevalence rows), most used rule first
    problems: list[Problem]
    table_files: dict[str, dict[str, str]]
    frames: dict[str, pd.DataFrame]
    figures: list[FigureFile]
    unplaced: int
    model_notes: list[str]
    versions: dict[str, dict[str, int]]
    note: str | None = None  # the user's own words for the top of the report (``--note``)


def _library_versions() -> dict[str, str]:
    return {
        "vae_passive": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
        "matplotlib": matplotlib.__version__,
    }


def _demo_warning(models: pd.DataFrame) -> str | None:
    procedural = models.loc[~models["real"], "source"].astype(str)
    if procedural.empty:
        return None
    sources = ", ".join(sorted(procedural.unique()))
    return (
        f"{len(procedural):,} of {len(models):,} models were analysed on procedural stand-in data ({sources}), "
        "not on the real data sets: treat their numbers as a demonstration of the pipeline, not as evidence "
        "about the study."
    )


def _first_few(column: pd.Series, shown: int = 10) -> str:
    """``3 distinct: 0, 1, 2`` (the first ``shown`` of them)."""
    values = sorted(int(v) for v in column.dropna().unique())
    listed = ", ".join(map(str, values[:shown])) + (", …" if len(values) > shown else "")
    return f"{len(values)} distinct: {listed}" if values else "not recorded"


def _provenance(c: _Context) -> list[tuple[str, str]]:
    models = c.models
    sources = models.groupby(["source", "real"], observed=True).size()
    facts = [
        ("models", f"{len(models):,} (from {c.results})"),
        (
            "data",
            "; ".join(f"{s} ({'real' if r else 'procedural'}): {n:,} models" for (s, r), n in sources.items()),
        ),
        ("samples per model (N)", ", ".join(f"{int(n):,}" for n in sorted(models["num_samples"].dropna().unique()))),
        ("data seeds", _first_few(models["data_seed"])),
        (
            "rules",
            "; ".join(
                f"{r.rule} (var_threshold {r.var_threshold:g}"
                + ("" if pd.isna(r.mean_tolerance) else f", mean_tolerance {r.mean_tolerance:g}")
                + f"): {r.models:,} models"
                for r in c.rule_table.itertuples()
            ),
        ),
        ("model seeds", _first_few(models["seed"])),
        (
            "catalogue fields",
            f"{int(models['id'].notna().sum()):,} models from the catalogue by id, "
            f"{int(models['id'].isna().sum()):,} as their documents state",
        ),
        (
            "analysed with",
            "; ".join(
                f"{lib} " + ", ".join(f"{v} ({n:,})" for v, n in counts.items()) for lib, counts in c.versions.items()
            )
            or "(no versions recorded)",
        ),
        ("report written with", ", ".join(f"{k} {v}" for k, v in _library_versions().items())),
    ]
    if c.unplaced:
        facts.append(
            ("not in the figures", f"{c.unplaced:,} models without a method or dataset (they are in the tables)")
        )
    return facts


def _prevalence_rows(prevalence: pd.DataFrame) -> list[list[str]]:
    """Models with passive latents per method x value, all datasets together (one rule's prevalence)."""
    grouped = prevalence.groupby(["method", "hyperparameter", "value"], observed=True, sort=True, dropna=False)[
        ["models", "with_passive"]
    ].sum()
    return [
        [
            str(m),
            "n/a" if pd.isna(h) else str(h),
            "n/a" if pd.isna(v) else f"{v:g}",
            f"{int(r['models']):,}",
            f"{int(r['with_passive']):,}",
            f"{r['with_passive'] / r['models']:.0%}",
        ]
        for (m, h, v), r in grouped.iterrows()
    ]


PREVALENCE_HEADER = ["method", "hyperparameter", "value", "models", "with passive", "share"]


_MD_SPECIAL = re.compile(r"([\\\[\]|])")


def md(text: object) -> str:
    """Text from documents or the user made inert in Markdown: one line, HTML escaped (no raw tags or
    entities), and backslashes, link brackets and table pipes escaped. Emphasis characters are left alone:
    at worst they change the look, not what the page does."""
    line = " ".join(str(text).splitlines())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(line, quote=False))


def md_code(text: object) -> str:
    """``text`` as a Markdown code span (shown literally, raw HTML included), fenced by more backticks than it holds."""
    line = " ".join(str(text).splitlines())
    fence = "`" * (max((len(run) for run in re.findall("`+", line)), default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def _markdown(c: _Context) -> str:
    lines = ["# vae-passive report", ""]
    if c.note:
        lines += [f"> **Note.** {md(c.note)}", ""]
    warning = _demo_warning(c.models)
    if warning:
        lines += [f"> **Procedural data.** {md(warning)}", ""]
    lines += ["Open [index.html](index.html) for the same report with every figure embedded.", ""]
    lines += ["## Headline findings", ""]
    if len(c.rule_table) > 1:
        lines += [
            "> **Several rules.** The documents classify latents with different rules; every table has the "
            "rule columns, and findings and figures are made per rule. Re-run `vae-passive analyze` with one "
            "rule to compare them directly.",
            "",
        ]
    for rule, found, prevalence_rows in c.rule_findings:
        level = "###"
        if len(c.rule_findings) > 1:
            lines += [f"### Rule {md(rule.label)} ({rule.models:,} models)", ""]
            level = "####"
        lines += [f"- **{md(f.title)}.** {md(f.text)}" for f in found] + [""]
        lines += [f"{level} Models with passive latents per method and hyperparameter value", ""]
        lines += ["All datasets together (per dataset: [prevalence table](tables/prevalence.csv)).", ""]
        lines += [*_md_table(PREVALENCE_HEADER, [[md(cell) for cell in row] for row in prevalence_rows]), ""]
    lines += ["## Data and provenance", ""]
    lines += [f"- **{md(k)}:** {md(v)}" for k, v in _provenance(c)]
    lines += [
        "",
        "## Tables",
        "",
        "Long (tidy) form, Parquet and CSV; every row table carries the catalogue fields "
        "(`dataset, method, hyperparameter, value, level, seed`) and the rule (`rule, var_threshold, "
        "mean_tolerance`). See docs/report.md for every column.",
        "",
    ]
    for name, files in c.table_files.items():
        frame = c.frames[name]
        lines.append(
            f"- **{name}** ({len(frame):,} rows × {frame.shape[1]} columns): {TABLE_DESCRIPTIONS[name]}. "
            f"[{Path(files['parquet']).name}]({files['parquet']}) · [{Path(files['csv']).name}]({files['csv']})"
        )
    lines += ["", "## Figures", ""]
    section = None
    for fig in c.figures:  # file paths are FileNames stems: safe as link targets
        if fig.section != section:
            section = fig.section
            lines += [f"### {md(section)}", ""]
        first = next(iter(fig.files.values()))
        links = " · ".join(f"[{fmt}]({path})" for fmt, path in fig.files.items())
        lines += [f"![{md(fig.caption)}]({fig.files.get('png', first)})", "", f"{md(fig.caption)}: {links}", ""]
    if c.model_notes:
        lines += ["### Per-model notes", ""] + [f"- {md(note)}" for note in c.model_notes] + [""]
    if c.problems:
        lines += [
            "## Documents left out",
            "",
            f"{len(c.problems):,} documents could not be used (all of them in [problems.csv](problems.csv)):",
            "",
        ]
        lines += [f"- {md_code(p.path)} ({md(p.kind)}): {md(p.reason)}" for p in c.problems[:50]]
        if len(c.problems) > 50:
            lines.append(f"- … and {len(c.problems) - 50:,} more")
        lines.append("")
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(row) + " |" for row in rows]


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}
.warning{background:#fff3cd;border-left:4px solid #E69F00;padding:0.6em 1em}figure{margin:1em 0}"""


def _html(c: _Context) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>vae-passive report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>vae-passive report</h1>",
    ]
    if c.note:
        parts.append(f'<p class="warning"><strong>Note.</strong> {e(c.note)}</p>')
    warning = _demo_warning(c.models)
    if warning:
        parts.append(f'<p class="warning"><strong>Procedural data.</strong> {e(warning)}</p>')
    parts.append("<h2>Headline findings</h2>")
    if len(c.rule_table) > 1:
        parts.append(
            '<p class="warning"><strong>Several rules.</strong> The documents classify latents with '
            "different rules; tables keep them apart, and findings and figures are made per rule.</p>"
        )
    for rule, found, prevalence_rows in c.rule_findings:
        heading = "h3"
        if len(c.rule_findings) > 1:
            parts.append(f"<h3>Rule {e(rule.label)} ({rule.models:,} models)</h3>")
            heading = "h4"
        parts.append("<ul>" + "".join(f"<li><strong>{e(f.title)}.</strong> {e(f.text)}</li>" for f in found) + "</ul>")
        parts.append(f"<{heading}>Models with passive latents per method and hyperparameter value</{heading}>")
        parts.append(
            "<table><tr>"
            + "".join(f"<th>{h}</th>" for h in PREVALENCE_HEADER)
            + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in prevalence_rows)
            + "</table>"
        )
    parts.append("<h2>Data and provenance</h2><ul>")
    parts += [f"<li><strong>{e(k)}:</strong> {e(v)}</li>" for k, v in _provenance(c)]
    parts.append("</ul><h2>Tables</h2><ul>")
    for name, files in c.table_files.items():
        frame = c.frames[name]
        parts.append(
            f"<li><strong>{name}</strong> ({len(frame):,} rows × {frame.shape[1]} columns): "
            f"{e(TABLE_DESCRIPTIONS[name])}. "
            + " · ".join(f'<a href="{e(path)}">{e(Path(path).name)}</a>' for path in files.values())
            + "</li>"
        )
    parts.append("</ul><h2>Figures</h2>")
    section = None
    for fig in c.figures:
        if fig.section != section:
            section = fig.section
            parts.append(f"<h3>{e(section)}</h3>")
        encoded = base64.b64encode(fig.png).decode("ascii")
        links = " · ".join(f'<a href="{e(path)}">{fmt}</a>' for fmt, path in fig.files.items())
        parts.append(
            f'<figure><img alt="{e(fig.caption)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{e(fig.caption)}: {links}</figcaption></figure>"
        )
    if c.model_notes:
        parts.append("<h3>Per-model notes</h3><ul>" + "".join(f"<li>{e(n)}</li>" for n in c.model_notes) + "</ul>")
    if c.problems:
        parts.append(
            f"<h2>Documents left out</h2><p>{len(c.problems):,} documents could not be used "
            '(all of them in <a href="problems.csv">problems.csv</a>):</p><ul>'
        )
        parts += [f"<li><code>{e(p.path)}</code> ({e(p.kind)}): {e(p.reason)}</li>" for p in c.problems[:50]]
        if len(c.problems) > 50:
            parts.append(f"<li>… and {len(c.problems) - 50:,} more</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
