"""``vae-passive report``: files written, figures valid and of the declared size, messages, determinism."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from support.helpers import one_line_error
from support.report_docs import make_codes, make_document, write_documents
from test_report_tables import edge_documents

from vae_passive.report import figures, tables
from vae_passive.report.render import build_report

EXPECTED_TABLES = ("models", "latents", "scores", "metrics", "upstream_metrics", "summary", "prevalence", "findings")
KINDS_OF_MODEL_0 = ["active"] * 6 + ["mixed"] + ["passive"] * 3


def expected_size(name: str, report_tables: tables.Tables, scores_summary: pd.DataFrame) -> tuple[float, float]:
    """The size in inches that ``figures`` declares for the figure file ``name``."""
    kind = name.split("__")[0]
    if kind == "passive":
        return figures.passive_size()
    if kind == "kinds":
        return figures.kinds_size()
    if kind == "overview":
        return figures.overview_size(scores_summary["dataset"].nunique())
    if kind == "scores":
        _, method, dataset = name.split("__")
        part = report_tables.scores[
            (report_tables.scores["method"] == method) & (report_tables.scores["dataset"] == dataset)
        ]
        return figures.subset_scores_size(part["score"].nunique(), part["subset"].nunique())
    if kind == "metrics":
        _, method, dataset, family = name.split("__")
        part = report_tables.metrics[
            (report_tables.metrics["method"] == method)
            & (report_tables.metrics["dataset"] == dataset)
            & (report_tables.metrics["metric"] == family)
        ]
        return figures.metrics_size(len(set(zip(part["metric"], part["metric_key"], strict=True))))
    if name.endswith("__histograms"):
        return figures.histograms_size(len(KINDS_OF_MODEL_0))
    if name.endswith("__correlation"):
        return figures.correlation_size()
    if name.endswith("__traversals"):
        return figures.traversal_size(len(KINDS_OF_MODEL_0), 7)
    raise AssertionError(f"unexpected figure {name}")


def check_image(path: Path, inches: tuple[float, float]) -> None:
    """``path`` is a valid PNG, PDF or SVG of ``inches`` (100 dpi for PNG, 72 points per inch otherwise)."""
    width, height = inches
    if path.suffix == ".png":
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (round(width * figures.DPI), round(height * figures.DPI)), path.name
    elif path.suffix == ".pdf":
        data = path.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        box = re.search(rb"/MediaBox \[ ?0 0 ([0-9.]+) ([0-9.]+) ?\]", data)
        assert box and (float(box[1]), float(box[2])) == pytest.approx((width * 72, height * 72)), path.name
    else:
        root = ET.parse(path).getroot()
        assert root.tag.endswith("svg")
        assert float(root.get("width").removesuffix("pt")) == pytest.approx(width * 72)
        assert float(root.get("height").removesuffix("pt")) == pytest.approx(height * 72)


def edge_results(root: Path) -> Path:
    """Edge-case documents, codes for model 0, one broken and one newer-schema document."""
    write_documents(root, edge_documents())
    np.savez(root / "0" / "codes.npz", **make_codes(KINDS_OF_MODEL_0))
    write_documents(root, [make_document(0, kinds=KINDS_OF_MODEL_0)])
    (root / "broken").mkdir()
    (root / "broken" / "analysis.json").write_text('{"schema": "vae-passive/analysis/1", "model": ')
    write_documents(root, [make_document(3, key="future", schema="vae-passive/analysis/2")])
    return root


@pytest.fixture(scope="module")
def edge_report(tmp_path_factory) -> tuple[Path, Path, list[str]]:
    base = tmp_path_factory.mktemp("report")
    results = edge_results(base / "results")
    messages: list[str] = []
    build_report(results, base / "out", ("png", "pdf", "svg"), ("0", "custom"), progress=messages.append)
    return results, base / "out", messages


def test_tables_are_written_in_parquet_and_csv(edge_report):
    _, out, _ = edge_report
    for name in EXPECTED_TABLES:
        parquet = pd.read_parquet(out / "tables" / f"{name}.parquet")
        csv = pd.read_csv(out / "tables" / f"{name}.csv")
        assert len(parquet) == len(csv) > 0, name
        assert list(parquet.columns) == list(csv.columns)
    models = pd.read_parquet(out / "tables" / "models.parquet")
    assert len(models) == 7  # edge documents; the broken and the newer-schema ones are left out
    for name in ("latents", "scores", "metrics", "upstream_metrics"):
        frame = pd.read_parquet(out / "tables" / f"{name}.parquet")
        assert {"key", "dataset", "method", "hyperparameter", "value", "seed", "rule"} <= set(frame.columns)
    latents = pd.read_parquet(out / "tables" / "latents.parquet")
    assert len(latents) == 63
    summary = pd.read_csv(out / "tables" / "summary.csv")
    assert {"mean", "std", "count"} <= set(summary.columns)
    # the headline as a table: per comparability group, the three claims first, as report.md words them
    found = pd.read_csv(out / "tables" / "findings.csv")
    assert list(found.columns) == ["group", "models", "title", "text"]
    markdown = (out / "report.md").read_text()
    for group, rows in found.groupby("group", sort=False):
        assert [t[:9] for t in rows["title"][:3]] == ["Claim (a)", "Claim (b)", "Claim (c)"], group
        assert all(text[:60] in markdown for text in rows["text"])
    assert found.groupby("group")["models"].first().sum() == len(models)


def test_every_figure_is_a_valid_image_of_the_declared_size(edge_report):
    _results, out, _ = edge_report
    builder = tables.TableBuilder()
    for doc in [*edge_documents()[1:], make_document(0, kinds=KINDS_OF_MODEL_0)]:
        builder.add(doc)
    report_tables = builder.build()
    summary = tables.summarize(report_tables)
    names = sorted({p.stem for p in (out / "figures").iterdir()})
    assert {n.split("__")[0] for n in names} >= {"overview", "passive", "scores", "kinds", "metrics"}
    assert "model_0__histograms" in names and "model_0__correlation" in names
    for name in names:
        inches = expected_size(name, report_tables, summary)
        for fmt in ("png", "pdf", "svg"):
            check_image(out / "figures" / f"{name}.{fmt}", inches)


def test_report_md_and_index_html(edge_report):
    _, out, messages = edge_report
    markdown = (out / "report.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", markdown)
    assert links and all((out / link).is_file() for link in links)
    for name in EXPECTED_TABLES:
        assert f"tables/{name}.parquet" in links and f"tables/{name}.csv" in links
    figure_files = {f"figures/{p.name}" for p in (out / "figures").iterdir()}
    assert figure_files <= set(links)
    assert "**Procedural data.**" in markdown
    assert "broken/analysis.json` (unreadable)" in markdown
    assert "future/analysis.json` (newer schema)" in markdown and "upgrade vae-passive" in markdown
    assert "Claim (a): passive latents cause the mean/sampled discrepancy" in markdown
    assert "| beta_vae | vae.beta | 3 | 1 |" in markdown  # the model outside the catalogue, at beta = 3
    assert "1 models without" not in markdown  # custom has method and dataset, so it is in the figures
    assert "model 0: no codes.npz" not in markdown
    assert "model custom: no codes.npz" in markdown and "`vae-passive analyze` with --save-codes" in markdown
    html_text = (out / "index.html").read_text()
    assert html_text.count('src="data:image/png;base64,') == len(figure_files) // 3
    assert 'src="figures/' not in html_text
    assert 'href="tables/summary.parquet"' in html_text
    assert (out / "problems.csv").read_text().count("\n") == 3
    assert any("left out 2 documents" in m for m in messages)


@pytest.mark.slow
def test_same_results_give_identical_files(edge_report, tmp_path, monkeypatch):
    """Byte-identical files on a second run, which also draws its groups in worker processes."""
    from vae_passive.report import render

    monkeypatch.setattr(render, "MIN_PARALLEL_GROUPS", 1)
    results, out, _ = edge_report
    build_report(results, tmp_path / "again", ("png", "pdf", "svg"), ("0", "custom"))
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    second = sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file())
    assert first == second
    different = [str(p) for p in first if (out / p).read_bytes() != (tmp_path / "again" / p).read_bytes()]
    assert different == []


def test_one_model_through_the_cli(cli, tmp_path):
    solo = make_document(None, key="solo", kinds=["active"] * 3)
    results = write_documents(tmp_path / "results", [solo])
    (results / "zz_copy").mkdir()
    (results / "zz_copy" / "analysis.json").write_text((results / "solo" / "analysis.json").read_text())
    result = cli("report", "--results", results, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"report: {tmp_path / 'out' / 'report.md'}"
    assert "reading 2 analysis documents" in result.stderr
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "1 model without a method or dataset in the document, drawn in groups named 'any method'" in markdown
    assert "0 of 1 model (0%)" in markdown
    assert "passive__any_method__any_dataset.png" in markdown  # in the figures, grouped by what exists
    assert "`zz_copy/analysis.json` (duplicate): model key 'solo' also in solo/analysis.json" in markdown
    assert len(pd.read_csv(tmp_path / "out" / "tables" / "latents.csv")) == 3


def test_default_results_folder_is_the_home_one(cli, isolated_home, tmp_path):
    write_documents(isolated_home / "results", [make_document(300)])
    result = cli("report", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert str(isolated_home / "results") in result.stderr


def test_note_tops_both_reports(cli, tmp_path):
    results = write_documents(tmp_path / "results", [make_document(300)])
    note = "Pilot <run> on 1 model"
    result = cli("report", "--results", results, "--out", tmp_path / "out", "--note", note)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.md").read_text().splitlines()[2] == "> **Note.** Pilot &lt;run&gt; on 1 model"
    assert "<strong>Note.</strong> Pilot &lt;run&gt; on 1 model" in (tmp_path / "out" / "index.html").read_text()


def test_user_errors_are_one_line(cli, tmp_path):
    message = one_line_error(cli("report", "--results", tmp_path / "missing", "--out", tmp_path / "o"))
    assert "does not exist" in message and "vae-passive analyze" in message
    (tmp_path / "empty").mkdir()
    message = one_line_error(cli("report", "--results", tmp_path / "empty", "--out", tmp_path / "o"))
    assert "no analysis documents" in message
    results = write_documents(tmp_path / "results", [make_document(0)])
    message = one_line_error(cli("report", "--results", results, "--out", tmp_path / "o", "--format", "png,gif"))
    assert "unknown figure format gif" in message
    result = cli("report", "--results", results, "--out", tmp_path / "o", "--model-id", "77")
    assert result.exit_code == 1 and result.stderr.strip().splitlines()[-1].startswith("Error: --model-id 77")
    (tmp_path / "file").write_text("")
    message = one_line_error(cli("report", "--results", results, "--out", tmp_path / "file"))
    assert "is a file" in message


def test_only_unusable_documents_is_an_error(cli, tmp_path):
    results = tmp_path / "results"
    write_documents(results, [make_document(0, schema="vae-passive/analysis/3")])
    (results / "x").mkdir()
    (results / "x" / "analysis.json").write_bytes(b"\xff\xfe not json")
    result = cli("report", "--results", results, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "Traceback" not in result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: none of the 2 analysis documents") and "1 of a newer schema" in last


def test_mixed_rules_warn_and_draw_per_rule(cli, tmp_path):
    docs = [make_document(i) for i in (0, 1)] + [make_document(i, rule="mean-variance") for i in (2, 50)]
    results = write_documents(tmp_path / "results", docs)
    result = cli("report", "--results", results, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "warning: the documents use 2 different rules" in result.stderr
    names = {p.name for p in (tmp_path / "out" / "figures").iterdir()}
    first, second = (
        "zoo-models-stand-in-data-rule-variance-v0.1-t0.1",
        "zoo-models-stand-in-data-rule-mean-variance-v0.1",
    )
    assert {f"overview__{first}.png", f"overview__{second}.png"} <= names
    assert f"passive__beta_vae__dsprites_full__{second}.png" in names
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "**Not pooled.** These models form 2 groups that are not comparable" in markdown
    assert "### Zoo models, stand-in data, rule variance-v0.1-t0.1 (2 models)" in markdown
    assert "### Zoo models, stand-in data, rule mean-variance-v0.1 (2 models)" in markdown


def test_figure_functions_draw_into_a_given_axes():
    from matplotlib.figure import Figure

    t = tables.TableBuilder()
    t.add(make_document(0))
    summary = tables.summarize(t.build())
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    assert figures.kinds_figure(summary, "title", ax=ax) is fig
    assert len(ax.patches) == 3  # one level, three kinds
    assert figures.passive_figure(summary, "t").get_size_inches() == pytest.approx(figures.passive_size())


@pytest.fixture(scope="module")
def model_with_module(tmp_path_factory) -> Path:
    from vae_passive.tfhub.architecture import random_weights
    from vae_passive.tfhub.exporter import write_model_folder

    return write_model_folder(
        tmp_path_factory.mktemp("zoo"),
        0,
        random_weights(1, 10),
        dataset="dsprites_full",
        channels=1,
        num_latents=10,
        postprocessed=False,
    )


@pytest.mark.slow
def test_per_model_figures_with_traversals(cli, tmp_path, model_with_module):
    results = write_documents(
        tmp_path / "results",
        [make_document(0, kinds=KINDS_OF_MODEL_0, path=str(model_with_module)), make_document(1)],
    )
    np.savez(results / "0" / "codes.npz", **make_codes(KINDS_OF_MODEL_0))
    result = cli(
        "report", "--results", results, "--out", tmp_path / "out", "--model-id", "0", "--model-id", "1",
        "--model-root", model_with_module.parent,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures_dir = tmp_path / "out" / "figures"
    for name in ("histograms", "correlation", "traversals"):
        check_image(figures_dir / f"model_0__{name}.png", expected_size(f"model_0__{name}", None, None))
    assert (figures_dir / "model_1__traversals.png").exists() is False
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert f"latent traversals through the decoder of the module in {model_with_module / 'model' / 'tfhub'}" in markdown
    assert "model 1: no codes.npz" in result.stderr and "--save-codes" in result.stderr
    assert "model 1: module folder /nonexistent/model is missing" in result.stderr


def test_traversal_figure_marks_passive_rows():
    images = np.random.default_rng(0).random((3, 5, 64, 64, 3))
    fig = figures.traversal_figure(images, np.linspace(-2, 2, 5), ["active", "mixed", "passive"], "t")
    axes = fig.axes
    assert len(axes) == 15
    assert axes[10].get_ylabel() == "z2 passive"
    assert matplotlib.colors.to_hex(axes[10].spines["left"].get_edgecolor()) == figures.PALETTE["passive"].lower()
    assert fig.get_size_inches() == pytest.approx(figures.traversal_size(3, 5))


def _outside_margin(fig) -> list[str]:
    """The visible texts and axes of ``fig`` whose window extent comes closer to the image's edge than half
    the figures' ``MARGIN`` (texts' extents include their leading, so a text placed at the margin passes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    undrawn = set()  # labels of ticks outside the axis' view: kept by matplotlib, never drawn
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    undrawn |= {id(tick.label1), id(tick.label2)}
    margin = figures.MARGIN * fig.dpi / 2

    def too_close(box) -> bool:
        return min(box.x0, box.y0, width - box.x1, height - box.y1) < margin

    outside = [f"axes {i}" for i, ax in enumerate(fig.axes) if ax.get_visible() and too_close(ax.get_window_extent())]
    for text in fig.findobj(lambda a: hasattr(a, "get_window_extent") and hasattr(a, "get_text")):
        if not text.get_visible() or not text.get_text().strip() or id(text) in undrawn:
            continue
        if too_close(text.get_window_extent(renderer)):
            outside.append(text.get_text())
    return outside


