"""``train --log-every K``: the paper's training dynamics (the authors' ``logged_vaes.py``) for models trained here.

Every K steps (and at step 0 and the last step) the training model's own encoder encodes a fixed
probe sample, by default the analysis' sample (N = 10,000, seed 2051556033, drawn 16 at a time from
the training data), and ``analysis.monitor.TrainingMonitor``, the one writer of training logs (also
``vae_passive.TrainingMonitor`` for other frameworks), analyses the codes and stores the step in the
checkpoint folder's ``logs/``. The checkpoint folder is named by the model id, the monitor's key, so
the sampled codes use ``noise_seed(seed, model id)`` and the last logged step equals ``analyze`` of
the final model at the same N and seed. This module keeps what is particular to training: the
settings a resumed run must keep and the probe sample.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vae_passive.analysis.analyze import DATA_BATCH_SIZE, DEFAULT_NUM_SAMPLES, DEFAULT_SEED
from vae_passive.analysis.monitor import TrainingMonitor
from vae_passive.atomic import write_text
from vae_passive.data import GroundTruthData, draw_batches
from vae_passive.errors import VaePassiveError


@dataclass(frozen=True)
class LogSettings:
    """What the logs depend on; a resumed run must keep them (``settings.json`` in ``logs/``)."""

    every: int
    num_samples: int = DEFAULT_NUM_SAMPLES
    seed: int = DEFAULT_SEED
    keep_checkpoints: bool = False

    def __post_init__(self) -> None:
        if self.every < 1:
            raise VaePassiveError(f"--log-every must be at least 1 step (got {self.every}); 1000 as the authors")
        if self.num_samples < 2:
            raise VaePassiveError(
                f"--log-samples must be at least 2 (got {self.num_samples}); the analysis uses {DEFAULT_NUM_SAMPLES}"
            )

    def logged(self, step: int, last: int) -> bool:
        """Whether ``step`` is logged in a run of ``last`` steps: 0, every K, and the last."""
        return step % self.every == 0 or step == last


def probe_sample(data: GroundTruthData, settings: LogSettings) -> np.ndarray:
    """The probe images: the analysis' draw (``draw_batches``, batches of 16, ``settings.seed``)."""
    _, images = draw_batches(data, settings.num_samples, np.random.RandomState(settings.seed), DATA_BATCH_SIZE)
    return images


def open_monitor(run_folder: Path, settings: LogSettings) -> TrainingMonitor:
    """The monitor of ``run_folder`` (logs in ``run_folder/logs``), refusing logs written with other settings."""
    settings_file = run_folder / "logs" / "settings.json"
    if settings_file.exists() and json.loads(settings_file.read_text()) != asdict(settings):
        raise VaePassiveError(
            f"the logs in {settings_file.parent} were written with other --log-every/--log-samples/--keep-checkpoints "
            "settings; rerun with the same ones or pass --restart"
        )
    monitor = TrainingMonitor(run_folder, seed=settings.seed)
    write_text(settings_file, json.dumps(asdict(settings), indent=1))
    return monitor
