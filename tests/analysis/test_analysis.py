import json

import numpy as np
import pytest
from support.designed import EXPECTED_KINDS, designed_weights
from support.helpers import one_line_error

from vae_passive.analysis.analyze import SCHEMA, Settings, analyze_model, locate_model
from vae_passive.latents.representations import noise_seed
from vae_passive.latents.variables import Rule
from vae_passive.tfhub.architecture import random_weights
from vae_passive.tfhub.exporter import write_model_folder

N = 2000
#: Models written here say they were trained on the stand-in, so they need no published data.
STAND_IN = {"vae_passive.training_data": "procedural_dsprites"}


@pytest.fixture(scope="module")
def designed_model(tmp_path_factory):
    """Model 299 (beta_vae, beta 16) with known kinds and an upstream result beside it."""
    folder = write_model_folder(
        tmp_path_factory.mktemp("zoo"),
        299,
        designed_weights(),
        dataset="dsprites_full",
        channels=1,
        num_latents=10,
        gin_bindings=STAND_IN,
    )
    result = folder / "metrics" / "mean" / "mig" / "results" / "json"
    result.mkdir(parents=True)
    (result / "evaluation_results.json").write_text(json.dumps({"discrete_mig": 0.25, "elapsed_time": 3.0}))
    return folder


def analyse(folder, **settings):
    return analyze_model(locate_model(model_dir=folder), Settings(num_samples=N, **settings))


def test_kinds_and_document(designed_model):
    result = analyse(designed_model)
    doc = result.document
    assert doc["schema"] == SCHEMA
    assert [latent["kind"] for latent in doc["latents"]] == EXPECTED_KINDS
    assert doc["counts"] == {"active": 3, "passive": 4, "mixed": 3}
    assert doc["model"] == {
        "id": 299,
        "key": "299",
        "path": str(designed_model),
        "dataset": "dsprites_full",
        "method": "beta_vae",
        "hyperparameter": "vae.beta",
        "value": 16.0,
        "seed": 49,
        "num_latents": 10,
        "origin": {"kind": "trained", "steps": None, "data": "procedural_dsprites"},  # STAND_IN's binding
    }
    assert doc["data"] == {
        "source": "procedural_dsprites",
        "real": False,
        "num_samples": N,
        "seed": 2051556033,
        "noise_seed": noise_seed(2051556033, "299"),
    }
    assert doc["rule"] == {"name": "variance", "var_threshold": 0.1, "mean_tolerance": 0.1}
    assert doc["upstream_metrics"] == {"mean": {"mig": {"discrete_mig": 0.25, "elapsed_time": 3.0}}}
    subsets = {(row["representation"], row["subset"]) for row in doc["scores"]}
    expected = {"full", "active", "passive", "mixed", "active+mixed", "active+passive", "mixed+passive"}
    assert subsets == {(r, s) for r in ("mean", "sampled") for s in expected}
    assert set(doc["provenance"]) >= {"versions", "created", "elapsed_s", "settings_hash"}
    assert "stand-in" in result.notes[0]
    assert result.codes["mean"].shape == (N, 10) and result.codes["factors"].shape == (N, 5)


def test_expected_signature_on_passive_latents(designed_model):
    scores = {(r["representation"], r["subset"]): r for r in analyse(designed_model).document["scores"]}
    passive_mean = scores["mean", "passive"]["gaussian_total_correlation"]
    passive_sampled = scores["sampled", "passive"]["gaussian_total_correlation"]
    assert abs(passive_sampled) < 0.01
    assert passive_mean > 1.0
    # the full code's mean-vs-sampled gap shrinks once passive latents are removed
    gap_full = (
        scores["mean", "full"]["gaussian_total_correlation"] - scores["sampled", "full"]["gaussian_total_correlation"]
    )
    gap_without = (
        scores["mean", "active+mixed"]["gaussian_total_correlation"]
        - scores["sampled", "active+mixed"]["gaussian_total_correlation"]
    )
    assert gap_without < gap_full


def test_mean_variance_rule(designed_model):
    doc = analyse(designed_model, rule=Rule("mean-variance", 0.1)).document
    # the older rule looks only at Var[mean]: the mixed latents' informative means make them active
    assert [latent["kind"] for latent in doc["latents"]] == ["active"] * 3 + ["passive"] * 4 + ["active"] * 3
    assert doc["rule"]["mean_tolerance"] is None
    assert doc["provenance"]["settings_hash"] != analyse(designed_model).document["provenance"]["settings_hash"]