def test_demo_size_figures_keep_their_margin():
    """The demo's four models (one level without passive latents) and a long title: every text artist and
    every axes of every figure keeps the margin, score axes carry units, and the kind colours are the palette's."""
    from matplotlib.figure import Figure

    documents = [make_document(i, kinds=["active"] * 10 if i < 2 else None, downstream=True) for i in (0, 1, 250, 251)]
    t = tables.TableBuilder()
    for doc in documents:
        t.add(doc)
    report_tables = t.build()
    summary = tables.summarize(report_tables)
    title = "beta_vae × dsprites_full · data: procedural_dsprites (procedural stand-in) · 4 models · a long note " * 2
    with matplotlib.rc_context(figures.STYLE):
        drawn = _all_figures(report_tables, summary, title)
    for fig in drawn:
        assert isinstance(fig, Figure)
        assert _outside_margin(fig) == [], fig.get_suptitle()[-50:]
    labels = [ax.get_ylabel() for ax in drawn[0].axes + drawn[1].axes]
    assert any("total correlation (nats)" in label for label in labels)
    assert any("mutual information\n(nats)" in label for label in labels)
    colours = {t.get_text(): t.get_color() for t in drawn[6].findobj(lambda a: hasattr(a, "get_text"))}
    assert colours["z9 passive"] == figures.PALETTE["passive"]


