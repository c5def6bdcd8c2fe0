"""Every environment variable the tool reads: its name, its default, and how it is parsed.

Values are read when asked for, never at import, so tests and long-running processes see changes.
A value that cannot be parsed is a one-line error naming the variable and what it should hold.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

from vae_passive.errors import VaePassiveError

HOME = "VAE_PASSIVE_HOME"  # the home folder (models, data, results); default: the user cache folder
OFFLINE = "VAE_PASSIVE_OFFLINE"  # 1: no network at all
MIRROR = "VAE_PASSIVE_MIRROR"  # model mirrors, separated by whitespace
UPSTREAM = "VAE_PASSIVE_UPSTREAM"  # replaces the upstream bucket's base URL (e.g. a proxy)
RETRY_BASE = "VAE_PASSIVE_RETRY_BASE"  # first back-off delay of downloads, seconds
MAX_DOWNLOAD_BYTES = "VAE_PASSIVE_MAX_DOWNLOAD_BYTES"  # one model zip downloaded
MAX_MODEL_BYTES = "VAE_PASSIVE_MAX_MODEL_BYTES"  # declared uncompressed size of one zip
MAX_COMPRESSION_RATIO = "VAE_PASSIVE_MAX_COMPRESSION_RATIO"  # uncompressed / compressed size of one zip
DOWNLOAD_DEADLINE = "VAE_PASSIVE_DOWNLOAD_DEADLINE"  # seconds for one download, all tries together
DATA = "DISENTANGLEMENT_LIB_DATA"  # disentanglement_lib's data folder, searched first
DATA_MIRROR = "VAE_PASSIVE_DATA_MIRROR"  # a base URL serving the data sets' files
MAX_DATA_BYTES = "VAE_PASSIVE_MAX_DATA_BYTES"  # one data-set file downloaded or unpacked
DATA_DEADLINE = "VAE_PASSIVE_DATA_DEADLINE"  # seconds for one data-set download
MAX_GRAPH_BYTES = "VAE_PASSIVE_MAX_GRAPH_BYTES"  # a module's saved_model.pb
MAX_CONST_BYTES = "VAE_PASSIVE_MAX_CONST_BYTES"  # one constant in a module's graph
MAX_CODES_ROWS = "VAE_PASSIVE_MAX_CODES_ROWS"  # inputs (rows) of codes analysed, scored or read by the report
MAX_CODES_LATENTS = "VAE_PASSIVE_MAX_CODES_LATENTS"  # latents (columns) of those codes, and factors' columns
SCHEDULER = "VAE_PASSIVE_SCHEDULER"  # the Dask scheduler of `analyze --executor dask`
DEBUG = "VAE_PASSIVE_DEBUG"  # 1: show tracebacks instead of one-line errors

_TRUE = ("1", "true", "yes", "on")


def text(name: str, default: str = "") -> str:
    """The variable's value, stripped; ``default`` when unset or blank."""
    return os.environ.get(name, "").strip() or default


def flag(name: str) -> bool:
    """True when the variable is 1, true, yes or on (any case)."""
    return text(name).lower() in _TRUE


def words(name: str) -> list[str]:
    """The variable's whitespace-separated words (e.g. several mirrors)."""
    return text(name).split()


def positive(name: str, default: float) -> float:
    """A positive number (bytes, seconds, a ratio); ``default`` when unset."""
    return _number(name, default, lambda n: n > 0, f"is not a positive number; unset it or give e.g. {default:g}")


def non_negative(name: str, default: float) -> float:
    """A number >= 0 (e.g. a delay in seconds); ``default`` when unset."""
    return _number(name, default, lambda n: n >= 0, "is not a delay in seconds; set e.g. 1 or 0.01")


def _number(name: str, default: float, accept: Callable[[float], bool], problem: str) -> float:
    """The variable as a finite number that ``accept`` takes, else a one-line error ending in ``problem``."""
    value = text(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not (math.isfinite(number) and accept(number)):
        raise VaePassiveError(f"{name}={value!r} {problem}")
    return number
