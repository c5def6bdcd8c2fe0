"""``train --log-every K``: the paper's training dynamics (the authors' ``logged_vaes.py``).

Every K steps (and at step 0 and the last step) the training model's own encoder encodes a fixed
probe sample, by default the analysis' sample (N = 10,000, seed 2051556033, drawn 16 at a time from
the training data, sampled codes with ``noise_seed(seed, model id)``), and the analysis' own
functions turn the codes into per-latent statistics and kinds (``latents.variables``) and scores
(``analysis.analyze.score_representations``). So the last logged step equals ``analyze`` of the
final model at the same N and seed. Written to ``logs/`` as tidy Parquet tables
(``latents.parquet``, ``scores.parquet``, ``losses.parquet``, ``correlations.parquet``: the mean and
sampled codes' correlation matrices) and TensorBoard event files.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vae_passive.analysis.analyze import DATA_BATCH_SIZE, DEFAULT_NUM_SAMPLES, DEFAULT_SEED, score_representations
from vae_passive.atomic import write_file, write_text
from vae_passive.data import GroundTruthData, draw_batches
from vae_passive.errors import VaePassiveError
from vae_passive.latents.representations import noise_seed, sampled_representation
from vae_passive.latents.scores import SCORE_NAMES
from vae_passive.latents.variables import KINDS, Rule, classify, latent_statistics
from vae_passive.tfhub.runtime import tensorflow

SCORE_COLUMNS = ("step", "representation", "subset", "num_latents", *SCORE_NAMES)
TABLES = ("latents", "scores", "losses", "correlations")


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


def step_tables(step: int, mean: np.ndarray, logvar: np.ndarray, noise: int):
    """The latents and scores rows of one logged step, from codes (N, latents), as ``analyze`` computes them."""
    stats = latent_statistics(mean, logvar)
    kinds = classify(stats, Rule())  # the default rule, as `analyze` without --rule
    sampled = sampled_representation(mean, logvar, np.random.default_rng(noise))
    latents = pd.DataFrame(
        {
            "step": step,
            "latent": np.arange(len(kinds)),
            "kind": kinds.astype(str),
            "mean_of_variance": stats.mean_of_variance,
            "variance_of_variance": stats.variance_of_variance,
            "variance_of_mean": stats.variance_of_mean,
        }
    )
    rows = score_representations({"mean": mean, "sampled": sampled}, kinds)
    scores = pd.DataFrame([{"step": step, **row} for row in rows], columns=list(SCORE_COLUMNS))
    scores[list(SCORE_NAMES)] = scores[list(SCORE_NAMES)].astype(np.float64)
    return latents, scores, sampled


def correlation_table(step: int, mean: np.ndarray, sampled: np.ndarray) -> pd.DataFrame:
    """Pearson correlations of the mean and the sampled code, one row per latent pair (row, column)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant latent has no correlation (NaN)
        matrices = {
            name: np.corrcoef(np.asarray(code, np.float64), rowvar=False)
            for name, code in (("mean", mean), ("sampled", sampled))
        }
    rows, columns = np.indices(matrices["mean"].shape)
    return pd.DataFrame(
        {"step": step, "row": rows.ravel(), "column": columns.ravel(), **{k: m.ravel() for k, m in matrices.items()}}
    )


def _to_parquet(table: pd.DataFrame, target: Path) -> None:
    table.to_parquet(target, index=False)


class TrainingLog:
    """The tables and event files of one run's ``logs/`` folder, appended one logged step at a time."""

    def __init__(self, folder: Path, settings: LogSettings, model_key: str, loss_terms: tuple[str, ...]):
        self.folder, self.settings = folder, settings
        self.noise = noise_seed(settings.seed, model_key)
        self.loss_terms = loss_terms
        self.frames: dict[str, pd.DataFrame] = {}
        self._writer = None

    def open(self, start: int) -> set[int]:
        """Check the settings, keep the rows of steps up to ``start`` (a resumed run's), return their steps."""
        self.folder.mkdir(parents=True, exist_ok=True)
        settings_file = self.folder / "settings.json"
        if settings_file.exists() and json.loads(settings_file.read_text()) != asdict(self.settings):
            raise VaePassiveError(
                f"the logs in {self.folder} were written with other --log-every/--log-samples/--keep-checkpoints "
                "settings; rerun with the same ones or pass --restart"
            )
        write_text(settings_file, json.dumps(asdict(self.settings), indent=1))
        for name in TABLES:
            path = self.folder / f"{name}.parquet"
            frame = pd.read_parquet(path) if path.exists() else pd.DataFrame()
            self.frames[name] = frame[frame["step"] <= start] if len(frame) else frame
        tf = tensorflow()
        self._writer = tf.summary.create_file_writer(str(self.folder))
        return set(self.frames["latents"]["step"].tolist()) if len(self.frames["latents"]) else set()

    def record(self, step: int, mean: np.ndarray, logvar: np.ndarray, losses: Mapping[str, float]) -> None:
        """Compute and write one logged step: tables (rewritten atomically) and TensorBoard summaries."""
        latents, scores, sampled = step_tables(step, mean, logvar, self.noise)
        loss_row = pd.DataFrame([{"step": step, **{n: float(losses.get(n, np.nan)) for n in self.loss_terms}}])
        correlations = correlation_table(step, mean, sampled)
        new = {"latents": latents, "scores": scores, "losses": loss_row, "correlations": correlations}
        for name, frame in new.items():
            old = self.frames[name]
            self.frames[name] = pd.concat([old, frame], ignore_index=True) if len(old) else frame
            path = self.folder / f"{name}.parquet"
            write_file(path, functools.partial(_to_parquet, self.frames[name]))
        self._summaries(step, latents, scores, loss_row, mean, logvar, sampled)

    def _summaries(self, step, latents, scores, loss_row, mean, logvar, sampled) -> None:
        """TensorBoard: counts per kind, TC of mean vs sampled per subset, losses; mu, z, sigma^2 histograms."""
        tf = tensorflow()
        assert self._writer is not None
        with self._writer.as_default(step=step):
            for kind in KINDS:
                tf.summary.scalar(f"latents/{kind}", int((latents["kind"] == kind).sum()))
            for row in scores.itertuples(index=False):
                value = row.gaussian_total_correlation
                if np.isfinite(value):
                    tf.summary.scalar(f"total_correlation/{row.subset}/{row.representation}", value)
            for name in self.loss_terms:
                if np.isfinite(loss_row[name].iloc[0]):
                    tf.summary.scalar(f"loss/{name}", loss_row[name].iloc[0])
            variance = np.exp(logvar)
            for j in range(mean.shape[1]):
                tf.summary.histogram(f"mean/latent_{j}", mean[:, j])
                tf.summary.histogram(f"sampled/latent_{j}", sampled[:, j])
                tf.summary.histogram(f"variance/latent_{j}", variance[:, j])
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
