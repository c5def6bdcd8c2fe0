"""Batch analysis: local processes, a real Dask cluster on loopback, skip/resume, failures."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from vae_passive.tfhub.architecture import random_weights
from vae_passive.tfhub.exporter import write_model_folder
from vae_passive.zoo.install import install_folder

GOOD = [0, 1, 2, 250, 1800]  # 1800 is a 3-channel model: a second graph in the same workers
CORRUPT = 3
#: Writer-made models say they were trained on the stand-in, so they need no published data.
STAND_IN = {"vae_passive.training_data": "procedural_dsprites"}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """Writer-made model folders: good ones and one whose graph is garbage."""
    root = tmp_path_factory.mktemp("zoo")
    for i in GOOD:
        channels = 3 if i >= 1800 else 1
        dataset = "color_dsprites" if i >= 1800 else "dsprites_full"
        write_model_folder(
            root,
            i,
            random_weights(channels, 10, seed=i),
            dataset=dataset,
            channels=channels,
            num_latents=10,
            gin_bindings=STAND_IN,
        )
    bad = write_model_folder(
        root, CORRUPT, random_weights(1, 10), dataset="dsprites_full", channels=1, num_latents=10, gin_bindings=STAND_IN
    )
    (bad / "model" / "tfhub" / "saved_model.pb").write_bytes(b"\x00 not a graph")
    return root


@pytest.fixture
def cached(zoo, isolated_home):
    for i in [*GOOD, CORRUPT]:
        install_folder(zoo / str(i), i, f"test:{zoo / str(i)}")
    return isolated_home


def vae_passive(*args, env_home, timeout=300, **kwargs):
    env = {**os.environ, "VAE_PASSIVE_HOME": str(env_home), "VAE_PASSIVE_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "vae_passive", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def documents(folder) -> dict[str, dict]:
    docs = {}
    for path in sorted(folder.glob("*/analysis.json")):
        doc = json.loads(path.read_text())
        doc["provenance"] = {
            k: v for k, v in doc["provenance"].items() if k not in ("created", "elapsed_s", "timings_s")
        }
        docs[path.parent.name] = doc
    return docs


@pytest.mark.slow
def test_local_and_dask_give_identical_documents(cached, tmp_path):
    ids = ",".join(map(str, GOOD))
    local = vae_passive(
        "analyze", "--ids", ids, "--jobs", 2, "--num-samples", 400, "--results", tmp_path / "local", env_home=cached
    )
    assert local.returncode == 0, local.stderr
    assert "analysed 5, already done 0, failed 0" in local.stdout

    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        remote = vae_passive(
            "analyze",
            "--ids",
            ids,
            "--executor",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
            "--num-samples",
            400,
            "--results",
            tmp_path / "dask",
            env_home=cached,
        )
    assert remote.returncode == 0, remote.stderr
    a, b = documents(tmp_path / "local"), documents(tmp_path / "dask")
    assert sorted(a) == sorted(map(str, GOOD))
    assert a == b

    again = vae_passive("analyze", "--ids", ids, "--num-samples", 400, "--results", tmp_path / "local", env_home=cached)
    assert "analysed 0, already done 5" in again.stdout
    changed = vae_passive(
        "analyze", "--ids", "0", "--num-samples", 300, "--results", tmp_path / "local", env_home=cached
    )
    assert "analysed 1, already done 0" in changed.stdout  # other settings: not skipped


@pytest.mark.slow
def test_corrupt_and_missing_models_are_recorded_and_the_rest_finish(cached, tmp_path):
    result = vae_passive("analyze", "--ids", "0-3,5", "--num-samples", 200, "--results", tmp_path, env_home=cached)
    assert result.returncode == 1
    assert "analysed 3, already done 0, failed 2" in result.stdout
    assert "Traceback" not in result.stderr
    error = json.loads((tmp_path / "3" / "error.json").read_text())
    assert error["schema"] == "vae-passive/error/1" and "cannot load module" in error["error"]
    missing = json.loads((tmp_path / "5" / "error.json").read_text())["error"]
    # offline, the runner's fetch step names the model, the setting that forbids the download and the fix
    assert missing.startswith("model 5 not cached, and VAE_PASSIVE_OFFLINE=1 allows no download")
    assert "vae-passive import PATH" in missing
    assert sorted(p.parent.name for p in tmp_path.glob("*/analysis.json")) == ["0", "1", "2"]


@pytest.mark.slow
def test_sigkill_then_resume(cached, tmp_path):
    env = {**os.environ, "VAE_PASSIVE_HOME": str(cached), "VAE_PASSIVE_OFFLINE": "1"}
    ids = ",".join(map(str, GOOD))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vae_passive",
            "analyze",
            "--ids",
            ids,
            "--num-samples",
            "3000",
            "--results",
            str(tmp_path),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline and not list(tmp_path.glob("*/analysis.json")):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = sorted(p.parent.name for p in tmp_path.glob("*/analysis.json"))
    assert 1 <= len(finished) < len(GOOD)
    for key in finished:  # every document on disk is complete
        assert json.loads((tmp_path / key / "analysis.json").read_text())["schema"] == "vae-passive/analysis/1"
    rerun = vae_passive("analyze", "--ids", ids, "--num-samples", 3000, "--results", tmp_path, env_home=cached)
    assert rerun.returncode == 0, rerun.stderr
    assert f"analysed {len(GOOD) - len(finished)}, already done {len(finished)}" in rerun.stdout


def test_module_pool_swaps_within_a_graph(zoo):
    from vae_passive.tfhub.module import ModulePool

    pool = ModulePool()
    images = np.random.default_rng(0).random((4, 64, 64, 1), dtype=np.float32)
    module = pool.get(zoo / "0")
    first = module.encode(images).mean
    assert pool.get(zoo / "1") is module  # same graph: the weights are swapped into the loaded module
    second = module.encode(images).mean
    assert pool.get(zoo / "1800") is not module  # a 3-channel graph: a second module
    assert not np.allclose(first, second)


def test_selection_errors(cli, cached):
    from support.helpers import one_line_error

    assert "either --model-id" in one_line_error(cli("analyze", "--model-id", 0, "--ids", "1"))
    assert "no model matches" in one_line_error(cli("analyze", "--ids", "0", "--dataset", "cars3d"))
    assert "--scheduler" in one_line_error(cli("analyze", "--ids", "0", "--executor", "dask"))


def test_progress_is_told_of_each_model(isolated_home, tmp_path, monkeypatch):
    """The runner draws no bar itself: it tells a callback (done, to do, label), the CLI's bar or any other."""
    from vae_passive.analysis import runner
    from vae_passive.analysis.analyze import Settings

    def failing(tasks, settings, sources, executor, jobs, scheduler):
        yield from (runner.TaskOutcome(task.key, error="broken") for task in tasks)

    monkeypatch.setattr(runner, "_outcomes", failing)
    calls = []
    summary = runner.run(runner.tasks_for_ids([0, 1]), Settings(), tmp_path, progress=lambda *call: calls.append(call))
    assert calls == [(0, 2, ""), (1, 2, "failed=1"), (2, 2, "failed=2")]
    assert sorted(summary.failed) == ["0", "1"]
