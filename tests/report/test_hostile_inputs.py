"""One hostile document or training log costs only itself, never the whole report (issue 26.5).

Documents with Infinity, 1e999 or 1e300 where an integer belongs, and training logs with unknown kinds,
negative or huge indices, NaN steps or millions of rows in a small file, all built here.
"""

from __future__ import annotations

import csv
import json
import re
import time
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.report_docs import make_document

from vae_passive.errors import VaePassiveError
from vae_passive.report import dynamics
from vae_passive.report.dynamics import read_logs

BIG = "__BIG_NUMBER__"


def write_doc(results, folder, doc, big="1e999"):
    """``doc`` as JSON in ``<results>/<folder>/analysis.json``, the string ``BIG`` written as the number ``big``."""
    path = results / folder / "analysis.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc).replace(f'"{BIG}"', big))


def codes_doc(key):
    return make_document(None, key=key, kinds=["active"] * 3, catalogue_fields={"method": "m", "dataset": "d"})


HOSTILE_NUMBERS = {
    "seed_inf": (lambda d: d["model"].update(seed=BIG), "Infinity", "model.seed"),
    "index_1e999": (lambda d: d["latents"][0].update(index=BIG), "1e999", "latents[0].index"),
    "index_1e300": (lambda d: d["latents"][0].update(index=BIG), "1e300", "latents[0].index"),
    "num_samples_inf": (lambda d: d["data"].update(num_samples=BIG), "-Infinity", "data.num_samples"),
    "num_samples_1e300": (lambda d: d["data"].update(num_samples=BIG), "1e300", "data.num_samples"),
    "score_size_1e300": (lambda d: d["scores"][0].update(num_latents=BIG), "1e300", "num_latents"),
}


