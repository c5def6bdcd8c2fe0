"""train --log-every: logged steps and tables, equality with analyze, resume, TensorBoard, bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from support.helpers import one_line_error

from vae_passive.analysis.analyze import Settings, analyze_model, locate_model
from vae_passive.analysis.monitor import TABLES
from vae_passive.data import get_dataset
from vae_passive.errors import VaePassiveError
from vae_passive.latents.scores import SCORE_NAMES
from vae_passive.tfhub.module import Module
from vae_passive.training.logs import LogSettings
from vae_passive.training.train import TrainConfig, _Model, train

DATA = get_dataset("procedural_dsprites", 1)
N = 200


def logged_run(tmp_path, steps=12, every=5, **kwargs):
    config = TrainConfig.for_model(250, DATA, steps, 8)
    return train(config, DATA, tmp_path, log=LogSettings(every, N, **kwargs), **{"checkpoint_every": 100})


def tables(folder):
    return {name: pd.read_parquet(folder / "logs" / f"{name}.parquet") for name in ("latents", "scores", "losses")}


def test_logged_steps_tables_and_tensorboard(tmp_path):
    folder = logged_run(tmp_path)
    t = tables(folder)
    assert list(t["latents"].columns) == [
        "step",
        "latent",
        "kind",
        "reason",
        "mean_of_variance",
        "variance_of_variance",
        "variance_of_mean",
    ]
    assert sorted(t["latents"]["step"].unique()) == [0, 5, 10, 12]  # 0, every K, the last
    assert t["latents"].groupby("step").size().tolist() == [10] * 4
    assert set(t["latents"]["kind"]) <= {"active", "mixed", "passive"}
    assert list(t["scores"].columns) == ["step", "representation", "subset", "num_latents", *SCORE_NAMES]
    assert set(t["scores"]["representation"]) == {"mean", "sampled"} and "full" in set(t["scores"]["subset"])
    assert t["losses"]["step"].tolist() == [0, 5, 10, 12]
    assert np.isnan(t["losses"]["loss"].iloc[0]) and np.all(np.isfinite(t["losses"]["loss"].iloc[1:]))
    results = json.loads((folder / "model/results/json/train_results.json").read_text())
    assert results["logging_time"] > 0

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder / "logs"), size_guidance={"tensors": 0}).Reload()
    tags = set(events.Tags()["tensors"])
    assert {"latents/passive", "total_correlation/full/mean", "loss/kl_loss", "variance/latent_9"} <= tags
    assert [e.step for e in events.Tensors("latents/active")] == [0, 5, 10, 12]


def test_last_logged_step_equals_analyze_of_the_final_model(tmp_path):
    folder = logged_run(tmp_path, steps=6, every=3)
    t = tables(folder)
    document = analyze_model(locate_model(model_dir=folder), Settings(num_samples=N)).document
    last = t["latents"][t["latents"]["step"] == 6].sort_values("latent")
    assert last["kind"].tolist() == [row["kind"] for row in document["latents"]]
    assert last["reason"].tolist() == [row["reason"] for row in document["latents"]]  # reasons kept
    for column in ("mean_of_variance", "variance_of_variance", "variance_of_mean"):
        np.testing.assert_allclose(last[column], [row[column] for row in document["latents"]], rtol=1e-5, atol=1e-9)
    scores = t["scores"][t["scores"]["step"] == 6]
    assert len(scores) == len(document["scores"])
    for row in document["scores"]:
        mine = scores[(scores.representation == row["representation"]) & (scores.subset == row["subset"])].iloc[0]
        assert mine["num_latents"] == row["num_latents"]
        for name in SCORE_NAMES:
            expected = np.nan if row[name] is None else row[name]
            np.testing.assert_allclose(mine[name], expected, rtol=1e-4, atol=1e-6)


def test_probe_encoding_matches_the_exported_module(tmp_path):
    folder = logged_run(tmp_path, steps=2, every=1)
    model = _Model(TrainConfig.for_model(250, DATA, 2, 8))
    module = Module(folder)
    for name, variable in model.vae_vars.items():
        variable.assign(module._variables[name].numpy())
    images = DATA.sample(300, np.random.RandomState(1))[1]
    mean, logvar = model.encode(images)
    codes = module.encode(images, batch_size=1024)
    np.testing.assert_allclose(mean, codes.mean, atol=1e-5)
    np.testing.assert_allclose(logvar, codes.logvar, atol=1e-5)


@pytest.mark.parametrize("stops", [(7,), pytest.param((5, 3), marks=pytest.mark.slow)])  # off / on the grid
def test_resume_continues_the_logs_without_duplicates(tmp_path, stops):
    config = TrainConfig.for_model(251, DATA, 12, 8)
    log = LogSettings(5, N)
    for stop in stops:
        train(config, DATA, tmp_path, log=log, stop_after=stop, checkpoint_every=100)
    folder = train(config, DATA, tmp_path, log=log, checkpoint_every=100)
    t = tables(folder)
    assert t["latents"].groupby("step").size().to_dict() == {0: 10, 5: 10, 10: 10, 12: 10}
    assert t["losses"]["step"].tolist() == [0, 5, 10, 12]
    train(config, DATA, tmp_path / "other", log=log, stop_after=1)  # a fresh checkpoint
    with pytest.raises(VaePassiveError, match=r"other --log-every.*--restart"):
        train(config, DATA, tmp_path / "other", log=LogSettings(4, N), stop_after=1)


@pytest.mark.slow
def test_kept_checkpoints_are_model_folders_analyze_reads(tmp_path):
    folder = logged_run(tmp_path, steps=4, every=2, keep_checkpoints=True)
    assert sorted(p.name for p in (folder / "checkpoints").iterdir()) == ["step-0", "step-2", "step-4"]
    document = analyze_model(
        locate_model(model_dir=folder / "checkpoints" / "step-2"), Settings(num_samples=N)
    ).document
    assert document["model"]["id"] is None  # not mistaken for model 2
    logged = tables(folder)["latents"].query("step == 2").sort_values("latent")
    np.testing.assert_allclose(logged["mean_of_variance"], [r["mean_of_variance"] for r in document["latents"]], 1e-5)


def test_bad_log_settings_are_one_line_errors(cli, tmp_path, isolated_home):
    with pytest.raises(VaePassiveError, match="--log-every must be at least 1"):
        LogSettings(0)
    stand_in = ("--model-id", 3, "--steps", 2, "--data", "procedural_dsprites", "--quiet", "--out", tmp_path)
    assert "--log-every must be at least 1" in one_line_error(cli("train", *stand_in, "--log-every", 0))
    assert "--log-samples must be at least 2" in one_line_error(
        cli("train", *stand_in, "--log-every", 1, "--log-samples", 1)
    )
    assert "add --log-every" in one_line_error(cli("train", *stand_in, "--keep-checkpoints"))
    assert not (tmp_path / "3").exists() and not (isolated_home / "training" / "3").exists()
    result = cli("train", *stand_in, "--batch-size", 4, "--log-every", 1, "--log-samples", 20)
    assert result.exit_code == 0, result.output
    assert sorted(pd.read_parquet(tmp_path / "3" / "logs" / "latents.parquet")["step"].unique()) == [0, 1, 2]


@pytest.mark.slow
def test_train_logs_equal_the_monitor_on_the_same_codes(tmp_path, monkeypatch):
    """One code path: the codes train --log-every encoded, given to vae_passive.TrainingMonitor in a folder
    named by the model id, give the same four tables row for row."""
    import vae_passive
    from vae_passive.training import train as training

    encoded = []
    original = training._Model.encode

    def recording(self, images):
        codes = original(self, images)
        encoded.append(codes)
        return codes

    monkeypatch.setattr(training._Model, "encode", recording)
    folder = logged_run(tmp_path / "trained", steps=4, every=2)
    trained = {name: pd.read_parquet(folder / "logs" / f"{name}.parquet") for name in TABLES}
    losses = trained["losses"].set_index("step")
    assert sorted(losses.index) == [0, 2, 4] and len(encoded) == 3
    with vae_passive.TrainingMonitor(tmp_path / "mine" / "250", tensorboard=False) as monitor:
        for step, (mean, logvar) in zip(losses.index, encoded, strict=True):
            monitor.log(step, mean, logvar, losses=losses.loc[step].to_dict())
    for name in TABLES:
        mine = pd.read_parquet(tmp_path / "mine" / "250" / "logs" / f"{name}.parquet")
        pd.testing.assert_frame_equal(mine, trained[name], check_exact=True, obj=name)
