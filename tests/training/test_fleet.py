"""`train` over a selection: local jobs killed and resumed, a failing model among good ones, Dask on
loopback, locks, and bad input as one line with nothing written."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict

import pytest
from support.helpers import one_line_error

from vae_passive.training.fleet import FleetSettings, planned_config
from vae_passive.training.train import checkpoint_dir

STAND_IN = ("--data", "procedural_dsprites", "--batch-size", 4)


def vae_passive(*args, env_home, timeout=400):
    env = {**os.environ, "VAE_PASSIVE_HOME": str(env_home), "VAE_PASSIVE_OFFLINE": "1"}
    command = [sys.executable, "-m", "vae_passive", *map(str, args)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def results_of(home, model_id) -> dict:
    return json.loads((home / "models" / str(model_id) / "model/results/json/train_results.json").read_text())


def latest_checkpoint(model_id) -> int:
    """The global step of a model's latest checkpoint (0: none), read from TensorFlow's index file."""
    index = checkpoint_dir(model_id) / "checkpoint"
    if not index.is_file():
        return 0
    first = index.read_text().splitlines()[0]  # model_checkpoint_path: "ckpt-40"
    return int(first.rsplit("-", 1)[1].strip('"'))


@pytest.mark.slow
def test_kill_9_in_the_middle_then_a_rerun_resumes_every_model(isolated_home):
    ids, steps = [0, 1, 2], 400
    args = ["train", "--ids", "0-2", "--steps", steps, *STAND_IN, "--jobs", 2, "--checkpoint-every", 40, "--quiet"]
    env = {**os.environ, "VAE_PASSIVE_HOME": str(isolated_home), "VAE_PASSIVE_OFFLINE": "1"}
    command = [sys.executable, "-m", "vae_passive", *map(str, args)]
    process = subprocess.Popen(command, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and sum(latest_checkpoint(i) > 0 for i in ids) < 2:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the client and its workers, mid-training
    process.wait()
    before = {i: latest_checkpoint(i) for i in ids}
    finished = {i for i in ids if (isolated_home / "models" / str(i)).exists()}
    assert sum(step > 0 for step in before.values()) >= 2 and len(finished) < len(ids)

    rerun = vae_passive(*args[:-1], "--json", env_home=isolated_home)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert sorted(summary["already_done"]) == sorted(finished)  # not trained twice
    assert sorted(summary["trained"]) == sorted(set(ids) - finished)
    for i in set(ids) - finished:  # every model with a checkpoint went on from it, not from step 0
        assert summary["resumed_from"].get(str(i), 0) == before[i]
        results = results_of(isolated_home, i)
        assert results["global_steps"] == steps and results["resumed_from"] == ([before[i]] if before[i] else [])
    assert not any(checkpoint_dir(i).exists() for i in ids)


@pytest.mark.slow
def test_a_failing_model_writes_error_json_and_the_others_finish(isolated_home):
    settings = FleetSettings(steps=4, batch_size=4, data="procedural_dsprites")
    broken = checkpoint_dir(251)  # a checkpoint of the right settings whose files are gone
    broken.mkdir(parents=True)
    (broken / "config.json").write_text(json.dumps(asdict(planned_config(251, settings))))
    (broken / "checkpoint").write_text('model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-2"\n')
    result = vae_passive("train", "--ids", "250,251,252", "--steps", 4, *STAND_IN, "--jobs", 2, env_home=isolated_home)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "trained 2, already done 0, failed 1" in result.stdout
    error = json.loads((broken / "error.json").read_text())
    assert error["schema"] == "vae-passive/error/1" and error["model_id"] == 251 and error["error"]
    assert sorted(p.name for p in (isolated_home / "models").iterdir()) == ["250", "252"]


@pytest.mark.slow
def test_dask_on_loopback_trains_one_model_per_gpu_worker_and_checks_the_shared_home(isolated_home, tmp_path):
    from distributed import LocalCluster

    args = ("train", "--ids", "0,1", "--steps", 4, *STAND_IN, "--executor", "dask", "--gpu", "--json")
    gpu_workers = {"n_workers": 2, "threads_per_worker": 1, "resources": {"GPU": 1}}
    with LocalCluster(processes=True, host="127.0.0.1", dashboard_address=None, **gpu_workers) as cluster:
        # the workers' home is the test's; the client's first run has another one
        elsewhere = vae_passive(*args, "--scheduler", cluster.scheduler_address, env_home=tmp_path / "other")
        remote = vae_passive(*args, "--scheduler", cluster.scheduler_address, env_home=isolated_home)
    assert elsewhere.returncode == 1
    assert "uses the home folder" in elsewhere.stderr and "file system shared by the client" in elsewhere.stderr
    assert "VAE_PASSIVE_HOME=" in elsewhere.stderr and not (tmp_path / "other" / "models" / "0").exists()
    assert remote.returncode == 0, remote.stderr
    assert sorted(json.loads(remote.stdout)["trained"]) == [0, 1]
    assert all(results_of(isolated_home, i)["global_steps"] == 4 for i in (0, 1))


def test_a_model_locked_by_another_process_is_not_trained_twice(isolated_home):
    import filelock

    from vae_passive.training.fleet import FleetJob, train_model

    settings = FleetSettings(steps=2, batch_size=4, data="procedural_dsprites")
    path = isolated_home / "training" / "7.lock"
    path.parent.mkdir(parents=True)
    (isolated_home / "models").mkdir()  # the client makes it before any model starts
    with filelock.FileLock(path, thread_local=False):
        outcome = train_model(FleetJob(7, settings, str(isolated_home)))
    assert outcome.status == "busy" and "being trained by another process" in outcome.error
    assert not (isolated_home / "models" / "7").exists() and not checkpoint_dir(7).exists()


def test_bad_input_is_one_line_and_writes_nothing(cli, isolated_home):
    def nothing_written():
        return not (isolated_home / "models").exists() and not (isolated_home / "training").exists()

    base = ("train", "--ids", "0,1", "--steps", 4, *STAND_IN)
    assert "--precision must be one of fp32, bf16, not 'fp16'" in one_line_error(cli(*base, "--precision", "fp16"))
    one = ("train", "--model-id", 0, "--steps", 4, *STAND_IN, "--precision", "fp16")
    assert "--precision must be one of fp32, bf16" in one_line_error(cli(*one))
    assert "--jobs must be at least 1, not 0" in one_line_error(cli(*base, "--jobs", 0))
    assert "no model matches" in one_line_error(cli("train", "--ids", "0", "--dataset", "cars3d", *STAND_IN))
    assert "either --model-id or a selection" in one_line_error(cli(*base, "--model-id", 3))
    assert "give --model-id N or a selection" in one_line_error(cli("train", "--steps", 4))
    assert "--scheduler" in one_line_error(cli(*base, "--executor", "dask"))
    assert nothing_written()


def test_a_checkpoint_of_other_settings_is_refused_unless_restart(cli, isolated_home):
    settings = FleetSettings(steps=8, batch_size=4, data="procedural_dsprites")
    saved = checkpoint_dir(1)
    saved.mkdir(parents=True)
    (saved / "config.json").write_text(json.dumps(asdict(planned_config(1, settings))))
    message = one_line_error(cli("train", "--ids", "0,1", "--steps", 4, *STAND_IN, "--jobs", 1))
    assert "checkpoint of model 1 with other settings" in message and "--restart" in message
    assert not (isolated_home / "models").exists() and not checkpoint_dir(0).exists()
    # a finished folder of other settings is refused too, naming --force
    folder = isolated_home / "models" / "0" / "model" / "results" / "json"
    folder.mkdir(parents=True)
    other = {"vae_passive.training_config": json.dumps(asdict(planned_config(0, settings)))}
    (folder / "train_config.json").write_text(json.dumps(other))
    assert "--force" in one_line_error(cli("train", "--ids", "0", "--steps", 4, *STAND_IN))


def test_progress_counts_this_runs_steps_from_the_workers_files(isolated_home, monkeypatch):
    from vae_passive.cli.train_fleet import status_line
    from vae_passive.training import fleet

    def progress_file(model_id, start, step, updated):
        checkpoint_dir(model_id).mkdir(parents=True, exist_ok=True)
        record = {"start": start, "step": step, "total": 100, "updated": updated}
        (checkpoint_dir(model_id) / "progress.json").write_text(json.dumps(record))

    progress_file(1, 0, 90, time.time() - 3600)  # left by a killed run an hour ago: not running, not this run's
    status = fleet.FleetStatus(models=3, skipped=1)
    tracker = fleet._Tracker([0, 1], FleetSettings(steps=100, batch_size=4), status)
    clock = iter([tracker.begun + 10.0, tracker.begun + 10.0])
    monkeypatch.setattr(fleet.time, "perf_counter", lambda: next(clock))
    progress_file(0, 20, 70, time.time())  # resumed at 20, 50 steps in 10 s of this run
    tracker.poll()
    assert (status.running, status.steps_total, status.steps_done) == (1, 200, 70)
    assert status.steps_per_s == 5.0 and status.eta_s == (30 + 100) / 5.0
    assert status_line(status) == "done 1/3 (skipped 1) · running 1 · failed 0 · 5.0 steps/s · ETA 0h00m"