def test_numbers_out_of_range_cost_only_their_document(cli, tmp_path):
    results = tmp_path / "results"
    write_doc(results, "good", codes_doc("good"))
    for name, (edit, big, _) in HOSTILE_NUMBERS.items():
        doc = codes_doc(name)
        edit(doc)
        write_doc(results, name, doc, big)
    out = tmp_path / "out"
    result = cli("report", "--results", results, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    with open(out / "problems.csv", newline="") as handle:
        problems = {row["path"].split("/")[0]: row for row in csv.DictReader(handle)}
    assert set(problems) == set(HOSTILE_NUMBERS)
    for name, (_, _, field) in HOSTILE_NUMBERS.items():
        assert problems[name]["kind"] == "unreadable" and field in problems[name]["reason"], problems[name]
    models = pd.read_parquet(out / "tables" / "models.parquet")
    assert list(models["key"]) == ["good"]


def write_logs(folder, latents=None, correlations=None, steps=(0, 10, 20)):
    """Small logs in train --log-every's columns (latents 2 and 3 passive: one pair to draw);
    ``latents``/``correlations`` replace those tables."""
    logs = folder / "logs"
    logs.mkdir(parents=True)
    rows = [
        (s, i, "active" if i < 2 else "passive", 0.1 if i < 2 else 1.0) for s in steps for i in range(4)
    ]  # 2 passive: a pair to draw
    default_latents = pd.DataFrame(rows, columns=["step", "latent", "kind", "mean_of_variance"])
    scores = pd.DataFrame(
        [(s, r, "full", 0.5) for s in steps for r in ("mean", "sampled")],
        columns=["step", "representation", "subset", "gaussian_total_correlation"],
    )
    pairs = [(s, r, c, float(r == c), float(r == c)) for s in steps for r in range(4) for c in range(4)]
    default_correlations = pd.DataFrame(pairs, columns=["step", "row", "column", "mean", "sampled"])
    (default_latents if latents is None else latents).to_parquet(logs / "latents.parquet")
    scores.to_parquet(logs / "scores.parquet")
    (default_correlations if correlations is None else correlations).to_parquet(logs / "correlations.parquet")
    return folder


def latents_with(**change):
    frame = pd.DataFrame({"step": [0, 10], "latent": [0, 0], "kind": ["active"] * 2, "mean_of_variance": [0.1] * 2})
    return frame.assign(**change)


def correlations_with(**change):
    frame = pd.DataFrame({"step": [0, 10], "row": [0, 0], "column": [0, 0], "mean": [1.0, 1.0], "sampled": [1.0, 1.0]})
    return frame.assign(**change)


HOSTILE_LOGS = {
    "unknown kind": ({"latents": latents_with(kind=["active", "\x1b[31mevil"])}, "is not one of active"),
    "NaN step": ({"latents": latents_with(step=[0.0, np.nan])}, "step holds a value that is not an integer"),
    "fractional step": ({"latents": latents_with(step=[0.0, 0.5])}, "step holds a value that is not an integer"),
    "negative row": ({"correlations": correlations_with(row=[0, -1])}, "row holds a value that is not an integer"),
    "huge row": ({"correlations": correlations_with(column=[0, 10**9])}, "column holds a value that is not an integer"),
    "text values": ({"latents": latents_with(mean_of_variance=["a", "b"])}, "mean_of_variance is not numeric"),
    "no rows": ({"latents": latents_with().iloc[:0]}, "has no rows"),
}


@pytest.mark.parametrize("case", HOSTILE_LOGS, ids=list(HOSTILE_LOGS))
def test_hostile_logs_are_a_note_and_the_other_models_are_drawn(tmp_path, case):
    tables, message = HOSTILE_LOGS[case]
    good, bad = write_logs(tmp_path / "good"), write_logs(tmp_path / "bad", **tables)
    with pytest.raises(VaePassiveError, match=message):
        read_logs(bad, "bad")
    frame = pd.DataFrame(
        {"key": ["good", "bad"], "path": [str(good), str(bad)], "method": ["beta_vae"] * 2, "value": [1.0, 1.0]}
    )
    drawn, notes = dynamics.dynamics_figures(frame, [tmp_path])
    assert {item.stem for item in drawn} >= {"model_good__dynamics_variance", "model_good__dynamics_correlation"}
    assert not any("bad" in item.stem for item in drawn)
    assert len(notes) == 1 and notes[0].startswith("model bad: no training dynamics") and message.split()[0] in notes[0]


def test_a_small_file_of_millions_of_rows_is_refused_from_its_metadata(tmp_path):
    """30 M rows in a 504 kB file once took the report to 3.75 GB; rows are capped (1 M) before reading."""
    folder = write_logs(tmp_path / "m")
    batch = pa.table(
        {"step": np.zeros(250_000, np.int64), "row": np.zeros(250_000, np.int64)}
        | {"column": np.zeros(250_000, np.int64), "mean": np.zeros(250_000)}
    )
    path = folder / "logs" / "correlations.parquet"
    with pq.ParquetWriter(path, batch.schema) as writer:
        for _ in range(8):  # 2 M rows, a few kB on disk
            writer.write_table(batch)
    assert path.stat().st_size < 200_000
    allocated, began = pa.total_allocated_bytes(), time.perf_counter()
    with pytest.raises(VaePassiveError, match=r"holds 2,000,000 rows .* more than the 1,000,000 rows"):
        read_logs(folder, "m")
    assert time.perf_counter() - began < 1.0 and pa.total_allocated_bytes() - allocated < 1 << 20


def test_only_the_columns_used_are_read(tmp_path, monkeypatch):
    from vae_passive import untrusted

    folder = write_logs(tmp_path / "m")
    wide = pd.read_parquet(folder / "logs" / "scores.parquet").assign(junk=["x" * 1000] * 6)
    wide.to_parquet(folder / "logs" / "scores.parquet")
    logs = read_logs(folder, "m")
    assert logs is not None and "junk" not in logs.scores.columns
    monkeypatch.setattr(untrusted, "MAX_TABLE_ROWS", 5)
    with pytest.raises(VaePassiveError, match="more than the 5 rows"):
        read_logs(folder, "m")


def test_model_path_is_followed_only_inside_the_results_the_home_and_model_roots(tmp_path):
    """A document's model.path once made the report read and plot the logs of any folder (issue 26.15)."""
    results, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    inside_results = write_logs(results / "trained" / "m1")
    outside = write_logs(elsewhere / "m2")
    (results / "link").symlink_to(elsewhere / "m2")  # inside by name, outside once resolved
    frame = pd.DataFrame(
        {
            "key": ["m1", "m2", "m3", "m4"],
            "path": [str(inside_results), str(outside), str(results / "link"), "/nonexistent\0evil"],
            "method": ["beta_vae"] * 4,
            "value": [1.0] * 4,
        }
    )
    drawn, notes = dynamics.dynamics_figures(frame, [results])
    assert {item.stem for item in drawn if item.stem.startswith("model_")} == {
        "model_m1__dynamics_variance",
        "model_m1__dynamics_correlation",
        "model_m1__dynamics_passive_pairs",
    }
    outside_notes = [note for note in notes if "is outside the results folder" in note]
    assert [note.split(":")[0] for note in outside_notes] == ["model m2", "model m3"]
    assert "--model-root" in outside_notes[0]
    drawn, notes = dynamics.dynamics_figures(frame, [results, elsewhere])
    keys = {item.stem.split("__")[0] for item in drawn if item.stem.startswith("model_")}
    assert keys == {"model_m1", "model_m2", "model_m3"}


def test_traversal_modules_outside_the_roots_are_not_loaded(tmp_path, monkeypatch, cli):
    from support.report_docs import make_codes

    from vae_passive.report.render import build_report

    loaded = []
    monkeypatch.setattr("vae_passive.tfhub.module.Module", lambda path: loaded.append(path) or 1 / 0)
    module = tmp_path / "elsewhere" / "module"
    module.mkdir(parents=True)
    kinds = ["active", "passive"]
    results = tmp_path / "results"
    write_doc(results, "m", make_document(None, key="m", kinds=kinds, path=str(module)))
    np.savez(results / "m" / "codes.npz", **make_codes(kinds, n=50))
    messages: list[str] = []
    build_report(results, tmp_path / "out", model_ids=("m",), progress=messages.append)
    assert loaded == [] and any("model m: model.path" in m and "no traversals" in m for m in messages)
    with pytest.raises(ZeroDivisionError):  # followed now: the stand-in module is loaded
        build_report(results, tmp_path / "out2", model_ids=("m",), model_roots=[module.parent])
    assert loaded == [str(module)]
    refused = cli("report", "--results", results, "--out", tmp_path / "o", "--model-root", tmp_path / "missing")
    assert refused.exit_code == 2 and "does not exist" in refused.output


def test_markdown_text_has_no_bare_links_and_no_control_characters():
    """Bare URLs from documents became links in report.md (issue 26.12); escapes reached the page raw."""
    from vae_passive.report.pages import md, md_code

    text = md("see http://evil.example/a|b, www.evil.example and me@evil.example (https://x.example/y).")
    assert text == (
        "see `http://evil.example/a`\\|b, `www.evil.example` and `me@evil.example` (`https://x.example/y`)."
    )
    # each control character, bidi override and CSI is shown as "?" (untrusted.printable), a line break as a space
    assert md("\x1b[32mfetched\x1b[0m\r\u202eevil\x9b2J") == "?\\[32mfetched?\\[0m ?evil?2J"
    assert md_code("a\x1b[1m\nb") == "`a?[1m b`"
    assert md("javascript:alert(1) [x](y)") == "javascript:alert(1) \\[x\\](y)"  # no scheme://: never autolinked


def test_document_strings_reach_no_terminal_or_page_raw(cli, tmp_path):
    """A rule.name with escape sequences was printed raw by the report (a fake green line over the real one)."""
    results = tmp_path / "results"
    write_doc(results, "a", codes_doc("a"))
    hostile = codes_doc("b")
    hostile["rule"]["name"] = "\x1b[2K\r\x1b[32mfetched\x1b[0m http://evil.example/x"
    hostile["model"]["method"] = "www.evil.example\u202e"
    write_doc(results, "b", hostile)
    out = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:  # matplotlib warns of each glyph it cannot draw
        warnings.simplefilter("always")
        result = cli("report", "--results", results, "--out", out)
    assert result.exit_code == 0, result.output
    assert not [w for w in caught if "Glyph" in str(w.message)]  # figure texts lost their control characters
    assert "different rules" in result.stderr and "[32mfetched" in result.stderr
    markdown, page = (out / "report.md").read_text(), (out / "index.html").read_text()
    for shown in (result.stderr, result.stdout, markdown, page):
        assert not re.search("[\x1b\r\u202e]", shown), shown
    assert "`http://evil.example/x" in markdown and "`www.evil.example`" in markdown
    # outside code spans and the report's own figure links, no text a renderer could make a link of
    bare = re.sub(r"\(figures/[^)\s]*\)", "", re.sub(r"(`+).*?\1", "", markdown))
    assert "evil.example" not in bare


def test_one_line_errors_carry_no_escape_sequences(cli, tmp_path):
    damaged = tmp_path / "x\x1b[31m\rfine.npz"
    damaged.write_bytes(b"PK\x03\x04 not a zip")
    result = cli("score", "--codes", damaged)
    assert result.exit_code == 1 and "x?[31m fine.npz" in result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr


def test_figure_texts_lose_control_characters_but_keep_their_wrapped_lines(tmp_path):
    """Saving strips control characters from every figure text, line by line: a wrapped title keeps its
    line breaks (once flattened to one line, long titles ran off both sides of narrow figures)."""
    from matplotlib.figure import Figure

    from vae_passive.report.render import _FigureWriter

    fig = Figure(figsize=(3, 2))
    title = fig.suptitle("first line of a long title\nsecond \x1b[31mline")
    _FigureWriter(tmp_path, ("png",), lambda message: None).save(fig, "f", "section", "caption")
    assert title.get_text() == "first line of a long title\nsecond ?[31mline"
    assert (tmp_path / "figures" / "f.png").is_file()
