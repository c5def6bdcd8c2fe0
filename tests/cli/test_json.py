"""``--json`` on every command that prints results: one JSON value on stdout, messages on stderr."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from support.helpers import one_line_error, random_images
from support.report_docs import make_document, write_documents

import vae_passive


def only_json(result):
    """The one JSON value a ``--json`` run printed (the whole of stdout)."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_json_and_format(cli):
    rows = only_json(cli("list", "--ids", "0-2", "--json"))
    assert [r["id"] for r in rows] == [0, 1, 2]
    assert rows == only_json(cli("list", "--ids", "0-2", "--format", "json"))
    assert "disagree" in one_line_error(cli("list", "--ids", "0", "--json", "--format", "csv"))


def test_data_ls_lists_the_stand_in(cli):
    rows = only_json(cli("data", "ls", "--json"))
    stand_in = [r for r in rows if r["stand_in"]]
    assert [r["name"] for r in stand_in] == ["procedural_dsprites"] and stand_in[0]["status"] == "ok"
    assert rows[-1] == stand_in[0] and not any(r["stand_in"] for r in rows[:-1])
    text = cli("data", "ls").stdout.splitlines()
    assert text[-1].startswith("procedural_dsprites") and "stand-in" in text[-1]


def test_data_sample_json(cli, tmp_path):
    facts = only_json(cli("data", "sample", "procedural_dsprites", "--num", 5, "--out", tmp_path / "s.npz", "--json"))
    assert facts["num"] == 5 and facts["stand_in"] is True and facts["images"] == [5, 64, 64, 1]
    text = cli("data", "sample", "procedural_dsprites", "--num", 1, "--out", tmp_path / "one.npz").stdout
    assert ": 1 sample of procedural_dsprites" in text


def test_zoo_commands_json(cli, model_folder_1ch, tmp_path):
    """import, cache ls/verify/rm and fetch (from a folder mirror, dry run too), each with --json."""
    imported = only_json(cli("import", model_folder_1ch, "--json"))
    assert [(o["id"], o["status"]) for o in imported] == [(0, "imported")] and imported[0]["size"] > 0
    listing = only_json(cli("cache", "ls", "--json"))
    assert [m["id"] for m in listing["models"]] == [0] and listing["staging_bytes"] == 0
    assert only_json(cli("cache", "ls", "--ids", "1-5", "--json"))["models"] == []
    assert cli("cache", "ls").stdout.splitlines()[-1].startswith("1 model, ")
    assert only_json(cli("cache", "verify", "--json")) == [{"id": 0, "status": "ok", "problem": None}]
    removed = only_json(cli("cache", "rm", "--ids", "0", "--json"))
    assert removed["removed"] == [0] and removed["freed_bytes"] > 0 and removed["partial_removed"] == 0

    mirror = tmp_path / "mirror"
    shutil.copytree(model_folder_1ch, mirror / "0")
    probes = only_json(cli("fetch", "--ids", "0", "--mirror", mirror, "--dry-run", "--json"))
    assert [(p["id"], p["status"]) for p in probes] == [(0, "available")]
    fetched = only_json(cli("fetch", "--ids", "0", "--mirror", mirror, "--json"))
    assert [(o["id"], o["status"]) for o in fetched] == [(0, "fetched")]
    again = only_json(cli("fetch", "--ids", "0", "--mirror", mirror, "--json", "--quiet"))
    assert [(o["id"], o["status"]) for o in again] == [(0, "cached")]


def test_encode_json(cli, model_folder_1ch, tmp_path):
    np.save(tmp_path / "x.npy", random_images(4, 1))
    args = ("encode", "--model-dir", model_folder_1ch, "--images", tmp_path / "x.npy", "--out", tmp_path / "c.npz")
    facts = only_json(cli(*args, "--noise-seed", 5, "--json"))
    assert facts == {"out": str(tmp_path / "c.npz"), "images": 4, "latents": 10, "noise_seed": 5}
    assert cli(*args).stdout.strip().endswith(": 4 images x 10 latents")


def test_analyze_selection_json(cli, tmp_path, monkeypatch):
    """A batch run's summary as JSON, failures included (the runner itself is tested in tests/analysis)."""
    from vae_passive.analysis import runner

    asked = []

    def fake_run(tasks, settings, results, **options):
        asked.extend(task.model_id for task in tasks)
        return runner.RunSummary(done=["0"], skipped=["1"], failed={"7": "boom"}, elapsed_s=1.5)

    monkeypatch.setattr(runner, "run", fake_run)
    result = cli("analyze", "--ids", "0,1,7", "--results", tmp_path / "r", "--json", "--quiet")
    assert result.exit_code == 1 and asked == [0, 1, 7]
    summary = json.loads(result.stdout)
    assert summary == {
        "analysed": ["0"], "already_done": ["1"], "failed": {"7": "boom"}, "elapsed_s": 1.5,
        "results": str(tmp_path / "r"),
    }  # fmt: skip
    assert result.stderr.strip() == "failed 7: boom"


def test_report_json_and_selection(cli, tmp_path):
    results = write_documents(tmp_path / "results", [make_document(0), make_document(1), make_document(300)])
    facts = only_json(cli("report", "--results", results, "--out", tmp_path / "out", "--ids", "0-1", "--json", "-q"))
    assert facts["report"] == str(tmp_path / "out" / "report.md") and facts["index"].endswith("index.html")
    import pandas as pd

    assert sorted(pd.read_csv(tmp_path / "out" / "tables" / "models.csv")["id"]) == [0, 1]
    message = one_line_error(cli("report", "--results", results, "--out", tmp_path / "o2", "--method", "dip_vae_i"))
    assert "no analysis document" in message and "selection" in message


@pytest.mark.parametrize("command", [("info", "--json"), ("score", "--codes", "{codes}", "--metrics", "mig", "--json")])
def test_other_commands_print_one_json_value(cli, tmp_path, isolated_home, command):
    rng = np.random.default_rng(0)
    codes = tmp_path / "codes.npz"
    np.savez(codes, codes=rng.normal(size=(200, 3)), factors=rng.integers(0, 3, size=(200, 2)))
    value = only_json(cli(*(str(word).format(codes=codes) for word in command)))
    if command[0] == "info":  # the versions and folders of this run
        import platform

        assert value["vae_passive"] == vae_passive.__version__ and value["numpy"] == np.__version__
        assert value["python"] == platform.python_version()
        assert value["home"] == str(isolated_home) and value["home_from"] == "VAE_PASSIVE_HOME"
        assert value["models"] == str(isolated_home / "models")
    else:  # the score of the file's arrays
        from vae_passive.metrics.mig import compute_mig

        with np.load(codes) as arrays:
            assert value == {"mig": compute_mig(arrays["codes"], arrays["factors"])}


@pytest.mark.slow
def test_train_json(cli, tmp_path, isolated_home):
    args = ("train", "--model-id", 3, "--steps", 1, "--batch-size", 2, "--data", "procedural_dsprites", "--quiet")
    facts = only_json(cli(*args, "--json"))
    assert facts["model_id"] == 3 and facts["data"] == "procedural_dsprites" and facts["zip"] is None
    assert facts["model_dir"] == str(isolated_home / "models" / "3")
