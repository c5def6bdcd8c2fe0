"""The one codes layout: an ``.npz`` that ``encode``, ``analyze --save-codes``, ``score`` and ``analyze --codes`` share.

| array | shape | |
|---|---|---|
| ``mean`` | (N, latents) float | required: μ(x) |
| ``logvar`` | (N, latents) float | required: log σ²(x) |
| ``sampled`` | (N, latents) float | written by ``encode`` and ``analyze``; ``analyze --codes`` draws its own |
| ``factors`` | (N, factors) integer | optional: ground-truth factors, needed by the metrics |
| ``key`` | () string | optional: the model's name (results folder, noise seed) |

Written through ``atomic.save_npz``, read through ``untrusted.load_npz`` (no pickles); every way a file
or an array can be wrong is one ``VaePassiveError`` line naming the array and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vae_passive.atomic import save_npz
from vae_passive.errors import VaePassiveError
from vae_passive.metrics.common import check_factors
from vae_passive.untrusted import load_npz

REQUIRED = ("mean", "logvar")
#: A codes file's arrays may hold at most this many bytes (uncompressed): 10,000 x 1,000 latents x 3 in float64.
MAX_CODES_BYTES = 1 << 30


@dataclass(frozen=True)
class Codes:
    """Checked arrays of one model: float codes (N, latents), int64 factors (N, factors) or None, a key or None."""

    mean: np.ndarray
    logvar: np.ndarray
    sampled: np.ndarray | None = None
    factors: np.ndarray | None = None
    key: str | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to save, in the layout's names (absent ones left out)."""
        out = {"mean": self.mean, "logvar": self.logvar}
        if self.sampled is not None:
            out["sampled"] = self.sampled
        if self.factors is not None:
            out["factors"] = self.factors
        if self.key is not None:
            out["key"] = np.array(self.key)
        return out


def float_codes(name: str, value: object, where: str = "") -> np.ndarray:
    """A 2-D finite float array; float32 stays float32, so that codes from ``analyze`` give its exact samples."""
    try:
        array = np.asarray(value)
        if not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float64)
    except (TypeError, ValueError):
        raise VaePassiveError(f"{where}{name} is not numeric; give an (N, latents) float array") from None
    if array.ndim != 2 or array.shape[1] < 1:
        raise VaePassiveError(f"{where}{name} has shape {array.shape}; it must be (N, latents)")
    if not np.all(np.isfinite(array)):
        raise VaePassiveError(f"{where}{name} holds NaN or infinite values; drop or fix those rows")
    return array


def _factors(value: object, num: int, where: str) -> np.ndarray:
    """``metrics.common.check_factors`` (a 1-D array is one factor), its ValueError as a user's error."""
    array = np.asarray(value)
    try:
        return check_factors(array[:, None] if array.ndim == 1 else array, num)
    except ValueError as error:
        raise VaePassiveError(f"{where}{error}; give one integer class label per input and factor") from None


def _key(value: object, where: str) -> str:
    array = np.asarray(value)
    if array.ndim != 0 or array.dtype.kind not in "US":
        raise VaePassiveError(f"{where}key must be a single string, not a {array.dtype} array of shape {array.shape}")
    text = str(array.item().decode() if isinstance(array.item(), bytes) else array.item())
    if not text or text in (".", "..") or any(c in text for c in "/\\\0"):
        raise VaePassiveError(f"{where}key {text!r} is not a plain folder name; give a name without slashes")
    return text


def check_codes(
    mean: object,
    logvar: object,
    sampled: object | None = None,
    factors: object | None = None,
    key: object | None = None,
    where: str = "",
) -> Codes:
    """The arrays as ``Codes``: one shape, N >= 2, finite; factors with one row per input. ``where`` prefixes errors."""
    prefix = f"{where}: " if where else ""
    checked_mean = float_codes("mean", mean, prefix)
    checked_logvar = float_codes("logvar", logvar, prefix)
    if checked_mean.shape != checked_logvar.shape:
        raise VaePassiveError(
            f"{prefix}mean {checked_mean.shape} and logvar {checked_logvar.shape} differ in shape; "
            "give both as (N, latents) for the same inputs"
        )
    if len(checked_mean) < 2:
        raise VaePassiveError(f"{prefix}the codes have {len(checked_mean)} row(s); classifying needs N >= 2 inputs")
    checked_sampled = None
    if sampled is not None:
        checked_sampled = float_codes("sampled", sampled, prefix)
        if checked_sampled.shape != checked_mean.shape:
            raise VaePassiveError(f"{prefix}sampled {checked_sampled.shape} differs from mean {checked_mean.shape}")
    return Codes(
        checked_mean,
        checked_logvar,
        checked_sampled,
        None if factors is None else _factors(factors, len(checked_mean), prefix),
        None if key is None else _key(key, prefix),
    )


def read_codes(path: str | Path) -> Codes:
    """The checked ``Codes`` in ``path``; a missing array, a pickle or a bad value is one line naming the file."""
    path = Path(path)
    arrays = load_npz(path, max_bytes=MAX_CODES_BYTES)
    missing = [name for name in REQUIRED if name not in arrays]
    if missing:
        raise VaePassiveError(
            f"{path} lacks {' and '.join(missing)}; a codes file holds mean and logvar (N x latents), "
            "optionally sampled, factors and key (docs/api.md)"
        )
    return check_codes(
        arrays["mean"], arrays["logvar"], arrays.get("sampled"), arrays.get("factors"), arrays.get("key"), str(path)
    )


def save_codes(path: str | Path, codes: Codes) -> None:
    """Write ``codes`` to ``path`` in the layout, atomically."""
    save_npz(path, **codes.arrays())


def key_of(codes: Codes, path: str | Path) -> str:
    """The model key of a codes file: its ``key`` array, else the file name without ``.npz``."""
    return codes.key if codes.key is not None else _key(np.array(Path(path).name.removesuffix(".npz")), f"{path}: ")
