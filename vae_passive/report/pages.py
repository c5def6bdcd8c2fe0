"""report.md and index.html: one list of ``Section``s, built once, rendered by a Markdown and an HTML writer.

A section is a heading and its blocks (paragraphs, bullet lists, a table, figures); the text in
them is plain, made of strings, links, code and strong spans, and each writer escapes it for its
format. Text from documents or the user is therefore inert in both pages: Markdown special
characters and HTML are escaped, and links only point at files the report wrote.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vae_passive.report.findings import PREVALENCE_HEADER
from vae_passive.report.provenance import demo_warning, provenance, study_coverage
from vae_passive.report.read import Problem
from vae_passive.untrusted import printable

TABLE_DESCRIPTIONS = {
    "models": "one row per model: catalogue fields, origin (zoo, trained, codes) and training steps, data, N, rule, "
    "latent counts per kind, data source",
    "latents": "one row per model x latent: kind and the statistics the rule used",
    "scores": "one row per model x representation x subset x score",
    "metrics": "one row per model x representation x subset x metric x key, with its preset and classifier defaults",
    "upstream_metrics": "one row per model x representation x metric x key, as disentanglement_lib computed them",
    "summary": "mean, std (ddof 1) and count over seeds per dataset x method x value x comparability group (origin, "
    "steps, data, N, rule, preset) of every count, score "
    "and metric (representation, subset, key empty where they do not apply)",
    "prevalence": "per method x dataset x value x comparability group: models, models with passive latents, "
    "mean passive count",
    "findings": "the headline findings, one row per comparability group x finding (the paper's three claims first): "
    "group, models, title, text",
}


@dataclass
class FigureFile:
    """One saved figure: its files by format and the PNG bytes that index.html embeds."""

    section: str
    caption: str
    files: dict[str, str]
    png: bytes = field(repr=False)


@dataclass
class Contents:
    """Everything the pages say, gathered by ``render.build_report``."""

    results: Path
    models: pd.DataFrame
    rule_table: pd.DataFrame
    group_findings: list[tuple]  # (comparability group row, findings, prevalence rows), largest group first
    problems: list[Problem]
    table_files: dict[str, dict[str, str]]
    frames: dict[str, pd.DataFrame]
    figures: list[FigureFile]
    unplaced: int
    model_notes: list[str]
    versions: dict[str, dict[str, int]]
    note: str | None = None  # the user's own words for the top of the report (``--note``)


@dataclass(frozen=True)
class Link:
    text: str
    href: str  # a file the report wrote (paths are ``FileNames`` stems): safe as a link target


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Strong:
    text: str


Inline = str | Link | Code | Strong
Cell = str | tuple[Inline, ...]


@dataclass(frozen=True)
class Paragraph:
    parts: tuple[Inline, ...]
    callout: bool = False  # a highlighted note: a quote in report.md, a warning box in index.html
    only: str | None = None  # "md" or "html" when the paragraph belongs to one page only


@dataclass(frozen=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True)
class Table:
    """A table; in index.html it can be sorted (click a heading) and filtered (the box above it)."""

    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]  # a cell is text, or inline parts (links)
    empty: str = "no rows"  # said instead of an empty table


@dataclass(frozen=True)
class Picture:
    figure: FigureFile


Block = Paragraph | Bullets | Table | Picture


@dataclass
class Section:
    title: str
    level: int  # 1 for the page title, 2 for a part, 3 and 4 below
    blocks: list[Block] = field(default_factory=list)


def sections(c: Contents) -> list[Section]:
    """The pages' sections, in order: title, headline findings, provenance, tables, figures, problems."""
    out = [_title(c), *_headline(c)]
    facts = provenance(c.results, c.models, c.rule_table, c.versions, c.unplaced)
    bullets = Bullets(tuple((Strong(f"{k}:"), " ", v) for k, v in facts))
    out.append(Section("Data and provenance", 2, [bullets]))
    out.append(_model_table(c))
    out.append(_tables(c))
    out += _figures(c)
    if c.problems:
        out.append(_problems(c.problems))
    return out


