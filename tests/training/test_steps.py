"""Steps counted as disentanglement_lib counted them: FactorVAE's two updates each advance the global step."""

import json

import numpy as np

from vae_passive.data import get_dataset
from vae_passive.tfhub.runtime import tensorflow
from vae_passive.training.objectives import final_global_step
from vae_passive.training.train import TrainConfig, checkpoint_dir, train
from vae_passive.zoo.catalogue import model_id

DATA = get_dataset("procedural_dsprites", 1)


def results_of(folder) -> dict:
    return json.loads((folder / "model/results/json/train_results.json").read_text())


def test_factor_vae_counts_two_global_steps_per_iteration(tmp_path):
    mid = model_id("dsprites_full", "factor_vae", 0, 0)
    config = TrainConfig.for_model(mid, DATA, steps=8, batch_size=4)
    calls = []
    progress = lambda done, total, losses: calls.append(done)  # noqa: E731
    train(config, DATA, tmp_path, checkpoint_every=4, stop_after=3, progress=progress)
    # 3 iterations reach global step 6; the checkpoint fell at global step 4 (iteration 2), and the
    # stopped run saved one at 6.
    assert calls == [0, 2, 4, 6]
    kept = tensorflow().train.get_checkpoint_state(str(checkpoint_dir(mid))).all_model_checkpoint_paths
    assert [path.rsplit("-", 1)[1] for path in kept] == ["4", "6"]
    folder = train(config, DATA, tmp_path, checkpoint_every=4, progress=progress)
    assert calls[4:] == [6, 8]  # resumed at 6, one more iteration
    results = results_of(folder)
    assert (results["steps"], results["global_steps"], results["iterations"]) == (8, 8, 4)


def test_odd_step_counts_stop_at_the_first_global_step_past_them(tmp_path):
    # upstream's StopAtStepHook stops once global_step >= steps: 5 steps of a FactorVAE are 3 iterations
    assert final_global_step("factor_vae", 5) == 6 and final_global_step("factor_vae", 300_000) == 300_000
    assert final_global_step("beta_vae", 5) == 5
    mid = model_id("dsprites_full", "factor_vae", 1, 0)
    results = results_of(train(TrainConfig.for_model(mid, DATA, 5, 4), DATA, tmp_path))
    assert (results["global_steps"], results["iterations"]) == (6, 3)


def test_other_methods_count_one_step_per_iteration(tmp_path):
    mid = model_id("dsprites_full", "beta_vae", 0, 3)
    results = results_of(train(TrainConfig.for_model(mid, DATA, 3, 4), DATA, tmp_path))
    assert (results["steps"], results["global_steps"], results["iterations"]) == (3, 3, 3)


def test_bf16_is_recorded_end_to_end_and_the_module_is_fp32(tmp_path):
    """A bf16 model says so in train.gin, train_results.json, its origin (the analysis document's
    model.origin) and a mirror's index.json; its module holds fp32 weights, like every module."""
    from vae_passive.tfhub.module import Module
    from vae_passive.zoo.mirror_index import IndexEntry, parse_index, render_index
    from vae_passive.zoo.origin import model_origin

    mid = model_id("dsprites_full", "beta_vae", 5, 4)
    config = TrainConfig.for_model(mid, DATA, 3, 4, precision="bf16")
    folder = train(config, DATA, tmp_path)
    assert "vae_passive.precision = 'bf16'" in (folder / "model/results/gin/train.gin").read_text()
    assert results_of(folder)["precision"] == "bf16" and np.isfinite(results_of(folder)["loss"])
    origin = model_origin(folder)
    assert origin.as_dict() == {"kind": "trained", "steps": 3, "data": "procedural_dsprites", "precision": "bf16"}
    entry = IndexEntry(mid, 1, "0" * 64, origin, "")
    assert parse_index(render_index([entry]).encode())[mid].origin.precision == "bf16"
    variables = tensorflow().saved_model.load(str(folder / "model/tfhub"), tags=[]).variables
    assert variables and {v.dtype.name for v in variables} == {"float32"}
    assert Module(folder).encode(np.zeros((2, 64, 64, 1), np.float32)).mean.dtype == np.float32


def test_fp32_and_bf16_steps_differ_only_in_arithmetic(tmp_path):
    """Same seed, same batches: the first loss agrees to bf16's precision, and is not bit-identical."""
    mid = model_id("dsprites_full", "beta_vae", 0, 5)
    losses = {}
    for precision in ("fp32", "bf16"):
        config = TrainConfig.for_model(mid, DATA, 1, 8, precision=precision)
        losses[precision] = results_of(train(config, DATA, tmp_path / precision))["initial_loss"]
    assert losses["fp32"] != losses["bf16"]
    assert abs(losses["fp32"] - losses["bf16"]) < 0.02 * abs(losses["fp32"])
