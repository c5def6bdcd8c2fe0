import json

import numpy as np
import pytest
from support.helpers import one_line_error, random_images

from vae_passive.data import get_dataset
from vae_passive.errors import VaePassiveError
from vae_passive.tfhub.module import Module
from vae_passive.tfhub.runtime import tensorflow
from vae_passive.training.train import TrainConfig, checkpoint_dir, train
from vae_passive.zoo.catalogue import model_id

DATA = get_dataset("procedural_dsprites", 1)


def config(mid: int, steps: int = 40, batch: int = 16) -> TrainConfig:
    return TrainConfig.for_model(mid, DATA, steps, batch)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["beta_vae", "factor_vae", "dip_vae_i", "dip_vae_ii", "beta_tc_vae", "annealed_vae"])
def test_every_objective_trains(method, tmp_path):
    mid = model_id("dsprites_full", method, 5, 0)
    folder = train(config(mid), DATA, tmp_path)
    results = json.loads((folder / "model" / "results" / "json" / "train_results.json").read_text())
    assert all(np.isfinite(results[k]) for k in ("loss", "reconstruction_loss", "kl_loss", "regularizer", "elbo"))
    assert results["loss"] < results["initial_loss"]
    assert results["short_run"] is True and "not the published 300000" in results["note"]
    gin = (folder / "model" / "results" / "gin" / "train.gin").read_text()
    assert f"model.model = @{method}()" in gin and "dataset.name = 'dsprites_full'" in gin
    assert "vae_passive.training_data = 'procedural_dsprites'" in gin
    loaded = tensorflow().saved_model.load(str(folder / "model" / "tfhub"), tags=[])
    codes = loaded.signatures["gaussian_encoder"](images=tensorflow().constant(random_images(3, 1)))
    assert codes["mean"].shape == (3, 10) and np.all(np.isfinite(codes["logvar"].numpy()))
    assert not checkpoint_dir(mid).exists()  # cleaned up once the model is written


def test_three_channel_model_and_zip(tmp_path):
    mid = model_id("cars3d", "beta_vae", 0, 1)
    folder = train(
        config(mid, steps=3, batch=4),
        get_dataset("procedural_dsprites", 3),
        tmp_path,
        zip_dir=tmp_path / "zips",
    )
    assert Module(folder).channels == 3
    import zipfile

    with zipfile.ZipFile(tmp_path / "zips" / f"{mid}.zip") as archive:
        names = archive.namelist()
        assert archive.testzip() is None
    assert f"{mid}/model/tfhub/saved_model.pb" in names and all(n.startswith(f"{mid}/") for n in names)


def test_resume_continues_from_checkpoint(tmp_path):
    tf = tensorflow()
    cfg = config(250, steps=12, batch=8)
    first, resumed = [], []
    train(cfg, DATA, tmp_path, checkpoint_every=100, stop_after=5, progress=lambda *call: first.append(call))
    assert tf.train.latest_checkpoint(str(checkpoint_dir(250))).endswith("-5")
    train(cfg, DATA, tmp_path, checkpoint_every=100, stop_after=3, progress=lambda *call: resumed.append(call))
    assert tf.train.latest_checkpoint(str(checkpoint_dir(250))).endswith("-8")  # 5 + 3, not 3
    # The callback opens at the starting step, then reports each step with the latest loss terms.
    assert [(done, total) for done, total, _ in first] == [(0, 12), (1, 12), (2, 12), (3, 12), (4, 12), (5, 12)]
    assert first[0][2] == {} and set(first[1][2]) == {"loss", "reconstruction_loss", "kl_loss", "regularizer", "elbo"}
    assert [done for done, _, _ in resumed] == [5, 6, 7, 8]
    folder = train(cfg, DATA, tmp_path, checkpoint_every=100)
    assert json.loads((folder / "model/results/json/train_results.json").read_text())["steps"] == 12
    assert not checkpoint_dir(250).exists()


def test_checkpoint_of_other_settings_is_refused(tmp_path):
    train(config(251, steps=10, batch=8), DATA, tmp_path, stop_after=2)
    with pytest.raises(VaePassiveError, match="--restart"):
        train(config(251, steps=20, batch=8), DATA, tmp_path, stop_after=1)
    train(config(251, steps=20, batch=8), DATA, tmp_path, stop_after=1, restart=True)


def test_cli_train_and_errors(cli, tmp_path, isolated_home):
    missing = one_line_error(cli("train", "--model-id", 1, "--steps", 2, "--quiet"))
    assert "vae-passive data fetch dsprites_full" in missing and "--data procedural_dsprites to train on" in missing
    stand_in = ("--data", "procedural_dsprites")
    result = cli("train", "--model-id", 1, "--steps", 2, "--batch-size", 4, "--quiet", "--zip", *stand_in)
    assert result.exit_code == 0, result.output
    assert (isolated_home / "models" / "1" / "model" / "tfhub" / "saved_model.pb").is_file()
    assert (isolated_home / "zips" / "1.zip").is_file()
    assert "--force" in one_line_error(cli("train", "--model-id", 1, "--steps", 2, "--quiet"))
    assert "outside unsupervised_study_v1" in one_line_error(cli("train", "--model-id", 99_999))
    assert "--steps must be" in one_line_error(cli("train", "--model-id", 2, "--steps", 0, *stand_in))
    assert "unknown data set" in one_line_error(cli("train", "--model-id", 2, "--data", "mnist"))


def test_cli_bar_shows_the_loss_terms_but_the_elbo():
    from vae_passive.cli.train import _loss_postfix

    assert _loss_postfix({}) == ""
    assert _loss_postfix({"loss": 1.234, "kl_loss": 0.5, "elbo": 9.0}) == "loss=1.23, kl_loss=0.50"


def test_trained_zip_passes_fetch_verification(tmp_path, isolated_home):
    from vae_passive.zoo.cache import read_manifest
    from vae_passive.zoo.install import install_zip

    mid = 7
    train(config(mid, steps=2, batch=4), DATA, tmp_path / "out", zip_dir=tmp_path / "zips")
    install_zip(tmp_path / "zips" / f"{mid}.zip", mid, "test")
    manifest = read_manifest(isolated_home / "models" / str(mid))
    assert manifest["source"] == "test" and "model/tfhub/saved_model.pb" in manifest["files"]


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    """The README's main job, shortened: train, mirror, fetch, analyze, report, all as commands."""
    import subprocess
    import sys

    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "vae_passive", "demo", "--out", str(out), "--steps", "3", "--num-samples", "300"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = (out / "report" / "report.md").read_text()
    assert "Demo run: models trained here for 3 steps" in report
    assert "procedural" in report.lower()
    assert (out / "report" / "index.html").is_file()
    assert sorted(p.name for p in (out / "mirror" / "trained").glob("*.zip")) == [
        "0.zip",
        "1.zip",
        "250.zip",
        "251.zip",
    ]
    assert sorted(p.parent.name for p in (out / "results").glob("*/analysis.json")) == ["0", "1", "250", "251"]
    assert "open " in result.stdout and "index.html" in result.stdout


def test_demo_stops_at_a_failing_step(monkeypatch, tmp_path):
    from vae_passive.training import demo

    monkeypatch.setattr(demo, "demo_commands", lambda out, steps, num_samples: [["list", "--ids", "nope"]])
    lines: list[str] = []
    with pytest.raises(VaePassiveError, match=r"demo step `vae-passive list` failed \(exit code 1\)"):
        demo.run_demo(tmp_path, 3, 10, lines.append)
    assert any("$ vae-passive list --ids nope" in line for line in lines)
