"""What ``analyze --codes`` says: each latent's reason, why a score is missing, warnings when the kinds
contradict the codes, and the metric values."""

from __future__ import annotations

import numpy as np
import pytest


def planted_codes(n: int = 400, seed: int = 0) -> dict[str, np.ndarray]:
    """4 active latents, 4 passive ones (the last a dead unit: a constant mean), and 2 factors."""
    rng = np.random.default_rng(seed)
    mean = np.zeros((n, 8))
    mean[:, :4] = rng.normal(size=(n, 4))
    mean[:, 4:7] = 0.01 * rng.normal(size=(n, 3))  # passive; latent 7 stays exactly 0
    logvar = np.full((n, 8), -6.0) + 0.05 * rng.normal(size=(n, 8))
    logvar[:, 4:] = 0.02 * rng.normal(size=(n, 4))
    factors = np.stack([np.digitize(mean[:, 0], [-0.5, 0.5]), np.digitize(mean[:, 1], [0.0])], axis=1)
    return {"mean": mean, "logvar": logvar, "factors": factors}


@pytest.fixture
def codes_file(tmp_path):
    def write(**changes):
        arrays = planted_codes() | changes
        path = tmp_path / "my_vae.npz"
        np.savez(path, **arrays)
        return path

    return write


def test_the_summary_says_each_reason_and_why_a_score_is_missing(cli, codes_file, tmp_path):
    result = cli("analyze", "--codes", codes_file(), "--results", tmp_path / "r")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line[:6].strip().isdigit()}
    assert rows["0"].split()[1] == "active" and rows["0"].endswith("narrow")
    assert rows["7"].split()[1] == "passive" and rows["7"].endswith("prior")
    assert "n/a: TC of the mean code on passive: undefined: latent(s) 7 constant in the mean code (zero variance)" in (
        result.stdout
    )
    assert "warning:" not in result.stdout


def test_variances_passed_as_log_variances_are_warned(cli, codes_file, tmp_path):
    codes = planted_codes()
    result = cli("analyze", "--codes", codes_file(logvar=np.exp(codes["logvar"])), "--results", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert "warning: every log-variance is ≥ 0" in result.stdout
    assert "latent(s) 0, 1, 2, 3 are called passive" in result.stdout  # the active ones, misread as the prior


def test_the_summary_prints_the_metric_values(cli, codes_file, tmp_path):
    result = cli("analyze", "--codes", codes_file(), "--metrics", "mig", "--results", tmp_path / "r")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("mig")]
    assert lines and all(len(line.split()) >= 4 for line in lines)
    assert any(line.split()[-1].replace(".", "").isdigit() for line in lines)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("--num-samples", "500"), "--num-samples choose the images to encode; --codes are already encoded"),
        (("--data", "procedural_dsprites"), "--data choose the images to encode"),
        (("--executor", "dask"), "--executor and --scheduler run a batch; give several --codes files"),
        (("--mirror", "http://127.0.0.1:9"), "--mirror fetches zoo models; --codes files are read as they are"),
    ],
)
def test_options_that_mean_nothing_for_codes_are_refused(cli, codes_file, tmp_path, extra, words):
    from support.helpers import one_line_error

    message = one_line_error(cli("analyze", "--codes", codes_file(), *extra, "--results", tmp_path / "r"))
    assert words in message
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("extra", [("--mirror", "http://127.0.0.1:9"), ("--force",)])
def test_options_of_a_selection_are_refused_for_one_model(cli, tmp_path, extra):
    from support.helpers import one_line_error

    message = one_line_error(cli("analyze", "--model-id", "0", *extra, "--results", tmp_path / "r"))
    assert f"{extra[0]} apply to a selection (e.g. --ids N)" in message


def test_metrics_on_codes_draw_progress_on_a_terminal(codes_file, tmp_path, monkeypatch):
    """The bar is drawn when stderr is a terminal (as for --model-dir), told of every metric step."""
    from vae_passive.cli import analyze as analyze_cli

    calls = []

    class Recording(analyze_cli.StepBar):
        def __call__(self, done, total, label):
            calls.append((self.enabled, done, total, label))

    monkeypatch.setattr(analyze_cli, "StepBar", Recording)
    monkeypatch.setattr(analyze_cli, "on_terminal", lambda quiet: not quiet)
    from click.testing import CliRunner

    from vae_passive.cli import main

    args = ["analyze", "--codes", str(codes_file()), "--metrics", "mig", "--results", str(tmp_path / "r")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert calls and all(enabled for enabled, *_ in calls)
    assert calls[0][1:3] == (0, 4) and calls[-1][1:] == (4, 4, "done")
