"""``vae_passive.TrainingMonitor``: the training logs from any framework's codes, checked against independent
numbers; resume; TensorBoard without TensorFlow; the report's dynamics of a monitored folder; bad input."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import vae_passive
from vae_passive.latents.representations import noise_seed
from vae_passive.latents.variables import REASONS
from vae_passive.report import dynamics
from vae_passive.report.render import build_report

N = 1000


def drifting_codes(step, rng, n=N):
    """A stand-in encoder at ``step`` of 1,000: latents 0-5 active; 6-9 share a factor and drift to the prior."""
    shrink = max(1.0 - step / 1000, 0.0) + 0.01
    mean = rng.normal(size=(n, 10))
    mean[:, 6:] = shrink * (rng.normal(size=(n, 1)) + 0.3 * rng.normal(size=(n, 4)))
    logvar = np.full((n, 10), -6.0)
    logvar[:, 6:] = np.log(1.0 - 0.99 * shrink)
    return mean, logvar


def monitored_run(folder, steps=range(0, 1001, 250), seed=0, tensorboard=False):
    """docs/api.md's numpy flow: the codes of each logged step go to the monitor, with the loss terms."""
    rng = np.random.default_rng(seed)
    codes = {}
    with vae_passive.TrainingMonitor(folder, tensorboard=tensorboard) as monitor:
        for step in steps:
            mean, logvar = drifting_codes(step, rng)
            codes[step] = (mean, logvar)
            monitor.log(step, mean, logvar, losses={"recon": 100.0 - step / 100, "kl": step / 100})
    return codes


def tables(folder):
    return {name: pd.read_parquet(folder / "logs" / f"{name}.parquet") for name in dynamics_tables()}


def dynamics_tables():
    return ("latents", "scores", "losses", "correlations")


def test_the_docs_flow_gives_the_logs_and_a_document(tmp_path):
    folder = tmp_path / "runs" / "my_vae"
    codes = monitored_run(folder)
    t = tables(folder)
    assert t["latents"].groupby("step")["kind"].apply(lambda k: (k == "passive").sum()).to_dict() == {
        0: 0,
        250: 0,
        500: 0,
        750: 0,
        1000: 4,
    }
    assert (t["latents"].query("step == 0")["kind"] == "active").all()
    assert set(t["latents"]["reason"]) <= set(REASONS)  # the document's reasons, kept
    last_mean, last_logvar = codes[1000]
    last = t["latents"].query("step == 1000").sort_values("latent")
    np.testing.assert_allclose(last["mean_of_variance"], np.exp(last_logvar).mean(axis=0))
    np.testing.assert_allclose(last["variance_of_mean"], last_mean.var(axis=0))
    pairs = t["correlations"].query("step == 1000")
    np.testing.assert_allclose(pairs["mean"], np.corrcoef(last_mean, rowvar=False).ravel())
    np.testing.assert_allclose(pairs["mean_covariance"], np.cov(last_mean, rowvar=False).ravel())
    cov = np.cov(last_mean, rowvar=False)
    tc = 0.5 * (np.log(np.diag(cov)).sum() - np.linalg.slogdet(cov)[1])
    full = t["scores"].query("step == 1000 and subset == 'full' and representation == 'mean'")
    np.testing.assert_allclose(full["gaussian_total_correlation"], tc, rtol=1e-10)
    assert t["losses"].to_dict("list") == {
        "step": [0, 250, 500, 750, 1000],
        "recon": [100.0, 97.5, 95.0, 92.5, 90.0],
        "kl": [0.0, 2.5, 5.0, 7.5, 10.0],
    }
    document = json.loads((folder / "analysis.json").read_text())
    assert document["model"]["key"] == "my_vae" and document["model"]["source"] == "codes"
    assert document["counts"] == {"active": 6, "mixed": 0, "passive": 4}
    expected = vae_passive.analyze_codes(last_mean, last_logvar, key="my_vae")  # the same document builder
    assert document["latents"] == expected.document["latents"] and document["scores"] == expected.document["scores"]
    sampled = last_mean + np.exp(last_logvar / 2) * np.random.default_rng(noise_seed(2051556033, "my_vae")).normal(
        size=last_mean.shape
    )
    np.testing.assert_allclose(pairs["sampled"], np.corrcoef(sampled, rowvar=False).ravel())


