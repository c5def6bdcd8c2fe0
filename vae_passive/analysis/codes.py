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

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vae_passive import config
from vae_passive.atomic import save_npz
from vae_passive.errors import VaePassiveError
from vae_passive.metrics.common import check_codes as check_codes_array
from vae_passive.metrics.common import check_factors
from vae_passive.untrusted import load_npz

REQUIRED = ("mean", "logvar")
LAYOUT = (*REQUIRED, "sampled", "factors", "key")
#: Default caps on codes (docs/security.md), 10 times the study's N = 10,000 inputs and 100 times its 10 latents:
#: at the caps one float64 array takes 800 MB and the scores' latents² matrices 8 MB each.
MAX_ROWS = 100_000
MAX_LATENTS = 1_000
#: The arrays of one codes file, uncompressed as declared (every reader: analyze, score, report): the caps' mean,
#: logvar and sampled in float64 are 2.4 GB.
MAX_CODES_BYTES = 2 << 30
#: A model key names its results folder and seeds its noise: one plain folder name, never a path, a dot-name, a
#: newline or an escape sequence. Keys of digits only are zoo model ids: codes may use one in memory (to draw a
#: zoo model's sampled code) but never write results under it (``results_key``).
KEY_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
MAX_KEY_BYTES = 4 * 255  # the key array in a file, before it is read: a short string (4 bytes per UTF-32 character)


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


def limits() -> tuple[int, int]:
    """The caps on rows and on latents (``VAE_PASSIVE_MAX_CODES_ROWS``, ``VAE_PASSIVE_MAX_CODES_LATENTS``)."""
    return (
        int(config.positive(config.MAX_CODES_ROWS, MAX_ROWS)),
        int(config.positive(config.MAX_CODES_LATENTS, MAX_LATENTS)),
    )


def check_size(name: str, shape: tuple[int, ...], where: str = "") -> None:
    """Refuse an array with more rows or columns than ``limits()`` allows, from its shape alone (before it is read
    or converted): memory grows with rows x latents, time with rows x latents², a latents² matrix per score."""
    max_rows, max_columns = limits()
    if len(shape) >= 1 and shape[0] > max_rows:
        raise VaePassiveError(
            f"{where}{name} has {shape[0]:,} rows, more than the {max_rows:,} allowed; "
            f"subsample them or raise {config.MAX_CODES_ROWS} if they are genuine"
        )
    if len(shape) >= 2 and shape[1] > max_columns:
        raise VaePassiveError(
            f"{where}{name} has {shape[1]:,} columns, more than the {max_columns:,} allowed; "
            f"raise {config.MAX_CODES_LATENTS} if they are genuine"
        )


def float_codes(name: str, value: object, where: str = "") -> np.ndarray:
    """A 2-D finite float array within the size caps (``metrics.common.check_codes``); float32 stays float32, so
    that codes from ``analyze`` give its exact samples. The caps are checked before any conversion."""
    array = np.asarray(value)
    check_size(name, array.shape, where)
    try:
        return check_codes_array(array, name, keep_float=True)
    except (TypeError, ValueError) as error:
        raise VaePassiveError(f"{where}{error}") from None


def _factors(value: object, num: int, where: str) -> np.ndarray:
    """``metrics.common.check_factors`` (a 1-D array is one factor), its ValueError as a user's error."""
    array = np.asarray(value)
    check_size("factors", array.shape, where)
    try:
        return check_factors(array[:, None] if array.ndim == 1 else array, num)
    except ValueError as error:
        raise VaePassiveError(f"{where}{error}; give one integer class label per input and factor") from None


def _key(value: object, where: str) -> str:
    """The key array as text matching ``KEY_PATTERN`` (one safe folder name: no slash, newline, escape or dot-name)."""
    array = np.asarray(value)
    if array.ndim != 0 or array.dtype.kind not in "US":
        raise VaePassiveError(f"{where}key must be a single string, not a {array.dtype} array of shape {array.shape}")
    item = array.item()
    text = item.decode("ascii", "replace") if isinstance(item, bytes) else str(item)
    if not KEY_PATTERN.fullmatch(text):
        shown = text if len(text) <= 60 else text[:59] + "…"
        raise VaePassiveError(
            f"{where}key {shown!r} is not a plain name; give 1 to 128 ASCII letters, digits, '.', '_' or '-', "
            "starting with a letter, digit or '_'"
        )
    return text


def results_key(key: str, where: str = "") -> str:
    """``key`` if codes results may be written under it: a key of digits only is a zoo model id
    (``<results>/<id>/``), and a codes document written there would replace that model's results."""
    if key.isdigit():
        raise VaePassiveError(
            f"{where}key {key!r} is a zoo model id, whose results codes would replace; "
            f"give the codes another key (a key array or file name such as 'codes-{key}')"
        )
    return key


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


def read_arrays(path: str | Path, names: tuple[str, ...] = LAYOUT) -> dict[str, np.ndarray]:
    """The arrays ``names`` that the ``.npz`` at ``path`` holds, each held to ``MAX_CODES_BYTES``, the compression
    ratio and the size caps from its header, before it is read (``untrusted.load_npz``); one-line errors."""
    where = f"{path}: "

    def check(name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        if name != "key":
            check_size(name, shape, where)
        elif shape != () or dtype.itemsize > MAX_KEY_BYTES:
            raise VaePassiveError(f"{where}key must be one short string (a folder name), not {dtype} of shape {shape}")

    return load_npz(path, names, MAX_CODES_BYTES, check, required=False)


def read_codes(path: str | Path) -> Codes:
    """The checked ``Codes`` in ``path``; a missing array, a pickle or a bad value is one line naming the file."""
    path = Path(path)
    arrays = read_arrays(path)
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


def key_of(codes: Codes | None, path: str | Path) -> str:
    """The results key of a codes file (``results_key``): its ``key`` array, else (also when ``codes`` is None,
    a file that could not be read) the file name without ``.npz``, held to the same rules."""
    where = f"{path}: "
    if codes is not None and codes.key is not None:
        return results_key(codes.key, where)
    return results_key(_key(np.array(Path(path).name.removesuffix(".npz")), f"{where}the file name as "), where)
