"""The one codes layout (``analysis.codes``) and ``analyze --codes``: one file, a batch, bad input."""

import json

import numpy as np
import pytest
from support.helpers import one_line_error

from vae_passive.analysis.codes import Codes, check_codes, read_codes, save_codes
from vae_passive.errors import VaePassiveError


def arrays(n=300, seed=0):
    """Codes with 3 active, 2 passive latents and 2 factors of 4 classes."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(n, 5))
    mean[:, 3:] *= 0.01
    logvar = np.zeros((n, 5))
    logvar[:, :3] = -8.0
    return mean, logvar, rng.integers(0, 4, size=(n, 2))


def write(path, **values):
    np.savez(path, **values)
    return path


def test_layout_round_trip(tmp_path):
    mean, logvar, factors = arrays()
    save_codes(tmp_path / "c.npz", Codes(mean, logvar, mean + 1, factors, "m1"))
    codes = read_codes(tmp_path / "c.npz")
    assert codes.key == "m1" and np.array_equal(codes.mean, mean) and np.array_equal(codes.factors, factors)
    assert np.array_equal(codes.sampled, mean + 1)
    assert set(np.load(tmp_path / "c.npz").files) == {"mean", "logvar", "sampled", "factors", "key"}


def test_float32_stays_float32_and_integers_become_float64():
    codes = check_codes(np.ones((3, 2), np.float32), np.zeros((3, 2), np.int32))
    assert codes.mean.dtype == np.float32 and codes.logvar.dtype == np.float64


BAD = {
    "missing logvar": ({"mean": np.zeros((5, 2))}, "lacks logvar"),
    "missing mean": ({"logvar": np.zeros((5, 2))}, "lacks mean"),
    "shapes differ": ({"mean": np.zeros((5, 2)), "logvar": np.zeros((5, 3))}, "differ in shape"),
    "NaN": ({"mean": np.array([[0.0, np.nan]] * 3), "logvar": np.zeros((3, 2))}, "NaN or infinite"),
    "infinite": ({"mean": np.zeros((3, 2)), "logvar": np.array([[0.0, np.inf]] * 3)}, "NaN or infinite"),
    "N < 2": ({"mean": np.zeros((1, 2)), "logvar": np.zeros((1, 2))}, "N >= 2"),
    "1-D": ({"mean": np.zeros(5), "logvar": np.zeros(5)}, "(N, latents)"),
    "factors rows": ({"mean": np.zeros((5, 2)), "logvar": np.zeros((5, 2)), "factors": np.zeros((4, 1))}, "4 rows"),
    "factors floats": (
        {"mean": np.zeros((5, 2)), "logvar": np.zeros((5, 2)), "factors": np.full((5, 1), 0.5)},
        "integer class labels",
    ),
    "key path": ({"mean": np.zeros((5, 2)), "logvar": np.zeros((5, 2)), "key": np.array("../x")}, "not a plain name"),
    "pickle": ({"mean": np.array([None, 1], dtype=object), "logvar": np.zeros((2, 1))}, "allow_pickle=False"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_codes_are_one_line_and_write_nothing(cli, tmp_path, case):
    values, message = BAD[case]
    path = write(tmp_path / "bad.npz", **values)
    with pytest.raises(VaePassiveError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_codes(path)
    results = tmp_path / "results"
    result = cli("analyze", "--codes", path, "--results", results)
    assert result.exit_code == 1
    assert message in one_line_error(result)
    assert not results.exists()


HOSTILE_KEYS = {
    "zoo id": (np.array("0"), "is a zoo model id"),
    "newline": (np.array("a\nb"), "not a plain name"),
    "escape": (np.array("\x1b[32mok"), "not a plain name"),
    "bytes, not UTF-8": (np.array(b"\xff\xfe"), "not a plain name"),
    "dot-name": (np.array(".hidden"), "not a plain name"),
    "too long": (np.array("k" * 129), "not a plain name"),
}


@pytest.mark.parametrize("case", HOSTILE_KEYS, ids=list(HOSTILE_KEYS))
def test_a_hostile_key_writes_nothing_and_leaves_zoo_results_alone(cli, tmp_path, case):
    """A key "0" once replaced zoo model 0's document; b"\xff" raised UnicodeDecodeError; "a\nb" made a folder."""
    key, message = HOSTILE_KEYS[case]
    mean, logvar, _ = arrays()
    results = tmp_path / "results"
    (results / "0").mkdir(parents=True)
    (results / "0" / "analysis.json").write_text('{"zoo": 0}')
    before = sorted(p.name for p in results.iterdir())
    path = write(tmp_path / "mine.npz", mean=mean, logvar=logvar, key=key)
    assert message in one_line_error(cli("analyze", "--codes", path, "--results", results))
    batch = cli(
        "analyze", "--codes", path, "--codes", write(tmp_path / "b.npz", mean=mean, logvar=logvar), "--results", results
    )
    # the batch stops at once, or fails the file as a task under its (plain) file name
    assert batch.exit_code == 1 and message in batch.stderr
    assert {p.name for p in results.iterdir()} <= {*before, "mine", "b"}
    assert (results / "0" / "analysis.json").read_text() == '{"zoo": 0}'