def test_a_step_logged_again_is_replaced_and_a_reopened_folder_continues(tmp_path):
    folder = tmp_path / "run"
    rng = np.random.default_rng(1)
    with vae_passive.TrainingMonitor(folder, tensorboard=False) as monitor:
        for step in (0, 10, 20, 20):  # 20 twice: replaced
            monitor.log(step, *drifting_codes(step * 50, rng), losses={"kl": step})
    assert tables(folder)["losses"]["step"].tolist() == [0, 10, 20]
    with vae_passive.TrainingMonitor(folder, tensorboard=False) as monitor:  # after a crash
        assert monitor.steps == (0, 10, 20)
        replacement = drifting_codes(1000, rng)
        monitor.log(20, *replacement, losses={"kl": -1.0})
        monitor.log(30, *drifting_codes(1000, rng))
    t = tables(folder)
    rows = {
        "latents": ["latent"],
        "scores": ["representation", "subset"],
        "losses": [],
        "correlations": ["row", "column"],
    }
    for name, columns in rows.items():
        assert sorted(t[name]["step"].unique()) == [0, 10, 20, 30], name
        assert not t[name].duplicated(["step", *columns]).any(), name
    assert t["losses"].query("step == 20")["kl"].tolist() == [-1.0]
    np.testing.assert_allclose(
        t["latents"].query("step == 20")["variance_of_mean"], replacement[0].var(axis=0)
    )  # the new codes' rows, not the old ones
    with vae_passive.TrainingMonitor(folder, tensorboard=False) as monitor:  # resumed from step 10's checkpoint
        monitor.log(10, *drifting_codes(500, rng))
    assert sorted(tables(folder)["scores"]["step"].unique()) == [0, 10]


def test_a_step_half_written_by_a_crash_is_not_counted(tmp_path):
    folder = tmp_path / "run"
    monitored_run(folder, steps=(0, 100))
    scores = pd.read_parquet(folder / "logs" / "scores.parquet")
    extra = scores.query("step == 100").assign(step=200)  # scores of step 200 written, its latents not
    pd.concat([scores, extra]).to_parquet(folder / "logs" / "scores.parquet")
    with vae_passive.TrainingMonitor(folder, tensorboard=False) as monitor:
        assert monitor.steps == (0, 100)
        monitor.log(300, *drifting_codes(300, np.random.default_rng(2)))
    assert sorted(tables(folder)["scores"]["step"].unique()) == [0, 100, 300]


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m, lv: (m[:1], lv[:1]), r"the codes have 1 row\(s\); classifying needs N >= 2"),
        (lambda m, lv: (m[:, :9], lv[:, :9]), r"shape \(1000, 9\), earlier steps .* \(1000, 10\); encode the same"),
        (lambda m, lv: (m[:999], lv[:999]), r"shape \(999, 10\), earlier steps"),
        (lambda m, lv: (np.where(np.eye(N, 10) > 0, np.nan, m), lv), "mean holds NaN or infinite values"),
        (lambda m, lv: (m, lv[:, :9]), r"mean \(1000, 10\) and logvar \(1000, 9\) differ"),
    ],
)
def test_bad_codes_are_one_line_and_write_nothing(tmp_path, change, message):
    folder = tmp_path / "run"
    monitored_run(folder, steps=(0, 100))
    before = snapshot(folder)
    monitor = vae_passive.TrainingMonitor(folder, tensorboard=False)
    with pytest.raises(vae_passive.VaePassiveError, match=message) as raised:
        monitor.log(200, *change(*drifting_codes(200, np.random.default_rng(3))))
    assert "\n" not in str(raised.value) and str(raised.value).startswith("step 200")
    assert snapshot(folder) == before


def test_bad_steps_losses_and_settings_are_one_line_and_write_nothing(tmp_path):
    folder = tmp_path / "run"
    codes = drifting_codes(0, np.random.default_rng(4))
    with pytest.raises(vae_passive.VaePassiveError, match="the codes have 1 row"):  # N < 2 at the first step
        vae_passive.TrainingMonitor(folder, tensorboard=False).log(0, codes[0][:1], codes[1][:1])
    assert not folder.exists()
    monitored_run(folder, steps=(0, 100))
    before = snapshot(folder)
    monitor = vae_passive.TrainingMonitor(folder, tensorboard=False)
    monitor.log(100, *codes)
    before = snapshot(folder)
    cases = [
        ((50, *codes), r"step 50 comes before step 100, logged last; steps must not go backwards"),
        ((-1, *codes), r"step -1 is not a training step"),
        ((1.5, *codes), r"step 1.5 is not a training step"),
        ((200, *codes, {"kl": "high"}), r"losses\['kl'\] = 'high' is not a number"),
        ((200, *codes, {"step": 1.0}), r"loss name 'step' is not usable"),
        ((200, *codes, [1.0]), r"losses must be a mapping"),
    ]
    for arguments, message in cases:
        with pytest.raises(vae_passive.VaePassiveError, match=message) as raised:
            monitor.log(*arguments)
        assert "\n" not in str(raised.value)
    monitor.close()
    with pytest.raises(vae_passive.VaePassiveError, match="is closed"):
        monitor.log(200, *codes)
    with pytest.raises(vae_passive.VaePassiveError, match=r"written with seed 2051556033; pass seed=2051556033"):
        vae_passive.TrainingMonitor(folder, seed=1)
    with pytest.raises(vae_passive.VaePassiveError, match=r"seed -1 must be a whole number"):
        vae_passive.TrainingMonitor(folder, seed=-1)
    assert snapshot(folder) == before


