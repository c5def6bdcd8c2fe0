"""Every metric by name: how to compute it, unsupervised_study_v1's settings, a fast preset.

``evaluate(data, represent, random_state, **params)`` draws its own inputs in upstream's order;
``compute`` (fixed-sample metrics only) scores given arrays; ``FIXED_SAMPLE`` metrics take
``(codes, factors, test_codes, test_factors)`` through ``compute_fixed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from vae_passive.data.base import FactorSampler
from vae_passive.metrics import (
    dci,
    downstream,
    effective_rank,
    interventions,
    irs,
    mig,
    modularity,
    sap,
    truncated,
    unsupervised,
)
from vae_passive.metrics.classifiers import DEFAULT_CLASSIFIERS, check_classifier_defaults
from vae_passive.metrics.common import Represent
from vae_passive.metrics.predictors import N_ESTIMATORS


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its sampling wrapper, its settings, and how it uses codes."""

    evaluate: Callable[..., dict]
    defaults: dict
    fast: dict
    #: Scores a fixed sample of (codes, factors): usable by ``score``; the others intervene on factors.
    fixed_sample: bool = True
    #: Needs a held-out test sample (``num_test``) beside the training one.
    needs_test: bool = False
    #: Fewest latents the metric is defined on.
    min_latents: int = 1
    #: Fits independent models that ``jobs`` spreads over workers (processes).
    parallel: bool = False
    #: Takes the latents' ``kinds`` and scores every latent subset itself: ``{subset: {key: value}}``.
    per_subset: bool = False
    #: Scored on the full code only (the authors' effective rank).
    full_only: bool = False
    #: Fits the linear classifiers whose scikit-learn defaults changed since 2019 (``metrics.classifiers``).
    classifiers: bool = False
    compute: Callable[..., dict] | None = field(default=None, compare=False)


def _lr(codes, factors, test_codes, test_factors, **params):
    return downstream.compute_downstream(codes, factors, test_codes, test_factors, "logistic_regression", **params)


def _gbt(codes, factors, test_codes, test_factors, **params):
    return downstream.compute_downstream(codes, factors, test_codes, test_factors, "boosted_trees", **params)


#: The fast preset keeps boosted trees and one-vs-rest CV fits small: they dominate a quick look's time,
#: per fit and per class rather than per point (docs/metrics.md, "Speed"), so its predictors are smaller
#: too: 5 boosting rounds instead of 100, and logistic regression at C = 1 instead of a 10-C, 5-fold CV.
_SIZES_FAST = (10,)
_TREES, _TREES_FAST = {"n_estimators": N_ESTIMATORS}, {"n_estimators": 5}
_CV, _CV_FAST = {"cross_validated": True}, {"cross_validated": False}
REGISTRY: dict[str, MetricSpec] = {
    "beta_vae_sklearn": MetricSpec(
        interventions.evaluate_beta_vae,
        {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000},
        {"batch_size": 16, "num_train": 200, "num_eval": 100},
        fixed_sample=False, classifiers=True,
    ),
    "factor_vae_metric": MetricSpec(
        interventions.evaluate_factor_vae,
        {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000, "num_variance_estimate": 10_000,
         "prune_threshold": 0.05},
        {"batch_size": 16, "num_train": 200, "num_eval": 100, "num_variance_estimate": 1_000, "prune_threshold": 0.05},
        fixed_sample=False,
    ),
    "mig": MetricSpec(
        mig.evaluate, {"num_train": 10_000, "num_bins": 20}, {"num_train": 1_000, "num_bins": 20},
        min_latents=2, compute=lambda c, f, tc, tf, **p: mig.compute_mig(c, f, **p),
    ),
    "dci": MetricSpec(
        dci.evaluate,
        {"num_train": 10_000, "num_test": 5_000, **_TREES},
        {"num_train": 100, "num_test": 100, **_TREES_FAST},
        needs_test=True, parallel=True, compute=dci.compute_dci,
    ),
    "sap_score": MetricSpec(
        sap.evaluate,
        {"num_train": 10_000, "num_test": 5_000, "continuous_factors": False},
        {"num_train": 300, "num_test": 150, "continuous_factors": False},
        needs_test=True, min_latents=2, parallel=True, classifiers=True, compute=sap.compute_sap,
    ),
    "modularity_explicitness": MetricSpec(
        modularity.evaluate,
        {"num_train": 10_000, "num_test": 5_000, "num_bins": 20},
        {"num_train": 1_000, "num_test": 500, "num_bins": 20},  # explicitness needs every class in the test sample
        needs_test=True, parallel=True, classifiers=True, compute=modularity.compute_modularity_explicitness,
    ),
    "irs": MetricSpec(
        irs.evaluate,
        {"num_train": 10_000, "batch_size": 16, "diff_quantile": 0.99, "num_bins": 20},
        {"num_train": 1_000, "batch_size": 16, "diff_quantile": 0.99, "num_bins": 20},
        compute=lambda c, f, tc, tf, **p: irs.compute_irs(c, f, **p),
    ),
    "unsupervised": MetricSpec(
        unsupervised.evaluate, {"num_train": 10_000, "num_bins": 20}, {"num_train": 1_000, "num_bins": 20},
        min_latents=2, compute=lambda c, f, tc, tf, **p: unsupervised.compute_unsupervised(c, **p),
    ),
    "downstream_task_logistic_regression": MetricSpec(
        partial(downstream.evaluate, predictor="logistic_regression"),
        {"num_train": (10, 100, 1_000, 10_000), "num_test": 5_000, **_CV},
        {"num_train": _SIZES_FAST, "num_test": 100, **_CV_FAST},
        needs_test=True, parallel=True, classifiers=True, compute=_lr,
    ),
    "downstream_task_boosted_trees": MetricSpec(
        partial(downstream.evaluate, predictor="boosted_trees"),
        {"num_train": (10, 100, 1_000, 10_000), "num_test": 5_000, **_TREES},
        {"num_train": _SIZES_FAST, "num_test": 100, **_TREES_FAST},
        needs_test=True, parallel=True, compute=_gbt,
    ),
    "effective_rank": MetricSpec(
        effective_rank.evaluate, {"num_train": 10_000}, {"num_train": 1_000}, full_only=True,
        compute=lambda c, f, tc, tf, **p: effective_rank.compute_effective_rank(c),
    ),
    "truncated_downstream_task_logistic_regression": MetricSpec(
        partial(truncated.evaluate, predictor="logistic_regression"),
        {"num_train": 10_000, "num_test": 5_000, **_CV}, {"num_train": 50, "num_test": 50, **_CV_FAST},
        fixed_sample=False, needs_test=True, parallel=True, per_subset=True, classifiers=True,
    ),
    "truncated_downstream_task_boosted_trees": MetricSpec(
        partial(truncated.evaluate, predictor="boosted_trees"),
        {"num_train": 10_000, "num_test": 5_000, **_TREES}, {"num_train": 50, "num_test": 50, **_TREES_FAST},
        fixed_sample=False, needs_test=True, parallel=True, per_subset=True,
    ),
}  # fmt: skip
#: Metric sizes: unsupervised_study_v1's (``full``), small ones for a quick look (``fast``), or
#: ``study``: full sizes, and without ``--metrics`` the metrics the paper computed (``STUDY_METRICS``).
PRESETS = ("full", "fast", "study")
#: A preset whose settings changed after documents recorded it: its version now (1 when absent). Fast 2 (2026-12-07):
#: 5 boosting rounds and a fixed C instead of 100 rounds and LogisticRegressionCV, smaller SAP and intervention samples.
PRESET_VERSIONS = {"fast": 2}
#: What "Be More Active!" computed and reported beyond the document's own scores: the authors' effective
#: rank on a draw of its own and the truncated logistic-regression task (with ``random``). Their code
#: could also fit boosted trees; the paper never reported them, so that task runs only by name.
STUDY_METRICS = ("effective_rank", "truncated_downstream_task_logistic_regression")

#: unsupervised_study_v1's evaluation seeds: dlib_reproduce's master RandomState(0) draws one
#: randint(2**32) per postprocess config, then one per (representation, metric config), sorted.
STUDY_SEEDS: dict[tuple[str, str], int] = {
    ("mean", "beta_vae_sklearn"): 3071714933,
    ("mean", "dci"): 3626093760,
    ("mean", "downstream_task_boosted_trees"): 2588848963,
    ("mean", "downstream_task_logistic_regression"): 3684848379,
    ("mean", "factor_vae_metric"): 2340255427,
    ("mean", "mig"): 3638918503,
    ("mean", "modularity_explicitness"): 1819583497,
    ("mean", "sap_score"): 2678185683,
    ("mean", "unsupervised"): 2774094101,
    ("sampled", "beta_vae_sklearn"): 1650906866,
    ("sampled", "dci"): 1879422756,
    ("sampled", "downstream_task_boosted_trees"): 1277901399,
    ("sampled", "downstream_task_logistic_regression"): 3830135878,
    ("sampled", "factor_vae_metric"): 243580376,
    ("sampled", "mig"): 4138900056,
    ("sampled", "modularity_explicitness"): 1171049868,
    ("sampled", "sap_score"): 1646868794,
    ("sampled", "unsupervised"): 2051556033,
}
IRS_SEED = 0  # irs is not part of the study; evaluate.random_seed's default


def seed_for(representation: str, metric: str) -> int:
    """The study's evaluation seed of (representation, metric): the authors' for the truncated tasks
    (per predictor) and the effective rank, for both representations; ``IRS_SEED`` for irs."""
    if metric.startswith("truncated_downstream_task_"):
        return truncated.STUDY_SEEDS[metric.removeprefix("truncated_downstream_task_")]
    if metric == "effective_rank":
        return effective_rank.STUDY_SEED
    return STUDY_SEEDS.get((representation, metric), IRS_SEED)


def parse_metrics(text: str, fixed_sample_only: bool = False) -> tuple[str, ...]:
    """``all``, ``study`` or a comma list of names -> names in registry order; ValueError names the unknown."""
    names = [name for name, spec in REGISTRY.items() if spec.fixed_sample or not fixed_sample_only]
    if text.strip() == "all":
        return tuple(names)
    if text.strip() == "study" and not fixed_sample_only:
        return STUDY_METRICS
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in names]
    if unknown or not wanted:
        raise ValueError(
            f"unknown metric {', '.join(unknown) or repr(text)}; choose 'all', 'study' or from {', '.join(names)}"
        )
    return tuple(name for name in names if name in wanted)


def params(name: str, preset: str = "full", jobs: int = 1, classifier_defaults: str = DEFAULT_CLASSIFIERS) -> dict:
    """The settings of metric ``name`` under ``preset``, plus ``jobs`` for the parallel metrics and
    ``classifier_defaults`` for those that fit the linear classifiers (``metrics.classifiers``)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    spec = REGISTRY[name]
    settings = dict(spec.fast if preset == "fast" else spec.defaults)
    if spec.parallel:
        settings["jobs"] = jobs
    if spec.classifiers:
        settings["classifier_defaults"] = check_classifier_defaults(classifier_defaults)
    return settings


_SAMPLING = ("num_train", "num_test", "num_eval", "batch_size", "num_variance_estimate")


def compute_params(
    name: str, jobs: int = 1, classifier_defaults: str = DEFAULT_CLASSIFIERS, preset: str = "full"
) -> dict:
    """The settings of fixed-sample metric ``name`` that apply to given arrays under ``preset``: no sample
    sizes, but the predictors' (the fast preset's fewer boosting rounds and fixed C)."""
    settings = params(name, preset, jobs, classifier_defaults)
    return {key: value for key, value in settings.items() if key not in _SAMPLING}


def evaluate(
    name: str,
    data: FactorSampler,
    represent: Represent,
    random_state: np.random.RandomState,
    preset: str = "full",
    jobs: int = 1,
    kinds: np.ndarray | None = None,
    classifier_defaults: str = DEFAULT_CLASSIFIERS,
):
    """Run metric ``name``'s sampling wrapper with ``preset``'s settings (``kinds``: per-subset metrics)."""
    extra = {"kinds": kinds} if REGISTRY[name].per_subset else {}
    settings = params(name, preset, jobs, classifier_defaults)
    return REGISTRY[name].evaluate(data, represent, random_state, **settings, **extra)