def test_a_file_name_is_held_to_the_key_rules_even_when_the_file_is_unreadable(cli, tmp_path):
    mean, logvar, _ = arrays()
    results = tmp_path / "results"
    named_zero = write(tmp_path / "0.npz", mean=mean, logvar=logvar)
    assert "the file name as key '0'" not in one_line_error(cli("analyze", "--codes", named_zero))
    assert "is a zoo model id" in one_line_error(cli("analyze", "--codes", named_zero, "--results", results))
    damaged = tmp_path / "bad name.npz"
    damaged.write_bytes(b"PK\x03\x04 not a zip")
    other = write(tmp_path / "ok.npz", mean=mean, logvar=logvar)
    result = cli("analyze", "--codes", damaged, "--codes", other, "--results", results)
    assert "the file name as key 'bad name' is not a plain name" in one_line_error(result)
    assert not results.exists()


def test_a_zoo_id_key_works_in_memory_but_is_never_saved(tmp_path):
    import vae_passive

    mean, logvar, _ = arrays()
    analysis = vae_passive.analyze_codes(mean, logvar, key="7")
    assert analysis.key == "7"
    with pytest.raises(VaePassiveError, match="'7' is a zoo model id"):
        analysis.save(tmp_path / "results")
    assert not (tmp_path / "results").exists()


