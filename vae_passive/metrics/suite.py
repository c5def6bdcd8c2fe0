"""Every requested metric on mean and sampled codes of one model, for the latent subsets
``full``, ``active`` and ``active+mixed``: the ``metrics`` rows of the analysis document.

One ``EncodedData`` (when the data set allows it) serves every metric, subset and both
representations, so each needed image is encoded once per model. Each (representation, metric)
draws with unsupervised_study_v1's seed, the same for every subset; sampled codes take fresh noise
from a Generator seeded likewise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vae_passive.metrics import registry
from vae_passive.metrics.common import Represent
from vae_passive.metrics.encoded import EncodedData, image_representation, supports_index_cache
from vae_passive.variables import subset_indices

METRIC_SUBSETS = ("full", "active", "active+mixed")
REPRESENTATIONS = ("mean", "sampled")


def _columns(represent: Represent, indices: np.ndarray) -> Represent:
    return lambda observations: represent(observations)[:, indices]


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def metric_rows(
    data,
    encode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    kinds: np.ndarray,
    metrics: tuple[str, ...],
    preset: str = "full",
    jobs: int = 1,
) -> list[dict]:
    """Rows ``{representation, subset, metric, key, value}``; a metric that fails on a degenerate
    subset gives one row with ``key`` and ``value`` null and the ``error``."""
    source = EncodedData(data, encode) if supports_index_cache(data) else data
    rows: list[dict] = []
    for representation in REPRESENTATIONS:
        for subset in METRIC_SUBSETS:
            indices = subset_indices(kinds, subset)
            for name in metrics:
                if len(indices) < max(1, registry.REGISTRY[name].min_latents):
                    continue
                seed = registry.seed_for(representation, name)
                rng = np.random.default_rng(seed)
                if isinstance(source, EncodedData):
                    represent = source.represent(representation, rng)
                else:
                    represent = image_representation(encode, representation, rng)
                base = {"representation": representation, "subset": subset, "metric": name}
                try:
                    result = registry.evaluate(
                        name, source, _columns(represent, indices), np.random.RandomState(seed), preset, jobs
                    )
                except ValueError as error:
                    rows.append({**base, "key": None, "value": None, "error": str(error).splitlines()[0]})
                    continue
                rows.extend({**base, "key": key, "value": _finite_or_none(value)} for key, value in result.items())
    return rows
