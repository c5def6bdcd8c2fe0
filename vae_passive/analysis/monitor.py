"""``TrainingMonitor``: how passive latents appear during training, from codes of any framework's loop.

The one writer of a run's training logs: ``train --log-every`` logs its probe sample's codes through it,
and a PyTorch, JAX or Keras loop can do the same (``vae_passive.TrainingMonitor``, docs/api.md). Each
``log(step, mean, logvar, losses)`` analyses the codes with the analysis' document builder
(``analysis.analyze.analyze_codes``: kinds and reasons under the default rule, the sampled code from
``noise_seed(seed, key)``, the scores), so a logged step equals ``analyze`` of the same codes, and adds
the step to ``<folder>/logs/``:

- ``latents.parquet``: step, latent, kind, reason and the three statistics;
- ``scores.parquet``: step, representation, subset, num_latents and the scores;
- ``losses.parquet``: step and the loss terms given (NaN where a step has none);
- ``correlations.parquet``: step, row, column, the mean and the sampled code's correlation and covariance;
- TensorBoard events (``analysis.events``): ``latents/<kind>``, ``total_correlation/<subset>/<representation>``,
  ``loss/<term>``, histograms ``mean/latent_j``, ``sampled/latent_j``, ``variance/latent_j``;

and writes the step's document as ``<folder>/analysis.json``, so ``vae-passive report --results``
on the folder's parent lists the run (as given codes) and draws its dynamics. The folder's name is the
run's key. Tables are rewritten atomically, ``latents.parquet`` last: a step is stored once its latents
are. A step logged again replaces the stored one; a reopened folder continues its tables, and its first
logged step replaces the stored steps from that step on (a run resumed from an earlier checkpoint
redoes them).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from vae_passive.analysis.analyze import DEFAULT_SEED, Settings, analyze_codes
from vae_passive.analysis.codes import Codes, check_codes
from vae_passive.analysis.document import AnalysisDocument, result_folder, write_document
from vae_passive.analysis.events import EventWriter
from vae_passive.atomic import write_file, write_text
from vae_passive.errors import VaePassiveError
from vae_passive.latents.scores import SCORE_NAMES, covariance
from vae_passive.latents.variables import KINDS
from vae_passive.untrusted import UnreadableFile, read_json, read_parquet

LATENT_COLUMNS = ("step", "latent", "kind", "reason", "mean_of_variance", "variance_of_variance", "variance_of_mean")
SCORE_COLUMNS = ("step", "representation", "subset", "num_latents", *SCORE_NAMES)
CORRELATION_COLUMNS = ("step", "row", "column", "mean", "sampled", "mean_covariance", "sampled_covariance")
#: The tables, in the order they are written: ``latents`` last marks a step as stored.
TABLES = ("scores", "losses", "correlations", "latents")
STATE_NAME = "monitor.json"


def step_tables(step: int, document: AnalysisDocument) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latents and scores rows of one step: the document's rows with the step (None scores as NaN)."""
    latents = pd.DataFrame(
        [
            {
                "step": step,
                "latent": row["index"],
                "kind": row["kind"],
                "reason": row.get("reason", ""),
                "mean_of_variance": row["mean_of_variance"],
                "variance_of_variance": row["variance_of_variance"],
                "variance_of_mean": row["variance_of_mean"],
            }
            for row in document["latents"]
        ],
        columns=list(LATENT_COLUMNS),
    )
    scores = pd.DataFrame([{"step": step, **row} for row in document["scores"]], columns=list(SCORE_COLUMNS))
    scores[list(SCORE_NAMES)] = scores[list(SCORE_NAMES)].astype(np.float64)
    return latents, scores


