import csv
import json
import math

import numpy as np
import pytest
from support.helpers import one_line_error, random_images

from vae_passive.data import get_dataset
from vae_passive.errors import VaePassiveError
from vae_passive.tfhub.module import Module
from vae_passive.tfhub.runtime import tensorflow
from vae_passive.training.train import TrainConfig, checkpoint_dir, train
from vae_passive.zoo import catalogue
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
    assert "trained here for 3 steps instead of 300,000" in report
    assert "procedural" in report.lower()
    assert (out / "report" / "index.html").is_file()
    assert sorted(p.name for p in (out / "mirror" / "trained").glob("*.zip")) == ["0.zip", "250.zip"]
    assert sorted(p.parent.name for p in (out / "results").glob("*/analysis.json")) == ["0", "250"]
    assert list((out / "report" / "figures").glob("*dynamics*"))  # the logs travelled through zip and fetch
    assert "open " in result.stdout and "index.html" in result.stdout
    assert "beta 16 (model 250):" in result.stdout.splitlines()[-2]
    _check_headline_matches_documents(result.stdout, out / "results")


def _check_headline_matches_documents(stdout: str, results) -> None:
    """What the demo prints per model is what its analysis.json holds, whatever was measured: the counts of
    each kind (10 latents in all) and, where the model has passive latents, their TC in both codes."""
    import re

    from vae_passive.training.demo import DEMO_IDS

    for demo_id in DEMO_IDS:
        document = json.loads((results / str(demo_id) / "analysis.json").read_text())
        counts = document["counts"]
        assert sum(counts.values()) == 10
        [line] = [line for line in stdout.splitlines() if f"(model {demo_id})" in line]
        for kind, count in counts.items():
            assert re.search(rf"\b{count} {kind}\b", line), (kind, count, line)
        printed = [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?", line)]
        tc = {
            r["representation"]: r["gaussian_total_correlation"]
            for r in document["scores"]
            if r["subset"] == "passive" and r["gaussian_total_correlation"] is not None
        }
        for value in tc.values():  # printed to 2 or more significant digits
            assert any(math.isclose(n, value, rel_tol=0.05) for n in printed), (value, line)


def test_demo_recipe_settings(tmp_path):
    """The recipe of docs/training.md: beta 1 and 16 at one seed, 3,000 steps, logged, N = 10,000."""
    from vae_passive.training import demo

    records = [catalogue.record(i) for i in demo.DEMO_IDS]
    assert [(r.method, r.dataset, r.value) for r in records] == [
        ("beta_vae", "dsprites_full", 1.0),
        ("beta_vae", "dsprites_full", 16.0),
    ]
    assert records[0].seed == records[1].seed == 0
    assert demo.DEMO_STEPS == 3000 and demo.DEMO_STEPS % demo.DEMO_LOG_EVERY == 0
    commands = demo.demo_commands(tmp_path, demo.DEMO_STEPS, 10_000)
    trains = [c for c in commands if c[0] == "train"]
    assert [c[c.index("--model-id") + 1] for c in trains] == ["0", "250"]
    assert all(c[c.index("--steps") + 1] == "3000" and c[c.index("--log-every") + 1] == "500" for c in trains)
    # batch 64 as published (DEMO_NOTE says so): the demo passes no --batch-size, so train's default must be 64
    from vae_passive.cli.train import train

    assert not any("--batch-size" in c for c in trains) and "batch 64" in demo.DEMO_NOTE
    assert {p.name: p.default for p in train.params}["batch_size"] == 64
    report = commands[-1]
    assert "3,000 steps instead of 300,000" in report[report.index("--note") + 1]


def test_demo_headline_prints_the_finding(tmp_path):
    from vae_passive.training import demo

    def document(counts, passive_tc):
        scores = (
            [
                {"representation": r, "subset": "passive", "gaussian_total_correlation": v}
                for r, v in zip(("mean", "sampled"), passive_tc, strict=True)
            ]
            if passive_tc
            else []
        )
        return {"schema": "vae-passive/analysis/1", "counts": counts, "scores": scores, "data": {"num_samples": 10_000}}

    for mid, doc in (
        (0, document({"active": 9, "mixed": 1, "passive": 0}, None)),
        (250, document({"active": 3, "mixed": 4, "passive": 3}, (0.09, 0.00008))),
    ):
        (tmp_path / str(mid)).mkdir()
        (tmp_path / str(mid) / "analysis.json").write_text(json.dumps(doc))
    lines = demo.headline(tmp_path)
    assert "beta 1 (model 0): 0 passive, 1 mixed, 9 active" in lines[2] and "total correlation" not in lines[2]
    assert "beta 16 (model 250): 3 passive" in lines[3] and "mean code 0.09, sampled code 8e-05 (1,125x)" in lines[3]
    assert lines[4].startswith("  Measured in model 250 (beta 16): the passive latents look independent")
    assert "far above what independent latents give" in lines[4]


_NOT_SHOWN = (
    "in no model is the passive latents' total correlation far above what independent latents give in the mean code, "
    "within it in the sampled code, and 10x higher in the mean code"
)


@pytest.mark.parametrize(
    ("passive", "tc", "why", "but"),
    [  # N = 500; each case fails one part of the test, and the model's line says which
        (3, (0.010, 0.009), _NOT_SHOWN, "the mean code's TC is within what 3 independent latents give"),  # p 0.019
        (2, (9.55e-05, 1.2e-06), _NOT_SHOWN, "the mean code's TC is within what 2 independent"),  # 80x, p 0.76
        (3, (0.2, 0.01), _NOT_SHOWN, "the sampled code's TC is above what 3 independent latents give"),  # p 0.019
        (3, (0.03, 0.004), _NOT_SHOWN, "the mean code's TC is not 10x the sampled code's"),  # p 1.5e-06, 0.26; 7.5x
        (0, None, "no model has two or more passive latents with a total correlation to compare", None),
    ],
)
def test_demo_says_plainly_when_the_finding_did_not_show(tmp_path, passive, tc, why, but):
    from vae_passive.training import demo

    for mid in (0, 250):
        scores = [
            {"representation": r, "subset": "passive", "gaussian_total_correlation": v}
            for r, v in zip(("mean", "sampled"), tc or (), strict=False)
        ]
        counts = {"active": 10 - passive, "mixed": 0, "passive": passive}
        doc = {"schema": "vae-passive/analysis/1", "counts": counts, "scores": scores, "data": {"num_samples": 500}}
        (tmp_path / str(mid)).mkdir()
        (tmp_path / str(mid) / "analysis.json").write_text(json.dumps(doc))
    lines = demo.headline(tmp_path)
    assert lines[1] == "What the demo measured (N = 500 inputs per model):"
    assert (
        lines[-1]
        == f"  The paper's finding did not show in this run: {why}. Train longer (--steps) and run the demo again."
    )
    assert not any("the paper's finding." in line for line in lines)
    if but:
        assert all(f"; but {but}" in line for line in lines[2:4]), lines


def test_demo_stops_at_a_failing_step(monkeypatch, tmp_path):
    from vae_passive.training import demo

    monkeypatch.setattr(demo, "demo_commands", lambda *args: [["list", "--ids", "nope"]])
    lines: list[str] = []
    with pytest.raises(VaePassiveError, match=r"demo step `vae-passive list` failed \(exit code 1\)"):
        demo.run_demo(tmp_path, 3, 10, lines.append)
    assert any("$ vae-passive list --ids nope" in line for line in lines)


def test_the_demo_reuses_only_models_of_its_own_length(tmp_path):
    """A demo folder left by `demo --steps 3` was once reused by a 3,000-step demo, whose report note and
    verdict then described training that never happened."""
    import json

    from vae_passive.training import demo
    from vae_passive.zoo.origin import TRAIN_RESULTS

    trained = tmp_path / "mirror" / "trained"

    def leave(model_id, steps):
        results = trained / str(model_id) / TRAIN_RESULTS
        results.parent.mkdir(parents=True)
        results.write_text(json.dumps({"steps": steps, "spec_steps": 300_000, "training_data": "procedural_dsprites"}))
        (trained / f"{model_id}.zip").write_bytes(b"zip")

    leave(0, 3000)  # an interrupted 3,000-step demo: model 0 is reused, model 250 is trained
    commands = demo.demo_commands(tmp_path, demo.DEMO_STEPS, 10_000)
    assert [c[c.index("--model-id") + 1] for c in commands if c[0] == "train"] == ["250"]
    leave(250, 3)  # left by `demo --steps 3`
    with pytest.raises(VaePassiveError, match="model 250 trained for 3 steps, not 3,000; use another --out folder"):
        demo.demo_commands(tmp_path, demo.DEMO_STEPS, 10_000)


def test_the_demo_in_bf16_says_so_and_never_reuses_fp32_models(tmp_path):
    """`demo --precision bf16`: every train command gets it, the report's note names it, and a model the
    folder holds in fp32 is refused rather than passed off as bf16."""
    import json

    from vae_passive.training import demo
    from vae_passive.zoo.origin import TRAIN_RESULTS

    commands = demo.demo_commands(tmp_path, 3000, 10_000, precision="bf16")
    trains = [c for c in commands if c[0] == "train"]
    assert len(trains) == 2 and all(c[c.index("--precision") + 1] == "bf16" for c in trains)
    assert "Trained in bf16 (--precision bf16) instead of the published fp32." in commands[-1][-1]
    assert not any("--precision" in c for c in demo.demo_commands(tmp_path, 3000, 10_000))  # fp32: the default
    results = tmp_path / "mirror" / "trained" / "0" / TRAIN_RESULTS
    results.parent.mkdir(parents=True)
    results.write_text(json.dumps({"steps": 3000, "training_data": "procedural_dsprites", "precision": "fp32"}))
    (tmp_path / "mirror" / "trained" / "0.zip").write_bytes(b"zip")
    with pytest.raises(VaePassiveError, match="model 0 trained in fp32, not bf16; use another --out folder"):
        demo.demo_commands(tmp_path, 3000, 10_000, precision="bf16")


def test_mini_study_settings(tmp_path):
    """The mini study of docs/training.md: beta_vae on dsprites_full, beta 1 and 16, enough beta-16 seeds for
    claim (a)'s 5 models with one in reserve, trained in one `train --ids` over the cores, the paper's metrics
    at the fast preset, and a report note that says how it differs from the study."""
    from vae_passive.report.claims import MIN_MODELS
    from vae_passive.training import demo
    from vae_passive.zoo.origin import TRAIN_RESULTS

    records = [catalogue.record(i) for i in demo.MINI_STUDY.ids]
    assert {(r.method, r.dataset) for r in records} == {("beta_vae", "dsprites_full")}
    assert sorted(r.seed for r in records if r.value == 1.0) == [0, 1]
    assert sorted(r.seed for r in records if r.value == 16.0) == list(range(MIN_MODELS + 1))
    commands = demo.demo_commands(tmp_path, demo.DEMO_STEPS, 10_000, demo.MINI_STUDY)
    assert [c[0] for c in commands] == ["train", "fetch", "analyze", "report"]
    train, _, analyze, report = commands
    assert train[train.index("--ids") + 1] == "0-1,250-255" and "--zip" in train and "--quiet" not in train
    assert "--model-id" not in train and "--log-every" not in train and train[train.index("--steps") + 1] == "3000"
    assert analyze[analyze.index("--metrics") + 1] == "study" and analyze[analyze.index("--preset") + 1] == "fast"
    note = report[report.index("--note") + 1]
    for words in ("8 of its 9,000 models", "3,000 steps instead of 300,000", "procedural dSprites", "fast preset",
                  "N = 10,000 as published", "not on the study's"):  # fmt: skip
        assert words in note, words
    assert "N = 2,000 (published: 10,000)" in demo.MINI_STUDY.report_note(3000, 2000)
    # the note's sizes are the fast preset's (training may not import the metrics, so the note states them)
    from vae_passive.metrics.registry import params

    truncated = params("truncated_downstream_task_logistic_regression", "fast")
    assert truncated["cross_validated"] is False
    assert f"on {truncated['num_train']} training and {truncated['num_test']} test points with C = 1" in note
    assert f"the effective rank on {params('effective_rank', 'fast')['num_train']:,} points" in note
    # a rerun trains only what is missing, in one command
    demo_models = tmp_path / "mirror" / "trained"
    for trained_id in demo.MINI_STUDY.ids[:-1]:
        results = demo_models / str(trained_id) / TRAIN_RESULTS
        results.parent.mkdir(parents=True)
        results.write_text(json.dumps({"steps": 3000, "spec_steps": 300_000, "training_data": "procedural_dsprites"}))
        (demo_models / f"{trained_id}.zip").write_bytes(b"zip")
    rerun = demo.demo_commands(tmp_path, 3000, 10_000, demo.MINI_STUDY)
    assert rerun[0][:3] == ["train", "--ids", "255"]


def test_mini_study_prints_the_reports_verdicts(tmp_path):
    from vae_passive.training import demo

    (tmp_path / "tables").mkdir()
    rows = [
        ("Claim (a): passive", "Supported: far above its null in 6 of 6 (p = 0.016). Test per model: ..."),
        ("Claim (b): active", "not measurable: no model has two or more active latents with TC scores."),
        ("Claim (c): downstream", "Too few models to say (4; 5 wanted). logistic regression: ..."),
        ("Passive latents are common", "In 6 of 8 models."),
    ]
    with open(tmp_path / "tables" / "findings.csv", "w", newline="") as table:
        writer = csv.writer(table)
        writer.writerow(["group", "models", "title", "text"])
        writer.writerows([("trained here, 3,000 steps", 8, title, text) for title, text in rows])
    lines = demo.claim_verdicts(tmp_path)
    assert lines[1] == "The report's verdicts on the paper's claims (trained here, 3,000 steps):"
    assert lines[2:] == [
        "  Claim (a): passive: Supported: far above its null in 6 of 6 (p = 0.016).",
        "  Claim (b): active: not measurable: no model has two or more active latents with TC scores.",
        "  Claim (c): downstream: Too few models to say (4; 5 wanted).",
    ]
    # two comparability groups: a block each, named; no claims at all: said so
    with open(tmp_path / "tables" / "findings.csv", "a", newline="") as table:
        csv.writer(table).writerow(("trained here, 200 steps", 2, "Claim (a): passive", "Too few models to say."))
    lines = demo.claim_verdicts(tmp_path)
    assert lines[-2:] == [
        "The report's verdicts on the paper's claims (trained here, 200 steps):",
        "  Claim (a): passive: Too few models to say.",
    ]
    (tmp_path / "tables" / "findings.csv").write_text("group,models,title,text\n")
    assert demo.claim_verdicts(tmp_path)[1].startswith("The report has no verdicts on the paper's claims")


def test_the_demo_and_the_mini_study_never_share_a_folder(tmp_path, monkeypatch):
    """They share models 0 and 250 but train them differently (with and without logs) and report over their
    folder's documents: a run in the other's folder is refused before anything runs."""
    from vae_passive.training import demo

    ran: list[list[str]] = []
    monkeypatch.setattr(demo, "demo_commands", lambda *args: [])
    monkeypatch.setattr(demo, "headline", lambda *args: ran.append(["headline"]) or [])
    monkeypatch.setattr(demo, "claim_verdicts", lambda *args: [])
    demo.run_demo(tmp_path, 3000, 10_000, lambda line: None, demo.MINI_STUDY)
    assert (tmp_path / demo.DESIGN_MARKER).read_text() == "mini study\n"
    demo.run_demo(tmp_path, 3000, 10_000, lambda line: None, demo.MINI_STUDY)  # a rerun of the same design
    with pytest.raises(VaePassiveError, match="holds a mini study run, not a demo one; use another --out folder"):
        demo.run_demo(tmp_path, 3000, 10_000, lambda line: None, demo.DEMO)
    assert len(ran) == 2


def test_demo_options_refuse_bad_values_in_one_line(cli, tmp_path):
    bad = cli("demo", "--precision", "fp16", "--out", tmp_path / "d")
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    assert "'fp16' is not one of 'fp32', 'bf16'" in bad.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "d").exists()