def _title(c: Contents) -> Section:
    title = Section("vae-passive report", 1)
    if c.note:
        title.blocks.append(Paragraph((Strong("Note."), " ", c.note), callout=True))
    warning = demo_warning(c.models)
    if warning:
        title.blocks.append(Paragraph((Strong("Procedural data."), " ", warning), callout=True))
    warned = c.models[c.models["warnings"].astype(str) != ""] if "warnings" in c.models else c.models.iloc[:0]
    for key, text in zip(warned["key"].astype(str), warned["warnings"].astype(str), strict=True):
        title.blocks.append(Paragraph((Strong(f"Inputs that cannot be right (model {key})."), " ", text), callout=True))
    index = ("Open ", Link("index.html", "index.html"), " for the same report with every figure embedded.")
    title.blocks.append(Paragraph(index, only="md"))
    return title


def _headline(c: Contents) -> list[Section]:
    """Findings and the prevalence table, under one heading per comparability group when there are several."""
    headline = Section("Headline findings", 2)
    headline.blocks.append(Paragraph((Strong("Models analysed."), " ", study_coverage(c.models), ".")))
    out = [headline]
    several = len(c.group_findings) > 1
    if several:
        names = "; ".join(f"{group.label} ({group.models:,})" for group, _, _ in c.group_findings)
        text = (
            f" These models form {len(c.group_findings)} groups that are not comparable ({names}): they differ in "
            "origin, training length, precision, data, N, rule or metric settings. Findings, tables' summaries and "
            "figures are made per group, never pooled."
        )
        headline.blocks.append(Paragraph((Strong("Not pooled."), text), callout=True))
    for group, found, prevalence_rows in c.group_findings:
        bullets = Bullets(tuple((Strong(f"{f.title}."), " ", f.text) for f in found))
        if several:
            models = f"{group.models:,} model" + ("" if group.models == 1 else "s")
            out.append(Section(f"{_capital(group.label)} ({models})", 3, [bullets]))
        else:
            headline.blocks.append(bullets)
        per_dataset = ("All datasets together (per dataset: ", Link("prevalence table", "tables/prevalence.csv"), ").")
        blocks: list[Block] = [Paragraph(per_dataset, only="md"), Table(PREVALENCE_HEADER, prevalence_rows)]
        out.append(
            Section("Models with passive latents per method and hyperparameter value", 4 if several else 3, blocks)
        )
    return out


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _tables(c: Contents) -> Section:
    intro = (
        "Long (tidy) form, Parquet and CSV; every row table carries the catalogue fields (",
        Code("dataset, method, hyperparameter, value, level, seed"),
        ") and what makes models comparable (",
        Code(
            "origin, steps, precision, trained_on, data, num_samples, rule, var_threshold, mean_tolerance, preset, "
            "classifier_defaults"
        ),
        "). See docs/report.md for every column.",
    )
    items: list[tuple[Inline, ...]] = []
    for name, files in c.table_files.items():
        frame = c.frames[name]
        if not len(frame):
            items.append((Strong(name), f": no rows ({TABLE_DESCRIPTIONS[name]}); none of the documents has any."))
            continue
        about = f" ({len(frame):,} rows × {frame.shape[1]} columns): {TABLE_DESCRIPTIONS[name]}. "
        parquet, csv = files["parquet"], files["csv"]
        items.append((Strong(name), about, Link(Path(parquet).name, parquet), " · ", Link(Path(csv).name, csv)))
    return Section("Tables", 2, [Paragraph(intro, only="md"), Bullets(tuple(items))])


MODEL_TABLE_HEADER = (
    "key", "id", "origin", "method", "dataset", "value", "seed", "active", "mixed", "passive", "figures"
)  # fmt: skip
MAX_MODEL_ROWS = 1_000  # rows of the per-model table in the pages; all of them are in tables/models.csv


def _model_table(c: Contents) -> Section:
    """One row per model with its counts and links to its own figures (drawn for ``--model-id`` models)."""
    own: dict[str, list[Link]] = {}
    for fig in c.figures:
        if fig.section.startswith("model "):
            path = fig.files.get("png", next(iter(fig.files.values())))
            own.setdefault(fig.section.removeprefix("model "), []).append(Link(Path(path).stem.split("__")[-1], path))
    rows: list[list[Cell]] = []
    for m in c.models.head(MAX_MODEL_ROWS).itertuples(index=False):
        links = own.get(str(m.key))
        row: list[Cell] = [str(m.key), str(m.id) if pd.notna(m.id) else "", _origin_cell(m.origin, m.steps)]
        row += [str(v) if pd.notna(v) else "" for v in (m.method, m.dataset, m.value, m.seed)]
        row += [str(m.active), str(m.mixed), str(m.passive), tuple(_joined(links, " · ")) if links else "—"]
        rows.append(row)
    blocks: list[Block] = []
    if len(c.models) > MAX_MODEL_ROWS:
        text = f"The first {MAX_MODEL_ROWS:,} of {len(c.models):,} models; all of them are in "
        blocks.append(Paragraph((text, Link("tables/models.csv", "tables/models.csv"), ".")))
    hint = "Figures of a model of its own: add --model-id KEY to the report command (they need its codes.npz)."
    blocks += [Paragraph((hint,)), Table(MODEL_TABLE_HEADER, rows, empty="no models")]
    return Section("Models", 2, blocks)


