"""The disentanglement_lib ``unsupervised_study_v1`` model zoo: id <-> training settings.

id = 1800 * dataset + 300 * method + 50 * hyperparameter_index + seed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import cache

from vae_passive.errors import VaePassiveError

DATASETS: tuple[str, ...] = (
    "dsprites_full",
    "color_dsprites",
    "noisy_dsprites",
    "scream_dsprites",
    "smallnorb",
    "cars3d",
    "shapes3d",
)
CHANNELS: dict[str, int] = {name: 1 if name in ("dsprites_full", "smallnorb") else 3 for name in DATASETS}


@dataclass(frozen=True)
class Method:
    """A training objective and the hyperparameter the study swept for it."""

    name: str
    hyperparameter: str
    values: tuple[float, ...]


METHODS: tuple[Method, ...] = (
    Method("beta_vae", "vae.beta", (1, 2, 4, 6, 8, 16)),
    Method("factor_vae", "factor_vae.gamma", (10, 20, 30, 40, 50, 100)),
    Method("dip_vae_i", "dip_vae.lambda_od", (1, 2, 5, 10, 20, 50)),
    Method("dip_vae_ii", "dip_vae.lambda_od", (1, 2, 5, 10, 20, 50)),
    Method("beta_tc_vae", "beta_tc_vae.beta", (1, 2, 4, 6, 8, 10)),
    Method("annealed_vae", "annealed_vae.c_max", (5, 10, 25, 50, 75, 100)),
)
METHOD_NAMES: tuple[str, ...] = tuple(m.name for m in METHODS)

SEEDS = 50
LEVELS = 6
PER_METHOD = LEVELS * SEEDS  # 300
PER_DATASET = len(METHODS) * PER_METHOD  # 1800
NUM_MODELS = len(DATASETS) * PER_DATASET  # 12,600
NUM_RELEASED = 10_800  # shapes3d (ids 10,800-12,599) was never released
NUM_LATENTS = 10
#: How every model of the study was trained (its train.gin): steps and batch size.
SPEC_STEPS = 300_000
SPEC_BATCH_SIZE = 64


@dataclass(frozen=True)
class ModelRecord:
    """One model of the study; ``hyperparameter_index`` is h in the id formula."""

    id: int
    dataset: str
    method: str
    hyperparameter: str
    hyperparameter_index: int
    value: float
    seed: int
    channels: int
    released: bool

    def public_dict(self) -> dict:
        """The record as ``vae-passive list`` prints it (the stable JSON keys)."""
        data = asdict(self)
        del data["hyperparameter_index"]
        return data


def record(model_id: int) -> ModelRecord:
    """The training settings of ``model_id`` (0-12,599)."""
    if isinstance(model_id, bool) or not isinstance(model_id, int):
        raise VaePassiveError(f"model id {model_id!r} is not an integer; use an id from 0 to {NUM_MODELS - 1}")
    if not 0 <= model_id < NUM_MODELS:
        raise VaePassiveError(
            f"model id {model_id} is outside unsupervised_study_v1; use an id from 0 to {NUM_MODELS - 1}"
        )
    d, rest = divmod(model_id, PER_DATASET)
    m, rest = divmod(rest, PER_METHOD)
    h, s = divmod(rest, SEEDS)
    dataset, method = DATASETS[d], METHODS[m]
    return ModelRecord(
        id=model_id,
        dataset=dataset,
        method=method.name,
        hyperparameter=method.hyperparameter,
        hyperparameter_index=h,
        value=float(method.values[h]),
        seed=s,
        channels=CHANNELS[dataset],
        released=model_id < NUM_RELEASED,
    )


def model_id(dataset: str, method: str, hyperparameter_index: int, seed: int) -> int:
    """The reverse lookup: the id of a (dataset, method, level, seed) combination."""
    if dataset not in DATASETS:
        raise VaePassiveError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if method not in METHOD_NAMES:
        raise VaePassiveError(f"unknown method {method!r}; choose one of {', '.join(METHOD_NAMES)}")
    if not 0 <= hyperparameter_index < LEVELS:
        raise VaePassiveError(f"hyperparameter index {hyperparameter_index} must be 0-{LEVELS - 1}")
    if not 0 <= seed < SEEDS:
        raise VaePassiveError(f"seed {seed} must be 0-{SEEDS - 1}")
    return (
        DATASETS.index(dataset) * PER_DATASET
        + METHOD_NAMES.index(method) * PER_METHOD
        + hyperparameter_index * SEEDS
        + seed
    )


_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_ids(spec: str, option: str = "id selection") -> list[int]:
    """Parse an id selection such as ``0-99,300,1800-1805`` into sorted unique ids.

    An empty spec is an error, not "no filter": ``--ids ""`` from a script's empty variable must not
    select (or delete) all 12,600 models. ``option`` names the spec in that error.
    """
    if not spec.strip():
        raise VaePassiveError(f"{option} {spec!r} selects nothing; give ids such as 0-99,300,1800-1805")
    ids: set[int] = set()
    for part in spec.split(","):
        match = _RANGE.match(part)
        if not match:
            raise VaePassiveError(
                f"cannot read id selection {part.strip()!r} in {spec!r}; write e.g. 0-99,300,1800-1805"
            )
        start = int(match.group(1))
        stop = int(match.group(2)) if match.group(2) is not None else start
        if stop < start:
            raise VaePassiveError(f"id range {part.strip()!r} runs backwards; write the smaller id first")
        if stop >= NUM_MODELS:
            raise VaePassiveError(f"id {stop} in {spec!r} is outside unsupervised_study_v1 (0-{NUM_MODELS - 1})")
        ids.update(range(start, stop + 1))
    return sorted(ids)


def select(
    ids: Iterable[int] | None = None,
    *,
    dataset: str | None = None,
    method: str | None = None,
    hyperparameter_index: int | None = None,
    value: float | None = None,
    seed: int | None = None,
    released_only: bool = False,
    study: str | None = None,
) -> Iterator[ModelRecord]:
    """Records of ``ids`` (default: all 12,600) that match every filter given; ``study`` (a key of
    ``STUDIES``) keeps only that study's models, and ids outside it are an error, not silently dropped."""
    chosen = STUDIES[study_name(study)] if study is not None else None
    if chosen is not None and ids is not None:
        ids = list(ids)
        outside = [i for i in ids if 0 <= i < NUM_MODELS and not chosen.includes(record(i))]
        if outside:
            raise VaePassiveError(
                f"--ids {_short_ids(outside)} {'is' if len(outside) == 1 else 'are'} outside the study {chosen.name} "
                f"({chosen.description}); drop --study or those ids"
            )
    if dataset is not None and dataset not in DATASETS:
        raise VaePassiveError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if method is not None and method not in METHOD_NAMES:
        raise VaePassiveError(f"unknown method {method!r}; choose one of {', '.join(METHOD_NAMES)}")
    for i in range(NUM_MODELS) if ids is None else ids:
        rec = record(i)
        if (
            (dataset is None or rec.dataset == dataset)
            and (method is None or rec.method == method)
            and (hyperparameter_index is None or rec.hyperparameter_index == hyperparameter_index)
            and (value is None or rec.value == value)
            and (seed is None or rec.seed == seed)
            and (not released_only or rec.released)
            and (chosen is None or chosen.includes(rec))
        ):
            yield rec


