"""The tool's home folder: the one place that knows where models, data and results live.

``VAE_PASSIVE_HOME`` overrides the default, the user cache folder of ``vae-passive``.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

from vae_passive import config

HOME_ENV = config.HOME


def home() -> Path:
    """The home folder (not created here)."""
    configured = config.text(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_cache_dir("vae-passive"))


def models_dir() -> Path:
    """Cached models: ``models/<id>/`` holds the content of a zip's ``<id>/`` folder."""
    return home() / "models"


def model_dir(model_id: int) -> Path:
    """The cache folder of one model."""
    return models_dir() / str(model_id)


def data_dir() -> Path:
    """Ground-truth data sets, when ``DISENTANGLEMENT_LIB_DATA`` does not have them."""
    return home() / "data"


def results_dir() -> Path:
    """Analysis documents, one folder per model."""
    return home() / "results"