def _all_figures(report_tables, summary, title):
    from vae_passive.report import downstream, render

    codes = make_codes(KINDS_OF_MODEL_0)
    return [
        figures.passive_figure(summary, title),
        figures.subset_scores_figure(summary, title),
        figures.kinds_figure(summary, title),
        figures.metrics_figure(render.metrics_part(summary), title),
        figures.overview_figure(tables.with_strength(summary), title),
        downstream.downstream_figure(downstream.downstream_rows(report_tables.metrics), title),
        figures.histograms_figure(codes["mean"], codes["sampled"], np.exp(codes["logvar"]), KINDS_OF_MODEL_0, title),
        figures.correlation_figure(codes["mean"], codes["sampled"], KINDS_OF_MODEL_0, title),
        figures.traversal_figure(
            np.random.default_rng(0).random((10, 7, 64, 64, 1)), np.linspace(-2, 2, 7), KINDS_OF_MODEL_0, title
        ),
        figures.metrics_figure(_one_family(render.metrics_part(summary), "mig"), title),  # one panel: the narrowest
    ]


def _one_family(part, metric):
    return part[(part["table"] != "metrics") | (part["quantity"] == metric)]


def test_no_passive_latents_draw_no_bars_and_identical_subsets_are_dropped():
    t = tables.TableBuilder()
    for i in (0, 1):
        doc = make_document(i, kinds=["active"] * 6)
        full = {e["representation"]: e for e in doc["scores"] if e["subset"] == "full"}
        doc["scores"] = [{**full[e["representation"]], "subset": e["subset"]} for e in doc["scores"]]
        t.add(doc)  # every latent active: the active subset is the full code, as analyze writes it
    summary = tables.summarize(t.build())
    fig = figures.passive_figure(summary, "no passive")
    assert len(fig.axes) == 2  # no twin axes: the scores own the left axis
    assert not any(ax.patches for ax in fig.axes)
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert "no passive latents in any model" in texts
    _scores, subsets, notes = figures.scores_layout(summary)
    assert subsets == ["full"] and "active: the same as the full code in every model" in notes