def correlation_table(step: int, mean: np.ndarray, sampled: np.ndarray) -> pd.DataFrame:
    """Pearson correlations and covariances (ddof 1, the scores' C) of the mean and the sampled code, one row
    per latent pair (row, column); a constant latent's correlations are NaN."""
    matrices = {}
    for name, code in (("mean", mean), ("sampled", sampled)):
        with np.errstate(divide="ignore", invalid="ignore"):
            matrices[name] = np.atleast_2d(np.corrcoef(np.asarray(code, np.float64), rowvar=False))
        matrices[f"{name}_covariance"] = covariance(code)
    rows, columns = np.indices(matrices["mean"].shape)
    return pd.DataFrame(
        {"step": step, "row": rows.ravel(), "column": columns.ravel(), **{k: m.ravel() for k, m in matrices.items()}},
        columns=list(CORRELATION_COLUMNS),
    )


def _step(step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise VaePassiveError(f"step {step!r} is not a training step; give a whole number >= 0")
    return int(step)


def _losses(losses: Mapping[str, object] | None) -> dict[str, float]:
    """The loss terms as floats (a framework's 0-d tensor converts); NaN is kept as "no value"."""
    if losses is None:
        return {}
    if not isinstance(losses, Mapping):
        raise VaePassiveError(f"losses must be a mapping of names to numbers, like {{'kl': 3.2}}, not {losses!r}")
    out = {}
    for name, value in losses.items():
        if not isinstance(name, str) or not name or name == "step":
            raise VaePassiveError(f"loss name {name!r} is not usable; name each term by a non-empty string but 'step'")
        try:
            out[name] = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise VaePassiveError(
                f"losses[{name!r}] = {value!r} is not a number; give a float or a 0-d tensor"
            ) from None
    return out


def _to_parquet(table: pd.DataFrame, target: Path) -> None:
    table.to_parquet(target, index=False)


class TrainingMonitor:
    """Logs the paper's training dynamics of one run into ``folder`` (``folder/logs/``, ``folder/analysis.json``).

    ``seed`` seeds the sampled code's noise with the run's key (the folder's name), as ``analyze``
    does; ``tensorboard=False`` writes no events (and imports no tensorboard). Bad input raises a
    one-line ``VaePassiveError`` before anything is written.
    """

    def __init__(self, folder: str | Path, *, seed: int = DEFAULT_SEED, tensorboard: bool = True):
        self.folder = Path(os.path.abspath(folder))
        self.key = self.folder.name
        result_folder(self.folder.parent, self.key)  # a plain folder name, so report finds the document
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
            raise VaePassiveError(f"seed {seed!r} must be a whole number between 0 and 2**32 - 1")
        self.seed = int(seed)
        self.logs = self.folder / "logs"
        self._state = self._read_state()
        self._frames = self._read_tables()
        self._events = EventWriter(self.logs) if tensorboard else None
        self._last: int | None = None  # the last step logged through this object
        self._closed = False

    def _read_state(self) -> dict:
        """The folder's settings and code shape from earlier logging, checked against ``seed``."""
        path = self.logs / STATE_NAME
        if not path.exists():
            return {}
        try:
            state = read_json(path)
            if not isinstance(state, dict):
                raise TypeError("not a JSON object")
            stored = int(state["seed"])
        except (UnreadableFile, KeyError, TypeError, ValueError) as error:
            raise VaePassiveError(f"{path} is damaged ({error}); remove {self.logs} to start the logs again") from None
        if stored != self.seed:
            raise VaePassiveError(
                f"the logs in {self.logs} were written with seed {stored}; pass seed={stored} or use another folder"
            )
        return dict(state)

    def _read_tables(self) -> dict[str, pd.DataFrame]:
        """The stored tables, keeping only steps whose latents were stored (the last table written)."""
        frames: dict[str, pd.DataFrame] = {}
        for name in TABLES:
            path = self.logs / f"{name}.parquet"
            try:
                frames[name] = read_parquet(path) if path.exists() else pd.DataFrame()
            except UnreadableFile as error:
                raise VaePassiveError(f"{error}; remove {self.logs} to start the logs again") from None
        stored = set(frames["latents"]["step"]) if len(frames["latents"]) else set()
        return {name: frame[frame["step"].isin(stored)] if len(frame) else frame for name, frame in frames.items()}

    @property
    def steps(self) -> tuple[int, ...]:
        """The stored steps, in order."""
        latents = self._frames["latents"]
        return tuple(sorted(int(step) for step in latents["step"].unique())) if len(latents) else ()

    def _codes(self, step: int, mean: object, logvar: object) -> Codes:
        """Checked codes of the same shape as every earlier step's."""
        if self._last is not None and step < self._last:
            raise VaePassiveError(
                f"step {step} comes before step {self._last}, logged last; steps must not go backwards "
                "(log a step again to replace it)"
            )
        codes = check_codes(mean, logvar, where=f"step {step}")
        shape = [int(n) for n in codes.mean.shape]
        if self._state.get("shape", shape) != shape:
            raise VaePassiveError(
                f"step {step}: the codes have shape {tuple(shape)}, earlier steps in {self.logs} "
                f"{tuple(self._state['shape'])}; encode the same probe inputs at every step (or use another folder)"
            )
        return codes

    def log(
        self, step: int, mean: object, logvar: object, losses: Mapping[str, object] | None = None
    ) -> dict[str, int]:
        """Analyse the codes (N x latents) of the probe inputs at ``step`` and store the step; return the
        latents per kind. ``losses`` (optional) are the loss terms to record with it."""
        if self._closed:
            raise VaePassiveError(f"the monitor of {self.folder} is closed; open a new TrainingMonitor")
        step = _step(step)
        codes = self._codes(step, mean, logvar)
        terms = _losses(losses)
        result = analyze_codes(codes, Settings(seed=self.seed), self.key, path=str(self.folder))
        sampled = result.codes["sampled"]
        latents, scores = step_tables(step, result.document)
        new = {
            "scores": scores,
            "losses": pd.DataFrame([{"step": step, **terms}]),
            "correlations": correlation_table(step, codes.mean, sampled),
            "latents": latents,
        }
        self._store(step, new, [int(n) for n in codes.mean.shape])
        write_document(self.folder.parent, result.document)
        self._last = step
        if self._events is not None:
            self._summaries(step, latents, scores, terms, codes, sampled)
        return dict(result.document["counts"])

    def _store(self, step: int, new: dict[str, pd.DataFrame], shape: list[int]) -> None:
        """Write each table with the stored steps before ``step`` and the new rows (``latents`` last)."""
        state = {"seed": self.seed, "key": self.key, "shape": shape}
        if state != self._state:
            write_text(self.logs / STATE_NAME, json.dumps(state, indent=1) + "\n")
            self._state = state
        frames = {}
        for name in TABLES:
            old = self._frames[name]
            kept = old[old["step"] < step] if len(old) else old
            frames[name] = pd.concat([kept, new[name]], ignore_index=True) if len(kept) else new[name]
            write_file(self.logs / f"{name}.parquet", functools.partial(_to_parquet, frames[name]))
        self._frames = frames

    def _summaries(self, step, latents, scores, terms, codes: Codes, sampled: np.ndarray) -> None:
        """TensorBoard: counts per kind, TC of mean vs sampled per subset, losses; mu, z, sigma^2 histograms."""
        assert self._events is not None
        scalars: dict[str, float] = {f"latents/{kind}": int((latents["kind"] == kind).sum()) for kind in KINDS}
        for row in scores.itertuples(index=False):
            if np.isfinite(row.gaussian_total_correlation):
                scalars[f"total_correlation/{row.subset}/{row.representation}"] = row.gaussian_total_correlation
        scalars.update({f"loss/{name}": value for name, value in terms.items() if np.isfinite(value)})
        variance = np.exp(codes.logvar)
        histograms = {}
        for j in range(codes.mean.shape[1]):
            histograms[f"mean/latent_{j}"] = codes.mean[:, j]
            histograms[f"sampled/latent_{j}"] = sampled[:, j]
            histograms[f"variance/latent_{j}"] = variance[:, j]
        self._events.write(step, scalars, histograms)

    def close(self) -> None:
        """Close the event file; the tables are complete after every ``log``."""
        if self._events is not None:
            self._events.close()
        self._closed = True

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