def test_tensorboard_events_without_tensorflow(tmp_path):
    """The events carry train --log-every's tags; neither the monitor nor its events import TensorFlow."""
    script = (
        "import sys, numpy as np, vae_passive; "
        "m = vae_passive.TrainingMonitor(sys.argv[1]); rng = np.random.default_rng(0); "
        "[m.log(s, rng.normal(size=(200, 4)), np.zeros((200, 4)) - 4, {'kl': 1.0}) for s in (0, 5)]; m.close(); "
        "n = vae_passive.TrainingMonitor(sys.argv[1] + '_plain', tensorboard=False); "
        "n.log(0, rng.normal(size=(200, 4)), np.zeros((200, 4))); "
        "print('tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
    assert not list((tmp_path / "run_plain" / "logs").glob("events.*"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "run" / "logs"), size_guidance={"tensors": 0}).Reload()
    tags = set(events.Tags()["tensors"])
    assert {"latents/active", "latents/passive", "total_correlation/full/mean", "loss/kl"} <= tags
    assert {f"{name}/latent_{j}" for name in ("mean", "sampled", "variance") for j in range(4)} <= tags
    assert [(e.step, float(e.tensor_proto.float_val[0])) for e in events.Tensors("latents/active")] == [
        (0, 4.0),
        (5, 4.0),
    ]
    buckets = np.frombuffer(events.Tensors("mean/latent_0")[0].tensor_proto.tensor_content, np.float64)
    assert buckets.reshape(-1, 3)[:, 2].sum() == 200  # every code in a bucket


def test_report_draws_the_dynamics_of_monitored_runs(tmp_path):
    runs = tmp_path / "runs"
    for seed, name in enumerate(("first", "second")):
        monitored_run(runs / name, seed=seed)
    moved = tmp_path / "elsewhere"
    shutil.copytree(runs, moved)  # the document's model.path still names the old place
    shutil.rmtree(runs)
    out = tmp_path / "report"
    build_report(moved, out)
    names = sorted(p.name for p in (out / "figures").glob("*dynamics*"))
    assert names == [
        f"model_{run}__dynamics{part}.png"
        for run in ("first", "second")
        for part in ("", "_correlation", "_passive_pairs", "_variance")
    ]  # one kinds/TC figure per run: two runs of unknown settings are never averaged
    assert "model first (1 run, given codes)" in (out / "report.md").read_text()
    logs = dynamics.read_logs(moved / "first", "first")
    figure = dynamics.passive_pairs_figure(logs.correlations, logs.latents, "pairs")
    lines = figure.axes[0].get_lines()
    mean_lines = [line for line in lines if line.get_color() == "#0072B2"]
    sampled_lines = [line for line in lines if line.get_color() == "#E69F00"]
    assert len(mean_lines) == len(sampled_lines) == 6  # the pairs of latents 6-9
    pair = logs.correlations.query("row == 6 and column == 7").sort_values("step")
    np.testing.assert_allclose(mean_lines[0].get_ydata(), pair["mean"])
    assert mean_lines[0].get_ydata()[-1] > 0.8 and abs(sampled_lines[0].get_ydata()[-1]) < 0.2


def test_events_without_the_tensorboard_package_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as when it is not installed
    with pytest.raises(vae_passive.VaePassiveError, match=r"pip install tensorboard, or pass tensorboard=False"):
        vae_passive.TrainingMonitor(tmp_path / "run")
    vae_passive.TrainingMonitor(tmp_path / "run", tensorboard=False).log(
        0, *drifting_codes(0, np.random.default_rng(5))
    )
    assert not list((tmp_path / "run" / "logs").glob("events.*")) and (tmp_path / "run" / "analysis.json").is_file()
