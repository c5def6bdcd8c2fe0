"""Hostile documents, codes and files: nothing lands outside --out, every failure is one line, outputs are inert.

Every hostile file is built here, under tmp folders.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.helpers import one_line_error
from support.report_docs import make_codes, make_document

from vae_passive import atomic
from vae_passive.analysis.analyze import AnalysisResult, write_results
from vae_passive.errors import VaePassiveError
from vae_passive.report.files import FileNames, csv_safe, inside
from vae_passive.report.pages import md, md_code
from vae_passive.report.render import build_report
from vae_passive.untrusted import UnreadableFile, is_tensorflow_error, load_npy, load_npz, read_json

HOSTILE = {
    "method": "../../../escaped_method",
    "dataset": "..\\../<script>alert(1)</script>",
    "hyperparameter": '=HYPERLINK("http://evil")',
    "value": -0.5,
}


def put(results: Path, folder: str, doc: dict | str | bytes) -> Path:
    """Write ``doc`` as ``<results>/<folder>/analysis.json`` (the folder need not match the key)."""
    path = results / folder / "analysis.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(doc, dict):
        doc = json.dumps(doc)
    path.write_bytes(doc.encode() if isinstance(doc, str) else doc)
    return path


def deep_json(depth: int = 100_000) -> str:
    return '{"schema": "vae-passive/analysis/1", "model": ' + "[" * depth + "]" * depth + "}"


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory) -> tuple[Path, Path, list[str]]:
    base = tmp_path_factory.mktemp("hostile")
    results = base / "results"
    put(results, "a", make_document(None, key="../../../escaped_key", catalogue_fields=HOSTILE, kinds=["active"] * 3))
    twin = {**HOSTILE, "method": "..?..?..?escaped_method"}  # slugs like the first: must not overwrite it
    put(results, "b", make_document(None, key="<img src=x onerror=alert(1)>", catalogue_fields=twin))
    put(results, "c", make_document(None, key="@SUM(1+1)", catalogue_fields=HOSTILE))
    put(results, "=cmd|' -C calc'!A0", "{not json")
    put(results, "deep", deep_json())
    put(results, "surrogate", make_document(None, key="\ud800"))
    (results / "codes_bad").mkdir()
    put(results, "codes_bad", make_document(None, key="codes_bad", kinds=["active"] * 3))
    (results / "codes_bad" / "codes.npz").write_bytes(b"PK\x03\x04 truncated zip")
    messages: list[str] = []
    note = "<b>pilot</b> [click](javascript:alert(1)) | x"
    out = base / "out"
    build_report(results, out, ("png",), ("codes_bad",), progress=messages.append, note=note)
    return base, out, messages


def test_hostile_names_stay_inside_out(hostile_report):
    base, out, _ = hostile_report
    written = {p for p in base.rglob("*") if p.is_file()}
    assert all(p.is_relative_to(base / "results") or p.is_relative_to(out) for p in written)
    assert not any("escaped" in p.name for p in base.parent.iterdir())
    names = [p.name for p in (out / "figures").iterdir()]
    assert all(
        not n.startswith(".") and set(n) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
        for n in names
    )
    kinds = sorted(n for n in names if n.startswith("kinds__"))
    assert kinds == [  # two method x dataset groups whose names slug alike: the second is told apart
        "kinds__.._.._.._escaped_method__.._.._script_alert_1_script_-2.png",
        "kinds__.._.._.._escaped_method__.._.._script_alert_1_script_.png",
        "kinds__any_method__any_dataset.png",  # the documents without catalogue fields
    ]


def test_unreadable_files_are_listed_and_the_report_goes_on(hostile_report):
    _, out, messages = hostile_report
    problems = pd.read_csv(out / "problems.csv")
    reasons = dict(zip(problems["path"], problems["reason"], strict=True))
    assert "nested too deeply" in reasons["deep/analysis.json"]
    assert "not UTF-8" in reasons["surrogate/analysis.json"]
    assert "not JSON" in reasons["'=cmd|' -C calc'!A0/analysis.json"]  # formula-quoted in the CSV
    assert any("left out 3 documents" in m for m in messages)
    markdown = (out / "report.md").read_text()
    assert "model codes_bad: cannot use codes.npz (cannot read" in markdown


def test_folder_names_that_are_not_utf8_are_shown_replaced(tmp_path):
    results = tmp_path / "results"
    put(results, "0", make_document(0))
    bad = os.fsdecode(b"bad\xff")
    put(results, bad, "[]")
    build_report(results, tmp_path / "out")
    assert "`bad\ufffd/analysis.json` (unreadable)" in (tmp_path / "out" / "report.md").read_text()


def test_report_md_and_index_html_escape_document_text(hostile_report):
    _, out, _ = hostile_report
    markdown = (out / "report.md").read_text()
    assert "<script" not in markdown and "<img" not in markdown and "<b>" not in markdown
    assert "### ../../../escaped_method × ..\\\\../&lt;script&gt;alert(1)&lt;/script&gt;" in markdown
    assert "> **Note.** &lt;b&gt;pilot&lt;/b&gt; \\[click\\](javascript:alert(1)) \\| x" in markdown
    page = (out / "index.html").read_text()
    assert page.count("<script") == 1 and "<script>document.querySelectorAll" in page  # only the tables' own
    assert "<img src=x" not in page and "<b>pilot" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_csv_string_cells_are_quoted_against_formulas_numbers_stay(hostile_report):
    _, out, _ = hostile_report
    text = (out / "tables" / "models.csv").read_text()
    assert "'=HYPERLINK" in text and '"\'@SUM(1+1)"' in text
    assert ",=" not in text and ',"=' not in text and ',"@' not in text
    models = pd.read_csv(out / "tables" / "models.csv")
    assert models["value"].dtype == np.float64 and (models["value"].dropna() == -0.5).all()
    assert ",-0.5," in text
    raw = pd.read_parquet(out / "tables" / "models.parquet")  # Parquet is data, kept as the documents say
    assert "@SUM(1+1)" in set(raw["key"].astype(str))


def test_csv_safe_quotes_only_string_cells():
    import pyarrow

    table = pyarrow.table(
        {
            "text": ["=1+1", "+a", "-b", "@c", "\td", "\re", "ok", None],
            "number": [-0.5, 1.0, -2.0, 0.0, 1.0, 1.0, 1.0, None],
            "category": pyarrow.array(["-x", "y", "-x", "y", "y", "y", "y", "y"]).dictionary_encode(),
        }
    )
    safe = csv_safe(table).to_pydict()
    assert safe["text"] == ["'=1+1", "'+a", "'-b", "'@c", "'\td", "'\re", "ok", None]
    assert safe["number"] == [-0.5, 1.0, -2.0, 0.0, 1.0, 1.0, 1.0, None]
    assert safe["category"][:2] == ["'-x", "y"]


def test_file_names_are_safe_bounded_and_distinct():
    names = FileNames()
    assert names.claim("passive__../../x__y") == "passive__.._.._x__y"
    assert names.claim("../.hidden") == "_.hidden"
    assert names.claim(".-x") == "x"
    assert names.claim("") == "_"
    assert names.claim("é" * 500) == "_-2"  # a run of unsafe characters becomes one "_", taken by ""
    first, second, third = names.claim("a" * 300), names.claim("a" * 300), names.claim("A" * 300)
    assert len(first) == len(second) == len(third) == 120
    assert len({first.casefold(), second.casefold(), third.casefold()}) == 3


def test_nothing_is_written_through_a_symlink_out_of_out(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "figures").symlink_to(elsewhere)
    with pytest.raises(VaePassiveError, match="resolves outside --out"):
        inside(out, "figures/x.png")
    assert inside(out, "tables/x.csv") == out / "tables" / "x.csv"


def test_markdown_helpers():
    assert md("a\nb <i>&amp; [x](y) | \\") == "a b &lt;i&gt;&amp;amp; \\[x\\](y) \\| \\\\"
    assert md_code("x`y") == "``x`y``"
    assert md_code("`x") == "`` `x ``"


def test_read_json_refuses_deep_large_odd_and_non_regular_files(tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(deep_json())
    with pytest.raises(UnreadableFile, match="nested too deeply"):
        read_json(path)
    path.write_text('{"a": "' + "x" * 100 + '"}')
    with pytest.raises(UnreadableFile, match="larger than 50 bytes"):
        read_json(path, max_bytes=50)
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(UnreadableFile, match=r"not UTF-8|not JSON"):
        read_json(path)
    path.write_text('{"a": "\\udc80"}')
    with pytest.raises(UnreadableFile, match="not UTF-8"):
        read_json(path)
    path.write_text('{"a": "\\ud83d\\ude00"}')  # a valid surrogate pair is one character
    assert read_json(path) == {"a": "\U0001f600"}
    with pytest.raises(UnreadableFile, match="does not exist"):
        read_json(tmp_path / "missing.json")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.json")
        with pytest.raises(UnreadableFile, match="not a regular file"):
            read_json(tmp_path / "fifo.json")  # would block forever if opened for reading


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "cannot read"),
        (b"PK\x03\x04garbage", "cannot read"),
        (b"not a zip at all", "cannot read"),
    ],
)
def test_load_npz_turns_broken_files_into_one_error(tmp_path, content, message):
    path = tmp_path / "codes.npz"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=message):
        load_npz(path)


def test_load_npz_refuses_pickles_missing_names_and_oversize(tmp_path):
    path = tmp_path / "codes.npz"
    np.savez(path, mean=np.zeros((4, 2)), objects=np.array([{"a": 1}], dtype=object))
    with pytest.raises(UnreadableFile, match="cannot read"):
        load_npz(path)
    assert load_npz(path, ("mean",))["mean"].shape == (4, 2)
    with pytest.raises(UnreadableFile, match="lacks logvar"):
        load_npz(path, ("mean", "logvar"))
    with pytest.raises(UnreadableFile, match="more than the 10 allowed"):
        load_npz(path, ("mean",), max_bytes=10)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(UnreadableFile, match=r"single \.npy"):
        load_npz(tmp_path / "one.npy")
    with pytest.raises(UnreadableFile, match=r"an \.npz archive"):
        load_npy(path)


def test_empty_files_given_to_encode_and_score_are_one_line(cli, tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "empty.npz").write_bytes(b"")
    message = one_line_error(
        cli("encode", "--model-dir", tmp_path, "--images", tmp_path / "empty.npy", "--out", tmp_path / "c.npz")
    )
    assert "cannot read" in message and "empty.npy" in message
    assert "cannot read" in one_line_error(cli("score", "--codes", tmp_path / "empty.npz"))


def test_deep_document_does_not_stop_the_runner_skip_check(tmp_path):
    from vae_passive.analysis.analyze import Settings
    from vae_passive.analysis.runner import Task, is_done

    put(tmp_path, "7", deep_json())
    assert is_done(tmp_path, Task("7", model_id=7), Settings()) is False


def test_write_results_refuses_keys_that_are_not_one_folder(tmp_path):
    for key in ("..", "../x", "", "a/b"):
        result = AnalysisResult({"model": {"key": key}}, {}, [])
        with pytest.raises(VaePassiveError, match="not a plain folder name"):
            write_results(tmp_path / "results", result)
    assert not any(tmp_path.rglob("analysis.json"))


def test_write_errors_are_one_line(cli, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    sample = ("data", "sample", "procedural_dsprites", "--num", "4", "--out")
    message = one_line_error(cli(*sample, tmp_path / "file" / "s.npz"))
    assert message == f"Error: cannot write {tmp_path / 'file' / 's.npz'}: {tmp_path / 'file'} is a file, not a folder"

    def full_disk(path, directory=False):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic, "_fsync", full_disk)
    message = one_line_error(cli(*sample, tmp_path / "s.npz"))
    assert message == f"Error: cannot write {tmp_path / 's.npz'}: No space left on device"
    assert list(tmp_path.iterdir()) == [tmp_path / "file"]  # no temporary file left behind


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_read_only_folder_is_one_line(cli, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    if os.geteuid() == 0:  # root writes anyway: give the answer every other user gets, where the write starts

        def denied(*args, dir, **kwargs):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(Path(dir) / "tmp.part"))

        monkeypatch.setattr(atomic.tempfile, "mkstemp", denied)
    try:
        message = one_line_error(cli("data", "sample", "procedural_dsprites", "--num", "4", "--out", folder / "s.npz"))
    finally:
        folder.chmod(0o700)
    assert message == f"Error: cannot write {folder / 's.npz'}: Permission denied"


def test_report_write_error_is_one_line(cli, tmp_path, monkeypatch):
    from vae_passive.report import files

    put(tmp_path / "results", "0", make_document(0))

    def full_disk(table, temp):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.pa_parquet, "write_table", full_disk)
    result = cli("report", "--results", tmp_path / "results", "--out", tmp_path / "out")
    assert result.exit_code == 1 and "Traceback" not in result.output  # progress lines, then the error
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"Error: cannot write {tmp_path / 'out' / 'tables' / 'models.parquet'}: No space left on device"


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_files_get_the_umask_not_0600_and_are_synced(tmp_path, monkeypatch, mask):
    synced = []
    real_fsync = atomic._fsync
    monkeypatch.setattr(atomic, "_fsync", lambda path, directory=False: synced.append(directory) or real_fsync(path))
    old = os.umask(mask)
    atomic.umask.cache_clear()
    try:
        atomic.write_text(tmp_path / "a.txt", "x")
        atomic.save_npz(tmp_path / "b.npz", x=np.zeros(2))
    finally:
        os.umask(old)
        atomic.umask.cache_clear()
    for name in ("a.txt", "b.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask
    assert synced == [False, True, False, True]  # the file, then its folder


def test_report_files_are_readable_to_the_group(tmp_path):
    old = os.umask(0o022)
    atomic.umask.cache_clear()
    try:
        put(tmp_path / "results", "0", make_document(0))
        build_report(tmp_path / "results", tmp_path / "out")
    finally:
        os.umask(old)
        atomic.umask.cache_clear()
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert modes == {0o644}


def tensorflow_error() -> Exception:
    from vae_passive.tfhub.runtime import tensorflow

    return tensorflow().errors.InvalidArgumentError(None, None, "Incompatible shapes: [1,2] vs. [3]\n\t [[node x]]")


def test_tensorflow_error_in_a_module_is_one_line(cli, tmp_path, monkeypatch):
    class Broken:
        def __init__(self, path):
            self.num_latents = 2

        def encode(self, images, batch_size):
            raise tensorflow_error()

    monkeypatch.setattr("vae_passive.tfhub.module.Module", Broken)
    np.save(tmp_path / "x.npy", np.zeros((2, 64, 64, 1), np.float32))
    message = one_line_error(
        cli("encode", "--model-dir", tmp_path, "--images", tmp_path / "x.npy", "--out", tmp_path / "c.npz")
    )
    assert message == "Error: TensorFlow failed: InvalidArgumentError: Incompatible shapes: [1,2] vs. [3]"
    assert is_tensorflow_error(tensorflow_error()) and not is_tensorflow_error(ValueError("x"))


def test_tensorflow_error_in_traversals_is_a_note(tmp_path, monkeypatch):
    class Broken:
        def __init__(self, path):
            self.path = Path(path)

        def decode(self, latents):
            raise tensorflow_error()

    monkeypatch.setattr("vae_passive.tfhub.module.Module", Broken)
    (tmp_path / "module").mkdir()
    kinds = ["active", "passive"]
    put(tmp_path / "results", "m", make_document(None, key="m", kinds=kinds, path=str(tmp_path / "module")))
    np.savez(tmp_path / "results" / "m" / "codes.npz", **make_codes(kinds, n=50))
    messages: list[str] = []
    build_report(
        tmp_path / "results", tmp_path / "out", model_ids=("m",), progress=messages.append, model_roots=[tmp_path]
    )
    assert any("model m: no traversals (Incompatible shapes" in m for m in messages)
    assert not list((tmp_path / "out" / "figures").glob("*traversals*"))


def test_unexpected_errors_are_one_line_unless_debugging(cli, monkeypatch):
    def bug(*args):
        raise TypeError("unsupported operand")

    monkeypatch.setattr("vae_passive.cli.options.Selection.records", bug)
    message = one_line_error(cli("list"))
    assert message.startswith("Error: unexpected TypeError: unsupported operand (a bug in vae-passive")
    assert "VAE_PASSIVE_DEBUG=1" in message
    monkeypatch.setenv("VAE_PASSIVE_DEBUG", "1")
    with pytest.raises(TypeError, match="unsupported operand"):
        cli("list")


def test_os_errors_without_a_write_name_their_file(cli, monkeypatch):
    def denied(*args):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/some/catalogue")

    monkeypatch.setattr("vae_passive.cli.options.Selection.records", denied)
    assert one_line_error(cli("list")) == "Error: /some/catalogue: Permission denied"