def test_deterministic_for_a_seed(designed_model):
    a, b = analyse(designed_model, seed=3), analyse(designed_model, seed=3)
    assert a.document["scores"] == b.document["scores"]
    assert np.array_equal(a.codes["sampled"], b.codes["sampled"])
    assert analyse(designed_model, seed=4).document["scores"] != a.document["scores"]


def test_cli_analyze_writes_document_and_codes(cli, designed_model, tmp_path):
    result = cli("analyze", "--model-dir", designed_model, "--num-samples", 500, "--results", tmp_path, "--save-codes")
    assert result.exit_code == 0, result.output
    assert "passive" in result.stdout and "TC sampled" in result.stdout
    doc = json.loads((tmp_path / "299" / "analysis.json").read_text())
    assert doc["data"]["num_samples"] == 500
    codes = np.load(tmp_path / "299" / "codes.npz")
    assert set(codes.files) == {"mean", "logvar", "sampled", "factors", "key"}  # the codes layout
    assert str(codes["key"]) == "299"
    assert codes["mean"].shape == (500, 10) and codes["factors"].shape == (500, 5)
    assert sorted(p.name for p in (tmp_path / "299").iterdir()) == ["analysis.json", "codes.npz"]


def test_cli_json_and_model_id_from_cache(cli, isolated_home, designed_model):
    import shutil

    shutil.copytree(designed_model, isolated_home / "models" / "299")
    result = cli("analyze", "--model-id", 299, "--num-samples", 300, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["model"]["id"] == 299 and doc["counts"]["passive"] == 4
    assert (isolated_home / "results" / "299" / "analysis.json").is_file()


def test_cli_errors(cli, tmp_path, designed_model):
    assert "outside unsupervised_study_v1" in one_line_error(cli("analyze", "--model-id", 99_999))
    assert "never released" in one_line_error(cli("analyze", "--model-id", 11_000))
    message = one_line_error(cli("analyze", "--model-id", 5))
    assert "vae-passive fetch --ids 5" in message and "vae-passive import" in message
    assert "at least 2" in one_line_error(cli("analyze", "--model-dir", designed_model, "--num-samples", 1))
    assert "exactly one" in one_line_error(cli("analyze"))
    assert "mean_tolerance" in one_line_error(
        cli("analyze", "--model-dir", designed_model, "--mean-tolerance", -1, "--results", tmp_path)
    )
    corrupt = tmp_path / "zoo" / "7"
    (corrupt / "model" / "tfhub").mkdir(parents=True)
    (corrupt / "model" / "tfhub" / "saved_model.pb").write_bytes(b"\x00garbage")
    results = tmp_path / "results"
    assert "cannot load module" in one_line_error(cli("analyze", "--model-dir", corrupt, "--results", results))
    assert not results.exists()


def test_nan_model_leaves_no_files(cli, tmp_path):
    weights = random_weights(1, 10)
    weights["encoder/log_var/bias"][:] = np.nan
    folder = write_model_folder(
        tmp_path / "zoo", 3, weights, dataset="dsprites_full", channels=1, num_latents=10, gin_bindings=STAND_IN
    )
    results = tmp_path / "results"
    assert "NaN" in one_line_error(cli("analyze", "--model-dir", folder, "--results", results, "--num-samples", 50))
    assert not results.exists()


def test_folder_named_like_an_id_of_another_dataset(tmp_path):
    folder = write_model_folder(
        tmp_path, 5, random_weights(3, 4), dataset="cars3d", channels=3, num_latents=4, postprocessed=False
    )
    source = locate_model(model_dir=folder)
    assert source.id is None and source.dataset == "cars3d"
    result = analyze_model(source, Settings(num_samples=100, dataset="procedural_dsprites"))
    assert result.document["model"]["method"] is None
    assert result.document["model"]["num_latents"] == 4


def test_a_preset_whose_settings_changed_is_analysed_again_and_the_others_are_kept():
    """The fast preset's predictors shrank (version 2): its documents' settings hash changes, so `analyze` redoes
    them instead of skipping them; full and study kept their settings, so their documents stay valid (hashes
    computed by the code before the change)."""
    from vae_passive.analysis.analyze import Settings, settings_hash

    def hashed(preset):
        return settings_hash(Settings(metrics=("mig", "dci"), preset=preset), "procedural_dsprites")

    assert hashed("full") == "5d2c19fd3f4b1ca8" and hashed("study") == "c4d3244155cb931a"
    assert hashed("fast") != "47c9d0a5b36fa684"
