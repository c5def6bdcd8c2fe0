"""`train --analyze`: each model analysed right after training, in its task; documents that `report` reads, a
failed analysis recorded without losing the model, analysis options without --analyze as one line."""

import csv
import json
import os
import subprocess
import sys

import pytest
from support.helpers import one_line_error

from vae_passive.errors import VaePassiveError
from vae_passive.training.fleet import AnalysisPlan, FleetJob, FleetSettings, train_model

STAND_IN = ("--data", "procedural_dsprites", "--batch-size", 4)
ANALYSIS = ("--analyze", "--num-samples", 64)


def vae_passive(*args, env_home, timeout=400, cwd=None):
    env = {**os.environ, "VAE_PASSIVE_HOME": str(env_home), "VAE_PASSIVE_OFFLINE": "1"}
    command = [sys.executable, "-m", "vae_passive", *map(str, args)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)


@pytest.mark.slow
def test_two_models_trained_with_analyze_end_with_documents_that_report_reads(cli, isolated_home):
    args = ("train", "--ids", "0,1", "--steps", 4, *STAND_IN, "--jobs", 2, *ANALYSIS, "--json")
    result = vae_passive(*args, env_home=isolated_home)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert sorted(summary["trained"]) == [0, 1] and sorted(summary["analysis"]["analysed"]) == [0, 1]
    for model_id in (0, 1):
        document = json.loads((isolated_home / "results" / str(model_id) / "analysis.json").read_text())
        assert document["model"]["id"] == model_id and document["data"]["num_samples"] == 64
        assert document["model"]["origin"]["kind"] == "trained" and document["model"]["origin"]["steps"] == 4
        assert document["data"]["source"] == "procedural_dsprites"

    report = cli("report", "--results", isolated_home / "results", "--out", isolated_home / "report", "--quiet")
    assert report.exit_code == 0, report.output
    with open(isolated_home / "report" / "tables" / "models.csv", newline="") as table:
        rows = list(csv.DictReader(table))
    assert sorted(row["id"] for row in rows) == ["0", "1"] and {row["num_samples"] for row in rows} == {"64"}

    # a model trained before whose analysis is missing is analysed (not retrained); an analysed one is skipped;
    # its module damaged, the analysis fails: error.json, exit 1, the model kept
    (isolated_home / "results" / "1" / "analysis.json").unlink()
    (isolated_home / "models" / "1" / "model" / "tfhub" / "saved_model.pb").write_bytes(b"not a graph")
    rerun = vae_passive(*args, env_home=isolated_home)
    assert rerun.returncode == 1 and "Traceback" not in rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["trained"] == [] and sorted(summary["already_done"]) == [0, 1]
    assert summary["analysis"]["already_done"] == [0] and list(summary["analysis"]["failed"]) == ["1"]
    error = json.loads((isolated_home / "results" / "1" / "error.json").read_text())
    assert error["model_id"] == 1 and error["schema"] == "vae-passive/error/1"
    assert (isolated_home / "models" / "1" / "model" / "results" / "json" / "train_results.json").is_file()


@pytest.mark.slow
def test_a_failing_analysis_in_the_training_task_keeps_the_model_and_records_the_failure(isolated_home, monkeypatch):
    from vae_passive.analysis import analyze, runner

    def broken(source, settings, module=None):
        raise VaePassiveError(f"cannot analyse {source.key}: broken on purpose")

    monkeypatch.setattr(runner, "analyze_model", broken)
    results = isolated_home / "results"
    results.mkdir()
    (isolated_home / "models").mkdir()  # the client makes both before any model starts
    plan = AnalysisPlan(analyze.Settings(num_samples=64), str(results))
    settings = FleetSettings(steps=2, batch_size=4, data="procedural_dsprites", analysis=plan)
    outcome = train_model(FleetJob(3, settings, str(isolated_home)))
    assert outcome.status == "trained" and outcome.final_step == 2, outcome.error
    assert outcome.analysis == "failed" and "broken on purpose" in outcome.analysis_error
    assert (isolated_home / "models" / "3" / "model" / "results" / "json" / "train_results.json").is_file()
    error = json.loads((results / "3" / "error.json").read_text())
    assert error["model_id"] == 3 and "broken on purpose" in error["error"]
    assert not (results / "3" / "analysis.json").exists()


def test_analysis_options_need_analyze_and_bad_ones_are_one_line(cli, isolated_home):
    base = ("train", "--ids", "0,1", "--steps", 4, *STAND_IN)
    message = one_line_error(cli(*base, "--num-samples", 100, "--metrics", "mig"))
    assert "--num-samples, --metrics set the analysis" in message and "add --analyze" in message
    assert "--results" in one_line_error(cli("train", "--model-id", 0, "--results", isolated_home / "r"))
    assert "--num-samples must be at least 2" in one_line_error(cli(*base, "--analyze", "--num-samples", 1))
    assert "unknown metric" in one_line_error(cli(*base, "--analyze", "--metrics", "nope"))
    assert not any(isolated_home.iterdir())  # nothing trained, no results folder


@pytest.mark.slow
def test_dask_on_loopback_trains_and_analyses_into_relative_folders_of_the_client(isolated_home, tmp_path):
    """`--analyze` through Dask: each worker analyses the model it trained; `--out`, `--zip` and
    `--results` given relative to the client's folder land there, not in the workers' own folder."""
    from distributed import LocalCluster

    client_folder = tmp_path / "client"
    client_folder.mkdir()
    args = ("train", "--ids", "0,1", "--steps", 4, *STAND_IN, *ANALYSIS, "--executor", "dask", "--json")
    places = ("--out", "trained", "--zip", "--results", "results")
    with LocalCluster(processes=True, host="127.0.0.1", dashboard_address=None, n_workers=2, threads_per_worker=1) as c:
        result = vae_passive(
            *args, *places, "--scheduler", c.scheduler_address, env_home=isolated_home, cwd=client_folder
        )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert sorted(summary["trained"]) == [0, 1] and sorted(summary["analysis"]["analysed"]) == [0, 1]
    assert summary["analysis"]["results"] == str((client_folder / "results").resolve())
    for model_id in (0, 1):
        assert (client_folder / "trained" / f"{model_id}.zip").is_file()
        document = json.loads((client_folder / "results" / str(model_id) / "analysis.json").read_text())
        assert document["model"]["origin"]["steps"] == 4 and document["data"]["num_samples"] == 64
    assert not (isolated_home / "models").exists()  # --out, not the home's models folder
