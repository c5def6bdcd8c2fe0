"""``train`` ends with a summary: final losses, the kinds at the last logged step, the logs, the next command."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_train_ends_with_a_summary(cli, tmp_path, isolated_home):
    args = ("train", "--model-id", 3, "--steps", 2, "--batch-size", 2, "--data", "procedural_dsprites", "--quiet")
    result = cli(*args, "--log-every", 1, "--log-samples", 50)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    folder = isolated_home / "models" / "3"
    assert lines[0] == f"wrote {folder}"
    assert lines[1].startswith("final losses (step 2): loss ") and "kl_loss" in lines[1]
    assert lines[2].startswith("kinds at step 2 (logged probe): ") and lines[2].count("active") == 1
    assert lines[3].startswith(f"training logs: {folder / 'logs'}")
    assert lines[4] == f"next: vae-passive analyze --model-dir {folder} --data procedural_dsprites"