@dataclass(frozen=True)
class Study:
    """A named selection of the zoo that a paper analysed."""

    name: str
    description: str
    excluded_methods: tuple[str, ...] = ()

    def includes(self, rec: ModelRecord) -> bool:
        """Whether ``rec`` is one of the study's models."""
        return rec.released and rec.method not in self.excluded_methods

    @property
    def size(self) -> int:
        """How many models the study has."""
        return _study_size(self)


@cache
def _study_size(study: Study) -> int:
    return sum(study.includes(record(i)) for i in range(NUM_RELEASED))


STUDIES: dict[str, Study] = {
    "be-more-active": Study(
        "be-more-active",
        "Bonheme & Grzes: the released models without DIP-VAE-I, 9,000",
        excluded_methods=("dip_vae_i",),
    ),
    "unsupervised_study_v1": Study("unsupervised_study_v1", "Locatello et al.: the released models, 10,800"),
}


def study_name(name: str) -> str:
    """``name`` if it is a known study; otherwise an error that lists them."""
    if name not in STUDIES:
        raise VaePassiveError(f"unknown study {name!r}; choose one of {', '.join(STUDIES)}")
    return name


def studies_covering(ids: Iterable[int]) -> list[Study]:
    """The studies every one of ``ids`` belongs to, smallest first (for saying which study a report covers)."""
    records = [record(i) for i in ids]
    found = [study for study in STUDIES.values() if records and all(study.includes(r) for r in records)]
    return sorted(found, key=lambda study: study.size)


def _short_ids(ids: list[int], shown: int = 5) -> str:
    text = ",".join(str(i) for i in ids[:shown])
    return text + (f",... ({len(ids)} ids)" if len(ids) > shown else "")