def test_documents_from_codes_are_grouped_by_the_fields_they_have(tmp_path):
    """Documents of ``analyze --codes`` (no id, no catalogue fields) appear in the tables, the model table
    and the group figures, whose title says what was left out."""
    codes_docs = [make_document(None, key=f"my_vae_{i}", kinds=["active"] * 4 + ["passive"] * 2) for i in range(2)]
    for doc in codes_docs:
        doc["model"]["source"] = "codes"
    results = write_documents(tmp_path / "results", [*codes_docs, make_document(0)])
    np.savez(results / "my_vae_0" / "codes.npz", **make_codes(["active"] * 4 + ["passive"] * 2))
    build_report(results, tmp_path / "out", ("png",), ("my_vae_0",))
    names = {p.stem for p in (tmp_path / "out" / "figures").iterdir()}
    assert {
        "passive__any_method__any_dataset__given-codes",
        "model_my_vae_0__histograms",
        "passive__beta_vae__dsprites_full__zoo-models-stand-in-data",
    } <= names
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "not recorded: method, dataset, hyperparameter, value, seed" in markdown
    assert "[histograms](figures/model_my_vae_0__histograms.png)" in markdown
    html = (tmp_path / "out" / "index.html").read_text()
    # the model table and one prevalence table per group (codes and the zoo model are not pooled)
    assert html.count('<table class="data">') == 3 and "<script>" in html and "http" not in html.split("<script>")[1]


