"""Shared fixtures: modules written by the project's own exporter, an isolated home folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from vae_passive.tfhub.architecture import random_weights
from vae_passive.tfhub.exporter import write_model_folder, write_module


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own VAE_PASSIVE_HOME and no network-facing settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("VAE_PASSIVE_HOME", str(home))
    monkeypatch.delenv("VAE_PASSIVE_MIRROR", raising=False)
    monkeypatch.delenv("DISENTANGLEMENT_LIB_DATA", raising=False)
    return home


@pytest.fixture(scope="session")
def weights_1ch() -> dict[str, np.ndarray]:
    return random_weights(1, 10, seed=1)


@pytest.fixture(scope="session")
def weights_3ch() -> dict[str, np.ndarray]:
    return random_weights(3, 10, seed=3)


@pytest.fixture(scope="session")
def module_1ch(tmp_path_factory, weights_1ch) -> Path:
    return write_module(tmp_path_factory.mktemp("m1") / "tfhub", weights_1ch, 1, 10)


@pytest.fixture(scope="session")
def module_3ch(tmp_path_factory, weights_3ch) -> Path:
    return write_module(tmp_path_factory.mktemp("m3") / "tfhub", weights_3ch, 3, 10)


@pytest.fixture(scope="session")
def model_folder_1ch(tmp_path_factory, weights_1ch) -> Path:
    return write_model_folder(
        tmp_path_factory.mktemp("zoo"), 0, weights_1ch, dataset="dsprites_full", channels=1, num_latents=10
    )


@pytest.fixture
def cli():
    """Invoke the CLI in-process; returns the click Result."""
    from vae_passive.cli import main

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke
