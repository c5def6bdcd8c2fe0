"""Every requested metric on mean and sampled codes of one model, for the latent subsets
``full``, ``active`` and ``active+mixed``: the ``metrics`` rows of the analysis document. The
truncated downstream tasks score their own subsets (all of the study's, and ``random``) in one run.

One ``EncodedData`` (when the data set allows it) serves every metric, subset and both
representations, so each needed image is encoded once per model. Each (representation, metric)
draws its inputs with unsupervised_study_v1's seed, the same for every subset; sampled codes take
fresh noise from a Generator seeded with ``noise_seed(that seed, model key)``, so that, as upstream,
no two models share their noise. A pair subset is scored only when both of its kinds have latents
(``study_subsets``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.latents.representations import REPRESENTATIONS, noise_seed
from vae_passive.latents.scores import finite_or_none
from vae_passive.latents.variables import study_subsets
from vae_passive.metrics import registry
from vae_passive.metrics.classifiers import DEFAULT_CLASSIFIERS
from vae_passive.metrics.common import Represent
from vae_passive.metrics.encoded import EncodedData, image_representation, supports_index_cache

METRIC_SUBSETS = ("full", "active", "active+mixed")


def _columns(represent: Represent, indices: np.ndarray) -> Represent:
    return lambda observations: represent(observations)[:, indices]


#: Told of each step before it runs: (steps done, steps in all, "representation/subset/metric").
Progress = Callable[[int, int, str], None]


def metric_steps(kinds: np.ndarray, metrics: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(representation, subset, metric) in run order, without subsets too small for the metric."""
    present = study_subsets(kinds)

    def runs(subset: str, name: str) -> bool:
        spec = registry.REGISTRY[name]
        if spec.per_subset or spec.full_only:  # once per representation, on the full code
            return subset == "full"
        return subset in present and len(present[subset]) >= max(1, spec.min_latents)

    return [
        (representation, subset, name)
        for representation in REPRESENTATIONS
        for subset in METRIC_SUBSETS
        for name in metrics
        if runs(subset, name)
    ]


def metric_rows(
    data: FactorSampler,
    encode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    kinds: np.ndarray,
    metrics: tuple[str, ...],
    preset: str = "full",
    jobs: int = 1,
    progress: Progress | None = None,
    model_key: str = "",
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
) -> list[dict]:
    """Rows ``{representation, subset, metric, key, value, preset, classifier_defaults}``; a metric that
    fails on a degenerate subset gives one row with ``key`` and ``value`` null and the ``error``.
    ``model_key`` seeds the sampled codes' noise (``noise_seed``)."""
    source = EncodedData(data, encode) if supports_index_cache(data) else data
    steps = metric_steps(kinds, metrics)
    rows: list[dict] = []
    for done, (representation, subset, name) in enumerate(steps):
        if progress is not None:
            progress(done, len(steps), f"{representation}/{subset}/{name}")
        seed = registry.seed_for(representation, name)
        rng = np.random.default_rng(noise_seed(seed, model_key))
        if isinstance(source, EncodedData):
            represent = source.represent(representation, rng)
        else:
            represent = image_representation(encode, representation, rng)
        indices = study_subsets(kinds)[subset]
        base = {"representation": representation, "subset": subset, "metric": name}
        try:
            result = registry.evaluate(
                name, source, _columns(represent, indices), np.random.RandomState(seed), preset, jobs, kinds,
                classifier_defaults,
            )  # fmt: skip
        except ValueError as error:
            rows.append({**base, "key": None, "value": None, "error": str(error).splitlines()[0]})
            continue
        if registry.REGISTRY[name].per_subset:
            rows.extend(
                {**base, "subset": part, "key": key, "value": finite_or_none(value)}
                for part, scores in result.items()
                for key, value in scores.items()
            )
        else:
            rows.extend({**base, "key": key, "value": finite_or_none(value)} for key, value in result.items())
    if progress is not None:
        progress(len(steps), len(steps), "done")
    return [{**row, **row_settings(preset, classifier_defaults)} for row in rows]


def row_settings(preset: str, classifier_defaults: str) -> dict[str, str | int]:
    """What every metric row records of the settings that change its numbers: the preset (and its version when
    its settings changed since documents first recorded it: ``registry.PRESET_VERSIONS``) and the classifiers'."""
    version = registry.PRESET_VERSIONS.get(preset)
    return {
        "preset": preset,
        **({"preset_version": version} if version else {}),
        "classifier_defaults": classifier_defaults,
    }