def _origin_cell(origin: object, steps: Any) -> str:
    """``zoo``, ``trained, 3,000 steps``, ``codes``: where a model comes from, as the models table shows it."""
    return f"{origin}, {int(steps):,} steps" if str(origin) == "trained" and pd.notna(steps) else str(origin)


def _figures(c: Contents) -> list[Section]:
    """``Figures``, a subsection per figure section (in drawing order), then the per-model notes."""
    out = [Section("Figures", 2)]
    section = None
    for fig in c.figures:
        if fig.section != section:
            section = fig.section
            out.append(Section(section, 3))
        out[-1].blocks.append(Picture(fig))
    if c.model_notes:
        out.append(Section("Per-model notes", 3, [Bullets(tuple((note,) for note in c.model_notes))]))
    return out


def _problems(problems: list[Problem], shown: int = 50) -> Section:
    intro = (
        f"{len(problems):,} documents could not be used (all of them in ",
        Link("problems.csv", "problems.csv"),
        "):",
    )
    items: list[tuple[Inline, ...]] = [(Code(p.path), " (", p.kind, "): ", p.reason) for p in problems[:shown]]
    if len(problems) > shown:
        items.append((f"… and {len(problems) - shown:,} more",))
    return Section("Documents left out", 2, [Paragraph(intro), Bullets(tuple(items))])


# Markdown

_MD_SPECIAL = re.compile(r"([\\\[\]|])")


# Bare URLs, www. names and e-mail addresses, which GitHub-flavoured Markdown turns into links by itself.
_AUTOLINK = re.compile(
    r"(?i)(?:\b[a-z][a-z0-9+.-]*:/+|\bwww\.)[^\s<>`|]*[^\s<>`|.,;:!?)'\"]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
)


