import json
import subprocess
import sys

import numpy as np

from vae_passive import home
from vae_passive.latents.representations import sampled_representation, variance_representation


def test_home_env(isolated_home, monkeypatch, tmp_path):
    assert home.home() == isolated_home
    assert home.model_dir(12) == isolated_home / "models" / "12"
    monkeypatch.delenv("VAE_PASSIVE_HOME")
    assert "vae-passive" in str(home.home())


def test_info_json(cli, isolated_home):
    facts = json.loads(cli("info", "--json").stdout)
    assert facts["home"] == str(isolated_home)
    assert facts["results"] == str(isolated_home / "results")
    assert facts["gpus"] == [] or all(isinstance(g, str) for g in facts["gpus"])
    assert facts["tensorflow"] and facts["numpy"] == np.__version__


def test_sampled_representation_statistics():
    mean = np.tile(np.array([[0.0, 3.0, -1.0]], np.float32), (200_000, 1))
    logvar = np.tile(np.array([[0.0, np.log(4.0), -20.0]], np.float32), (200_000, 1))
    z = sampled_representation(mean, logvar, 7)
    assert z.dtype == np.float32
    assert np.allclose(z.mean(0), [0, 3, -1], atol=0.02)
    assert np.allclose(z.std(0), [1, 2, np.exp(-10)], rtol=0.02, atol=1e-6)
    assert np.array_equal(z, sampled_representation(mean, logvar, np.random.default_rng(7)))
    assert np.allclose(variance_representation(logvar[:1]), [[1, 4, np.exp(-20)]])


def test_console_script_error_is_one_line(tmp_path):
    """The installed entry point, in its own process: one line on stderr, exit code 1."""
    result = subprocess.run(
        [sys.executable, "-m", "vae_passive", "list", "--ids", "nope"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: cannot read id selection 'nope' in 'nope'; write e.g. 0-99,300,1800-1805"
    ]