def _two_models_of_one_value(values: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """The summary of a β = 1 model pair whose ``values`` give (mean, sampled) per subset of effective rank."""
    t = tables.TableBuilder()
    doc = make_document(0, kinds=["active"] * 4 + ["passive"] * 4)
    for entry in doc["scores"]:
        pair = values.get(entry["subset"])
        if pair:
            entry["effective_rank"] = pair[0] if entry["representation"] == "mean" else pair[1]
    t.add(doc)
    return tables.summarize(t.build())


def test_score_axes_start_at_zero_shared_per_row_without_offsets():
    """Effective ranks 3.98367 vs 3.98392 must look equal, not drawn at opposite extremes under a +3.983 offset."""
    summary = _two_models_of_one_value({"full": (7.0, 7.5), "active": (3.98367, 3.98392), "passive": (1.2, 3.9)})
    with matplotlib.rc_context(figures.STYLE):
        fig = figures.subset_scores_figure(summary, "t")
        fig.canvas.draw()
    scores, subsets, _ = figures.scores_layout(summary)
    axes = np.asarray(fig.axes).reshape(len(scores), len(subsets))
    row = axes[scores.index("subset_effective_rank")]
    assert {ax.get_ylim() for ax in row} == {row[0].get_ylim()}  # one shared range per row
    assert row[0].get_ylim()[0] == 0.0
    assert all(ax.yaxis.get_major_formatter().get_offset() == "" for ax in fig.axes)


def test_metrics_are_drawn_one_figure_per_family(tmp_path):
    docs = [make_document(i) for i in (0, 1, 50)]
    build_report(write_documents(tmp_path / "results", docs), tmp_path / "out")
    names = {p.stem for p in (tmp_path / "out" / "figures").glob("metrics__*")}
    assert names == {"metrics__beta_vae__dsprites_full__dci", "metrics__beta_vae__dsprites_full__mig"}
    with Image.open(tmp_path / "out" / "figures" / "metrics__beta_vae__dsprites_full__dci.png") as image:
        assert image.size == tuple(round(x * figures.DPI) for x in figures.metrics_size(2))


def test_the_report_shows_the_analysis_warnings(tmp_path):
    doc = make_document(0)
    doc["warnings"] = ["every log-variance is ≥ 0: were variances passed where log-variances belong?"]
    build_report(write_documents(tmp_path / "results", [doc]), tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "**Inputs that cannot be right (model 0).** every log-variance is ≥ 0" in markdown
    assert "&lt;" not in markdown and "&gt;" not in markdown  # the report's own words need no entities


def test_the_overview_counts_passive_latents_from_zero_over_the_whole_strength_range():
    """One hyperparameter level once drew a passive count of 1 between 0.96 and 1.04 over strengths ±0.04."""
    summary = _two_models_of_one_value({"full": (7.0, 7.5), "passive": (1.2, 3.9)})
    fig = figures.overview_figure(tables.with_strength(summary), "t")
    fig.canvas.draw()
    counts, gaps = fig.axes[0], fig.axes[1]  # one dataset: the passive counts above the TC gaps
    assert counts.get_ylim()[0] == 0.0 and counts.get_ylim()[1] > 1.0
    assert gaps.get_xlim() == (-0.05, 1.05)