def test_analyze_codes_writes_the_document_and_codes(cli, tmp_path):
    mean, logvar, factors = arrays()
    path = write(tmp_path / "my_vae.npz", mean=mean, logvar=logvar, factors=factors)
    result = cli("analyze", "--codes", path, "--results", tmp_path / "r", "--save-codes", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == json.loads((tmp_path / "r" / "my_vae" / "analysis.json").read_text())
    model = document["model"]
    assert model["key"] == "my_vae" and model["source"] == "codes" and model["path"] == str(path.resolve())
    assert all(model[name] is None for name in ("id", "dataset", "method", "hyperparameter", "value", "seed"))
    assert document["data"]["source"] == "codes" and document["data"]["real"] is None
    assert document["counts"] == {"active": 3, "mixed": 0, "passive": 2}
    assert "tensorflow" not in document["provenance"]["versions"]
    saved = read_codes(tmp_path / "r" / "my_vae" / "codes.npz")
    assert saved.key == "my_vae" and np.array_equal(saved.factors, factors) and saved.sampled is not None
    # the saved codes analyse to the same document: one layout, read back
    again = cli("analyze", "--codes", tmp_path / "r" / "my_vae" / "codes.npz", "--results", tmp_path / "r2", "--json")
    redone = json.loads(again.stdout)
    assert redone["scores"] == document["scores"] and redone["latents"] == document["latents"]
    assert redone["provenance"]["settings_hash"] == document["provenance"]["settings_hash"]


def test_the_key_array_names_the_results_folder_and_seeds_the_noise(cli, tmp_path):
    mean, logvar, _ = arrays()
    a = cli("analyze", "--codes", write(tmp_path / "a.npz", mean=mean, logvar=logvar, key=np.array("k1")), "--json")
    b = cli("analyze", "--codes", write(tmp_path / "b.npz", mean=mean, logvar=logvar, key=np.array("k2")), "--json")
    doc_a, doc_b = json.loads(a.stdout), json.loads(b.stdout)
    assert doc_a["model"]["key"] == "k1" and doc_a["data"]["noise_seed"] != doc_b["data"]["noise_seed"]
    sampled = [row for row in doc_a["scores"] if row["representation"] == "sampled"]
    assert sampled != [row for row in doc_b["scores"] if row["representation"] == "sampled"]


def test_several_files_go_through_the_batch_runner(cli, tmp_path):
    mean, logvar, _ = arrays()
    paths = [write(tmp_path / f"m{i}.npz", mean=mean + i, logvar=logvar) for i in range(2)]
    bad = write(tmp_path / "bad.npz", mean=mean, logvar=logvar[:, :2])
    results = tmp_path / "r"
    first = cli("analyze", "--codes", paths[0], "--codes", paths[1], "--codes", bad, "--results", results, "--json")
    assert first.exit_code == 1
    summary = json.loads(first.stdout)
    assert sorted(summary["analysed"]) == ["m0", "m1"] and list(summary["failed"]) == ["bad"]
    assert "differ in shape" in json.loads((results / "bad" / "error.json").read_text())["error"]
    again = cli("analyze", "--codes", paths[0], "--codes", paths[1], "--results", results, "--json")
    assert again.exit_code == 0 and sorted(json.loads(again.stdout)["already_done"]) == ["m0", "m1"]


def test_two_files_with_one_key_are_refused(cli, tmp_path):
    mean, logvar, _ = arrays()
    a = write(tmp_path / "a.npz", mean=mean, logvar=logvar, key=np.array("same"))
    b = write(tmp_path / "b.npz", mean=mean, logvar=logvar, key=np.array("same"))
    result = cli("analyze", "--codes", a, "--codes", b, "--results", tmp_path / "r")
    assert result.exit_code == 1 and "both have the key 'same'" in one_line_error(result)
    # keys that differ only in case name one results folder on macOS and Windows file systems
    upper = write(tmp_path / "c.npz", mean=mean, logvar=logvar, key=np.array("Same"))
    result = cli("analyze", "--codes", a, "--codes", upper, "--results", tmp_path / "r")
    assert result.exit_code == 1 and "the keys 'same' and 'Same' (one folder where case is ignored)" in one_line_error(
        result
    )
    assert not (tmp_path / "r").exists()


def test_metrics_on_codes(cli, tmp_path):
    mean, logvar, factors = arrays()
    path = write(tmp_path / "m.npz", mean=mean, logvar=logvar, factors=factors)
    result = cli("analyze", "--codes", path, "--metrics", "mig", "--results", tmp_path / "r", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["metrics"]
    assert {(r["representation"], r["subset"]) for r in rows} == {
        (rep, subset) for rep in ("mean", "sampled") for subset in ("full", "active")
    }
    assert all(r["metric"] == "mig" and r["key"] == "discrete_mig" for r in rows)
    no_factors = write(tmp_path / "n.npz", mean=mean, logvar=logvar)
    refused = cli("analyze", "--codes", no_factors, "--metrics", "mig", "--results", tmp_path / "r")
    assert refused.exit_code == 1 and "need factors" in one_line_error(refused)
    drawn = cli("analyze", "--codes", path, "--metrics", "factor_vae_metric", "--results", tmp_path / "r")
    assert drawn.exit_code == 1 and "fixed-sample" in one_line_error(drawn)


def test_score_reads_the_layout(cli, tmp_path):
    mean, logvar, factors = arrays()
    path = write(tmp_path / "m.npz", mean=mean, logvar=logvar, factors=factors)
    analysed = cli("analyze", "--codes", path, "--results", tmp_path / "r", "--save-codes")
    assert analysed.exit_code == 0
    saved = tmp_path / "r" / "m" / "codes.npz"
    on_mean = json.loads(cli("score", "--codes", saved, "--metrics", "mig", "--json").stdout)
    plain = write(tmp_path / "plain.npz", codes=mean, factors=factors)
    assert on_mean == json.loads(cli("score", "--codes", plain, "--metrics", "mig", "--json").stdout)
    on_sampled = json.loads(
        cli("score", "--codes", saved, "--representation", "sampled", "--metrics", "mig", "--json").stdout
    )
    assert on_sampled != on_mean
    missing = cli("score", "--codes", path, "--representation", "sampled", "--metrics", "mig")
    assert missing.exit_code == 1 and "lacks sampled" in one_line_error(missing)