def md(text: object) -> str:
    """Text from documents or the user made inert in Markdown: one line without control characters
    (``untrusted.printable``), HTML escaped (no raw tags or entities), backslashes, link brackets and table pipes
    escaped, and bare URLs and e-mail addresses put in code spans, so no renderer makes them links. Emphasis
    characters are left alone: at worst they change the look, not what the page does."""
    line = printable(text)
    out, start = [], 0
    for match in _AUTOLINK.finditer(line):
        out += [_md_escape(line[start : match.start()]), md_code(match[0])]
        start = match.end()
    return "".join(out) + _md_escape(line[start:])


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def md_code(text: object) -> str:
    """``text`` as a Markdown code span (shown literally, raw HTML included), fenced by more backticks than it holds."""
    line = printable(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", line)), default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def _e(text: object) -> str:
    """``text`` for index.html: without control characters (``untrusted.printable``), HTML-escaped, quotes too."""
    return html.escape(printable(text))


def _md_inline(parts: Sequence[Inline]) -> str:
    out = []
    for part in parts:
        if isinstance(part, Link):
            out.append(f"[{md(part.text)}]({part.href})")
        elif isinstance(part, Code):
            out.append(md_code(part.text))
        elif isinstance(part, Strong):
            out.append(f"**{md(part.text)}**")
        else:
            out.append(md(part))
    return "".join(out)


def _md_block(block: Block) -> list[str]:
    if isinstance(block, Paragraph):
        return [("> " if block.callout else "") + _md_inline(block.parts)]
    if isinstance(block, Bullets):
        return [f"- {_md_inline(item)}" for item in block.items]
    if isinstance(block, Table):
        if not block.rows:
            return [f"*{md(block.empty)}*"]
        lines = ["| " + " | ".join(md(h) for h in block.header) + " |", "|" + "---|" * len(block.header)]
        cells = (md(cell) if isinstance(cell, str) else _md_inline(cell) for row in block.rows for cell in row)
        width = len(block.header)
        flat = list(cells)
        return lines + ["| " + " | ".join(flat[i : i + width]) + " |" for i in range(0, len(flat), width)]
    fig = block.figure
    first = next(iter(fig.files.values()))
    links = [Link(fmt, path) for fmt, path in fig.files.items()]
    caption = _md_inline((fig.caption, ": ", *_joined(links, " · ")))
    return [f"![{md(fig.caption)}]({fig.files.get('png', first)})", "", caption]


def markdown(page: list[Section]) -> str:
    """report.md: each heading and block followed by a blank line."""
    lines = []
    for section in page:
        lines += [f"{'#' * section.level} {md(section.title)}", ""]
        for block in section.blocks:
            if not (isinstance(block, Paragraph) and block.only == "html"):
                lines += [*_md_block(block), ""]
    return "\n".join(lines)


# HTML

_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}
.warning{background:#fff3cd;border-left:4px solid #E69F00;padding:0.6em 1em}figure{margin:1em 0}
table.data th{cursor:pointer;background:#f3f3f3;position:sticky;top:0}table.data th:after{content:" \\2195";color:#888}
input.filter{display:block;margin:0.5em 0;padding:3px 6px;width:20em}.empty{color:#555;font-style:italic}"""
# Sorting (click a heading; numbers as numbers) and filtering (rows containing the typed text), no network.
_SCRIPT = """document.querySelectorAll("table.data").forEach(function (table) {
  var body = table.tBodies[0], filter = table.previousElementSibling;
  filter.addEventListener("input", function () {
    var text = filter.value.toLowerCase();
    Array.from(body.rows).forEach(function (row) {
      row.style.display = row.textContent.toLowerCase().indexOf(text) >= 0 ? "" : "none";
    });
  });
  Array.from(table.tHead.rows[0].cells).forEach(function (th, column) {
    var ascending = true;
    th.addEventListener("click", function () {
      var rows = Array.from(body.rows), key = function (row) {
        var text = row.cells[column].textContent.replace(/[,%]/g, "").trim(), number = Number(text);
        return text !== "" && !isNaN(number) ? number : text;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : typeof x === "number" ? -1 : 1;
        return ascending ? order : -order;
      });
      ascending = !ascending;
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});"""


def _html_inline(parts: Sequence[Inline]) -> str:
    e = _e
    out = []
    for part in parts:
        if isinstance(part, Link):
            out.append(f'<a href="{e(part.href)}">{e(part.text)}</a>')
        elif isinstance(part, Code):
            out.append(f"<code>{e(part.text)}</code>")
        elif isinstance(part, Strong):
            out.append(f"<strong>{e(part.text)}</strong>")
        else:
            out.append(e(part))
    return "".join(out)


def _html_block(block: Block) -> str:
    e = _e
    if isinstance(block, Paragraph):
        return ('<p class="warning">' if block.callout else "<p>") + _html_inline(block.parts) + "</p>"
    if isinstance(block, Bullets):
        return "\n".join(["<ul>", *(f"<li>{_html_inline(item)}</li>" for item in block.items), "</ul>"])
    if isinstance(block, Table):
        if not block.rows:
            return f'<p class="empty">{e(block.empty)}</p>'
        header = "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in block.header) + "</tr></thead>"
        rows = "".join(
            "<tr>" + "".join(f"<td>{e(v) if isinstance(v, str) else _html_inline(v)}</td>" for v in row) + "</tr>"
            for row in block.rows
        )
        return (
            '<input type="search" class="filter" placeholder="filter rows…" aria-label="filter rows">'
            f'<table class="data">{header}<tbody>{rows}</tbody></table>'
        )
    fig = block.figure
    encoded = base64.b64encode(fig.png).decode("ascii")
    links = _html_inline(_joined([Link(fmt, path) for fmt, path in fig.files.items()], " · "))
    return (
        f'<figure><img alt="{e(fig.caption)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{e(fig.caption)}: {links}</figcaption></figure>"
    )


def html_page(page: list[Section]) -> str:
    """index.html: self-contained, every figure embedded as a PNG."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>vae-passive report</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    for section in page:
        parts.append(f"<h{section.level}>{_e(section.title)}</h{section.level}>")
        parts += [_html_block(b) for b in section.blocks if not (isinstance(b, Paragraph) and b.only == "md")]
    parts.append(f"<script>{_SCRIPT}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _joined(parts: list[Link], separator: str) -> list[Inline]:
    """``parts`` with ``separator`` between them."""
    out: list[Inline] = []
    for i, part in enumerate(parts):
        out += [separator, part] if i else [part]
    return out
