"""Steps counted as disentanglement_lib counted them: FactorVAE's two updates each advance the global step."""

import json

from vae_passive.data import get_dataset
from vae_passive.tfhub.runtime import tensorflow
from vae_passive.training.train import TrainConfig, checkpoint_dir, final_global_step, train
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
